package server

import (
	"net/url"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
)

// postForm sends an application/x-www-form-urlencoded POST as client c.
func (p *provider) postForm(t *testing.T, path, clientID, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	rec := p.do(t, "POST", path, form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "Authorization", basicClient(clientID, secret))
	return rec.Code, decode(t, rec)
}

// issued is everything a user holds after signing in once.
type issued struct {
	tutorial, access, refresh, code string
}

// issueAll signs alice in every way at the harness's clock: the tutorial's
// login, the password grant, and an authorization code as the login page
// would store it.
func (p *provider) issueAll(t *testing.T, c store.Client, secret, userID string) issued {
	t.Helper()
	var out issued
	out.tutorial = p.login(t, "alice@example.com", "correct horse")
	code, body := p.postForm(t, "/oauth2/token", c.ID, secret, url.Values{"grant_type": {"password"},
		"username": {"alice@example.com"}, "password": {"correct horse"}, "scope": {"openid email profile"}})
	if code != 200 {
		t.Fatalf("password grant = %d %v", code, body)
	}
	out.access, out.refresh = body["access_token"].(string), body["refresh_token"].(string)
	out.code = randomToken()
	now := p.clock.Now().UTC().Truncate(time.Microsecond)
	err := p.store.CreateAuthCode(t.Context(), store.AuthCode{Hash: hashToken(out.code), ClientID: c.ID, UserID: userID,
		RedirectURI: redirectURI, Scope: "openid", Family: newFamily(), AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A credential change at an instant ends everything issued before it, even
// in the same second, at every endpoint — the JWT access tokens too, which
// no store row holds — and nothing issued after it, even in the same second.
func TestTokensValidAfter(t *testing.T) { backends(t, testTokensValidAfter) }

func testTokensValidAfter(t *testing.T, backend harnessOption) {
	p := &provider{harness: newHarness(t, backend), url: testIssuer} // the clock stands at t0, a whole second
	uid := p.signup(t, "Alice", "alice@example.com", "correct horse")["id"].(string)
	c, secret := p.client(t, store.Client{Audience: []string{testIssuer}})
	other, otherSecret := p.client(t, store.Client{}) // introspects
	p.clock.Add(300 * time.Millisecond)
	before := p.issueAll(t, c, secret, uid)

	// What each endpoint says of a set of tokens.
	check := func(t *testing.T, tok issued, wantOK bool) {
		t.Helper()
		want := map[bool]int{true: 200, false: 401}[wantOK]
		for _, raw := range []string{tok.tutorial, tok.access} {
			if rec := p.do(t, "GET", "/user", "", "Authorization", "Bearer "+raw); rec.Code != want {
				t.Errorf("GET /user = %d, want %d", rec.Code, want)
			}
			if rec := p.do(t, "GET", "/userinfo", "", "Authorization", "Bearer "+raw); rec.Code != want {
				t.Errorf("GET /userinfo = %d, want %d", rec.Code, want)
			}
			if _, body := p.postForm(t, "/oauth2/introspect", other.ID, otherSecret, url.Values{"token": {raw}}); body["active"] != wantOK {
				t.Errorf("introspection of an access token = %v, want active %v", body, wantOK)
			}
		}
		if _, body := p.postForm(t, "/oauth2/introspect", c.ID, secret, url.Values{"token": {tok.refresh}}); body["active"] != wantOK {
			t.Errorf("introspection of a refresh token = %v, want active %v", body, wantOK)
		}
		wantGrant := map[bool]int{true: 200, false: 400}[wantOK]
		code, body := p.postForm(t, "/oauth2/token", c.ID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {tok.code}, "redirect_uri": {redirectURI}})
		if code != wantGrant || (!wantOK && body["error"] != "invalid_grant") {
			t.Errorf("code exchange = %d %v, want %d", code, body, wantGrant)
		}
		code, body = p.postForm(t, "/oauth2/token", c.ID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.refresh}})
		if code != wantGrant || (!wantOK && body["error"] != "invalid_grant") {
			t.Errorf("refresh = %d %v, want %d", code, body, wantGrant)
		}
	}

	p.clock.Add(200 * time.Millisecond) // t0 + 0.5 s: the password changes
	if _, err := p.store.UpdateUser(t.Context(), uid, func(u store.User) (store.User, error) {
		u.TokensValidAfter = token.ValidAfter(p.clock.Now(), u.TokensValidAfter)
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	p.clock.Add(200 * time.Millisecond) // t0 + 0.7 s, the same second
	after := p.issueAll(t, c, secret, uid)
	for _, raw := range []string{after.tutorial, after.access} {
		if _, claims := splitToken(t, raw); claims["iat"] != float64(t0.Unix()+1) {
			t.Errorf("iat after the change = %v, want %d: the change's second rounded up", claims["iat"], t0.Unix()+1)
		}
	}
	t.Run("before the change", func(t *testing.T) { check(t, before, false) })
	t.Run("after the change", func(t *testing.T) { check(t, after, true) })
	// No grant was deleted here: the instant alone refused them.
	if _, err := p.store.GetRefreshToken(t.Context(), hashToken(before.refresh)); err != nil {
		t.Errorf("GetRefreshToken(before) = %v, want the row kept", err)
	}
}

// Deleting a client ends its access tokens at every endpoint, client
// credentials tokens included, and its refresh tokens go with it.
func TestDeleteClient_endsTokens(t *testing.T) { backends(t, testDeleteClientEndsTokens) }

func testDeleteClientEndsTokens(t *testing.T, backend harnessOption) {
	p := &provider{harness: newHarness(t, backend), url: testIssuer}
	uid := p.signup(t, "Alice", "alice@example.com", "correct horse")["id"].(string)
	c, secret := p.client(t, store.Client{Audience: []string{testIssuer}})
	other, otherSecret := p.client(t, store.Client{})
	tok := p.issueAll(t, c, secret, uid)
	code, body := p.postForm(t, "/oauth2/token", c.ID, secret, url.Values{"grant_type": {"client_credentials"}})
	if code != 200 {
		t.Fatalf("client_credentials = %d %v", code, body)
	}
	service := body["access_token"].(string)
	check := func(t *testing.T, want int, active bool) {
		t.Helper()
		for _, path := range []string{"/user", "/userinfo"} {
			if rec := p.do(t, "GET", path, "", "Authorization", "Bearer "+tok.access); rec.Code != want {
				t.Errorf("GET %s = %d, want %d", path, rec.Code, want)
			}
		}
		for _, raw := range []string{tok.access, service} {
			if _, body := p.postForm(t, "/oauth2/introspect", other.ID, otherSecret, url.Values{"token": {raw}}); body["active"] != active {
				t.Errorf("introspection = %v, want active %v", body, active)
			}
		}
	}
	check(t, 200, true)
	if err := p.store.DeleteClient(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	check(t, 401, false)
	if rec := p.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok.tutorial); rec.Code != 200 {
		t.Errorf("the tutorial's token, of no client, at GET /user = %d, want 200", rec.Code)
	}
	if _, err := p.store.GetRefreshToken(t.Context(), hashToken(tok.refresh)); err == nil {
		t.Error("the deleted client's refresh token is still stored")
	}
}
