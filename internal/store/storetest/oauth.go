package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

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
	{"list sessions", testListSessions},
	{"session families", testSessionFamilies},
	{"end user sessions", testEndUserSessions},
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
