package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inkan-dev/inkan/internal/store"
)

func testClientRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	confidential := newClient(1)
	confidential.Name = "Ünïcode ✓ \"client\""
	confidential.RedirectURIs = []string{"https://b.example.com/cb?x=\"y\"&z=ü", "https://a.example.com/cb", "com.example.app:/oauth"}
	confidential.Audience = []string{"https://api.example.com", "client-1"}
	confidential.Trusted = true
	confidential.BackchannelLogoutURI = "https://b.example.com/backchannel?tenant=ü"
	confidential.UpdatedAt = confidential.CreatedAt.Add(time.Hour)

	public := newClient(2)
	public.Public = true
	public.SecretHash = nil
	public.PostLogoutRedirectURIs = []string{}
	public.Audience = nil

	for _, want := range []store.Client{confidential, public} {
		mustCreateClient(t, s, want)
		got, err := s.GetClient(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetClient(%s) = %v", want.ID, err)
		}
		if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
			t.Errorf("GetClient(%s) mismatch (-want +got):\n%s", want.ID, diff)
		}
		if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
			t.Errorf("GetClient(%s) times = %v, %v; want UTC", want.ID, got.CreatedAt, got.UpdatedAt)
		}
	}
}

func testClientConflict(t *testing.T, s store.Store) {
	c := newClient(1)
	mustCreateClient(t, s, c)
	dup := newClient(2)
	dup.ID = c.ID
	if err := s.CreateClient(context.Background(), dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateClient(duplicate id) = %v, want %v", err, store.ErrConflict)
	}
}

func testClientNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetClient(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetClient(missing) = %v, want %v", err, store.ErrNotFound)
	}
	_, err := s.UpdateClient(ctx, "missing", func(c store.Client) (store.Client, error) { return c, nil })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateClient(missing) = %v, want %v", err, store.ErrNotFound)
	}
	if err := s.DeleteClient(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteClient(missing) = %v, want %v", err, store.ErrNotFound)
	}
}

func testListClients(t *testing.T, s store.Store) {
	got, err := s.ListClients(context.Background())
	if err != nil || len(got) != 0 {
		t.Fatalf("ListClients() on empty store = %v, %v; want none", got, err)
	}
	for _, i := range []int{3, 1, 2} {
		mustCreateClient(t, s, newClient(i))
	}
	want := []store.Client{newClient(1), newClient(2), newClient(3)}
	got, err = s.ListClients(context.Background())
	if err != nil {
		t.Fatalf("ListClients() = %v", err)
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("ListClients() mismatch, want oldest first (-want +got):\n%s", diff)
	}
}

func testUpdateClient(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := newClient(1)
	mustCreateClient(t, s, c)

	want := c
	want.Name = "Renamed"
	want.SecretHash = nil
	want.Public = true
	want.Trusted = true
	want.RedirectURIs = []string{"https://new.example.com/cb"}
	want.PostLogoutRedirectURIs = nil
	want.Grants = []string{"authorization_code"}
	want.Scopes = []string{"openid"}
	want.Audience = []string{"https://other.example.com"}
	want.UpdatedAt = base.Add(time.Hour)
	got, err := s.UpdateClient(ctx, c.ID, func(old store.Client) (store.Client, error) {
		if diff := cmp.Diff(c, old, equateEmpty); diff != "" {
			t.Errorf("update func got old mismatch (-want +got):\n%s", diff)
		}
		n := want
		n.ID = "ignored: ids are immutable"
		return n, nil
	})
	if err != nil {
		t.Fatalf("UpdateClient() = %v", err)
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("UpdateClient() result mismatch (-want +got):\n%s", diff)
	}
	stored, err := s.GetClient(ctx, c.ID)
	if err != nil {
		t.Fatalf("GetClient() = %v", err)
	}
	if diff := cmp.Diff(want, stored, equateEmpty); diff != "" {
		t.Errorf("GetClient() after update mismatch (-want +got):\n%s", diff)
	}

	errAbort := errors.New("abort")
	_, err = s.UpdateClient(ctx, c.ID, func(old store.Client) (store.Client, error) {
		old.Name = "never stored"
		old.Scopes = append(old.Scopes, "never")
		return old, errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Errorf("UpdateClient(aborting) = %v, want %v", err, errAbort)
	}
	if stored, _ := s.GetClient(ctx, c.ID); !cmp.Equal(want, stored, equateEmpty) {
		t.Errorf("an aborted update changed the client: %+v", stored)
	}
}

func testDeleteClient(t *testing.T, s store.Store) {
	ctx := context.Background()
	c1, u := mustGrantee(t, s)
	c2 := newClient(2)
	mustCreateClient(t, s, c2)
	mustCreateAuthCode(t, s, newAuthCode(1, c1, u))
	mustCreateAuthCode(t, s, newAuthCode(2, c2, u))
	mustCreateRefreshToken(t, s, newRefreshToken(1, c1, u))
	mustCreateRefreshToken(t, s, newRefreshToken(2, c2, u))
	mustPutConsent(t, s, store.Consent{UserID: u.ID, ClientID: c1.ID, Scopes: []string{"openid"}, CreatedAt: base})
	mustPutConsent(t, s, store.Consent{UserID: u.ID, ClientID: c2.ID, Scopes: []string{"openid"}, CreatedAt: base})
	queued := mustQueueLogouts(t, s, u, c1, c2)

	if err := s.DeleteClient(ctx, c1.ID); err != nil {
		t.Fatalf("DeleteClient() = %v", err)
	}
	if _, err := s.GetClient(ctx, c1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetClient(deleted) = %v, want %v", err, store.ErrNotFound)
	}
	if err := s.DeleteClient(ctx, c1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteClient(deleted) = %v, want %v", err, store.ErrNotFound)
	}
	checkGone(t, s, grantRefs{
		codes:    []string{newAuthCode(1, c1, u).Hash},
		tokens:   []string{newRefreshToken(1, c1, u).Hash},
		consents: [][2]string{{u.ID, c1.ID}},
	})
	checkKept(t, s, grantRefs{
		codes:    []string{newAuthCode(2, c2, u).Hash},
		tokens:   []string{newRefreshToken(2, c2, u).Hash},
		consents: [][2]string{{u.ID, c2.ID}},
	})
	if got := listLogouts(t, s, base.Add(time.Hour)); len(got) != 1 || got[0].ClientID != c2.ID || got[0].SessionID != queued {
		t.Errorf("queued logouts after deleting %s = %+v, want only %s's", c1.ID, got, c2.ID)
	}
	if _, err := s.GetUser(ctx, u.ID); err != nil {
		t.Errorf("GetUser() after deleting a client = %v", err)
	}
	// The id is free again.
	mustCreateClient(t, s, c1)
}

// Twenty parallel appends to one client: none is lost.
func testConcurrentUpdateClient(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := newClient(1)
	c.RedirectURIs = nil
	mustCreateClient(t, s, c)
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.UpdateClient(ctx, c.ID, func(old store.Client) (store.Client, error) {
				old.RedirectURIs = append(old.RedirectURIs, fmt.Sprintf("https://app.example.com/cb%d", i))
				return old, nil
			})
			if err != nil {
				t.Errorf("UpdateClient() = %v", err)
			}
		})
	}
	wg.Wait()
	got, err := s.GetClient(ctx, c.ID)
	if err != nil {
		t.Fatalf("GetClient() = %v", err)
	}
	if len(got.RedirectURIs) != n {
		t.Errorf("after %d concurrent appends the client has %d redirect URIs: updates were lost", n, len(got.RedirectURIs))
	}
}

func testClientsVersion(t *testing.T, s store.Store) {
	ctx := context.Background()
	version := func() int64 {
		t.Helper()
		v, err := s.ClientsVersion(ctx)
		if err != nil {
			t.Fatalf("ClientsVersion() = %v", err)
		}
		return v
	}
	c, _ := mustGrantee(t, s)
	prev := version()
	if _, err := s.UpdateClient(ctx, c.ID, func(old store.Client) (store.Client, error) { old.Name = "Renamed"; return old, nil }); err != nil {
		t.Fatal(err)
	}
	if v := version(); v == prev {
		t.Error("ClientsVersion() unchanged after an update")
	} else {
		prev = v
	}
	if err := s.DeleteClient(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if v := version(); v == prev {
		t.Error("ClientsVersion() unchanged after a delete")
	}
}
