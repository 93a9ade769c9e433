package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

func testDeleteUserGrants(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u1 := mustGrantee(t, s)
	u2 := newUser(2)
	mustCreateUser(t, s, u2)
	for i, u := range []store.User{u1, u2} {
		mustCreateRefreshToken(t, s, newRefreshToken(10*i+1, c, u))
		mustCreateRefreshToken(t, s, newRefreshToken(10*i+2, c, u))
		mustCreateSession(t, s, newSession(10*i+1, u))
		mustCreateAuthCode(t, s, newAuthCode(10*i+1, c, u))
		mustPutConsent(t, s, store.Consent{UserID: u.ID, ClientID: c.ID, Scopes: []string{"openid"}, CreatedAt: base})
	}
	if err := s.DeleteUserGrants(ctx, u1.ID); err != nil {
		t.Fatalf("DeleteUserGrants() = %v", err)
	}
	checkGone(t, s, grantRefs{
		codes:    []string{newAuthCode(1, c, u1).Hash},
		tokens:   []string{newRefreshToken(1, c, u1).Hash, newRefreshToken(2, c, u1).Hash},
		sessions: []string{newSession(1, u1).Hash},
	})
	checkKept(t, s, grantRefs{
		codes:    []string{newAuthCode(11, c, u2).Hash},
		tokens:   []string{newRefreshToken(11, c, u2).Hash, newRefreshToken(12, c, u2).Hash},
		sessions: []string{newSession(11, u2).Hash},
		consents: [][2]string{{u1.ID, c.ID}, {u2.ID, c.ID}},
	})
	if _, err := s.GetUser(ctx, u1.ID); err != nil {
		t.Errorf("GetUser() after DeleteUserGrants = %v", err)
	}
	if err := s.DeleteUserGrants(ctx, "missing"); err != nil {
		t.Errorf("DeleteUserGrants(missing) = %v, want nil", err)
	}
}

func testDeleteUserCascades(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u1 := mustGrantee(t, s)
	u2 := newUser(2)
	mustCreateUser(t, s, u2)
	for i, u := range []store.User{u1, u2} {
		mustCreateAuthCode(t, s, newAuthCode(10*i+1, c, u))
		mustCreateRefreshToken(t, s, newRefreshToken(10*i+1, c, u))
		mustCreateSession(t, s, newSession(10*i+1, u))
		mustPutConsent(t, s, store.Consent{UserID: u.ID, ClientID: c.ID, Scopes: []string{"openid"}, CreatedAt: base})
	}
	if err := s.DeleteUser(ctx, u1.ID); err != nil {
		t.Fatalf("DeleteUser() = %v", err)
	}
	checkGone(t, s, grantRefs{
		codes:    []string{newAuthCode(1, c, u1).Hash},
		tokens:   []string{newRefreshToken(1, c, u1).Hash},
		sessions: []string{newSession(1, u1).Hash},
		consents: [][2]string{{u1.ID, c.ID}},
	})
	checkKept(t, s, grantRefs{
		codes:    []string{newAuthCode(11, c, u2).Hash},
		tokens:   []string{newRefreshToken(11, c, u2).Hash},
		sessions: []string{newSession(11, u2).Hash},
		consents: [][2]string{{u2.ID, c.ID}},
	})
	if _, err := s.GetClient(ctx, c.ID); err != nil {
		t.Errorf("GetClient() after deleting a user = %v", err)
	}
}

func testGrantsJanitor(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	now := base.Add(time.Hour)
	// expiry of the i-th of n rows: the last one is live, the one before
	// it expires exactly at now, the rest earlier.
	expiry := func(i, n int) time.Time { return now.Add(time.Duration(i-n+2) * time.Minute) }
	counts := map[string]int{"codes": 5, "tokens": 7, "sessions": 3, "revocations": 6}
	var live grantRefs
	for i := range counts["codes"] {
		code := newAuthCode(i, c, u)
		code.ExpiresAt = expiry(i, counts["codes"])
		mustCreateAuthCode(t, s, code)
		if code.ExpiresAt.After(now) {
			live.codes = append(live.codes, code.Hash)
		}
	}
	for i := range counts["tokens"] {
		rt := newRefreshToken(i, c, u)
		rt.ExpiresAt = expiry(i, counts["tokens"])
		mustCreateRefreshToken(t, s, rt)
		if rt.ExpiresAt.After(now) {
			live.tokens = append(live.tokens, rt.Hash)
		}
	}
	for i := range counts["sessions"] {
		se := newSession(i, u)
		se.ExpiresAt = expiry(i, counts["sessions"])
		mustCreateSession(t, s, se)
		if se.ExpiresAt.After(now) {
			live.sessions = append(live.sessions, se.Hash)
		}
	}
	for i := range counts["revocations"] {
		mustRevoke(t, s, store.Revocation{Kind: "jti", Value: fmt.Sprint(i), ExpiresAt: expiry(i, counts["revocations"])})
	}
	const limit = 2
	total := 0
	for {
		n, err := s.DeleteExpiredGrants(ctx, now, limit)
		if err != nil {
			t.Fatalf("DeleteExpiredGrants() = %v", err)
		}
		if n > 4*limit {
			t.Fatalf("DeleteExpiredGrants(limit %d) deleted %d, more than %d from each of 4 tables", limit, n, limit)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if want := 5 + 7 + 3 + 6 - 4; total != want {
		t.Errorf("deleted %d expired grants, want %d", total, want)
	}
	var expired grantRefs
	for _, i := range []int{0, counts["tokens"] - 2} {
		expired.tokens = append(expired.tokens, newRefreshToken(i, c, u).Hash)
	}
	expired.sessions = []string{newSession(0, u).Hash}
	expired.codes = []string{newAuthCode(0, c, u).Hash}
	checkGone(t, s, expired)
	checkKept(t, s, live)
	list, err := s.ListRevocations(ctx, base)
	if err != nil {
		t.Fatalf("ListRevocations() = %v", err)
	}
	if len(list) != 1 || list[0].Value != fmt.Sprint(counts["revocations"]-1) {
		t.Errorf("ListRevocations() after the janitor = %v, want only the live one", list)
	}
}
