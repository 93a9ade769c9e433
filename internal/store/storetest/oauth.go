package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/inkan-dev/inkan/internal/store"
)

// oauthTests are the ClientStore and GrantStore cases of Run.
var oauthTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"client round trip", testClientRoundTrip},
	{"client conflict", testClientConflict},
	{"client not found", testClientNotFound},
	{"list clients", testListClients},
	{"update client", testUpdateClient},
	{"delete client", testDeleteClient},
	{"auth code round trip", testAuthCodeRoundTrip},
	{"redeem auth code", testRedeemAuthCode},
	{"refresh token round trip", testRefreshTokenRoundTrip},
	{"rotate refresh token", testRotateRefreshToken},
	{"get auth code", testGetAuthCode},
	{"clients version", testClientsVersion},
	{"end session", testEndSession},
	{"backchannel logouts", testBackchannelLogouts},
	{"delete user grants", testDeleteUserGrants},
	{"sessions", testSessions},
	{"consents", testConsents},
	{"list consents", testListConsents},
	{"revocations", testRevocations},
	{"revocations version", testRevocationsVersion},
	{"delete user cascades", testDeleteUserCascades},
	{"grants janitor", testGrantsJanitor},
}

// runConcurrentOAuth runs the OAuth races of RunConcurrent.
func runConcurrentOAuth(t *testing.T, open Opener) {
	t.Run("update client", func(t *testing.T) { testConcurrentUpdateClient(t, open(t)) })
	t.Run("redeem auth code", func(t *testing.T) { testConcurrentRedeemAuthCode(t, open(t)) })
	t.Run("rotate refresh token", func(t *testing.T) { testConcurrentRotateRefreshToken(t, open(t)) })
}

// equateEmpty lets a backend return nil or an empty list for an empty one.
var equateEmpty = cmpopts.EquateEmpty()

func newClient(i int) store.Client {
	return store.Client{
		ID:                     fmt.Sprintf("client-%d", i),
		Name:                   fmt.Sprintf("Client %d", i),
		SecretHash:             []byte{byte(i), 0x00, 0xde, 0xad, 0xbe, 0xef, 0xff},
		RedirectURIs:           []string{fmt.Sprintf("https://app%d.example.com/callback", i), "http://127.0.0.1/cb"},
		PostLogoutRedirectURIs: []string{fmt.Sprintf("https://app%d.example.com/", i)},
		Grants:                 []string{"authorization_code", "refresh_token"},
		Scopes:                 []string{"openid", "profile", "email"},
		Audience:               []string{"https://api.example.com"},
		CreatedAt:              base.Add(time.Duration(i) * time.Second),
		UpdatedAt:              base.Add(time.Duration(i) * time.Second),
	}
}

func newAuthCode(i int, c store.Client, u store.User) store.AuthCode {
	return store.AuthCode{
		Hash:          fmt.Sprintf("code-%d", i),
		ClientID:      c.ID,
		UserID:        u.ID,
		RedirectURI:   c.RedirectURIs[0],
		Scope:         "openid profile",
		Nonce:         fmt.Sprintf("nonce-%d", i),
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		Family:        fmt.Sprintf("family-%d", i),
		AuthTime:      base,
		CreatedAt:     base.Add(time.Second),
		ExpiresAt:     base.Add(time.Minute),
	}
}

func newRefreshToken(i int, c store.Client, u store.User) store.RefreshToken {
	return store.RefreshToken{
		Hash:      fmt.Sprintf("refresh-%d", i),
		Family:    fmt.Sprintf("family-%d", i),
		ClientID:  c.ID,
		UserID:    u.ID,
		Scope:     "openid offline_access",
		SessionID: fmt.Sprintf("sid-%d", i),
		AuthTime:  base,
		CreatedAt: base.Add(time.Second),
		ExpiresAt: base.Add(30 * 24 * time.Hour),
	}
}

func newSession(i int, u store.User) store.Session {
	return store.Session{
		Hash:      fmt.Sprintf("session-%d", i),
		ID:        fmt.Sprintf("sid-%d", i),
		UserID:    u.ID,
		AuthTime:  base,
		CreatedAt: base,
		ExpiresAt: base.Add(24 * time.Hour),
	}
}

func mustCreateClient(tb testing.TB, s store.Store, c store.Client) {
	tb.Helper()
	if err := s.CreateClient(context.Background(), c); err != nil {
		tb.Fatalf("CreateClient(%s) = %v", c.ID, err)
	}
}

func mustCreateAuthCode(tb testing.TB, s store.Store, c store.AuthCode) {
	tb.Helper()
	if err := s.CreateAuthCode(context.Background(), c); err != nil {
		tb.Fatalf("CreateAuthCode(%s) = %v", c.Hash, err)
	}
}

func mustCreateRefreshToken(tb testing.TB, s store.Store, t store.RefreshToken) {
	tb.Helper()
	if err := s.CreateRefreshToken(context.Background(), t); err != nil {
		tb.Fatalf("CreateRefreshToken(%s) = %v", t.Hash, err)
	}
}

func mustCreateSession(tb testing.TB, s store.Store, se store.Session) {
	tb.Helper()
	if err := s.CreateSession(context.Background(), se); err != nil {
		tb.Fatalf("CreateSession(%s) = %v", se.Hash, err)
	}
}

func mustPutConsent(tb testing.TB, s store.Store, c store.Consent) {
	tb.Helper()
	if err := s.PutConsent(context.Background(), c); err != nil {
		tb.Fatalf("PutConsent(%s, %s) = %v", c.UserID, c.ClientID, err)
	}
}

func mustRevoke(tb testing.TB, s store.Store, r store.Revocation) {
	tb.Helper()
	if err := s.Revoke(context.Background(), r); err != nil {
		tb.Fatalf("Revoke(%s %s) = %v", r.Kind, r.Value, err)
	}
}

// mustGrantee creates user 1 and client 1, which grants need.
func mustGrantee(tb testing.TB, s store.Store) (store.Client, store.User) {
	tb.Helper()
	c, u := newClient(1), newUser(1)
	mustCreateClient(tb, s, c)
	mustCreateUser(tb, s, u)
	return c, u
}

// grantRefs names grants by their keys.
type grantRefs struct {
	codes    []string
	tokens   []string
	sessions []string
	consents [][2]string // user, client
}

// checkGone fails unless every grant in refs is gone. Codes are checked
// last, by redeeming them, as there is no other way to read one.
func checkGone(t *testing.T, s store.Store, refs grantRefs) {
	t.Helper()
	ctx := context.Background()
	for _, h := range refs.tokens {
		if _, err := s.GetRefreshToken(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRefreshToken(%s) = %v, want %v", h, err, store.ErrNotFound)
		}
	}
	for _, h := range refs.sessions {
		if _, err := s.GetSession(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetSession(%s) = %v, want %v", h, err, store.ErrNotFound)
		}
	}
	for _, uc := range refs.consents {
		if _, err := s.GetConsent(ctx, uc[0], uc[1]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetConsent(%s, %s) = %v, want %v", uc[0], uc[1], err, store.ErrNotFound)
		}
	}
	for _, h := range refs.codes {
		if _, err := s.RedeemAuthCode(ctx, h, base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RedeemAuthCode(%s) = %v, want %v", h, err, store.ErrNotFound)
		}
	}
}

// checkKept fails unless every grant in refs is still there; it redeems
// the codes.
func checkKept(t *testing.T, s store.Store, refs grantRefs) {
	t.Helper()
	ctx := context.Background()
	for _, h := range refs.tokens {
		if _, err := s.GetRefreshToken(ctx, h); err != nil {
			t.Errorf("GetRefreshToken(%s) = %v, want it kept", h, err)
		}
	}
	for _, h := range refs.sessions {
		if _, err := s.GetSession(ctx, h); err != nil {
			t.Errorf("GetSession(%s) = %v, want it kept", h, err)
		}
	}
	for _, uc := range refs.consents {
		if _, err := s.GetConsent(ctx, uc[0], uc[1]); err != nil {
			t.Errorf("GetConsent(%s, %s) = %v, want it kept", uc[0], uc[1], err)
		}
	}
	for _, h := range refs.codes {
		if _, err := s.RedeemAuthCode(ctx, h, base); err != nil {
			t.Errorf("RedeemAuthCode(%s) = %v, want it kept", h, err)
		}
	}
}

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

func testRefreshTokenRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	want := newRefreshToken(1, c, u)
	want.CreatedAt = want.CreatedAt.In(time.FixedZone("JST", 9*3600))
	mustCreateRefreshToken(t, s, want)
	used := newRefreshToken(2, c, u)
	used.UsedAt = base.Add(time.Minute)
	mustCreateRefreshToken(t, s, used)
	for _, w := range []store.RefreshToken{want, used} {
		got, err := s.GetRefreshToken(ctx, w.Hash)
		if err != nil {
			t.Fatalf("GetRefreshToken(%s) = %v", w.Hash, err)
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("GetRefreshToken(%s) mismatch (-want +got):\n%s", w.Hash, diff)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("GetRefreshToken(%s) CreatedAt = %v, want UTC", w.Hash, got.CreatedAt)
		}
	}
	if err := s.CreateRefreshToken(ctx, want); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateRefreshToken(duplicate) = %v, want %v", err, store.ErrConflict)
	}
	if _, err := s.GetRefreshToken(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRefreshToken(missing) = %v, want %v", err, store.ErrNotFound)
	}
	orphan := newRefreshToken(3, c, u)
	orphan.UserID = "missing"
	if err := s.CreateRefreshToken(ctx, orphan); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateRefreshToken(unknown user) = %v, want %v", err, store.ErrNotFound)
	}
}

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

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, u := mustGrantee(t, s)
	want := newSession(1, u)
	want.AuthTime = base.Add(-time.Minute).In(time.FixedZone("JST", 9*3600))
	mustCreateSession(t, s, want)
	got, err := s.GetSession(ctx, want.Hash)
	if err != nil {
		t.Fatalf("GetSession() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetSession() mismatch (-want +got):\n%s", diff)
	}
	if got.AuthTime.Location() != time.UTC {
		t.Errorf("GetSession() AuthTime = %v, want UTC", got.AuthTime)
	}
	if err := s.CreateSession(ctx, want); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession(duplicate) = %v, want %v", err, store.ErrConflict)
	}
	sameID := newSession(3, u)
	sameID.ID = want.ID
	if err := s.CreateSession(ctx, sameID); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession(duplicate ID) = %v, want %v", err, store.ErrConflict)
	}
	orphan := newSession(2, u)
	orphan.UserID = "missing"
	if err := s.CreateSession(ctx, orphan); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateSession(unknown user) = %v, want %v", err, store.ErrNotFound)
	}
	if err := s.DeleteSession(ctx, want.Hash); err != nil {
		t.Fatalf("DeleteSession() = %v", err)
	}
	if _, err := s.GetSession(ctx, want.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession(deleted) = %v, want %v", err, store.ErrNotFound)
	}
	if err := s.DeleteSession(ctx, want.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteSession(deleted) = %v, want %v", err, store.ErrNotFound)
	}
}

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

// Twenty parallel rotations of one refresh token: exactly one sees it
// unused, and its successor is stored once.
func testConcurrentRotateRefreshToken(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	rt := newRefreshToken(1, c, u)
	mustCreateRefreshToken(t, s, rt)
	next := newRefreshToken(2, c, u)
	const n = 20
	var mu sync.Mutex
	var first []time.Time  // the now of each call that saw the token unused
	var usedAt []time.Time // the UsedAt the others saw
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			now := base.Add(time.Hour + time.Duration(i+1)*time.Millisecond)
			got, err := s.RotateRefreshToken(ctx, rt.Hash, now, next)
			if err != nil {
				t.Errorf("RotateRefreshToken() = %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if got.UsedAt.IsZero() {
				first = append(first, now)
			} else {
				usedAt = append(usedAt, got.UsedAt)
			}
		})
	}
	wg.Wait()
	if len(first) != 1 {
		t.Fatalf("%d parallel uses: %d saw the token unused, want 1", n, len(first))
	}
	stored, err := s.GetRefreshToken(ctx, rt.Hash)
	if err != nil {
		t.Fatalf("GetRefreshToken() = %v", err)
	}
	if !stored.UsedAt.Equal(first[0]) {
		t.Errorf("stored UsedAt = %v, want the first use's %v", stored.UsedAt, first[0])
	}
	var wrong []string
	for _, ua := range usedAt {
		if !ua.Equal(first[0]) {
			wrong = append(wrong, ua.String())
		}
	}
	if len(wrong) > 0 {
		t.Errorf("later uses saw UsedAt %s, want %v", strings.Join(wrong, ", "), first[0])
	}
	if _, err := s.GetRefreshToken(ctx, next.Hash); err != nil {
		t.Errorf("successor after parallel rotations: %v", err)
	}
}

func testRotateRefreshToken(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	rt := newRefreshToken(1, c, u)
	mustCreateRefreshToken(t, s, rt)
	next := newRefreshToken(2, c, u)
	now := rt.CreatedAt.Add(time.Minute)
	before, err := s.RotateRefreshToken(ctx, rt.Hash, now, next)
	if err != nil {
		t.Fatalf("RotateRefreshToken() = %v", err)
	}
	if diff := cmp.Diff(rt, before); diff != "" {
		t.Errorf("RotateRefreshToken() mismatch, want the token as before (-want +got):\n%s", diff)
	}
	if stored, _ := s.GetRefreshToken(ctx, rt.Hash); !stored.UsedAt.Equal(now) {
		t.Errorf("stored UsedAt after rotation = %v, want %v", stored.UsedAt, now)
	}
	if got, err := s.GetRefreshToken(ctx, next.Hash); err != nil || !cmp.Equal(got, next, cmpopts.EquateEmpty()) {
		t.Errorf("successor = %+v, %v; want %+v", got, err, next)
	}
	again, err := s.RotateRefreshToken(ctx, rt.Hash, now.Add(time.Second), next)
	if err != nil || !again.UsedAt.Equal(now) {
		t.Errorf("second RotateRefreshToken() = %+v, %v; want UsedAt of the first rotation and no error", again, err)
	}
	missing := newRefreshToken(3, c, u)
	if _, err := s.RotateRefreshToken(ctx, "missing", now, missing); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RotateRefreshToken(missing) = %v, want %v", err, store.ErrNotFound)
	}
	if _, err := s.GetRefreshToken(ctx, missing.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a rotation of a missing token inserted its successor: %v", err)
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

// mustQueueLogouts gives the clients back-channel logout URIs, signs u
// in, issues each a code under the session and ends it, so that one logout
// is queued for each; it returns the session's ID.
func mustQueueLogouts(t *testing.T, s store.Store, u store.User, clients ...store.Client) string {
	t.Helper()
	ctx := context.Background()
	sess := newSession(90, u)
	mustCreateSession(t, s, sess)
	for i, c := range clients {
		if _, err := s.UpdateClient(ctx, c.ID, func(old store.Client) (store.Client, error) {
			old.BackchannelLogoutURI = "https://" + c.ID + ".example.com/logout"
			return old, nil
		}); err != nil {
			t.Fatal(err)
		}
		code := newAuthCode(90+i, c, u)
		code.SessionID = sess.ID
		mustCreateAuthCode(t, s, code)
	}
	if err := s.EndSession(ctx, sess.ID, u.ID, base); err != nil {
		t.Fatalf("EndSession() = %v", err)
	}
	return sess.ID
}

func listLogouts(t *testing.T, s store.Store, now time.Time) []store.BackchannelLogout {
	t.Helper()
	list, err := s.ListBackchannelLogouts(context.Background(), now, 100)
	if err != nil {
		t.Fatalf("ListBackchannelLogouts() = %v", err)
	}
	return list
}

// Logout ends the session, its refresh tokens and its unredeemed codes,
// and only the user's own; it queues a logout for each client with a
// back-channel URI that got a code or a refresh token under it.
func testEndSession(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	notified := newClient(2) // has a back-channel logout URI
	notified.BackchannelLogoutURI = "https://app2.example.com/backchannel"
	mustCreateClient(t, s, notified)
	refreshOnly := newClient(3) // a refresh token of the session, its code long gone
	refreshOnly.BackchannelLogoutURI = "https://app3.example.com/backchannel"
	mustCreateClient(t, s, refreshOnly)
	other := newUser(2)
	mustCreateUser(t, s, other)

	sess, sess2 := newSession(1, u), newSession(2, u)
	mustCreateSession(t, s, sess)
	mustCreateSession(t, s, sess2)
	code := func(i int, cl store.Client, se store.Session) store.AuthCode {
		ac := newAuthCode(i, cl, u)
		ac.SessionID = se.ID
		mustCreateAuthCode(t, s, ac)
		return ac
	}
	token := func(i int, cl store.Client, sessionID string) store.RefreshToken {
		rt := newRefreshToken(i, cl, u)
		rt.SessionID = sessionID
		mustCreateRefreshToken(t, s, rt)
		return rt
	}
	unredeemed, redeemed, notifiedCode, otherCode := code(1, c, sess), code(2, c, sess), code(3, notified, sess), code(4, c, sess2)
	if _, err := s.RedeemAuthCode(ctx, redeemed.Hash, base); err != nil {
		t.Fatal(err)
	}
	in, refreshIn := token(1, c, sess.ID), token(2, refreshOnly, sess.ID)
	out, password := token(3, c, sess2.ID), token(4, c, "")

	// Another user's token cannot end the session.
	if err := s.EndSession(ctx, sess.ID, other.ID, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndSession(another user) = %v, want %v", err, store.ErrNotFound)
	}
	checkKept(t, s, grantRefs{sessions: []string{sess.Hash}, tokens: []string{in.Hash, refreshIn.Hash}})
	if got := listLogouts(t, s, base.Add(time.Hour)); len(got) != 0 {
		t.Errorf("EndSession(another user) queued %+v", got)
	}

	now := base.Add(time.Hour)
	if err := s.EndSession(ctx, sess.ID, u.ID, now); err != nil {
		t.Fatalf("EndSession() = %v", err)
	}
	checkGone(t, s, grantRefs{sessions: []string{sess.Hash}, tokens: []string{in.Hash, refreshIn.Hash}})
	for _, h := range []string{unredeemed.Hash, notifiedCode.Hash} {
		if _, err := s.GetAuthCode(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetAuthCode(unredeemed code of the ended session) = %v, want %v", err, store.ErrNotFound)
		}
	}
	// A redeemed code stays until it expires, so that a replay is still
	// recognized and revokes what it minted.
	if _, err := s.RedeemAuthCode(ctx, redeemed.Hash, now); !errors.Is(err, store.ErrConflict) {
		t.Errorf("RedeemAuthCode(redeemed code of the ended session) = %v, want %v", err, store.ErrConflict)
	}
	checkKept(t, s, grantRefs{sessions: []string{sess2.Hash}, tokens: []string{out.Hash, password.Hash}, codes: []string{otherCode.Hash}})

	want := []store.BackchannelLogout{
		{SessionID: sess.ID, ClientID: notified.ID, UserID: u.ID, CreatedAt: now, DueAt: now},
		{SessionID: sess.ID, ClientID: refreshOnly.ID, UserID: u.ID, CreatedAt: now, DueAt: now},
	}
	sortLogouts := cmpopts.SortSlices(func(a, b store.BackchannelLogout) bool { return a.ClientID < b.ClientID })
	if diff := cmp.Diff(want, listLogouts(t, s, now), sortLogouts); diff != "" {
		t.Errorf("queued logouts mismatch (-want +got):\n%s", diff)
	}
	if got := listLogouts(t, s, now.Add(-time.Microsecond)); len(got) != 0 {
		t.Errorf("ListBackchannelLogouts(before they are due) = %+v, want none", got)
	}

	// Nothing is left: a second logout is ErrNotFound and queues nothing.
	if err := s.EndSession(ctx, sess.ID, u.ID, now.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndSession(ended) = %v, want %v", err, store.ErrNotFound)
	}
	if diff := cmp.Diff(want, listLogouts(t, s, now.Add(time.Hour)), sortLogouts); diff != "" {
		t.Errorf("queued logouts after a second EndSession (-want +got):\n%s", diff)
	}
	// The password grant's tokens have no session: an empty id ends none.
	if err := s.EndSession(ctx, "", u.ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndSession(\"\") = %v, want %v", err, store.ErrNotFound)
	}
	checkKept(t, s, grantRefs{tokens: []string{password.Hash}})

	// The session row expired and went, but its refresh token lives on: a
	// logout by its ID ends the token (an old ID token as the hint).
	if err := s.DeleteSession(ctx, sess2.Hash); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, sess2.ID, u.ID, now); err != nil {
		t.Errorf("EndSession(expired session with a live refresh token) = %v, want nil", err)
	}
	checkGone(t, s, grantRefs{tokens: []string{out.Hash}})
}

// The queue of back-channel logouts: due order, a limit, an atomic update
// and deletion.
func testBackchannelLogouts(t *testing.T, s store.Store) {
	ctx := context.Background()
	c1, u := mustGrantee(t, s)
	c2, c3 := newClient(2), newClient(3)
	mustCreateClient(t, s, c2)
	mustCreateClient(t, s, c3)
	sid := mustQueueLogouts(t, s, u, c1, c2, c3)
	if got := listLogouts(t, s, base); len(got) != 3 {
		t.Fatalf("ListBackchannelLogouts() = %+v, want 3", got)
	}
	if got, err := s.ListBackchannelLogouts(ctx, base, 2); err != nil || len(got) != 2 {
		t.Errorf("ListBackchannelLogouts(limit 2) = %d rows, %v; want 2", len(got), err)
	}

	// c1 is tried and put off for a minute: c2 and c3 come first now.
	later := base.Add(time.Minute).In(time.FixedZone("JST", 9*3600))
	got, err := s.UpdateBackchannelLogout(ctx, sid, c1.ID, func(old store.BackchannelLogout) (store.BackchannelLogout, error) {
		old.Attempts++
		old.DueAt = later
		old.SessionID, old.ClientID = "changed", "changed" // the key is immutable
		return old, nil
	})
	if err != nil {
		t.Fatalf("UpdateBackchannelLogout() = %v", err)
	}
	want := store.BackchannelLogout{SessionID: sid, ClientID: c1.ID, UserID: u.ID, Attempts: 1, CreatedAt: base, DueAt: later}
	if !cmp.Equal(want, got, cmpopts.EquateApproxTime(0)) {
		t.Errorf("UpdateBackchannelLogout() = %+v, want %+v", got, want)
	}
	due := listLogouts(t, s, base)
	if len(due) != 2 || due[0].ClientID == c1.ID || due[1].ClientID == c1.ID {
		t.Errorf("ListBackchannelLogouts(before c1 is due again) = %+v, want c2 and c3", due)
	}
	all := listLogouts(t, s, later)
	if len(all) != 3 || all[2].ClientID != c1.ID || all[2].Attempts != 1 || !all[2].DueAt.Equal(later) || all[2].DueAt.Location() != time.UTC {
		t.Errorf("ListBackchannelLogouts(when c1 is due) = %+v, want c1 last, tried once, due at %v UTC", all, later)
	}

	errAbort := errors.New("abort")
	if _, err := s.UpdateBackchannelLogout(ctx, sid, c2.ID, func(old store.BackchannelLogout) (store.BackchannelLogout, error) {
		old.Attempts = 99
		return old, errAbort
	}); !errors.Is(err, errAbort) {
		t.Errorf("UpdateBackchannelLogout(aborting) = %v, want %v", err, errAbort)
	}
	if _, err := s.UpdateBackchannelLogout(ctx, sid, "missing", func(old store.BackchannelLogout) (store.BackchannelLogout, error) {
		return old, nil
	}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateBackchannelLogout(missing) = %v, want %v", err, store.ErrNotFound)
	}

	if err := s.DeleteBackchannelLogout(ctx, sid, c2.ID); err != nil {
		t.Fatalf("DeleteBackchannelLogout() = %v", err)
	}
	if err := s.DeleteBackchannelLogout(ctx, sid, c2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteBackchannelLogout(deleted) = %v, want %v", err, store.ErrNotFound)
	}
	left := listLogouts(t, s, later)
	if len(left) != 2 || left[0].ClientID != c3.ID || left[0].Attempts != 0 || left[1].ClientID != c1.ID {
		t.Errorf("ListBackchannelLogouts() after deleting c2's = %+v, want c3's (untried) and c1's", left)
	}
}
