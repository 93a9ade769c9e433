package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inkan-dev/inkan/internal/store"
)

func testConsents(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	if _, err := s.GetConsent(ctx, u.ID, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetConsent(none) = %v, want %v", err, store.ErrNotFound)
	}
	steps := []store.Consent{
		{UserID: u.ID, ClientID: c.ID, Scopes: []string{"openid", "profile"}, CreatedAt: base},
		{UserID: u.ID, ClientID: c.ID, Scopes: []string{"openid", "email", "profile"}, CreatedAt: base.Add(time.Hour)}, // replaces
		{UserID: u.ID, ClientID: c.ID, CreatedAt: base.Add(2 * time.Hour)},                                             // no scopes
	}
	for i, want := range steps {
		mustPutConsent(t, s, want)
		got, err := s.GetConsent(ctx, u.ID, c.ID)
		if err != nil {
			t.Fatalf("step %d: GetConsent() = %v", i, err)
		}
		if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
			t.Errorf("step %d: GetConsent() mismatch (-want +got):\n%s", i, diff)
		}
	}
	if _, err := s.GetConsent(ctx, u.ID, "other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetConsent(other client) = %v, want %v", err, store.ErrNotFound)
	}
	if err := s.PutConsent(ctx, store.Consent{UserID: u.ID, ClientID: "missing", CreatedAt: base}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutConsent(unknown client) = %v, want %v", err, store.ErrNotFound)
	}
}

func testListConsents(t *testing.T, s store.Store) {
	ctx := context.Background()
	if got, err := s.ListConsents(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListConsents(empty) = %v, %v; want none", got, err)
	}
	c1, c2 := newClient(1), newClient(2)
	u1, u2 := newUser(1), newUser(2)
	mustCreateClient(t, s, c1)
	mustCreateClient(t, s, c2)
	mustCreateUser(t, s, u1)
	mustCreateUser(t, s, u2)
	// Put out of order: the list is oldest first, then by user, then client.
	want := []store.Consent{
		{UserID: u1.ID, ClientID: c1.ID, Scopes: []string{"openid", "email"}, CreatedAt: base},
		{UserID: u1.ID, ClientID: c2.ID, Scopes: []string{"openid"}, CreatedAt: base},
		{UserID: u2.ID, ClientID: c1.ID, CreatedAt: base},
		{UserID: u1.ID, ClientID: c1.ID + "x", CreatedAt: base}, // replaced below: not listed
		{UserID: u2.ID, ClientID: c2.ID, Scopes: []string{"profile"}, CreatedAt: base.Add(time.Microsecond)},
	}
	mustCreateClient(t, s, store.Client{ID: c1.ID + "x", Name: "x", CreatedAt: base, UpdatedAt: base})
	for _, i := range []int{4, 2, 1, 0, 3} {
		mustPutConsent(t, s, want[i])
	}
	if err := s.DeleteClient(ctx, c1.ID+"x"); err != nil {
		t.Fatal(err)
	}
	want = append(want[:3], want[4])
	got, err := s.ListConsents(ctx)
	if err != nil {
		t.Fatalf("ListConsents() = %v", err)
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("ListConsents() mismatch (-want +got):\n%s", diff)
	}
}
