package oauth2

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
	"github.com/inkan-dev/inkan/internal/token"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// storeUsers is Users over the store: the rule of the server's liveUser,
// its refusals wrapping ErrGrantEnded.
type storeUsers struct{ st store.Store }

func (s storeUsers) Live(ctx context.Context, id string, issued time.Time) (store.User, error) {
	u, err := s.st.GetUser(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, fmt.Errorf("%w: user deleted", ErrGrantEnded)
	case err != nil:
		return store.User{}, err
	case u.Disabled:
		return store.User{}, fmt.Errorf("%w: user disabled", ErrGrantEnded)
	case issued.Before(u.TokensValidAfter):
		return store.User{}, fmt.Errorf("%w: before reset", ErrGrantEnded)
	}
	return u, nil
}

// passwords accepts one password for every user of the store, and answers
// anything else with invalid_grant.
type passwords struct {
	st   store.Store
	want string
	from []netip.Addr
}

func (p *passwords) Authenticate(ctx context.Context, email, password string, from netip.Addr) (store.User, error) {
	p.from = append(p.from, from)
	u, err := p.st.GetUserByEmail(ctx, email)
	if err != nil || password != p.want {
		return store.User{}, Errorf(InvalidGrant, "incorrect username or password")
	}
	return u, nil
}

// fixture is the token endpoint's grants over a real SQLite store, with a
// fixed clock and no HTTP.
type fixture struct {
	st          store.Store
	clock       *clock
	revocations *Revocations
	issuer      *Issuer
	policy      *RefreshPolicy
	endpoint    *TokenEndpoint
	passwords   *passwords
	introspect  *Introspector
	user        store.User
	client      store.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "inkan.db"))
	if err != nil {
		t.Fatalf("sqlite.Open() = %v", err)
	}
	t.Cleanup(func() { st.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := &clock{t: t0}
	sealer, err := keys.NewSealer(make([]byte, keys.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := keys.Generate(keys.ES256, 0)
	if err != nil {
		t.Fatal(err)
	}
	km := &keys.Manager{Store: st, Sealer: sealer, Schedule: keys.Schedule{MaxAge: time.Hour, TokenTTL: time.Hour, Leeway: time.Minute},
		Logger: logger, Now: func() time.Time { return t0.Add(-time.Hour) }}
	if _, err := km.Add(ctx, priv, keys.ES256, true); err != nil {
		t.Fatalf("Manager.Add() = %v", err)
	}
	set, err := keys.NewSet(ctx, km)
	if err != nil {
		t.Fatalf("keys.NewSet() = %v", err)
	}
	tokens := &token.Issuer{Issuer: "https://inkan.test", TTL: time.Hour, Keys: set, Now: clk.Now}

	f := &fixture{st: st, clock: clk}
	f.revocations = &Revocations{Store: st, Logger: logger, Now: clk.Now, FamilyTTL: 721 * time.Hour}
	if err := f.revocations.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	users := storeUsers{st}
	f.issuer = &Issuer{Tokens: tokens, IDTokens: &oidc.Issuer{Issuer: tokens.Issuer, TTL: tokens.TTL, Keys: tokens.Keys, Now: tokens.Now}, Store: st, Secret: make([]byte, 32), RefreshTTL: 720 * time.Hour, Now: clk.Now}
	f.policy = &RefreshPolicy{Users: users, Revocations: f.revocations, ReuseWindow: 10 * time.Second}
	f.passwords = &passwords{st: st, want: "correct horse"}
	f.endpoint = NewTokenEndpoint(
		&AuthCodeGrant{Store: st, Issuer: f.issuer, Users: users, Revocations: f.revocations, Logger: logger, Now: clk.Now},
		&RefreshGrant{Store: st, Issuer: f.issuer, Policy: f.policy, Logger: logger, Now: clk.Now},
		&ClientCredentialsGrant{Issuer: f.issuer},
		&PasswordGrant{Passwords: f.passwords, Issuer: f.issuer, MaxPasswordBytes: 1024, Now: clk.Now},
	)
	f.introspect = &Introspector{Store: st, Access: noAccessTokens{}, Policy: f.policy, Now: clk.Now}

	now := t0.Add(-time.Hour)
	f.user = store.User{ID: "user-1", Name: "Alice", Email: "alice@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, f.user); err != nil {
		t.Fatal(err)
	}
	f.client = f.newClient(t, "app", Grants...)
	return f
}

func (f *fixture) newClient(t *testing.T, id string, grants ...string) store.Client {
	t.Helper()
	c := store.Client{ID: id, Name: id, SecretHash: HashSecret("secret-" + id), RedirectURIs: []string{"https://app.example.com/cb"},
		Grants: grants, Scopes: []string{"openid", "profile", "email", "offline_access"}, CreatedAt: t0, UpdatedAt: t0}
	if err := f.st.CreateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// code stores an authorization code for the fixture's user and client,
// with challenge as its PKCE challenge, and returns it.
func (f *fixture) code(t *testing.T, challenge string) string {
	t.Helper()
	raw := RandomToken()
	err := f.st.CreateAuthCode(t.Context(), store.AuthCode{Hash: HashToken(raw), ClientID: f.client.ID, UserID: f.user.ID,
		RedirectURI: "https://app.example.com/cb", Scope: "openid profile", Nonce: "n-1", CodeChallenge: challenge, Family: NewFamily(),
		AuthTime: t0.Add(-time.Minute), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// noAccessTokens knows no access token.
type noAccessTokens struct{}

func (noAccessTokens) Verify(context.Context, string) (AccessToken, error) {
	return AccessToken{}, errors.New("no access tokens here")
}
func (noAccessTokens) Check(context.Context, string) (AccessToken, error) {
	return AccessToken{}, errors.New("no access tokens here")
}

// claims decodes the payload of a compact JWS.
func claims(tb testing.TB, raw string) map[string]any {
	tb.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		tb.Fatalf("%q is not a compact JWS", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if !isCode(err, code) {
		tb.Errorf("%s error = %v, want %s", what, err, code)
	}
}

// RFC 7636 Appendix B.
const (
	pkceVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	pkceChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestAuthCodeGrant_Exchange(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	raw := f.code(t, pkceChallenge)
	req := func(verifier string) *TokenRequest {
		return &TokenRequest{GrantType: GrantAuthorizationCode, Client: f.client, Code: raw, RedirectURI: "https://app.example.com/cb", CodeVerifier: verifier}
	}

	// Failed checks do not use the code up for its owner.
	other := f.newClient(t, "other", GrantAuthorizationCode)
	for _, tc := range []struct {
		name string
		req  *TokenRequest
		want string
	}{
		{"no code", &TokenRequest{GrantType: GrantAuthorizationCode, Client: f.client}, InvalidRequest},
		{"wrong verifier", req(strings.Replace(pkceVerifier, "d", "e", 1)), InvalidGrant},
		{"no verifier", req(""), InvalidGrant},
		{"another client", &TokenRequest{GrantType: GrantAuthorizationCode, Client: other, Code: raw, RedirectURI: "https://app.example.com/cb", CodeVerifier: pkceVerifier}, InvalidGrant},
		{"another redirect uri", &TokenRequest{GrantType: GrantAuthorizationCode, Client: f.client, Code: raw, RedirectURI: "https://app.example.com/other", CodeVerifier: pkceVerifier}, InvalidGrant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.endpoint.Exchange(ctx, tc.req)
			if resp != nil || !isCode(err, tc.want) {
				t.Errorf("Exchange() = %+v, %v; want %s", resp, err, tc.want)
			}
		})
	}

	resp, err := f.endpoint.Exchange(ctx, req(pkceVerifier))
	if err != nil {
		t.Fatalf("Exchange(the right verifier) = %v", err)
	}
	if resp.TokenType != "Bearer" || resp.ExpiresIn != 3600 || resp.Scope != "openid profile" || resp.RefreshToken == "" || resp.IDToken == "" {
		t.Errorf("Exchange() = %+v, want a Bearer token for an hour with scope, refresh and ID tokens", resp)
	}
	at, id := claims(t, resp.AccessToken), claims(t, resp.IDToken)
	if at["sub"] != f.user.ID || at["client_id"] != f.client.ID || at["name"] != "Alice" || at["fam"] == nil {
		t.Errorf("access token claims = %v", at)
	}
	if id["nonce"] != "n-1" || id["aud"] != f.client.ID || id["auth_time"] != float64(t0.Add(-time.Minute).Unix()) || id["at_hash"] == nil {
		t.Errorf("ID token claims = %v", id)
	}

	// A replay revokes the grant: its refresh token no longer refreshes.
	if _, err := f.endpoint.Exchange(ctx, req(pkceVerifier)); !isCode(err, InvalidGrant) {
		t.Errorf("Exchange(replayed code) = %v, want invalid_grant", err)
	}
	if !f.revocations.FamilyRevoked(at["fam"].(string)) {
		t.Error("a replayed code left its family unrevoked")
	}
	_, err = f.endpoint.Exchange(ctx, &TokenRequest{GrantType: GrantRefreshToken, Client: f.client, RefreshToken: resp.RefreshToken})
	wantCode(t, "refresh after a replay", err, InvalidGrant)
}

func TestAuthCodeGrant_Exchange_userGone(t *testing.T) {
	f := newFixture(t)
	raw := f.code(t, "")
	if _, err := f.st.UpdateUser(t.Context(), f.user.ID, func(u store.User) (store.User, error) {
		u.TokensValidAfter = t0 // the password changed after the sign-in
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	_, err := f.endpoint.Exchange(t.Context(), &TokenRequest{GrantType: GrantAuthorizationCode, Client: f.client, Code: raw, RedirectURI: "https://app.example.com/cb"})
	wantCode(t, "Exchange(code from before a reset)", err, InvalidGrant)
}

func TestRefreshGrant_Exchange(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	first, err := f.endpoint.Exchange(ctx, &TokenRequest{GrantType: GrantPassword, Client: f.client, Username: "alice@example.com", Password: "correct horse", Scope: "openid profile"})
	if err != nil {
		t.Fatalf("password grant = %v", err)
	}
	refresh := func(rt, scope string) (*TokenResponse, error) {
		return f.endpoint.Exchange(ctx, &TokenRequest{GrantType: GrantRefreshToken, Client: f.client, RefreshToken: rt, Scope: scope})
	}

	_, err = refresh(first.RefreshToken, "openid email")
	wantCode(t, "refresh with a wider scope", err, InvalidScope)
	narrow, err := refresh(first.RefreshToken, "profile")
	if err != nil || narrow.Scope != "profile" || narrow.IDToken != "" || narrow.RefreshToken != f.issuer.Successor(first.RefreshToken) {
		t.Fatalf("refresh(profile) = %+v, %v; want scope profile, no ID token, the successor", narrow, err)
	}
	f.clock.Add(5 * time.Second)
	again, err := refresh(first.RefreshToken, "")
	if err != nil || again.RefreshToken != narrow.RefreshToken || again.Scope != "openid profile" || again.IDToken == "" {
		t.Fatalf("refresh within the reuse window = %+v, %v; want the same successor, the granted scope", again, err)
	}
	if in, err := f.introspect.Introspect(ctx, f.client, first.RefreshToken); err != nil || !in.Active {
		t.Errorf("Introspect(used within the window) = %+v, %v; want active", in, err)
	}

	f.clock.Add(10 * time.Second) // past the window: reuse
	if in, err := f.introspect.Introspect(ctx, f.client, first.RefreshToken); err != nil || in.Active {
		t.Errorf("Introspect(used past the window) = %+v, %v; want inactive", in, err)
	}
	_, err = refresh(first.RefreshToken, "")
	wantCode(t, "refresh past the reuse window", err, InvalidGrant)
	_, err = refresh(narrow.RefreshToken, "")
	wantCode(t, "refresh with the successor of a reused token", err, InvalidGrant)
	if in, err := f.introspect.Introspect(ctx, f.client, narrow.RefreshToken); err != nil || in.Active {
		t.Errorf("Introspect(successor of a reused token) = %+v, %v; want inactive", in, err)
	}
}

func TestRefreshPolicy_Active(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	other := f.newClient(t, "other", GrantRefreshToken)
	live := store.RefreshToken{Family: "f-live", ClientID: f.client.ID, UserID: f.user.ID, AuthTime: t0.Add(-time.Minute),
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	with := func(change func(*store.RefreshToken)) store.RefreshToken {
		rt := live
		change(&rt)
		return rt
	}
	f.revocations.RevokeFamily(ctx, "f-revoked")
	for _, tc := range []struct {
		name   string
		rt     store.RefreshToken
		client store.Client
		active bool
	}{
		{"live", live, f.client, true},
		{"used within the window", with(func(rt *store.RefreshToken) { rt.UsedAt = t0.Add(-10 * time.Second) }), f.client, true},
		{"used before the window", with(func(rt *store.RefreshToken) { rt.UsedAt = t0.Add(-11 * time.Second) }), f.client, false},
		{"another client's", live, other, false},
		{"expired", with(func(rt *store.RefreshToken) { rt.ExpiresAt = t0 }), f.client, false},
		{"family revoked", with(func(rt *store.RefreshToken) { rt.Family = "f-revoked" }), f.client, false},
		{"user gone", with(func(rt *store.RefreshToken) { rt.UserID = "nobody" }), f.client, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := f.policy.Active(ctx, tc.rt, tc.client, t0)
			if got := err == nil; got != tc.active || (err != nil && !errors.Is(err, ErrGrantEnded)) {
				t.Errorf("Active() = %v, %v; want active %v, or an error wrapping ErrGrantEnded", u.ID, err, tc.active)
			}
		})
	}
}

func TestClientCredentialsGrant_Exchange(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	resp, err := f.endpoint.Exchange(ctx, &TokenRequest{GrantType: GrantClientCredentials, Client: f.client, Scope: "openid profile"})
	if err != nil || resp.Scope != "profile" || resp.RefreshToken != "" || resp.IDToken != "" {
		t.Fatalf("Exchange(openid profile) = %+v, %v; want scope profile alone and an access token alone", resp, err)
	}
	if at := claims(t, resp.AccessToken); at["sub"] != f.client.ID || at["aud"].([]any)[0] != f.client.ID {
		t.Errorf("access token claims = %v, want the client as sub and aud", at)
	}
	pub := f.client
	pub.Public = true
	_, err = f.endpoint.Exchange(ctx, &TokenRequest{GrantType: GrantClientCredentials, Client: pub})
	wantCode(t, "Exchange(public client)", err, UnauthorizedClient)
}

func TestPasswordGrant_Exchange(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	from := netip.MustParseAddr("192.0.2.7")
	for _, tc := range []struct {
		name, username, password, scope, want string
	}{
		{"no username", " ", "correct horse", "", InvalidRequest},
		{"no password", "alice@example.com", "", "", InvalidRequest},
		{"password too long", "alice@example.com", strings.Repeat("p", 1025), "", InvalidRequest},
		{"scope not allowed", "alice@example.com", "correct horse", "admin", InvalidScope},
		{"wrong password", "alice@example.com", "wrong", "", InvalidGrant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.endpoint.Exchange(ctx, &TokenRequest{GrantType: GrantPassword, Client: f.client, Username: tc.username, Password: tc.password, Scope: tc.scope, From: from})
			wantCode(t, "Exchange()", err, tc.want)
		})
	}
	resp, err := f.endpoint.Exchange(ctx, &TokenRequest{GrantType: GrantPassword, Client: f.client, Username: "alice@example.com", Password: "correct horse", From: from})
	if err != nil || resp.RefreshToken == "" || resp.IDToken == "" || resp.Scope != "openid profile email offline_access" {
		t.Fatalf("Exchange(right password) = %+v, %v; want the client's scopes, a refresh and an ID token", resp, err)
	}
	if n := len(f.passwords.from); n != 2 || f.passwords.from[n-1] != from {
		t.Errorf("Authenticate saw addresses %v, want two, the last %v", f.passwords.from, from)
	}
	if id := claims(t, resp.IDToken); id["sid"] != nil || id["auth_time"] != float64(t0.Unix()) {
		t.Errorf("ID token claims = %v, want no sid and auth_time now", id)
	}
}

func TestTokenEndpoint_Exchange(t *testing.T) {
	f := newFixture(t)
	codeOnly := f.newClient(t, "code-only", GrantAuthorizationCode)
	for _, tc := range []struct {
		name string
		req  *TokenRequest
		want string
	}{
		{"no grant type", &TokenRequest{Client: f.client}, UnsupportedGrantType},
		{"unknown grant type", &TokenRequest{GrantType: "urn:ietf:params:oauth:grant-type:device_code", Client: f.client}, UnsupportedGrantType},
		{"grant not registered", &TokenRequest{GrantType: GrantClientCredentials, Client: codeOnly}, UnauthorizedClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.endpoint.Exchange(t.Context(), tc.req)
			wantCode(t, "Exchange()", err, tc.want)
		})
	}
	for _, g := range Grants {
		if _, ok := f.endpoint.grants[g]; !ok {
			t.Errorf("the token endpoint has no %s grant", g)
		}
	}
}

func TestRevoker_Revoke(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	resp, err := f.endpoint.Exchange(ctx, &TokenRequest{GrantType: GrantPassword, Client: f.client, Username: "alice@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	r := &Revoker{Store: f.st, Access: noAccessTokens{}, Revocations: f.revocations, Leeway: time.Minute}
	wantCode(t, "Revoke(no token)", r.Revoke(ctx, f.client, ""), InvalidRequest)
	other := f.newClient(t, "other", GrantRefreshToken)
	for _, tc := range []struct {
		name   string
		client store.Client
		raw    string
		active bool
	}{
		{"unknown token", f.client, "no-such-token", true},
		{"another client's", other, resp.RefreshToken, true},
		{"an unknown access token", f.client, "a.b.c", true},
		{"its own", f.client, resp.RefreshToken, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := r.Revoke(ctx, tc.client, tc.raw); err != nil {
				t.Fatalf("Revoke() = %v, want nil", err)
			}
			in, err := f.introspect.Introspect(ctx, f.client, resp.RefreshToken)
			if err != nil || in.Active != tc.active {
				t.Errorf("Introspect(refresh token) after Revoke = %+v, %v; want active %v", in, err, tc.active)
			}
		})
	}
	rows, err := f.st.ListRevocations(ctx, t0)
	if err != nil || len(rows) != 1 || rows[0].Kind != KindFamily {
		t.Errorf("stored revocations = %+v, %v; want the family's", rows, err)
	}
}

// A revocation is stored even when the request's context has ended: a
// client that hangs up cannot cancel it.
func TestRevocations_RevokeFamily_cancelled(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	f.revocations.RevokeFamily(ctx, "gone")
	// Another process's view, from the store.
	fresh := &Revocations{Store: f.st, Logger: slog.New(slog.DiscardHandler), Now: f.clock.Now}
	if err := fresh.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !fresh.FamilyRevoked("gone") || !f.revocations.FamilyRevoked("gone") {
		t.Error("RevokeFamily with a cancelled context stored nothing")
	}
}

func TestIntrospector_Introspect(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	pub := f.client
	pub.Public = true
	_, err := f.introspect.Introspect(ctx, pub, "x")
	wantCode(t, "Introspect(public client)", err, InvalidClient)
	_, err = f.introspect.Introspect(ctx, f.client, "")
	wantCode(t, "Introspect(no token)", err, InvalidRequest)
	for _, raw := range []string{"a.b.c", "unknown"} {
		if in, err := f.introspect.Introspect(ctx, f.client, raw); err != nil || in.Active {
			t.Errorf("Introspect(%q) = %+v, %v; want inactive", raw, in, err)
		}
	}
}

func TestIntrospection_MarshalJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Introspection
		want string
	}{
		{"inactive", Introspection{Subject: "ignored"}, `{"active":false}`},
		{"refresh token", Introspection{Active: true, TokenType: TokenTypeRefresh, ClientID: "app", Subject: "u", Expiry: 2, IssuedAt: 1},
			`{"active":true,"client_id":"app","exp":2,"iat":1,"scope":"","sub":"u","token_type":"refresh_token"}`},
		{"client's access token", Introspection{Active: true, TokenType: TokenTypeBearer, Subject: "app", Issuer: "https://i", ID: "j", Expiry: 2, IssuedAt: 1},
			`{"active":true,"exp":2,"iat":1,"iss":"https://i","jti":"j","sub":"app","token_type":"Bearer"}`},
		{"user's access token", Introspection{Active: true, TokenType: TokenTypeBearer, Subject: "u", Issuer: "https://i", ID: "j", Expiry: 2, IssuedAt: 1,
			Audience: []string{"api"}, ClientID: "app", Scope: "email", Username: "a@example.com"},
			`{"active":true,"aud":["api"],"client_id":"app","exp":2,"iat":1,"iss":"https://i","jti":"j","scope":"email","sub":"u","token_type":"Bearer","username":"a@example.com"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.in)
			if err != nil || string(b) != tc.want {
				t.Errorf("json.Marshal(%+v) = %s, %v; want %s", tc.in, b, err, tc.want)
			}
		})
	}
}

func TestError(t *testing.T) {
	cause := errors.New("disk full")
	e := AsError(fmt.Errorf("store: %w", cause))
	if e.Code != ServerError || !errors.Is(e, cause) || strings.Contains(e.Description, "disk") {
		t.Errorf("AsError(store error) = %+v; want server_error wrapping the cause, which the description does not name", e)
	}
	for _, tc := range []struct {
		code string
		want slog.Level
	}{
		{ServerError, slog.LevelError},
		{InvalidGrant, slog.LevelWarn},
		{InvalidClient, slog.LevelWarn},
		{TemporarilyUnavailable, slog.LevelWarn},
		{LoginRequired, slog.LevelInfo},
		{ConsentRequired, slog.LevelInfo},
	} {
		if got := (&Error{Code: tc.code}).LogLevel(); got != tc.want {
			t.Errorf("Error{Code: %s}.LogLevel() = %v, want %v", tc.code, got, tc.want)
		}
	}
	wrapped := &Error{Code: InvalidGrant, Description: "too many attempts", Cause: cause}
	if !errors.Is(wrapped, cause) || wrapped.Error() != "oauth2: invalid_grant: too many attempts: disk full" {
		t.Errorf("Error with a cause: Is = %v, Error() = %q", errors.Is(wrapped, cause), wrapped.Error())
	}
}
