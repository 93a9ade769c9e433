package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/inkan-dev/inkan/internal/store"
)

func testRevocations(t *testing.T, s store.Store) {
	ctx := context.Background()
	jti := store.Revocation{Kind: "jti", Value: "a", ExpiresAt: base.Add(time.Hour)}
	family := store.Revocation{Kind: "family", Value: "a", ExpiresAt: base.Add(30 * time.Minute)}
	mustRevoke(t, s, jti)
	mustRevoke(t, s, jti) // idempotent
	mustRevoke(t, s, family)
	earlier := jti
	earlier.ExpiresAt = base.Add(time.Minute)
	mustRevoke(t, s, earlier) // the later expiry stays
	byValue := cmpopts.SortSlices(func(a, b store.Revocation) bool {
		return a.Kind+"\x00"+a.Value < b.Kind+"\x00"+b.Value
	})
	tests := []struct {
		now  time.Time
		want []store.Revocation
	}{
		{base, []store.Revocation{family, jti}},
		{base.Add(30*time.Minute - time.Microsecond), []store.Revocation{family, jti}},
		{base.Add(30 * time.Minute), []store.Revocation{jti}}, // expired at ExpiresAt
		{base.Add(time.Hour), nil},
	}
	for _, tc := range tests {
		got, err := s.ListRevocations(ctx, tc.now)
		if err != nil {
			t.Fatalf("ListRevocations(%v) = %v", tc.now, err)
		}
		if diff := cmp.Diff(tc.want, got, byValue, equateEmpty); diff != "" {
			t.Errorf("ListRevocations(%v) mismatch (-want +got):\n%s", tc.now, diff)
		}
	}
	later := jti
	later.ExpiresAt = base.Add(2 * time.Hour)
	mustRevoke(t, s, later)
	got, err := s.ListRevocations(ctx, base.Add(time.Hour))
	if err != nil {
		t.Fatalf("ListRevocations() = %v", err)
	}
	if diff := cmp.Diff([]store.Revocation{later}, got); diff != "" {
		t.Errorf("ListRevocations() after a later expiry mismatch (-want +got):\n%s", diff)
	}
	if got[0].ExpiresAt.Location() != time.UTC {
		t.Errorf("ListRevocations() ExpiresAt = %v, want UTC", got[0].ExpiresAt)
	}
}

func testRevocationsVersion(t *testing.T, s store.Store) {
	ctx := context.Background()
	version := func() int64 {
		t.Helper()
		v, err := s.RevocationsVersion(ctx)
		if err != nil {
			t.Fatalf("RevocationsVersion() = %v", err)
		}
		return v
	}
	r := store.Revocation{Kind: "jti", Value: "a", ExpiresAt: base.Add(time.Hour)}
	extended := r
	extended.ExpiresAt = base.Add(2 * time.Hour)
	steps := []struct {
		name string
		r    store.Revocation
	}{
		{"revoke", r},
		{"revoke another", store.Revocation{Kind: "family", Value: "a", ExpiresAt: base.Add(time.Hour)}},
		{"extend", extended},
	}
	prev := version()
	for _, st := range steps {
		mustRevoke(t, s, st.r)
		if v := version(); v == prev {
			t.Errorf("RevocationsVersion() after %s = %d, unchanged", st.name, v)
		} else {
			prev = v
		}
	}
	mustCreateUser(t, s, newUser(1))
	mustCreateKey(t, s, newKey(1))
	if v := version(); v != prev {
		t.Errorf("RevocationsVersion() changed on a user or key write: %d → %d", prev, v)
	}
}
