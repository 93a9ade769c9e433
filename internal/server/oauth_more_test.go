package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/inkan-dev/inkan/internal/store"
)

func TestOAuth_promptAndLogout(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	c, secret := p.client(t, store.Client{PostLogoutRedirectURIs: []string{"https://app.example.com/bye"}})
	conf := oauth2.Config{ClientID: c.ID, ClientSecret: secret, RedirectURL: redirectURI, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: p.url + "/oauth2/authorize", TokenURL: p.url + "/oauth2/token"}}
	b := newBrowser(t)
	b.signIn(conf.AuthCodeURL("s"), "alice@example.com", "correct horse", true)

	if _, page, landed := b.get(conf.AuthCodeURL("s", oauth2.SetAuthURLParam("prompt", "login"))); landed != nil || !strings.Contains(page, `action="/oauth2/login"`) {
		t.Errorf("prompt=login with a session: landed %v, want the login page", landed)
	}
	if _, page, landed := b.get(conf.AuthCodeURL("s", oauth2.SetAuthURLParam("prompt", "consent"))); landed != nil || !strings.Contains(page, `action="/oauth2/consent"`) {
		t.Errorf("prompt=consent with consent given: landed %v, want the consent page", landed)
	}
	if _, _, landed := newBrowser(t).get(conf.AuthCodeURL("s", oauth2.SetAuthURLParam("prompt", "none"))); landed == nil || landed.Query().Get("error") != "login_required" {
		t.Errorf("prompt=none without a session: landed %v, want login_required", landed)
	}
	t.Run("deny", func(t *testing.T) {
		fresh, fsecret := p.client(t, store.Client{}) // no consent remembered yet
		fconf := conf
		fconf.ClientID, fconf.ClientSecret = fresh.ID, fsecret
		b := newBrowser(t)
		_, page, _ := b.get(fconf.AuthCodeURL("s"))
		form := hidden(t, page)
		form.Set("email", "alice@example.com")
		form.Set("password", "correct horse")
		_, page, landed := b.post(p.url+"/oauth2/login", form)
		if landed != nil {
			t.Fatalf("no consent page for a client never consented to: landed %v", landed)
		}
		form = hidden(t, page)
		form.Set("decision", "deny")
		if _, _, landed := b.post(p.url+"/oauth2/consent", form); landed == nil || landed.Query().Get("error") != "access_denied" {
			t.Errorf("deny: landed %v, want access_denied", landed)
		}
	})
	t.Run("logout", func(t *testing.T) {
		// An unregistered post-logout URI is not followed.
		_, page, _ := b.get(p.url + "/oauth2/logout?" + url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
		if _, page, _ = b.post(p.url+"/oauth2/logout", logoutForm(t, page, "logout")); !strings.Contains(page, "signed out") {
			t.Errorf("logout to an unregistered URI: %q, want the signed-out page", page)
		}
		landed := b.signIn(conf.AuthCodeURL("s"), "alice@example.com", "correct horse", false)
		tok, err := conf.Exchange(t.Context(), landed.Query().Get("code"))
		if err != nil || tok.RefreshToken == "" {
			t.Fatalf("Exchange() = %v, %v", tok, err)
		}
		_, page, _ = b.get(p.url + "/oauth2/logout?" + url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {"https://app.example.com/bye"}, "state": {"z"}}.Encode())
		req, _ := http.NewRequest("POST", p.url+"/oauth2/logout", strings.NewReader(logoutForm(t, page, "logout").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := (&http.Client{Jar: b.client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || loc != "https://app.example.com/bye?state=z" {
			t.Errorf("logout = %d to %q, want the registered URI with state", resp.StatusCode, loc)
		}
		if _, _, landed := b.get(conf.AuthCodeURL("s", oauth2.SetAuthURLParam("prompt", "none"))); landed == nil || landed.Query().Get("error") != "login_required" {
			t.Errorf("after logout, prompt=none: landed %v, want login_required (session ended)", landed)
		}
		if _, err := conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Error("a refresh token of the ended session still works")
		}
	})
}

func TestOAuth_tutorialTokens(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	c, secret := p.client(t, store.Client{})
	tok := p.login(t, "alice@example.com", "correct horse")
	if rec := p.do(t, "GET", "/userinfo", "", "Authorization", "Bearer "+tok); rec.Code != 200 || decode(t, rec)["email"] != "alice@example.com" {
		t.Errorf("userinfo with the tutorial's token = %d %s", rec.Code, rec.Body)
	}
	form := url.Values{"token": {tok}}.Encode()
	rec := p.do(t, "POST", "/oauth2/introspect", form, "Content-Type", "application/x-www-form-urlencoded", "Authorization", basicClient(c.ID, secret))
	if decode(t, rec)["active"] != true {
		t.Errorf("introspection of the tutorial's token = %s", rec.Body)
	}
	rec = p.do(t, "POST", "/oauth2/introspect", form, "Content-Type", "application/x-www-form-urlencoded")
	if rec.Code != 401 {
		t.Errorf("introspection without client authentication = %d, want 401", rec.Code)
	}
}

func basicClient(id, secret string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return r.Header.Get("Authorization")
}

func TestOAuth_cors(t *testing.T) {
	p := newProvider(t, withOptions(func(o *Options) { o.HTTP.AllowedOrigins = []string{"https://spa.example.com"} }))
	for _, tc := range []struct {
		origin string
		want   string
		status int
	}{
		{"https://spa.example.com", "https://spa.example.com", 204},
		{"https://evil.example", "", 403},
	} {
		rec := p.do(t, "OPTIONS", "/oauth2/token", "", "Origin", tc.origin, "Access-Control-Request-Method", "POST")
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tc.want || rec.Code != tc.status {
			t.Errorf("preflight from %s = %d, Allow-Origin %q; want %d, %q", tc.origin, rec.Code, got, tc.status, tc.want)
		}
	}
	if got := p.do(t, "GET", "/.well-known/openid-configuration", "", "Origin", "https://any.example").Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("discovery Allow-Origin = %q, want *", got)
	}
}

func TestOAuth_noReuseWindow(t *testing.T) {
	p := newProvider(t, withOptions(func(o *Options) { o.Tokens.RefreshReuseWindow = 0 }))
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	c, secret := p.client(t, store.Client{})
	conf := oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: oauth2.Endpoint{TokenURL: p.url + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	tok, err := conf.PasswordCredentialsToken(t.Context(), "alice@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	refresh := func(rt string) error {
		_, err := conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: rt}).Token()
		return err
	}
	if err := refresh(tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	p.clock.Add(time.Millisecond)
	if err := refresh(tok.RefreshToken); err == nil {
		t.Error("with --refresh-reuse-window 0, a refresh token worked twice")
	}
}

func TestOAuth_introspectPublicClient(t *testing.T) {
	p := newProvider(t)
	pub, _ := p.client(t, store.Client{Public: true})
	rec := p.do(t, "POST", "/oauth2/introspect", url.Values{"token": {"x.y.z"}, "client_id": {pub.ID}}.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if rec.Code != 401 {
		t.Errorf("introspection by a public client = %d, want 401", rec.Code)
	}
}

// With an https issuer, the cookies are __Host- cookies: Secure, path /,
// no domain, so that a sibling subdomain cannot plant them.
func TestOAuth_hostCookies(t *testing.T) {
	h := newHarness(t) // issuer https://inkan.test
	c := store.Client{ID: "c1", Name: "App", RedirectURIs: []string{redirectURI}, Grants: []string{"authorization_code"},
		Scopes: []string{"openid"}, SecretHash: make([]byte, 32), CreatedAt: t0, UpdatedAt: t0}
	if err := h.store.CreateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	rec := h.do(t, "GET", "/oauth2/authorize?"+url.Values{"client_id": {"c1"}, "redirect_uri": {redirectURI}, "response_type": {"code"}}.Encode(), "")
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-inkan_csrf" || !cookies[0].Secure || cookies[0].Path != "/" || cookies[0].Domain != "" {
		t.Errorf("cookies = %+v, want one __Host-inkan_csrf, Secure, path /", cookies)
	}
}
