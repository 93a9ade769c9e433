package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

var (
	csrfFieldRE   = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]*)">`)
	returnFieldRE = regexp.MustCompile(`<input type="hidden" name="return" value="([^"]*)">`)
	sessionIDRE   = regexp.MustCompile(`<input type="hidden" name="id" value="([^"]*)">`)
)

// formToken is the CSRF token of the page's first form.
func formToken(t *testing.T, page string) string {
	t.Helper()
	m := csrfFieldRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%.800s", page)
	}
	return htmlUnescape(m[1])
}

// accountSignIn opens the account page signed out, which sends the
// browser to the login page, signs in there, and comes back to the
// account page, which it returns.
func (b *browser) accountSignIn(p *provider, email, password string) string {
	b.t.Helper()
	code, page, _ := b.get(p.url + "/account")
	if code != 200 || !strings.Contains(page, `action="/oauth2/login"`) || !strings.Contains(page, "Sign in to manage your account") {
		b.t.Fatalf("GET /account signed out = %d, want the login page:\n%.600s", code, page)
	}
	m := returnFieldRE.FindStringSubmatch(page)
	if m == nil || htmlUnescape(m[1]) != "/account" {
		b.t.Fatalf("login page's return = %v, want /account", m)
	}
	form := url.Values{"csrf": {formToken(b.t, page)}, "return": {"/account"}, "email": {email}, "password": {password}}
	code, page, _ = b.post(p.url+"/oauth2/login", form)
	if code != 200 || !strings.Contains(page, `action="/account/name"`) {
		b.t.Fatalf("after signing in = %d, want the account page:\n%.600s", code, page)
	}
	return page
}

// accountPost posts an account form with the page's CSRF token.
func (b *browser) accountPost(p *provider, page, path string, form url.Values) (int, string) {
	b.t.Helper()
	form.Set("csrf", formToken(b.t, page))
	code, body, _ := b.post(p.url+path, form)
	return code, body
}

// An unauthenticated visitor of /account is sent to the login page and
// comes back to the account page, which shows the account, its sessions
// and every form, with the pages' headers.
func TestAccountPage_signIn(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	rec := p.do(t, "GET", "/account", "")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/oauth2/login?return=%2Faccount" {
		t.Fatalf("GET /account signed out = %d to %q, want 303 to the login page", rec.Code, rec.Header().Get("Location"))
	}
	b := newBrowser(t)
	page := b.accountSignIn(p, "alice@example.com", "correct horse")
	for _, want := range []string{
		"alice@example.com", `value="Alice"`, "(this browser)", "Go-http-client/1.1", "127.0.0.1",
		`action="/account/name"`, `action="/account/email"`, `action="/account/password"`, `action="/account/sessions/end"`,
		`action="/account/sessions/end-all"`, `action="/account/delete"`, `href="/oauth2/logout"`, `<html lang="en">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("the account page has a script")
	}
	// The email form carries the session's token in the fields the email
	// change takes.
	if !regexp.MustCompile(`action="/account/email">\s*<input type="hidden" name="csrf" value="[^"]+">\s*<label[^>]*>[^<]*</label><input id="email" name="email"[^>]*>\s*<label[^>]*>[^<]*</label><input id="email-password" name="password"`).MatchString(page) {
		t.Errorf("the email form lacks csrf, email and password:\n%s", page)
	}
	req, _ := http.NewRequest("GET", p.url+"/account", nil)
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k, want := range map[string]string{
		"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Content-Language": "en",
		"Content-Type": "text/html; charset=utf-8",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if v := resp.Header.Values("Vary"); len(v) == 0 || v[0] != "Accept-Language" {
		t.Errorf("Vary = %q, want Accept-Language", v)
	}
	// Signed in already: the login page goes straight back.
	if code, page, _ := b.get(p.url + "/oauth2/login?return=%2Faccount"); code != 200 || !strings.Contains(page, `action="/account/name"`) {
		t.Errorf("login page when signed in = %d, want the account page", code)
	}
}

// The login page comes back only to a page of this server's: anything
// else returns to the account page.
func TestAccountPage_returnIsLocal(t *testing.T) {
	p := newProvider(t)
	for _, ret := range []string{"https://evil.example/", "//evil.example/account", "/\\evil.example", "/oauth2/logout", "javascript:alert(1)", "/account\x00"} {
		rec := p.do(t, "GET", "/oauth2/login?"+url.Values{"return": {ret}}.Encode(), "")
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="return" value="/account"`) {
			t.Errorf("login page with return %q = %d, want it to return to /account:\n%.600s", ret, rec.Code, rec.Body)
		}
	}
	for _, ret := range []string{"/account", "/account/signup", "/oauth2/authorize?client_id=x"} {
		if got := accountReturn(ret); got != ret {
			t.Errorf("accountReturn(%q) = %q, want it kept", ret, got)
		}
	}
}

// Every form of the account page needs the session's CSRF token: without
// it, or with another session's, it is refused and changes nothing.
func TestAccountPage_csrf(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	p.signup(t, "Mallory", "mallory@example.com", "mallory horse")
	alice, mallory := newBrowser(t), newBrowser(t)
	page := alice.accountSignIn(p, "alice@example.com", "correct horse")
	foreign := formToken(t, mallory.accountSignIn(p, "mallory@example.com", "mallory horse"))
	id := sessionIDRE.FindStringSubmatch(page)[1]
	forms := map[string]url.Values{
		"/account/name":             {"name": {"Pwned"}},
		"/account/password":         {"current_password": {"correct horse"}, "new_password": {"pwned horse 1"}, "confirm_password": {"pwned horse 1"}},
		"/account/sessions/end":     {"id": {id}},
		"/account/sessions/end-all": {},
		"/account/delete":           {"password": {"correct horse"}},
	}
	for path, form := range forms {
		for name, token := range map[string]string{"no token": "", "another session's token": foreign, "garbage": "x"} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if token != "" {
				f.Set("csrf", token)
			}
			code, body, _ := alice.post(p.url+path, f)
			if code != http.StatusForbidden || !strings.Contains(body, "did not come from this site") {
				t.Errorf("POST %s with %s = %d, want 403:\n%.300s", path, name, code, body)
			}
		}
	}
	ctx := context.Background()
	u, err := p.store.GetUserByEmail(ctx, "alice@example.com")
	if err != nil || u.Name != "Alice" {
		t.Fatalf("alice after the forged forms = %+v, %v; want her unchanged", u, err)
	}
	if list, _ := p.store.ListSessions(ctx, u.ID); len(list) != 1 {
		t.Errorf("alice's sessions after the forged forms = %d, want 1", len(list))
	}
	p.login(t, "alice@example.com", "correct horse")
	// Signed out, a form goes to the login page.
	if code, body, _ := newBrowser(t).post(p.url+"/account/name", url.Values{"name": {"X"}, "csrf": {formToken(t, page)}}); code != 200 || !strings.Contains(body, `action="/oauth2/login"`) {
		t.Errorf("POST /account/name signed out = %d, want the login page", code)
	}
}

func TestAccountPage_name(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	b := newBrowser(t)
	page := b.accountSignIn(p, "alice@example.com", "correct horse")
	code, body := b.accountPost(p, page, "/account/name", url.Values{"name": {"  Alice Liddell "}})
	if code != 200 || !strings.Contains(body, "Your name was saved.") || !strings.Contains(body, `value="Alice Liddell"`) {
		t.Fatalf("POST /account/name = %d, want the account page with the new name:\n%.800s", code, body)
	}
	code, body = b.accountPost(p, page, "/account/name", url.Values{"name": {strings.Repeat("x", 65)}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "The name may have at most 64 characters.") {
		t.Errorf("POST /account/name too long = %d, want 422 saying so:\n%.800s", code, body)
	}
	if u, _ := p.store.GetUserByEmail(context.Background(), "alice@example.com"); u.Name != "Alice Liddell" {
		t.Errorf("name = %q", u.Name)
	}
}

// A password change on the page ends every other session and keeps this
// browser signed in, with a new session.
func TestAccountPage_password(t *testing.T) { backends(t, testAccountPage_password) }

func testAccountPage_password(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	b, other := newBrowser(t), newBrowser(t)
	page := b.accountSignIn(p, "alice@example.com", "correct horse")
	other.accountSignIn(p, "alice@example.com", "correct horse")
	tok := p.login(t, "alice@example.com", "correct horse")
	p.clock.Add(2 * time.Second)

	for _, tc := range []struct {
		name           string
		current, n, cf string
		wantCode       int
		want           string
	}{
		{"mismatch", "correct horse", "new horse staple", "new horse stable", 422, "The two new passwords differ."},
		{"wrong current", "wrong horse", "new horse staple", "new horse staple", 403, "The password is incorrect."},
		{"short", "correct horse", "short", "short", 422, "at least 8 characters"},
		{"common", "correct horse", "password123", "password123", 422, "too common"},
		{"same", "correct horse", "correct horse", "correct horse", 422, "must differ from the current one"},
	} {
		code, body := b.accountPost(p, page, "/account/password", url.Values{"current_password": {tc.current}, "new_password": {tc.n}, "confirm_password": {tc.cf}})
		if code != tc.wantCode || !strings.Contains(body, tc.want) {
			t.Errorf("%s: POST /account/password = %d, want %d saying %q:\n%.600s", tc.name, code, tc.wantCode, tc.want, body)
		}
	}
	code, body := b.accountPost(p, page, "/account/password", url.Values{"current_password": {"correct horse"}, "new_password": {"new horse staple"}, "confirm_password": {"new horse staple"}})
	if code != 200 || !strings.Contains(body, "Your password was changed.") || !strings.Contains(body, "(this browser)") {
		t.Fatalf("POST /account/password = %d, want the account page, still signed in:\n%.800s", code, body)
	}
	if strings.Count(body, `action="/account/sessions/end"`) != 1 {
		t.Errorf("sessions after the change: want this browser's only:\n%s", body)
	}
	if code, page, _ := other.get(p.url + "/account"); code != 200 || !strings.Contains(page, `action="/oauth2/login"`) {
		t.Errorf("the other browser after the change = %d, want the login page", code)
	}
	if rec := p.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok); rec.Code != 401 {
		t.Errorf("a token from before the change = %d, want 401", rec.Code)
	}
	p.login(t, "alice@example.com", "new horse staple")
}

// Ending a session on the page ends it and its refresh token; signing out
// everywhere ends every session, refresh token and earlier access token.
func TestAccountPage_sessions(t *testing.T) { backends(t, testAccountPage_sessions) }

func testAccountPage_sessions(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	conf := newRP(t, p, store.Client{})
	conf.Scopes = append(conf.Scopes, "offline_access")
	app := newBrowser(t)
	appTok := signInTokens(t, app, conf)
	p.clock.Add(time.Second)
	b := newBrowser(t)
	page := b.accountSignIn(p, "alice@example.com", "correct horse")
	ids := sessionIDRE.FindAllStringSubmatch(page, -1)
	if len(ids) != 2 {
		t.Fatalf("sessions on the page = %d, want 2:\n%s", len(ids), page)
	}
	appSession := ids[1][1] // the older: newest first
	code, body := b.accountPost(p, page, "/account/sessions/end", url.Values{"id": {appSession}})
	if code != 200 || !strings.Contains(body, "The session was ended.") || strings.Contains(body, appSession) {
		t.Fatalf("POST /account/sessions/end = %d, want the page without the session:\n%.800s", code, body)
	}
	if refreshes(t, conf, appTok.RefreshToken) {
		t.Error("the ended session's refresh token still works")
	}
	if code := p.do(t, "GET", "/userinfo", "", "Authorization", "Bearer "+appTok.AccessToken).Code; code != 401 {
		t.Errorf("/userinfo with the ended session's access token = %d, want 401", code)
	}
	if code, body := b.accountPost(p, page, "/account/sessions/end", url.Values{"id": {appSession}}); code != 404 || !strings.Contains(body, "ended already") {
		t.Errorf("ending it again = %d, want 404", code)
	}

	appTok = signInTokens(t, app, conf)
	tok := p.login(t, "alice@example.com", "correct horse")
	p.clock.Add(2 * time.Second)
	code, body = b.accountPost(p, page, "/account/sessions/end-all", url.Values{})
	if code != 200 || !strings.Contains(body, "Every session and token of your account has ended.") {
		t.Fatalf("POST /account/sessions/end-all = %d:\n%.800s", code, body)
	}
	if refreshes(t, conf, appTok.RefreshToken) {
		t.Error("a refresh token works after signing out everywhere")
	}
	for name, tk := range map[string]string{"an OAuth access token": appTok.AccessToken, "a tutorial token": tok} {
		if code := p.do(t, "GET", "/userinfo", "", "Authorization", "Bearer "+tk).Code; code != 401 {
			t.Errorf("/userinfo with %s after signing out everywhere = %d, want 401", name, code)
		}
	}
	if code, page, _ := b.get(p.url + "/account"); code != 200 || !strings.Contains(page, `action="/oauth2/login"`) {
		t.Errorf("the account page after signing out everywhere = %d, want the login page", code)
	}
	if app.signedIn(conf) {
		t.Error("the app's browser is still signed in")
	}
}

func TestAccountPage_delete(t *testing.T) { backends(t, testAccountPage_delete) }

func testAccountPage_delete(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	b := newBrowser(t)
	page := b.accountSignIn(p, "alice@example.com", "correct horse")
	tok := p.login(t, "alice@example.com", "correct horse")
	if code, body := b.accountPost(p, page, "/account/delete", url.Values{"password": {"wrong horse"}}); code != 403 || !strings.Contains(body, "The password is incorrect.") {
		t.Errorf("POST /account/delete with a wrong password = %d, want 403", code)
	}
	if _, err := p.store.GetUserByEmail(context.Background(), "alice@example.com"); err != nil {
		t.Fatalf("the user after a refused deletion: %v", err)
	}
	code, body := b.accountPost(p, page, "/account/delete", url.Values{"password": {"correct horse"}})
	if code != 200 || !strings.Contains(body, "Your account was deleted.") {
		t.Fatalf("POST /account/delete = %d:\n%.600s", code, body)
	}
	if _, err := p.store.GetUserByEmail(context.Background(), "alice@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the user after the deletion: %v, want ErrNotFound", err)
	}
	if rec := p.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok); rec.Code != 401 {
		t.Errorf("the deleted user's token = %d, want 401", rec.Code)
	}
	if code, page, _ := b.get(p.url + "/account"); code != 200 || !strings.Contains(page, `action="/oauth2/login"`) {
		t.Errorf("the account page after the deletion = %d, want the login page", code)
	}
}
