package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

const jsonCT = "application/json"

// selfRequest is one request to a self-service route with a body.
func (h *harness) self(t *testing.T, method, path, tok, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	hdr := append([]string{"Content-Type", jsonCT}, header...)
	if tok != "" {
		hdr = append(hdr, "Authorization", "Bearer "+tok)
	}
	return h.do(t, method, path, body, hdr...)
}

// Each self-service route answers its errors in the tutorial's shape,
// checked against golden bodies, before doing anything.
func TestSelfService_errors(t *testing.T) {
	h := newHarness(t)
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	tok := h.login(t, "alice@example.com", "correct horse")
	tests := []struct {
		name, method, path, tok, body string
		wantStatus                    int
		wantGolden                    string
		wantHeader                    [2]string
	}{
		{"no token", "PATCH", "/user", "", `{"name":"A"}`, 401, "self_401", [2]string{"WWW-Authenticate", "Bearer"}},
		{"bad token", "GET", "/user/sessions", "not.a.token", ``, 401, "self_401_invalid", [2]string{"WWW-Authenticate", `Bearer error="invalid_token"`}},
		{"no token delete", "DELETE", "/user", "", `{"password":"correct horse"}`, 401, "self_401", [2]string{}},
		{"no token sessions end", "DELETE", "/user/sessions/x", "", ``, 401, "self_401", [2]string{}},
		{"no token everywhere", "DELETE", "/user/sessions", "", ``, 401, "self_401", [2]string{}},
		{"no token password", "POST", "/user/_password", "", `{}`, 401, "self_401", [2]string{}},
		{"rename missing", "PATCH", "/user", tok, `{}`, 422, "user_patch_422_missing", [2]string{}},
		{"rename extra", "PATCH", "/user", tok, `{"name":"A","email":"b@example.com"}`, 422, "user_patch_422_extra", [2]string{}},
		{"rename long", "PATCH", "/user", tok, `{"name":"` + strings.Repeat("é", 65) + `"}`, 422, "user_patch_422_long", [2]string{}},
		{"rename not a string", "PATCH", "/user", tok, `{"name":null}`, 422, "user_patch_422_type", [2]string{}},
		{"rename not json", "PATCH", "/user", tok, `{"name":`, 400, "signup_400", [2]string{}},
		{"password missing", "POST", "/user/_password", tok, `{"new_password":"new horse staple"}`, 422, "user_password_422_missing", [2]string{}},
		{"password short", "POST", "/user/_password", tok, `{"current_password":"correct horse","new_password":"short"}`, 422, "user_password_422_short", [2]string{}},
		{"password same", "POST", "/user/_password", tok, `{"current_password":"correct horse","new_password":"correct horse"}`, 422, "user_password_422_same", [2]string{}},
		{"password wrong", "POST", "/user/_password", tok, `{"current_password":"wrong horse","new_password":"new horse staple"}`, 403, "user_password_403", [2]string{}},
		{"session unknown", "DELETE", "/user/sessions/nope", tok, ``, 404, "user_sessions_404", [2]string{}},
		{"delete missing", "DELETE", "/user", tok, `{}`, 422, "user_delete_422", [2]string{}},
		{"delete wrong", "DELETE", "/user", tok, `{"password":"wrong horse"}`, 403, "user_password_403", [2]string{}},
		{"delete text/plain", "DELETE", "/user", tok, `{"password":"correct horse"}`, 415, "signup_415", [2]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.name == "delete text/plain" {
				hdr = []string{"Content-Type", "text/plain"}
			}
			rec := h.self(t, tc.method, tc.path, tc.tok, tc.body, hdr...)
			if rec.Code != tc.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, rec.Code, rec.Body, tc.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != jsonCT {
				t.Errorf("Content-Type = %q, want %s", ct, jsonCT)
			}
			if tc.wantHeader[0] != "" && rec.Header().Get(tc.wantHeader[0]) != tc.wantHeader[1] {
				t.Errorf("%s = %q, want %q", tc.wantHeader[0], rec.Header().Get(tc.wantHeader[0]), tc.wantHeader[1])
			}
			if strings.Contains(rec.Body.String(), "horse") {
				t.Errorf("body %s holds a password", rec.Body)
			}
			golden(t, tc.wantGolden, rec.Body.Bytes())
		})
	}
	// Nothing changed: the name, the password, the account.
	if got := decode(t, h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok)); got["user"] != "Alice" {
		t.Errorf("GET /user after the refused requests = %v, want Alice unchanged", got)
	}
	h.login(t, "alice@example.com", "correct horse")
}

// The current password is checked under the login throttle: 429 with
// Retry-After once the budget is spent, here as at the login.
func TestSelfService_throttled(t *testing.T) {
	h := newHarness(t, withOptions(func(o *Options) {
		o.Accounts.LoginPolicy = store.ThrottlePolicy{Free: 1, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	}))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	tok := h.login(t, "alice@example.com", "correct horse")
	if rec := h.self(t, "POST", "/user/_password", tok, `{"current_password":"guess","new_password":"new horse staple"}`); rec.Code != 403 {
		t.Fatalf("first guess = %d %s, want 403", rec.Code, rec.Body)
	}
	rec := h.self(t, "DELETE", "/user", tok, `{"password":"correct horse"}`)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "60" {
		t.Fatalf("DELETE /user past the budget = %d %s (Retry-After %q), want 429 after 60 s", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
	golden(t, "user_password_429", rec.Body.Bytes())
	if rec := h.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "correct horse")); rec.Code != 429 {
		t.Errorf("login after the guesses = %d, want 429: one budget", rec.Code)
	}
}

func TestSelfService_rename(t *testing.T) { backends(t, testSelfService_rename) }

func testSelfService_rename(t *testing.T, backend harnessOption) {
	h := newHarness(t, backend)
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	tok := h.login(t, "alice@example.com", "correct horse")
	rec := h.self(t, "PATCH", "/user", tok, `{"name":"  Alice Liddell  "}`)
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("PATCH /user = %d %s (Cache-Control %q), want 200, no-store", rec.Code, rec.Body, rec.Header().Get("Cache-Control"))
	}
	got := decode(t, rec)
	if got["name"] != "Alice Liddell" || got["email"] != "alice@example.com" || got["id"] == "" || got["created_at"] == nil {
		t.Errorf("PATCH /user = %v, want the user with the trimmed name", got)
	}
	if me := decode(t, h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok)); me["user"] != "Alice Liddell" {
		t.Errorf("GET /user after the rename = %v", me)
	}
}

// A password change answers a fresh token in _authenticate's shape; the
// caller's old token, and every other, stops working, as does the old
// password.
func TestSelfService_password(t *testing.T) { backends(t, testSelfService_password) }

func testSelfService_password(t *testing.T, backend harnessOption) {
	h := newHarness(t, backend)
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	old := h.login(t, "alice@example.com", "correct horse")
	other := h.login(t, "alice@example.com", "correct horse")
	h.clock.Add(2 * time.Second)
	rec := h.self(t, "POST", "/user/_password", old, `{"current_password":"correct horse","new_password":"new horse staple"}`)
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("POST /user/_password = %d %s, want 200, no-store", rec.Code, rec.Body)
	}
	got := decode(t, rec)
	fresh, _ := got["access_token"].(string)
	if fresh == "" || got["token_type"] != "Bearer" || got["expires_in"] != float64(3600) || len(got) != 3 {
		t.Fatalf("POST /user/_password = %v, want {access_token, token_type: Bearer, expires_in: 3600}", got)
	}
	for name, tok := range map[string]string{"the caller's old token": old, "another old token": other} {
		if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok); rec.Code != 401 {
			t.Errorf("GET /user with %s = %d, want 401", name, rec.Code)
		}
	}
	if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+fresh); rec.Code != 200 {
		t.Errorf("GET /user with the fresh token = %d %s, want 200", rec.Code, rec.Body)
	}
	if rec := h.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "correct horse")); rec.Code != 401 {
		t.Errorf("login with the old password = %d, want 401", rec.Code)
	}
	h.login(t, "alice@example.com", "new horse staple")
}

func TestSelfService_delete(t *testing.T) { backends(t, testSelfService_delete) }

func testSelfService_delete(t *testing.T, backend harnessOption) {
	h := newHarness(t, backend)
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	h.signup(t, "Bob", "bob@example.com", "bob's horse")
	tok := h.login(t, "alice@example.com", "correct horse")
	bob := h.login(t, "bob@example.com", "bob's horse")
	rec := h.self(t, "DELETE", "/user", tok, `{"password":"correct horse"}`)
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("DELETE /user = %d %q, want 204 and no body", rec.Code, rec.Body)
	}
	if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok); rec.Code != 401 {
		t.Errorf("GET /user with the deleted user's token = %d, want 401", rec.Code)
	}
	if rec := h.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "correct horse")); rec.Code != 401 {
		t.Errorf("login of the deleted user = %d, want 401", rec.Code)
	}
	if _, err := h.store.GetUserByEmail(context.Background(), "alice@example.com"); err == nil {
		t.Error("the user is still stored")
	}
	if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+bob); rec.Code != 200 {
		t.Errorf("another user's token after the deletion = %d, want 200", rec.Code)
	}
	h.signup(t, "Alice again", "alice@example.com", "another horse") // the email is free again
}

// accountLogin signs a client in through the login page of the account
// pages, as a browser with the given User-Agent at the given address; it
// returns the session cookie.
func (h *harness) accountLogin(t *testing.T, email, pw, agent, addr string) *http.Cookie {
	t.Helper()
	form := url.Values{"csrf": {"csrf-token"}, "return": {"/account"}, "email": {email}, "password": {pw}}
	rec := h.do(t, "POST", "/oauth2/login", form.Encode(), "Content-Type", "application/x-www-form-urlencoded",
		"Cookie", h.srv.cookies.name(csrfCookie)+"=csrf-token", "User-Agent", agent, "RemoteAddr", addr)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account" {
		t.Fatalf("POST /oauth2/login (return /account) = %d %s, want 303 to /account", rec.Code, rec.Header().Get("Location"))
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == h.srv.cookies.name(sessionCookie) && c.Value != "" {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func listSessions(t *testing.T, h *harness, tok string, header ...string) []map[string]any {
	t.Helper()
	rec := h.do(t, "GET", "/user/sessions", "", append([]string{"Authorization", "Bearer " + tok}, header...)...)
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /user/sessions = %d %s, want 200, no-store", rec.Code, rec.Body)
	}
	var body struct {
		Sessions []map[string]any `json:"sessions"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Sessions == nil {
		t.Fatalf("GET /user/sessions = %s, want {\"sessions\": [...]}: %v", rec.Body, err)
	}
	return body.Sessions
}

// GET /user/sessions lists the user's browser sessions, newest first, by
// their public id, with the user agent and address of the sign-in and
// current for the request's own session; never the cookie or its hash, and
// no other user's.
func TestSelfService_sessions(t *testing.T) { backends(t, testSelfService_sessions) }

func testSelfService_sessions(t *testing.T, backend harnessOption) {
	h := newHarness(t, backend)
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	h.signup(t, "Bob", "bob@example.com", "bob's horse")
	tok := h.login(t, "alice@example.com", "correct horse")
	if got := listSessions(t, h, tok); len(got) != 0 {
		t.Errorf("sessions before any sign-in = %v, want []", got)
	}
	first := h.accountLogin(t, "alice@example.com", "correct horse", "Firefox \x01on\u00a0Linux", "192.0.2.7:5555")
	h.clock.Add(time.Minute)
	second := h.accountLogin(t, "alice@example.com", "correct horse", "Chromium", "[2001:db8::9]:443")
	h.accountLogin(t, "bob@example.com", "bob's horse", "Bob's", "192.0.2.8:1")

	got := listSessions(t, h, tok, "Cookie", first.Name+"="+first.Value)
	if len(got) != 2 {
		t.Fatalf("sessions = %v, want alice's two", got)
	}
	newest, oldest := got[0], got[1]
	if newest["user_agent"] != "Chromium" || newest["address"] != "2001:db8::9" || newest["current"] != false {
		t.Errorf("newest session = %v, want Chromium from 2001:db8::9, not current", newest)
	}
	if oldest["user_agent"] != "Firefox on\u00a0Linux" || oldest["address"] != "192.0.2.7" || oldest["current"] != true {
		t.Errorf("oldest session = %v, want the control character dropped, from 192.0.2.7, current (its cookie came)", oldest)
	}
	for _, se := range got {
		for _, k := range []string{"id", "created_at", "signed_in_at", "expires_at", "user_agent", "address", "current"} {
			if _, ok := se[k]; !ok {
				t.Errorf("session %v lacks %q", se, k)
			}
		}
		id, _ := se["id"].(string)
		if id == "" || id == first.Value || id == second.Value || id == hashToken(first.Value) || id == hashToken(second.Value) {
			t.Errorf("session id %q is a cookie or its hash; want the public sid", id)
		}
		created, _ := time.Parse(time.RFC3339, se["created_at"].(string))
		expires, _ := time.Parse(time.RFC3339, se["expires_at"].(string))
		if expires.Sub(created) != 24*time.Hour {
			t.Errorf("session %v lives %v, want the session TTL of 24h", se, expires.Sub(created))
		}
	}
	if got := listSessions(t, h, tok); got[0]["current"] != false || got[1]["current"] != false {
		t.Errorf("sessions without a cookie = %v, want none current", got)
	}
	// An id no session can have is a 404 like any other, not a store error.
	for _, id := range []string{"%FF", "%00", strings.Repeat("a", 200)} {
		if rec := h.do(t, "DELETE", "/user/sessions/"+id, "", "Authorization", "Bearer "+tok); rec.Code != 404 {
			t.Errorf("DELETE /user/sessions/%.10s = %d %s, want 404", id, rec.Code, rec.Body)
		}
	}
}

// Ending one session ends its refresh tokens and the access tokens issued
// under it, and nothing of the user's other sessions; signing out
// everywhere ends them all, and the tutorial's tokens too.
func TestSelfService_endSessions(t *testing.T) { backends(t, testSelfService_endSessions) }

func testSelfService_endSessions(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	// A client whose access tokens are for this API as well (aud includes
	// the issuer), so that they may call /user/sessions.
	conf := newRP(t, p, store.Client{Audience: []string{"api", p.url}})
	conf.Scopes = append(conf.Scopes, "offline_access")
	b1, b2 := newBrowser(t), newBrowser(t)
	tok1 := signInTokens(t, b1, conf)
	p.clock.Add(time.Second)
	tok2 := signInTokens(t, b2, conf)
	tutorial := p.login(t, "alice@example.com", "correct horse")

	// The access token of b1's session says which session is current.
	got := listSessions(t, p.harness, tok1.AccessToken)
	if len(got) != 2 || got[0]["current"] != false || got[1]["current"] != true {
		t.Fatalf("sessions listed with b1's access token = %v, want b1's (the older) current", got)
	}
	id1 := got[1]["id"].(string)

	userinfo := func(tok string) int {
		return p.do(t, "GET", "/userinfo", "", "Authorization", "Bearer "+tok).Code
	}
	if rec := p.do(t, "DELETE", "/user/sessions/"+id1, "", "Authorization", "Bearer "+tutorial); rec.Code != http.StatusNoContent {
		t.Fatalf("DELETE /user/sessions/{id} = %d %s, want 204", rec.Code, rec.Body)
	}
	if refreshes(t, conf, tok1.RefreshToken) {
		t.Error("the ended session's refresh token still works")
	}
	if code := userinfo(tok1.AccessToken); code != 401 {
		t.Errorf("/userinfo with the ended session's access token = %d, want 401", code)
	}
	if b1.signedIn(conf) {
		t.Error("the ended session's browser is still signed in")
	}
	if code := userinfo(tok2.AccessToken); code != 200 {
		t.Errorf("/userinfo with the other session's access token = %d, want 200", code)
	}
	if !b2.signedIn(conf) {
		t.Error("the other session's browser was signed out")
	}
	if rec := p.do(t, "DELETE", "/user/sessions/"+id1, "", "Authorization", "Bearer "+tutorial); rec.Code != 404 {
		t.Errorf("DELETE /user/sessions/{id} again = %d, want 404", rec.Code)
	}
	if got := listSessions(t, p.harness, tutorial); len(got) != 1 {
		t.Errorf("sessions after one ended = %v, want one", got)
	}

	p.clock.Add(2 * time.Second)
	if rec := p.do(t, "DELETE", "/user/sessions", "", "Authorization", "Bearer "+tutorial); rec.Code != http.StatusNoContent {
		t.Fatalf("DELETE /user/sessions = %d %s, want 204", rec.Code, rec.Body)
	}
	if refreshes(t, conf, tok2.RefreshToken) {
		t.Error("a refresh token works after signing out everywhere")
	}
	for name, tok := range map[string]string{"an OAuth access token": tok2.AccessToken, "a tutorial token": tutorial} {
		if code := userinfo(tok); code != 401 {
			t.Errorf("/userinfo with %s after signing out everywhere = %d, want 401", name, code)
		}
	}
	if b2.signedIn(conf) {
		t.Error("a browser is still signed in after signing out everywhere")
	}
	fresh := p.login(t, "alice@example.com", "correct horse")
	if got := listSessions(t, p.harness, fresh); len(got) != 0 {
		t.Errorf("sessions after signing out everywhere = %v, want none", got)
	}
}

// Another user's session cannot be ended, nor listed.
func TestSelfService_otherUsersSession(t *testing.T) {
	h := newHarness(t)
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	h.signup(t, "Bob", "bob@example.com", "bob's horse")
	alice := h.login(t, "alice@example.com", "correct horse")
	bob := h.login(t, "bob@example.com", "bob's horse")
	bobCookie := h.accountLogin(t, "bob@example.com", "bob's horse", "Bob", "192.0.2.8:1")
	bobs := listSessions(t, h, bob)
	if len(bobs) != 1 {
		t.Fatalf("bob's sessions = %v", bobs)
	}
	if rec := h.do(t, "DELETE", "/user/sessions/"+bobs[0]["id"].(string), "", "Authorization", "Bearer "+alice); rec.Code != 404 {
		t.Errorf("alice ends bob's session = %d, want 404", rec.Code)
	}
	if got := listSessions(t, h, alice, "Cookie", bobCookie.Name+"="+bobCookie.Value); len(got) != 0 {
		t.Errorf("alice's sessions, with bob's cookie = %v, want none", got)
	}
	if got := listSessions(t, h, bob); len(got) != 1 {
		t.Errorf("bob's sessions after alice's attempt = %v, want his one", got)
	}
}
