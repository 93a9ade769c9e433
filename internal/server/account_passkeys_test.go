package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/account/passkeytest"
	"github.com/inkan-dev/inkan/internal/store"
)

// passkeyProvider is a provider whose issuer is http://localhost:PORT:
// WebAuthn has no relying party for an IP address, and localhost is a
// secure context. Requests still go to 127.0.0.1.
func passkeyProvider(t *testing.T, opts ...harnessOption) (*provider, string) {
	t.Helper()
	var issuer string
	opts = append([]harnessOption{withOptions(func(o *Options) {
		o.Issuer = strings.Replace(o.Issuer, "127.0.0.1", "localhost", 1)
		issuer = o.Issuer
	})}, opts...)
	return newProvider(t, opts...), issuer
}

// postJSON posts body as JSON with the CSRF header and returns the status
// and the decoded answer.
func (b *browser) postJSON(u, csrf string, body any) (int, map[string]any) {
	b.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		b.t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", u, strings.NewReader(string(raw)))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	return b.doJSON(req)
}

func (b *browser) doJSON(req *http.Request) (int, map[string]any) {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		b.t.Fatalf("%s %s = %d %q: not JSON", req.Method, req.URL.Path, resp.StatusCode, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		b.t.Errorf("%s %s: Content-Type %q", req.Method, req.URL.Path, ct)
	}
	return resp.StatusCode, m
}

var dataCSRFRE = regexp.MustCompile(`id="(?:passkeys|passkey-login|passkey-mfa)" data-csrf="([^"]*)"`)

// passkeyCSRF is the CSRF token of the page's passkey section.
func passkeyCSRF(t *testing.T, page string) string {
	t.Helper()
	m := dataCSRFRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no passkey section on the page:\n%s", page)
	}
	return htmlUnescape(m[1])
}

// options asks path for a ceremony's options: its handle and the
// publicKey member, as JSON.
func (b *browser) options(p *provider, path, csrf string, body any) (string, []byte) {
	b.t.Helper()
	code, res := b.postJSON(p.url+path, csrf, body)
	if code != http.StatusOK {
		b.t.Fatalf("POST %s = %d %v", path, code, res)
	}
	pk, _ := json.Marshal(res["publicKey"])
	handle, _ := res["handle"].(string)
	if handle == "" {
		b.t.Fatalf("POST %s: no handle in %v", path, res)
	}
	return handle, pk
}

// addPasskey registers a on the account page and returns the answer and
// the account page after it.
func (b *browser) addPasskey(p *provider, a *passkeytest.Authenticator, name string) map[string]any {
	b.t.Helper()
	_, page, _ := b.get(p.url + "/account")
	csrf := passkeyCSRF(b.t, page)
	handle, opts := b.options(p, "/account/passkeys/options", csrf, map[string]any{})
	code, res := b.postJSON(p.url+"/account/passkeys", csrf, map[string]any{"handle": handle, "name": name, "credential": json.RawMessage(a.Create(b.t, opts))})
	if code != http.StatusCreated {
		b.t.Fatalf("POST /account/passkeys = %d %v", code, res)
	}
	return res
}

func TestAccountPasskeys(t *testing.T) {
	p, issuer := passkeyProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	b := newBrowser(t)
	page := b.accountSignIn(p, "alice@example.com", "correct horse")
	for _, want := range []string{`<h2>Passkeys</h2>`, `<script src="/oauth2/static/passkey.js" defer></script>`, `id="passkey-add" hidden`, "You have no passkeys."} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	resp, err := b.client.Get(p.url + "/account")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") ||
		strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy = %q, want scripts and fetches of this origin only", csp)
	}
	oldCookie := sessionCookieOf(t, b, p)

	a := passkeytest.New(t, "localhost", issuer)
	res := b.addPasskey(p, a, "Laptop")
	codes, _ := res["recovery_codes"].([]any)
	if len(codes) != 10 || res["name"] != "Laptop" || res["redirect"] != "/account?done=passkey_added" {
		t.Errorf("first passkey's answer = %v, want its name, ten recovery codes and the way back", res)
	}
	if c := sessionCookieOf(t, b, p); c == oldCookie || c == "" {
		t.Error("the browser kept its session across a credential change, want a new one")
	}
	code, page, _ := b.get(p.url + "/account?done=passkey_added")
	if code != 200 || !strings.Contains(page, "Laptop") || !strings.Contains(page, "The passkey was added.") || !strings.Contains(page, "never used") {
		t.Fatalf("account page after adding = %d, want the passkey listed and the notice:\n%s", code, page)
	}
	u, _ := p.store.GetUserByEmail(context.Background(), "alice@example.com")
	if n, _ := p.store.CountRecoveryCodes(context.Background(), u.ID); n != 10 {
		t.Errorf("stored recovery codes = %d, want 10", n)
	}
	// The second: no codes.
	if res := b.addPasskey(p, passkeytest.New(t, "localhost", issuer), ""); res["recovery_codes"] != nil || res["name"] != "Passkey 2" {
		t.Errorf("second passkey's answer = %v, want Passkey 2 without codes", res)
	}

	// Removal: a form with the session's token.
	_, page, _ = b.get(p.url + "/account")
	id := passkeytest.B64(a.ID)
	if code, _ := b.accountPost(p, page, "/account/passkeys/delete", url.Values{"id": {"bm9wZQ"}}); code != http.StatusNotFound {
		t.Errorf("removing an unknown passkey = %d, want 404", code)
	}
	code, page = b.accountPost(p, page, "/account/passkeys/delete", url.Values{"id": {id}})
	if code != 200 || !strings.Contains(page, "The passkey was removed.") || strings.Contains(page, ">Laptop<") || !strings.Contains(page, "Passkey 2") {
		t.Errorf("after removing = %d, want the account page without Laptop:\n%s", code, page)
	}
	if _, err := p.store.GetPasskey(context.Background(), a.ID); err == nil {
		t.Error("the removed passkey is still stored")
	}
}

// sessionCookieOf is the browser's session cookie for the provider.
func sessionCookieOf(t *testing.T, b *browser, p *provider) string {
	t.Helper()
	u, _ := url.Parse(p.url)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// The JSON routes check the session, the CSRF token, the content type and
// the size, and say what is wrong in the page's language.
func TestAccountPasskeys_refused(t *testing.T) {
	p, issuer := passkeyProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	b := newBrowser(t)
	page := b.accountSignIn(p, "alice@example.com", "correct horse")
	csrf := passkeyCSRF(t, page)
	handle, opts := b.options(p, "/account/passkeys/options", csrf, map[string]any{})
	a := passkeytest.New(t, "localhost", issuer)
	answer := json.RawMessage(a.Create(t, opts))

	raw := func(path, ctype, body string, header ...string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", p.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return b.doJSON(req)
	}
	for _, tc := range []struct {
		name   string
		do     func() (int, map[string]any)
		status int
		detail string
	}{
		{"no session", func() (int, map[string]any) {
			return newBrowser(t).postJSON(p.url+"/account/passkeys/options", csrf, map[string]any{})
		}, 401, "Sign in again"},
		{"no csrf", func() (int, map[string]any) {
			return b.postJSON(p.url+"/account/passkeys/options", "", map[string]any{})
		}, 403, "This form has expired"},
		{"wrong csrf", func() (int, map[string]any) {
			return b.postJSON(p.url+"/account/passkeys", "x"+csrf, map[string]any{"handle": handle})
		}, 403, "This form has expired"},
		{"csrf in the body", func() (int, map[string]any) {
			return b.postJSON(p.url+"/account/passkeys", "", map[string]any{"csrf": csrf, "handle": "nope", "credential": answer})
		}, 400, "The passkey request has expired"},
		{"form", func() (int, map[string]any) {
			return raw("/account/passkeys/options", "application/x-www-form-urlencoded", "a=b", "X-CSRF-Token", csrf)
		}, 415, "Content-Type must be application/json"},
		{"too large", func() (int, map[string]any) {
			return raw("/account/passkeys", "application/json", `{"name":"`+strings.Repeat("a", 70<<10)+`"}`, "X-CSRF-Token", csrf)
		}, 413, "exceeds"},
		{"malformed", func() (int, map[string]any) {
			return raw("/account/passkeys", "application/json", `{"handle":`, "X-CSRF-Token", csrf)
		}, 400, "Malformed JSON"},
		{"name", func() (int, map[string]any) {
			return b.postJSON(p.url+"/account/passkeys", csrf, map[string]any{"handle": handle, "name": strings.Repeat("x", 65), "credential": answer})
		}, 422, "at most 64 characters"},
		{"bad answer", func() (int, map[string]any) {
			return b.postJSON(p.url+"/account/passkeys", csrf, map[string]any{"handle": handle, "credential": map[string]any{"id": "AAAA"}})
		}, 400, "The passkey was not accepted"},
		{"used handle", func() (int, map[string]any) {
			return b.postJSON(p.url+"/account/passkeys", csrf, map[string]any{"handle": handle, "credential": answer})
		}, 400, "The passkey request has expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, res := tc.do()
			if d, _ := res["detail"].(string); code != tc.status || !strings.Contains(d, tc.detail) {
				t.Errorf("= %d %v, want %d with %q", code, res, tc.status, tc.detail)
			}
		})
	}
	if list, _ := p.store.ListPasskeys(context.Background(), mustUserID(t, p.harness, "alice@example.com")); len(list) != 0 {
		t.Errorf("passkeys after refusals = %d, want 0", len(list))
	}
	// In Japanese.
	req, _ := http.NewRequest("POST", p.url+"/account/passkeys", strings.NewReader(`{"handle":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	req.Header.Set("Accept-Language", "ja")
	if code, res := b.doJSON(req); code != 400 || res["detail"] != "パスキーの要求の有効期限が切れました。もう一度お試しください。" {
		t.Errorf("in Japanese = %d %v", code, res)
	}
}

// Passwordless: the login page offers passkeys (conditional mediation in
// the email field, a button), and a discoverable credential with user
// verification signs in, for the account pages or an authorization
// request.
func TestLoginPasskey(t *testing.T) {
	p, issuer := passkeyProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	a := passkeytest.New(t, "localhost", issuer)
	owner := newBrowser(t)
	owner.accountSignIn(p, "alice@example.com", "correct horse")
	owner.addPasskey(p, a, "Laptop")

	b := newBrowser(t)
	_, page, _ := b.get(p.url + "/oauth2/login?return=%2Faccount")
	for _, want := range []string{`autocomplete="username webauthn"`, `id="passkey-login"`, `data-return="/account"`, `<script src="/oauth2/static/passkey.js" defer></script>`, "Sign in with a passkey"} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %q:\n%s", want, page)
		}
	}
	csrf := passkeyCSRF(t, page)
	if csrf != formToken(t, page) {
		t.Errorf("the passkey section's token differs from the login form's")
	}
	handle, opts := b.options(p, "/oauth2/login/passkey/options", csrf, map[string]any{})
	if !strings.Contains(string(opts), `"userVerification":"required"`) || strings.Contains(string(opts), "allowCredentials") {
		t.Errorf("passwordless options = %s, want UV required and nothing allowed", opts)
	}
	code, res := b.postJSON(p.url+"/oauth2/login/passkey", csrf, map[string]any{"handle": handle, "credential": json.RawMessage(a.Get(t, opts)), "return": "/account"})
	if code != 200 || res["redirect"] != "/account" {
		t.Fatalf("POST /oauth2/login/passkey = %d %v, want the way to /account", code, res)
	}
	if code, page, _ := b.get(p.url + "/account"); code != 200 || !strings.Contains(page, "alice@example.com") {
		t.Fatalf("account page after a passkey sign-in = %d", code)
	}
	list, _ := p.store.ListSessions(context.Background(), mustUserID(t, p.harness, "alice@example.com"))
	var amr []string
	for _, s := range list {
		if len(s.AMR) > 0 && s.AMR[0] == account.AMRHardwareKey {
			amr = s.AMR
		}
	}
	if !slices.Equal(amr, []string{"hwk", "mfa", "user"}) {
		t.Errorf("session AMR = %v, want [hwk mfa user]", amr)
	}

	// For an authorization request: back to it.
	c, _ := p.client(t, store.Client{})
	b2 := newBrowser(t)
	_, page, _ = b2.get(p.url + "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {redirectURI}, "scope": {"openid"}, "state": {"s1"}}.Encode())
	csrf = passkeyCSRF(t, page)
	request := hidden(t, page).Get("request")
	handle, opts = b2.options(p, "/oauth2/login/passkey/options", csrf, map[string]any{})
	code, res = b2.postJSON(p.url+"/oauth2/login/passkey", csrf, map[string]any{"handle": handle, "credential": json.RawMessage(a.Get(t, opts)), "request": request})
	if next, _ := res["redirect"].(string); code != 200 || !strings.HasPrefix(next, "/oauth2/authorize?") || !strings.Contains(next, "state=s1") {
		t.Errorf("passkey sign-in for a client = %d %v, want the way back to the authorization request", code, res)
	}
}

// The login routes check the login page's CSRF cookie, user verification,
// and that a second factor's ceremony does not sign in on its own.
func TestLoginPasskey_refused(t *testing.T) {
	p, issuer := passkeyProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	a := passkeytest.New(t, "localhost", issuer)
	owner := newBrowser(t)
	owner.accountSignIn(p, "alice@example.com", "correct horse")
	owner.addPasskey(p, a, "Laptop")
	b := newBrowser(t)
	_, page, _ := b.get(p.url + "/oauth2/login?return=%2Faccount")
	csrf := passkeyCSRF(t, page)

	if code, _ := newBrowser(t).postJSON(p.url+"/oauth2/login/passkey/options", csrf, map[string]any{}); code != 403 {
		t.Errorf("options without the CSRF cookie = %d, want 403", code)
	}
	if code, _ := b.postJSON(p.url+"/oauth2/login/passkey/options", "x", map[string]any{}); code != 403 {
		t.Errorf("options with a wrong token = %d, want 403", code)
	}
	if code, _ := b.postJSON(p.url+"/oauth2/login/passkey/options", csrf, map[string]any{"second_factor": true}); code != 401 {
		t.Errorf("second-factor options without a pending login = %d, want 401", code)
	}
	// No user verification.
	a.UV = false
	handle, opts := b.options(p, "/oauth2/login/passkey/options", csrf, map[string]any{})
	if code, res := b.postJSON(p.url+"/oauth2/login/passkey", csrf, map[string]any{"handle": handle, "credential": json.RawMessage(a.Get(t, opts)), "return": "/account"}); code != 400 || res["detail"] != "The passkey was not accepted." {
		t.Errorf("passwordless without UV = %d %v, want 400", code, res)
	}
	// A second factor's ceremony (UV preferred) does not sign in alone.
	handle, opts, err := p.srv.accounts.BeginPasskeyLogin(context.Background(), mustUserID(t, p.harness, "alice@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := b.postJSON(p.url+"/oauth2/login/passkey", csrf, map[string]any{"handle": handle, "credential": json.RawMessage(a.Get(t, opts)), "return": "/account"}); code != 400 {
		t.Errorf("a second factor's assertion as a sign-in = %d, want 400", code)
	}
	if sessionCookieOf(t, b, p) != "" {
		t.Errorf("after refusals the browser has a session")
	}
	// A bad authorization request.
	a.UV = true
	handle, opts = b.options(p, "/oauth2/login/passkey/options", csrf, map[string]any{})
	if code, _ := b.postJSON(p.url+"/oauth2/login/passkey", csrf, map[string]any{"handle": handle, "credential": json.RawMessage(a.Get(t, opts)), "request": "client_id=nope"}); code != 400 {
		t.Errorf("passkey sign-in for an unknown client = %d, want 400", code)
	}
}

// Without a relying party (an issuer on an IP address) the pages offer no
// passkeys and the routes answer 404.
func TestPasskeys_off(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	b := newBrowser(t)
	_, page, _ := b.get(p.url + "/oauth2/login?return=%2Faccount")
	if strings.Contains(page, "passkey") || strings.Contains(page, "webauthn") {
		t.Errorf("login page offers passkeys without a relying party:\n%s", page)
	}
	csrf := formToken(t, page)
	if code, res := b.postJSON(p.url+"/oauth2/login/passkey/options", csrf, map[string]any{}); code != 404 || res["detail"] != "Passkeys are not enabled on this server." {
		t.Errorf("options without a relying party = %d %v, want 404", code, res)
	}
	page = b.accountSignIn(p, "alice@example.com", "correct horse")
	if strings.Contains(page, "passkey") {
		t.Errorf("account page offers passkeys without a relying party")
	}
}

func TestPasskeyScript(t *testing.T) {
	p := newProvider(t)
	rec := p.do(t, "GET", "/oauth2/static/passkey.js", "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" || rec.Header().Get("Cache-Control") != "public, max-age=86400" ||
		!strings.Contains(rec.Body.String(), "navigator.credentials.create") || !strings.Contains(rec.Body.String(), "isConditionalMediationAvailable") {
		t.Errorf("GET /oauth2/static/passkey.js = %d %v", rec.Code, rec.Header())
	}
}

// A user with a passkey who signs in with the password owes the second
// factor: the second step's page offers the passkey, whose assertion (user
// verification not needed) completes the pending login; another user's
// passkey does not.
func TestLoginPasskey_secondFactor(t *testing.T) {
	p, issuer := passkeyProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	p.signup(t, "Mallory", "mallory@example.com", "mallory horse")
	a, m := passkeytest.New(t, "localhost", issuer), passkeytest.New(t, "localhost", issuer)
	owner := newBrowser(t)
	owner.accountSignIn(p, "alice@example.com", "correct horse")
	owner.addPasskey(p, a, "Laptop")
	mal := newBrowser(t)
	mal.accountSignIn(p, "mallory@example.com", "mallory horse")
	mal.addPasskey(p, m, "Mallory's")

	b := newBrowser(t)
	_, page, _ := b.get(p.url + "/oauth2/login?return=%2Faccount")
	form := url.Values{"csrf": {formToken(t, page)}, "return": {"/account"}, "email": {"alice@example.com"}, "password": {"correct horse"}}
	code, page, _ := b.post(p.url+"/oauth2/login", form)
	if code != 200 || !strings.Contains(page, `id="passkey-mfa"`) || !strings.Contains(page, `<script src="/oauth2/static/passkey.js" defer></script>`) {
		t.Fatalf("after the password = %d, want the second step with the passkey:\n%s", code, page)
	}
	if sessionCookieOf(t, b, p) != "" {
		t.Fatal("a session before the second factor")
	}
	csrf := passkeyCSRF(t, page)
	// Mallory's passkey does not pass for alice.
	handle, opts := b.options(p, "/oauth2/login/passkey/options", csrf, map[string]any{"second_factor": true})
	m.UserHandle = a.UserHandle
	if code, res := b.postJSON(p.url+"/oauth2/login/passkey", csrf, map[string]any{"handle": handle, "credential": json.RawMessage(m.Get(t, opts)), "second_factor": true}); code != 400 {
		t.Errorf("another user's passkey as the second factor = %d %v, want 400", code, res)
	}
	handle, opts = b.options(p, "/oauth2/login/passkey/options", csrf, map[string]any{"second_factor": true})
	if !strings.Contains(string(opts), passkeytest.B64(a.ID)) || !strings.Contains(string(opts), `"userVerification":"preferred"`) {
		t.Errorf("second-factor options = %s, want alice's credential allowed, UV preferred", opts)
	}
	a.UV = false
	code, res := b.postJSON(p.url+"/oauth2/login/passkey", csrf, map[string]any{"handle": handle, "credential": json.RawMessage(a.Get(t, opts)), "second_factor": true})
	if code != 200 || res["redirect"] != "/account" {
		t.Fatalf("the passkey as the second factor = %d %v, want the way to /account", code, res)
	}
	if code, page, _ := b.get(p.url + "/account"); code != 200 || !strings.Contains(page, `action="/account/name"`) {
		t.Fatalf("account page after the second factor = %d", code)
	}
	var amr []string
	list, _ := p.store.ListSessions(context.Background(), mustUserID(t, p.harness, "alice@example.com"))
	for _, s := range list {
		if slices.Contains(s.AMR, account.AMRHardwareKey) { // the owner's session has [pwd]
			amr = s.AMR
		}
	}
	if !slices.Equal(amr, []string{"hwk", "mfa", "pwd", "user"}) {
		t.Errorf("session AMR = %v, want [hwk mfa pwd user]", amr)
	}
}
