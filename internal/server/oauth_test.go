package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	inkanoauth2 "github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
)

// provider is inkan on a real HTTP server whose URL is its issuer, with a
// clock that starts now and can be moved forward.
type provider struct {
	*harness
	url string
}

const redirectURI = "http://127.0.0.1/cb"

func newProvider(t *testing.T, opts ...harnessOption) *provider {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	now := &clock{t: time.Now()}
	opts = append([]harnessOption{withOptions(func(o *Options) { o.Issuer, o.Now, o.Tokens.RefreshReuseWindow = issuer, now.Now, 10*time.Second })}, opts...)
	h := newHarness(t, opts...)
	h.clock = now
	ts.Config.Handler = h.srv
	ts.Start()
	t.Cleanup(ts.Close)
	return &provider{harness: h, url: issuer}
}

// client registers an OAuth client and returns its secret ("" if public).
func (p *provider) client(t *testing.T, c store.Client) (store.Client, string) {
	t.Helper()
	secret := ""
	if !c.Public {
		secret = inkanoauth2.NewSecret()
		c.SecretHash = inkanoauth2.HashSecret(secret)
	}
	if c.ID == "" {
		c.ID = "client-" + strings.ToLower(rand.Text()[:8])
	}
	if c.Name == "" {
		c.Name = "Test App"
	}
	if c.Grants == nil {
		c.Grants = inkanoauth2.Grants
	}
	if c.Scopes == nil {
		c.Scopes = []string{"openid", "profile", "email", "offline_access"}
	}
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{redirectURI}
	}
	c.CreatedAt, c.UpdatedAt = time.Now().UTC().Truncate(time.Microsecond), time.Now().UTC().Truncate(time.Microsecond)
	if err := p.store.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c, secret
}

// browser is a user agent with a cookie jar that stops at the client's
// redirect URI.
type browser struct {
	t      *testing.T
	client *http.Client
}

var errLanded = errors.New("landed on the redirect URI")

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), "http://127.0.0.1/") || strings.HasPrefix(req.URL.String(), "http://127.0.0.1:") && req.URL.Path == "/cb" {
			return errLanded
		}
		return nil
	}}}
}

// visit follows redirects and returns the final response's status, body and
// the redirect URI it landed on, if any.
func (b *browser) do(req *http.Request) (int, string, *url.URL) {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil && !errors.Is(err, errLanded) {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if errors.Is(err, errLanded) || (resp.StatusCode == http.StatusFound && strings.Contains(resp.Header.Get("Location"), "/cb")) {
		u, _ := url.Parse(resp.Header.Get("Location"))
		return resp.StatusCode, string(body), u
	}
	return resp.StatusCode, string(body), nil
}

func (b *browser) get(u string) (int, string, *url.URL) {
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) (int, string, *url.URL) {
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="(csrf|request)" value="([^"]*)">`)

// hidden reads the hidden fields of a page's form.
func hidden(t *testing.T, page string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], htmlUnescape(m[2]))
	}
	if v.Get("csrf") == "" || v.Get("request") == "" {
		t.Fatalf("no form on the page:\n%.600s", page)
	}
	return v
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// signIn walks the login (and consent) pages from an authorization URL to
// the redirect URI, and returns where it landed.
func (b *browser) signIn(authURL, email, password string, consent bool) *url.URL {
	b.t.Helper()
	code, page, landed := b.get(authURL)
	if landed != nil {
		return landed
	}
	if code != 200 || !strings.Contains(page, `action="/oauth2/login"`) {
		b.t.Fatalf("GET authorize = %d, want the login page:\n%.500s", code, page)
	}
	form := hidden(b.t, page)
	form.Set("email", email)
	form.Set("password", password)
	base := authURL[:strings.Index(authURL, "/oauth2/")]
	code, page, landed = b.post(base+"/oauth2/login", form)
	if landed != nil {
		return landed
	}
	if !consent || !strings.Contains(page, `action="/oauth2/consent"`) {
		b.t.Fatalf("after login: %d, want the consent page:\n%.500s", code, page)
	}
	form = hidden(b.t, page)
	form.Set("decision", "allow")
	_, page, landed = b.post(base+"/oauth2/consent", form)
	if landed == nil {
		b.t.Fatalf("consent did not redirect to the client:\n%.500s", page)
	}
	return landed
}

// The authorization code flow with PKCE, driven by golang.org/x/oauth2, the
// ID token verified by go-oidc through discovery, then refresh, userinfo,
// introspection and revocation.
func TestOAuth_codeFlow(t *testing.T) { backends(t, testOAuth_codeFlow) }

func testOAuth_codeFlow(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	c, secret := p.client(t, store.Client{})
	ctx := context.Background()

	provider, err := oidc.NewProvider(ctx, p.url)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: "http://127.0.0.1:4567/cb",
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-456"))

	b := newBrowser(t)
	landed := b.signIn(authURL, "alice@example.com", "correct horse", true)
	q := landed.Query()
	if q.Get("state") != "state-123" || q.Get("iss") != p.url || q.Get("code") == "" {
		t.Fatalf("redirect = %s, want code, state and iss", landed)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange() = %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: c.ID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc Verify(id_token) = %v", err)
	}
	if idt.Nonce != "nonce-456" {
		t.Errorf("nonce = %q", idt.Nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var idc struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Name          string `json:"name"`
		AuthTime      int64  `json:"auth_time"`
	}
	if err := idt.Claims(&idc); err != nil {
		t.Fatal(err)
	}
	if idc.Email != "alice@example.com" || idc.EmailVerified || idc.Name != "Alice" || idc.AuthTime == 0 {
		t.Errorf("ID token claims = %+v", idc)
	}
	if tok.RefreshToken == "" {
		t.Error("no refresh token for a client with the refresh_token grant")
	}

	t.Run("userinfo", func(t *testing.T) {
		ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil || ui.Email != "alice@example.com" || ui.Subject != idt.Subject {
			t.Errorf("UserInfo() = %+v, %v", ui, err)
		}
		if rec := p.do(t, "GET", "/userinfo", "", "Authorization", "Bearer "+rawID); rec.Code != 401 {
			t.Errorf("userinfo with an ID token = %d, want 401", rec.Code)
		}
		// Its aud is the client id, not the issuer: GET /user is not its resource.
		if rec := p.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok.AccessToken); rec.Code != 401 {
			t.Errorf("GET /user with an access token for the client = %d, want 401", rec.Code)
		}
	})
	t.Run("second login skips the pages", func(t *testing.T) {
		v2 := oauth2.GenerateVerifier()
		_, _, landed := b.get(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(v2)))
		if landed == nil || landed.Query().Get("code") == "" {
			t.Fatalf("with a session and consent, authorize should redirect at once; got %v", landed)
		}
		_, _, landed = b.get(conf.AuthCodeURL("s3", oauth2.S256ChallengeOption(v2), oauth2.SetAuthURLParam("prompt", "none")))
		if landed == nil || landed.Query().Get("code") == "" {
			t.Errorf("prompt=none with a session = %v, want a code", landed)
		}
	})
	t.Run("refresh rotates", func(t *testing.T) {
		old := *tok
		old.Expiry = time.Now().Add(-time.Minute)
		nt, err := conf.TokenSource(ctx, &old).Token()
		if err != nil || nt.RefreshToken == "" || nt.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh = %v, %v; want a new refresh token", nt, err)
		}
		// Within the reuse window the old token yields the same successor.
		again, err := conf.TokenSource(ctx, &old).Token()
		if err != nil || again.RefreshToken != nt.RefreshToken {
			t.Errorf("old refresh token within the window = %v, %v; want the same successor", again, err)
		}
		// After it, reuse revokes the family: the successor dies too.
		p.clock.Add(11 * time.Second)
		if _, err := conf.TokenSource(ctx, &old).Token(); err == nil {
			t.Error("reuse after the window succeeded")
		}
		nt2 := *nt
		nt2.Expiry = time.Now().Add(-time.Minute)
		if _, err := conf.TokenSource(ctx, &nt2).Token(); err == nil {
			t.Error("the successor of a reused refresh token still works: the family was not revoked")
		}
		if rec := p.do(t, "GET", "/userinfo", "", "Authorization", "Bearer "+nt.AccessToken); rec.Code != 401 {
			t.Errorf("access token of a revoked family at /userinfo = %d, want 401", rec.Code)
		}
	})
}

// The grants without a browser, through x/oauth2.
func TestOAuth_grants(t *testing.T) { backends(t, testOAuth_grants) }

func testOAuth_grants(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	c, secret := p.client(t, store.Client{Audience: []string{"https://api.example.com"}})
	ctx := context.Background()
	endpoint := oauth2.Endpoint{TokenURL: p.url + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}

	t.Run("client_credentials", func(t *testing.T) {
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: secret, TokenURL: endpoint.TokenURL, AuthStyle: style, Scopes: []string{"email"}}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatalf("client_credentials (style %d) = %v", style, err)
			}
			_, claims := splitToken(t, tok.AccessToken)
			if claims["sub"] != c.ID || claims["client_id"] != c.ID || claims["scope"] != "email" || tok.RefreshToken != "" {
				t.Errorf("claims = %v", claims)
			}
			if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != "https://api.example.com" {
				t.Errorf("aud = %v, want the client's audience", claims["aud"])
			}
		}
		bad := clientcredentials.Config{ClientID: c.ID, ClientSecret: "wrong", TokenURL: endpoint.TokenURL}
		_, err := bad.Token(ctx)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != 401 || re.ErrorCode != "invalid_client" || re.Response.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("wrong secret = %v, want 401 invalid_client with WWW-Authenticate", err)
		}
	})
	t.Run("password", func(t *testing.T) {
		conf := oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: endpoint, Scopes: []string{"openid", "email"}}
		tok, err := conf.PasswordCredentialsToken(ctx, "alice@example.com", "correct horse")
		if err != nil || tok.Extra("id_token") == nil || tok.RefreshToken == "" {
			t.Fatalf("password grant = %v, %v", tok, err)
		}
		if _, err := conf.PasswordCredentialsToken(ctx, "alice@example.com", "wrong"); !isOAuthError(err, "invalid_grant") {
			t.Errorf("wrong password = %v, want invalid_grant", err)
		}
		other, osecret := p.client(t, store.Client{Grants: []string{"authorization_code"}})
		oc := oauth2.Config{ClientID: other.ID, ClientSecret: osecret, Endpoint: endpoint}
		if _, err := oc.PasswordCredentialsToken(ctx, "alice@example.com", "correct horse"); !isOAuthError(err, "unauthorized_client") {
			t.Errorf("password grant by a client not registered for it = %v, want unauthorized_client", err)
		}
	})
	t.Run("introspection and revocation", func(t *testing.T) {
		cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: secret, TokenURL: endpoint.TokenURL}
		tok, _ := cc.Token(ctx)
		active := func() bool {
			t.Helper()
			req, _ := http.NewRequest("POST", p.url+"/oauth2/introspect", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(c.ID, secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				return false
			}
			return body["active"] == true
		}
		if !active() {
			t.Fatal("a fresh access token is not active")
		}
		req, _ := http.NewRequest("POST", p.url+"/oauth2/revoke", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ID, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("revoke = %v, %v", resp, err)
		}
		if active() {
			t.Error("a revoked access token is still active")
		}
	})
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name   string
			form   url.Values
			auth   bool
			status int
			code   string
		}{
			{"unsupported grant", url.Values{"grant_type": {"implicit"}}, true, 400, "unsupported_grant_type"},
			{"no client", url.Values{"grant_type": {"client_credentials"}}, false, 401, "invalid_client"},
			{"repeated parameter", url.Values{"grant_type": {"client_credentials", "client_credentials"}}, true, 400, "invalid_request"},
			{"bad scope", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, true, 400, "invalid_scope"},
			{"unknown code", url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "redirect_uri": {redirectURI}}, true, 400, "invalid_grant"},
			{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, true, 400, "invalid_grant"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest("POST", p.url+"/oauth2/token", strings.NewReader(tc.form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if tc.auth {
					req.SetBasicAuth(c.ID, secret)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body map[string]string
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
					t.Fatalf("body: %v", err)
				}
				if resp.StatusCode != tc.status || body["error"] != tc.code || resp.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("= %d %v (Cache-Control %q), want %d %s with no-store", resp.StatusCode, body, resp.Header.Get("Cache-Control"), tc.status, tc.code)
				}
			})
		}
	})
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}
