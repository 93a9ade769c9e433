package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/inkan-dev/inkan/internal/store"
)

// The attacks RFC 9700 lists, each refused.
func TestOAuth_attacks(t *testing.T) { backends(t, testOAuth_attacks) }

func testOAuth_attacks(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	c, secret := p.client(t, store.Client{Trusted: true})
	other, otherSecret := p.client(t, store.Client{Trusted: true})
	pub, _ := p.client(t, store.Client{Public: true, Trusted: true})
	ctx := context.Background()
	endpoint := oauth2.Endpoint{AuthURL: p.url + "/oauth2/authorize", TokenURL: p.url + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}
	conf := oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: endpoint, RedirectURL: redirectURI, Scopes: []string{"openid"}}

	// code returns a fresh code for conf with PKCE verifier v.
	code := func(t *testing.T, conf oauth2.Config, v string) string {
		t.Helper()
		b := newBrowser(t)
		opts := []oauth2.AuthCodeOption{}
		if v != "" {
			opts = append(opts, oauth2.S256ChallengeOption(v))
		}
		// The trusted public client still sees the consent page: its
		// redirect URI is loopback, not claimed https (RFC 8252 §8.6).
		landed := b.signIn(conf.AuthCodeURL("st", opts...), "alice@example.com", "correct horse", true)
		if landed.Query().Get("code") == "" {
			t.Fatalf("no code: %s", landed)
		}
		return landed.Query().Get("code")
	}

	t.Run("redirect URI mismatch and open redirect", func(t *testing.T) {
		for _, ru := range []string{"https://evil.example/cb", "http://127.0.0.1/cb/../evil", "http://127.0.0.1/cb?x=1", "http://localhost/cb", "//evil.example/cb", ""} {
			bad := conf
			bad.RedirectURL = ru
			b := newBrowser(t)
			status, page, landed := b.get(bad.AuthCodeURL("st"))
			if landed != nil || status != http.StatusBadRequest || !strings.Contains(page, "Cannot continue") {
				t.Errorf("redirect_uri %q: %d, landed %v; want an error page and no redirect", ru, status, landed)
			}
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		bad := conf
		bad.ClientID = "nope"
		if status, _, landed := newBrowser(t).get(bad.AuthCodeURL("st")); landed != nil || status != 400 {
			t.Errorf("unknown client: %d, landed %v", status, landed)
		}
	})
	t.Run("errors go back to a valid redirect URI", func(t *testing.T) {
		for _, tc := range []struct{ param, value, want string }{
			{"response_type", "token", "unsupported_response_type"},
			{"scope", "admin", "invalid_scope"},
			{"code_challenge_method", "plain", "invalid_request"},
		} {
			u := conf.AuthCodeURL("st", oauth2.SetAuthURLParam(tc.param, tc.value), oauth2.SetAuthURLParam("code_challenge", strings.Repeat("a", 43)))
			_, _, landed := newBrowser(t).get(u)
			if landed == nil || landed.Query().Get("error") != tc.want || landed.Query().Get("state") != "st" || landed.Query().Get("iss") != p.url {
				t.Errorf("%s=%s: landed %v, want error %s with state and iss", tc.param, tc.value, landed, tc.want)
			}
		}
	})
	t.Run("code reuse revokes the tokens issued from it", func(t *testing.T) {
		cd := code(t, conf, "")
		tok, err := conf.Exchange(ctx, cd)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conf.Exchange(ctx, cd); !isOAuthError(err, "invalid_grant") {
			t.Errorf("second exchange = %v, want invalid_grant", err)
		}
		if rec := p.do(t, "GET", "/userinfo", "", "Authorization", "Bearer "+tok.AccessToken); rec.Code != 401 {
			t.Errorf("access token from a replayed code at /userinfo = %d, want 401", rec.Code)
		}
		old := *tok
		old.Expiry = time.Now().Add(-time.Minute)
		if _, err := conf.TokenSource(ctx, &old).Token(); err == nil {
			t.Error("refresh token from a replayed code still works")
		}
	})
	t.Run("code used by another client", func(t *testing.T) {
		cd := code(t, conf, "")
		thief := oauth2.Config{ClientID: other.ID, ClientSecret: otherSecret, Endpoint: endpoint, RedirectURL: redirectURI}
		if _, err := thief.Exchange(ctx, cd); !isOAuthError(err, "invalid_grant") {
			t.Errorf("exchange by another client = %v, want invalid_grant", err)
		}
		// The failed attempt did not use the code up for its owner.
		if _, err := conf.Exchange(ctx, cd); err != nil {
			t.Errorf("the rightful exchange after a thief's attempt = %v, want tokens", err)
		}
	})
	t.Run("PKCE", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		if _, err := conf.Exchange(ctx, code(t, conf, v), oauth2.VerifierOption(oauth2.GenerateVerifier())); !isOAuthError(err, "invalid_grant") {
			t.Errorf("wrong verifier = %v, want invalid_grant", err)
		}
		if _, err := conf.Exchange(ctx, code(t, conf, v)); !isOAuthError(err, "invalid_grant") {
			t.Errorf("missing verifier = %v, want invalid_grant", err)
		}
		if _, err := conf.Exchange(ctx, code(t, conf, ""), oauth2.VerifierOption(v)); !isOAuthError(err, "invalid_grant") {
			t.Errorf("verifier for a code without a challenge (downgrade) = %v, want invalid_grant", err)
		}
		pconf := oauth2.Config{ClientID: pub.ID, Endpoint: oauth2.Endpoint{AuthURL: endpoint.AuthURL, TokenURL: endpoint.TokenURL, AuthStyle: oauth2.AuthStyleInParams}, RedirectURL: redirectURI}
		_, _, landed := newBrowser(t).get(pconf.AuthCodeURL("st"))
		if landed == nil || landed.Query().Get("error") != "invalid_request" {
			t.Errorf("public client without PKCE: landed %v, want invalid_request", landed)
		}
		if _, err := pconf.Exchange(ctx, code(t, pconf, v), oauth2.VerifierOption(v)); err != nil {
			t.Errorf("public client with PKCE = %v", err)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		cd := code(t, conf, "")
		p.clock.Add(61 * time.Second)
		if _, err := conf.Exchange(ctx, cd); !isOAuthError(err, "invalid_grant") {
			t.Errorf("exchange after 61 s = %v, want invalid_grant", err)
		}
	})
	t.Run("CSRF on the login form", func(t *testing.T) {
		b := newBrowser(t)
		_, page, _ := b.get(conf.AuthCodeURL("st"))
		form := hidden(t, page)
		form.Set("csrf", "forged")
		form.Set("email", "alice@example.com")
		form.Set("password", "correct horse")
		if status, _, landed := b.post(p.url+"/oauth2/login", form); status != http.StatusForbidden || landed != nil {
			t.Errorf("login with a forged CSRF token = %d, landed %v; want 403", status, landed)
		}
		// A cross-site form has the token from no page of ours at all.
		if status, _, _ := newBrowser(t).post(p.url+"/oauth2/login", url.Values{"request": {form.Get("request")}, "email": {"alice@example.com"}, "password": {"correct horse"}}); status != http.StatusForbidden {
			t.Errorf("login without the CSRF cookie = %d, want 403", status)
		}
	})
	t.Run("CSRF on the consent form", func(t *testing.T) {
		untrusted, usecret := p.client(t, store.Client{})
		uconf := oauth2.Config{ClientID: untrusted.ID, ClientSecret: usecret, Endpoint: endpoint, RedirectURL: redirectURI, Scopes: []string{"openid"}}
		b := newBrowser(t)
		_, page, _ := b.get(uconf.AuthCodeURL("st"))
		form := hidden(t, page)
		form.Set("email", "alice@example.com")
		form.Set("password", "correct horse")
		_, page, _ = b.post(p.url+"/oauth2/login", form)
		form = hidden(t, page)
		form.Set("csrf", "forged")
		form.Set("decision", "allow")
		if status, _, landed := b.post(p.url+"/oauth2/consent", form); status != http.StatusForbidden || landed != nil {
			t.Errorf("consent with a forged CSRF token = %d, landed %v; want 403", status, landed)
		}
	})
	t.Run("session fixation", func(t *testing.T) {
		b := newBrowser(t)
		u, _ := url.Parse(p.url)
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "attacker-chosen", Path: "/"}})
		b.signIn(conf.AuthCodeURL("st"), "alice@example.com", "correct horse", false)
		for _, ck := range b.client.Jar.Cookies(u) {
			if ck.Name == sessionCookie && ck.Value == "attacker-chosen" {
				t.Error("the session cookie fixed by the attacker was kept after sign-in")
			}
		}
	})
	t.Run("mixed-up issuers", func(t *testing.T) {
		// The authorization response names its issuer (RFC 9207), and the
		// discovery document's issuer is exactly the URL it is served from.
		_, _, landed := newBrowser(t).get(conf.AuthCodeURL("st", oauth2.SetAuthURLParam("prompt", "none")))
		if landed == nil || landed.Query().Get("iss") != p.url {
			t.Errorf("authorization response = %v, want iss=%s", landed, p.url)
		}
		rec := p.do(t, "GET", "/.well-known/openid-configuration", "")
		if d := decode(t, rec); d["issuer"] != p.url || d["authorization_response_iss_parameter_supported"] != true {
			t.Errorf("discovery = %v", d)
		}
	})
	t.Run("pages forbid framing and caching", func(t *testing.T) {
		rec := p.do(t, "GET", "/oauth2/authorize?"+url.Values{"client_id": {c.ID}, "redirect_uri": {redirectURI}, "response_type": {"code"}}.Encode(), "")
		h := rec.Header()
		if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("login page headers = %v", h)
		}
		for _, ck := range rec.Result().Cookies() {
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
				t.Errorf("cookie %s: HttpOnly %v SameSite %v", ck.Name, ck.HttpOnly, ck.SameSite)
			}
		}
	})
}
