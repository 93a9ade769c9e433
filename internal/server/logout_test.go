package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
)

var logoutFormRE = regexp.MustCompile(`<form method="post" action="/oauth2/logout">\s*<input type="hidden" name="csrf" value="([^"]*)"><input type="hidden" name="request" value="([^"]*)">`)

// logoutForm reads the confirmation page's form and answers it.
func logoutForm(t *testing.T, page, decision string) url.Values {
	t.Helper()
	m := logoutFormRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no logout confirmation form on the page:\n%.800s", page)
	}
	return url.Values{"csrf": {htmlUnescape(m[1])}, "request": {htmlUnescape(m[2])}, "decision": {decision}}
}

// logout signs the browser out at inkan through the confirmation page.
func (b *browser) logout(p *provider) {
	b.t.Helper()
	code, page, _ := b.get(p.url + "/oauth2/logout")
	if code != 200 {
		b.t.Fatalf("GET /oauth2/logout = %d:\n%.500s", code, page)
	}
	if code, page, _ = b.post(p.url+"/oauth2/logout", logoutForm(b.t, page, "logout")); code != 200 || !strings.Contains(page, "You are signed out") {
		b.t.Fatalf("POST /oauth2/logout = %d:\n%.500s", code, page)
	}
}

// signedIn reports whether the browser has a session at inkan: prompt=none
// gets a code rather than login_required.
func (b *browser) signedIn(conf oauth2.Config) bool {
	b.t.Helper()
	_, _, landed := b.get(conf.AuthCodeURL("probe", oauth2.SetAuthURLParam("prompt", "none")))
	if landed == nil {
		b.t.Fatal("prompt=none did not come back to the client")
	}
	return landed.Query().Get("code") != ""
}

// rp is a relying party of the provider: a confidential client allowed
// every grant, with a registered post-logout redirect URI.
func newRP(t *testing.T, p *provider, c store.Client) oauth2.Config {
	t.Helper()
	c.PostLogoutRedirectURIs = append(c.PostLogoutRedirectURIs, "https://app.example.com/bye")
	c, secret := p.client(t, c)
	return oauth2.Config{ClientID: c.ID, ClientSecret: secret, RedirectURL: redirectURI, Scopes: []string{"openid", "email"},
		Endpoint: oauth2.Endpoint{AuthURL: p.url + "/oauth2/authorize", TokenURL: p.url + "/oauth2/token"}}
}

// signInTokens signs the browser in (consenting) and exchanges the code.
func signInTokens(t *testing.T, b *browser, conf oauth2.Config) *oauth2.Token {
	t.Helper()
	landed := b.signIn(conf.AuthCodeURL("s"), "alice@example.com", "correct horse", true)
	tok, err := conf.Exchange(t.Context(), landed.Query().Get("code"))
	if err != nil {
		t.Fatalf("Exchange() = %v", err)
	}
	if _, ok := tok.Extra("id_token").(string); !ok {
		t.Fatal("no ID token")
	}
	return tok
}

func idTokenOf(tok *oauth2.Token) string { s, _ := tok.Extra("id_token").(string); return s }

// refreshes reports whether the refresh token still works.
func refreshes(t *testing.T, conf oauth2.Config, rt string) bool {
	t.Helper()
	_, err := conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: rt}).Token()
	return err == nil
}

// backendLogout is oauth2-proxy's --backend-logout-url: a GET from the
// relying party's server, with no cookie, following redirects; it returns
// the final status and body.
func backendLogout(t *testing.T, p *provider, v url.Values) (int, string) {
	t.Helper()
	resp, err := http.Get(p.url + "/oauth2/logout?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Logout ends the codes issued under the session and not yet exchanged: a
// code taken from the browser's history cannot mint tokens afterwards.
func TestLogout_endsUnredeemedCodes(t *testing.T) { backends(t, testLogout_endsUnredeemedCodes) }

func testLogout_endsUnredeemedCodes(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	conf := newRP(t, p, store.Client{})
	b := newBrowser(t)
	signInTokens(t, b, conf)
	_, _, landed := b.get(conf.AuthCodeURL("s2")) // signed in and consented: a code at once
	if landed == nil || landed.Query().Get("code") == "" {
		t.Fatalf("second authorization landed %v, want a code", landed)
	}
	b.logout(p)
	if _, err := conf.Exchange(t.Context(), landed.Query().Get("code")); !isOAuthError(err, "invalid_grant") {
		t.Errorf("Exchange(code issued before the logout) = %v, want invalid_grant", err)
	}
}

// ID tokens carry the session's sid: the stored session ID, not the
// cookie; the same sid after a refresh, and none without a session.
func TestLogout_sidClaim(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	conf := newRP(t, p, store.Client{})
	b := newBrowser(t)
	tok := signInTokens(t, b, conf)
	_, claims := splitToken(t, idTokenOf(tok))
	sid, _ := claims["sid"].(string)
	u, _ := url.Parse(p.url)
	var cookie string
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			cookie = c.Value
		}
	}
	sess, err := p.store.GetSession(t.Context(), hashToken(cookie))
	if err != nil {
		t.Fatal(err)
	}
	if sid == "" || sid != sess.ID || sid == cookie || sid == sess.Hash {
		t.Errorf("ID token sid = %q; want the session's ID %q, neither the cookie nor its hash", sid, sess.ID)
	}
	nt, err := conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if _, rc := splitToken(t, idTokenOf(nt)); rc["sid"] != sid {
		t.Errorf("refreshed ID token sid = %v, want %q", rc["sid"], sid)
	}
	pw, err := conf.PasswordCredentialsToken(t.Context(), "alice@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if _, pc := splitToken(t, idTokenOf(pw)); pc["sid"] != nil {
		t.Errorf("password grant ID token sid = %v, want none (no session)", pc["sid"])
	}
}

// Without an id_token_hint, GET asks; only the page's own form, bound to
// the session, ends it (RP-Initiated Logout §2).
func TestLogout_confirmation(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	conf := newRP(t, p, store.Client{Name: "Shop"})
	b := newBrowser(t)
	tok := signInTokens(t, b, conf)
	q := url.Values{"client_id": {conf.ClientID}, "post_logout_redirect_uri": {"https://app.example.com/bye"}, "state": {"st"}}

	resp, err := b.client.Get(p.url + "/oauth2/logout?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, "<strong>Shop</strong> asks to sign you out") || !strings.Contains(page, "alice@example.com") ||
		strings.Contains(page, "<script") || resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("GET /oauth2/logout = %d %v:\n%s\nwant the confirmation page with the page headers", resp.StatusCode, resp.Header, page)
	}
	if !b.signedIn(conf) || !refreshes(t, conf, tok.RefreshToken) {
		t.Fatal("GET /oauth2/logout without a hint ended the session")
	}
	form := logoutForm(t, page, "logout")

	other := newBrowser(t)
	signInTokens(t, other, conf)
	_, otherPage, _ := other.get(p.url + "/oauth2/logout")
	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"no csrf", url.Values{"csrf": {""}, "request": {form.Get("request")}, "decision": {"logout"}}},
		{"wrong csrf", url.Values{"csrf": {"x" + form.Get("csrf")}, "request": {form.Get("request")}, "decision": {"logout"}}},
		{"another session's csrf", logoutForm(t, otherPage, "logout")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, _ := b.post(p.url+"/oauth2/logout", tc.form); code != http.StatusForbidden {
				t.Errorf("POST = %d, want 403", code)
			}
			if !b.signedIn(conf) {
				t.Error("a refused form ended the session")
			}
		})
	}
	if _, page, _ := b.post(p.url+"/oauth2/logout", logoutForm(t, page, "stay")); !strings.Contains(page, "still signed in") || !b.signedIn(conf) {
		t.Errorf("stay signed in: %q, or the session ended", page)
	}

	req, _ := http.NewRequest("POST", p.url+"/oauth2/logout", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	noFollow := &http.Client{Jar: b.client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "https://app.example.com/bye?state=st" {
		t.Errorf("confirmed logout = %d to %q, want the registered URI with state", resp.StatusCode, loc)
	}
	if b.signedIn(conf) || refreshes(t, conf, tok.RefreshToken) {
		t.Error("the confirmed logout did not end the session and its refresh token")
	}
	if !other.signedIn(conf) {
		t.Error("another browser's session ended too")
	}
	// With no session, there is nothing to ask about.
	if code, page, _ := newBrowser(t).get(p.url + "/oauth2/logout"); code != 200 || !strings.Contains(page, "You are signed out") {
		t.Errorf("GET /oauth2/logout with no session = %d %q, want the signed-out page", code, page)
	}
}

// A valid id_token_hint ends its session from the relying party's server,
// with no cookie: oauth2-proxy's --backend-logout-url. The refresh tokens
// and unredeemed codes go with it, and the browser is signed out.
func TestLogout_idTokenHint(t *testing.T) { backends(t, testLogout_idTokenHint) }

func testLogout_idTokenHint(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	conf := newRP(t, p, store.Client{})
	b := newBrowser(t)
	tok := signInTokens(t, b, conf)
	_, _, landed := b.get(conf.AuthCodeURL("s2"))
	code := landed.Query().Get("code")

	status, page := backendLogout(t, p, url.Values{"id_token_hint": {idTokenOf(tok)}})
	if status != 200 || !strings.Contains(page, "You are signed out") {
		t.Errorf("backend logout = %d %q, want 200 and the signed-out page", status, page)
	}
	if b.signedIn(conf) {
		t.Error("the browser's session survived the backend logout")
	}
	if refreshes(t, conf, tok.RefreshToken) {
		t.Error("a refresh token of the ended session still works")
	}
	if _, err := conf.Exchange(t.Context(), code); !isOAuthError(err, "invalid_grant") {
		t.Errorf("Exchange(unredeemed code of the ended session) = %v, want invalid_grant", err)
	}

	// An expired ID token is still a hint, and the redirect is followed.
	tok = signInTokens(t, b, conf)
	p.clock.Add(2 * time.Hour) // past the ID token's exp, within the session's
	if !b.signedIn(conf) {
		t.Fatal("the session ended early")
	}
	req, _ := http.NewRequest("GET", p.url+"/oauth2/logout?"+url.Values{"id_token_hint": {idTokenOf(tok)},
		"post_logout_redirect_uri": {"https://app.example.com/bye"}, "state": {"st"}}.Encode(), nil)
	resp, err := (&http.Client{Jar: b.client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "https://app.example.com/bye?state=st" {
		t.Errorf("logout with an expired hint = %d to %q, want the registered URI with state", resp.StatusCode, loc)
	}
	if b.signedIn(conf) || refreshes(t, conf, tok.RefreshToken) {
		t.Error("an expired hint did not end its session")
	}

	// RP-Initiated Logout §2 allows the hint in a POSTed form too.
	tok = signInTokens(t, b, conf)
	resp, err = http.PostForm(p.url+"/oauth2/logout", url.Values{"id_token_hint": {idTokenOf(tok)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || b.signedIn(conf) || refreshes(t, conf, tok.RefreshToken) {
		t.Errorf("POST with an id_token_hint = %d, or its session survived", resp.StatusCode)
	}
}

// A hint that is not a valid ID token of ours for the session ends nothing:
// the browser is asked, or, without a session, told it is signed out.
func TestLogout_hintRefused(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	p.signup(t, "Bob", "bob@example.com", "correct horse")
	conf := newRP(t, p, store.Client{})
	b := newBrowser(t)
	tok := signInTokens(t, b, conf)
	_, claims := splitToken(t, idTokenOf(tok))
	ours := p.keys.Active() // the provider's own signing key, as the server signs
	if ours.KeyID != p.kid {
		t.Fatalf("active key %q, want %q", ours.KeyID, p.kid)
	}
	mint := func(typ string, edit func(map[string]any)) string {
		t.Helper()
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		edit(c)
		payload, _ := json.Marshal(c)
		raw, err := ours.Sign(payload, typ)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	idt := idTokenOf(tok)
	dot := strings.LastIndex(idt, ".")
	bobID := p.login(t, "bob@example.com", "correct horse") // to learn Bob's id
	_, bob := splitToken(t, bobID)
	for _, tc := range []struct {
		name string
		q    url.Values
	}{
		{"bad signature", url.Values{"id_token_hint": {idt[:dot+1] + "AAAA" + idt[dot+5:]}}},
		{"another issuer", url.Values{"id_token_hint": {mint(keys.TypeJWT, func(c map[string]any) { c["iss"] = "https://evil.example" })}}},
		{"another user's session", url.Values{"id_token_hint": {mint(keys.TypeJWT, func(c map[string]any) { c["sub"] = bob["sub"] })}}},
		{"an access token", url.Values{"id_token_hint": {tok.AccessToken}}},
		{"the tutorial's token", url.Values{"id_token_hint": {bobID}}},
		{"access token type", url.Values{"id_token_hint": {mint(keys.TypeAccessToken, func(map[string]any) {})}}},
		{"client_id not its aud", url.Values{"id_token_hint": {idt}, "client_id": {"another-client"}}},
		{"garbage", url.Values{"id_token_hint": {"x.y.z"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, page := backendLogout(t, p, tc.q); status != 200 || !strings.Contains(page, "You are signed out") {
				t.Errorf("backend logout = %d %q, want 200 and the signed-out page", status, page)
			}
			_, page, _ := b.get(p.url + "/oauth2/logout?" + tc.q.Encode())
			logoutForm(t, page, "logout") // the browser is asked
			if !b.signedIn(conf) {
				t.Fatal("a refused hint ended the session")
			}
		})
	}
	if !refreshes(t, conf, tok.RefreshToken) {
		t.Error("a refused hint ended the session's refresh token")
	}
}

// A valid hint for another session than the browser's ends that one, and
// asks about the browser's own.
func TestLogout_hintOfAnotherSession(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	conf := newRP(t, p, store.Client{})
	laptop, phone := newBrowser(t), newBrowser(t)
	ltok, ptok := signInTokens(t, laptop, conf), signInTokens(t, phone, conf)
	_, page, _ := laptop.get(p.url + "/oauth2/logout?" + url.Values{"id_token_hint": {idTokenOf(ptok)}}.Encode())
	logoutForm(t, page, "logout")
	if phone.signedIn(conf) || refreshes(t, conf, ptok.RefreshToken) {
		t.Error("the hint's session survived")
	}
	if !laptop.signedIn(conf) || !refreshes(t, conf, ltok.RefreshToken) {
		t.Error("the browser's own session ended without confirmation")
	}
}

// A POST without the session cookie, as a cross-site form sends it
// (SameSite=Lax), ends nothing and leaves the browser's cookie alone;
// with the cookie, a stale one is expired.
func TestLogout_crossSitePost(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name    string
		header  []string
		expires bool
	}{
		{"no cookie", []string{"Content-Type", "application/x-www-form-urlencoded"}, false},
		{"stale cookie", []string{"Content-Type", "application/x-www-form-urlencoded", "Cookie", "__Host-inkan_session=stale"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, form := range []string{"", "csrf=x&request=&decision=logout"} {
				rec := h.do(t, "POST", "/oauth2/logout", form, tc.header...)
				cookies := rec.Result().Cookies()
				if rec.Code != 200 || (len(cookies) == 1 && cookies[0].MaxAge < 0) != tc.expires || len(cookies) > 1 {
					t.Errorf("POST %q = %d with cookies %v; want 200, cookie expired: %v", form, rec.Code, cookies, tc.expires)
				}
			}
		})
	}
}
