package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/inkan-dev/inkan/internal/store"
)

func testAuthCodeRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	sess := newSession(1, u)
	mustCreateSession(t, s, sess)
	want := newAuthCode(1, c, u)
	want.Scope = "openid profile email offline_access"
	want.AuthTime = base.In(time.FixedZone("JST", 9*3600))
	want.SessionID = sess.ID
	mustCreateAuthCode(t, s, want)
	if err := s.CreateAuthCode(ctx, want); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateAuthCode(duplicate) = %v, want %v", err, store.ErrConflict)
	}
	public := newAuthCode(2, c, u)
	public.Nonce, public.CodeChallenge, public.SessionID = "", "", ""
	mustCreateAuthCode(t, s, public)

	now := base.Add(10 * time.Second).In(time.FixedZone("PST", -8*3600))
	for _, w := range []store.AuthCode{want, public} {
		got, err := s.RedeemAuthCode(ctx, w.Hash, now)
		if err != nil {
			t.Fatalf("RedeemAuthCode(%s) = %v", w.Hash, err)
		}
		w.RedeemedAt = now
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("RedeemAuthCode(%s) mismatch (-want +got):\n%s", w.Hash, diff)
		}
		for _, tm := range []time.Time{got.AuthTime, got.CreatedAt, got.ExpiresAt, got.RedeemedAt} {
			if tm.Location() != time.UTC {
				t.Errorf("RedeemAuthCode(%s) time %v, want UTC", w.Hash, tm)
			}
		}
	}

	// A code needs its client and user.
	orphan := newAuthCode(3, c, u)
	orphan.ClientID = "missing"
	if err := s.CreateAuthCode(ctx, orphan); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateAuthCode(unknown client) = %v, want %v", err, store.ErrNotFound)
	}
	orphan = newAuthCode(4, c, u)
	orphan.UserID = "missing"
	if err := s.CreateAuthCode(ctx, orphan); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateAuthCode(unknown user) = %v, want %v", err, store.ErrNotFound)
	}
	// And its session, when it names one: a session ended at the same
	// moment takes no code along that outlives it.
	orphan = newAuthCode(5, c, u)
	orphan.SessionID = "missing"
	if err := s.CreateAuthCode(ctx, orphan); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateAuthCode(unknown session) = %v, want %v", err, store.ErrNotFound)
	}
	if _, err := s.GetAuthCode(ctx, orphan.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAuthCode(refused code) = %v, want %v", err, store.ErrNotFound)
	}
}

func testRedeemAuthCode(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	code := newAuthCode(1, c, u)
	mustCreateAuthCode(t, s, code)
	first := base.Add(5 * time.Second)
	got, err := s.RedeemAuthCode(ctx, code.Hash, first)
	if err != nil {
		t.Fatalf("RedeemAuthCode() = %v", err)
	}
	if !got.RedeemedAt.Equal(first) {
		t.Errorf("RedeemAuthCode() RedeemedAt = %v, want %v", got.RedeemedAt, first)
	}
	// A replay: the code comes back, as first redeemed, so that the caller
	// can revoke its family.
	got, err = s.RedeemAuthCode(ctx, code.Hash, first.Add(time.Second))
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("RedeemAuthCode(again) = %v, want %v", err, store.ErrConflict)
	}
	want := code
	want.RedeemedAt = first
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RedeemAuthCode(again) code mismatch (-want +got):\n%s", diff)
	}
	if _, err := s.RedeemAuthCode(ctx, "missing", first); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RedeemAuthCode(missing) = %v, want %v", err, store.ErrNotFound)
	}
}

// Twenty parallel redemptions of one code: exactly one wins, and the others
// see the code as the winner redeemed it.
func testConcurrentRedeemAuthCode(t *testing.T, s store.Store) {
	c, u := mustGrantee(t, s)
	code := newAuthCode(1, c, u)
	mustCreateAuthCode(t, s, code)
	const n = 20
	type result struct {
		now  time.Time
		code store.AuthCode
		err  error
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			now := base.Add(time.Duration(i+1) * time.Millisecond)
			got, err := s.RedeemAuthCode(context.Background(), code.Hash, now)
			results <- result{now, got, err}
		})
	}
	wg.Wait()
	close(results)
	var winners []result
	var losers []result
	for r := range results {
		switch {
		case r.err == nil:
			winners = append(winners, r)
		case errors.Is(r.err, store.ErrConflict):
			losers = append(losers, r)
		default:
			t.Errorf("RedeemAuthCode() = %v, want nil or %v", r.err, store.ErrConflict)
		}
	}
	if len(winners) != 1 || len(losers) != n-1 {
		t.Fatalf("%d parallel redemptions: %d succeeded, %d conflicted; want 1 and %d", n, len(winners), len(losers), n-1)
	}
	w := winners[0]
	if !w.code.RedeemedAt.Equal(w.now) {
		t.Errorf("winner's RedeemedAt = %v, want its now %v", w.code.RedeemedAt, w.now)
	}
	for _, l := range losers {
		if diff := cmp.Diff(w.code, l.code); diff != "" {
			t.Errorf("a loser's code differs from the winner's (-winner +loser):\n%s", diff)
		}
	}
}

func testGetAuthCode(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	code := newAuthCode(1, c, u)
	mustCreateAuthCode(t, s, code)
	got, err := s.GetAuthCode(ctx, code.Hash)
	if err != nil || !cmp.Equal(got, code, cmpopts.EquateEmpty()) {
		t.Errorf("GetAuthCode() = %+v, %v; want %+v", got, err, code)
	}
	if _, err := s.RedeemAuthCode(ctx, code.Hash, base.Add(time.Minute)); err != nil {
		t.Fatalf("RedeemAuthCode() after GetAuthCode() = %v: reading must not redeem", err)
	}
	if _, err := s.GetAuthCode(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAuthCode(missing) = %v, want %v", err, store.ErrNotFound)
	}
}
