package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/i18n"
	"github.com/inkan-dev/inkan/internal/store"
)

// recordingMailer records the messages the server enqueues; fail, when
// set, is returned instead.
type recordingMailer struct {
	mu   sync.Mutex
	msgs []account.Message
	fail error
}

func (m *recordingMailer) Enqueue(_ context.Context, msg account.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.msgs = append(m.msgs, msg)
	return nil
}

func (m *recordingMailer) take() []account.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.msgs
	m.msgs = nil
	return out
}

// only returns the one message sent since the last call, checked to be of
// kind and to to.
func (m *recordingMailer) only(t *testing.T, kind, to string) account.Message {
	t.Helper()
	msgs := m.take()
	if len(msgs) != 1 || msgs[0].Kind != kind || msgs[0].To != to {
		t.Fatalf("mails sent = %+v, want one %s to %s", msgs, kind, to)
	}
	return msgs[0]
}

// withMailer turns mail on with m.
func withMailer(m *recordingMailer) harnessOption {
	return withOptions(func(o *Options) { o.Mail = m })
}

var linkHiddenRE = regexp.MustCompile(`<input type="hidden" name="(action|csrf|token)" value="([^"]*)">`)

// linkForm reads the hidden fields of a link page's form, which must have
// a csrf field.
func linkFormOf(t *testing.T, page string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range linkHiddenRE.FindAllStringSubmatch(page, -1) {
		if !v.Has(m[1]) {
			v.Set(m[1], htmlUnescape(m[2]))
		}
	}
	if v.Get("csrf") == "" {
		t.Fatalf("no form on the page:\n%.800s", page)
	}
	return v
}

// scan is a mail scanner: it GETs and HEADs the link, twice, with no
// cookies, as a security gateway does before the person clicks.
func scan(t *testing.T, link string) {
	t.Helper()
	for range 2 {
		for _, method := range []string{"GET", "HEAD"} {
			req, _ := http.NewRequest(method, link, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("scanner %s %s: %v", method, link, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("scanner %s = %d, want 200", method, resp.StatusCode)
			}
		}
	}
}

// jsonPost sends a JSON body.
func (h *harness) jsonPost(t *testing.T, path string, body any, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	b, _ := json.Marshal(body)
	return h.do(t, "POST", path, string(b), append([]string{"Content-Type", "application/json"}, header...)...)
}

// checkPageHeaders checks the headers every page sends.
func checkPageHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{
		"Cache-Control":   "no-store",
		"X-Frame-Options": "DENY",
		"Referrer-Policy": "no-referrer",
		"Content-Type":    "text/html; charset=utf-8",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

// Registration mails a link; a scanner's GETs and HEADs leave it usable;
// the page's button verifies the email, once; email_verified is then true
// in the ID token and at userinfo.
func TestVerify_link(t *testing.T) { backends(t, testVerify_link) }

func testVerify_link(t *testing.T, backend harnessOption) {
	m := &recordingMailer{}
	p := newProvider(t, backend, withMailer(m))
	body, _ := json.Marshal(map[string]string{"name": "Alice", "email": "alice@example.com", "password": "correct horse"})
	if rec := p.do(t, "POST", "/user", string(body), "Content-Type", "application/json", "Accept-Language", "ja, en;q=0.5"); rec.Code != http.StatusCreated {
		t.Fatalf("POST /user = %d %s", rec.Code, rec.Body)
	}
	msg := m.only(t, account.MailVerify, "alice@example.com")
	if msg.Lang != "ja" || len(msg.Data["code"]) != 6 || msg.Data["name"] != "Alice" {
		t.Errorf("verification mail = %+v, want Japanese, a code, the name", msg)
	}
	link := msg.Data["link"]
	if !strings.HasPrefix(link, p.url+"/account/verify?token=") {
		t.Fatalf("link = %q, want %s/account/verify?token=…", link, p.url)
	}
	scan(t, link)

	b := newBrowser(t)
	req, _ := http.NewRequest("GET", link, nil)
	req.Header.Set("Accept-Language", "ja")
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page := readBody(t, resp)
	checkPageHeaders(t, resp.Header)
	if !strings.Contains(page, `<html lang="ja">`) || !strings.Contains(page, "alice@example.com") || !strings.Contains(page, i18n.T("ja", "verify.confirm_button")) {
		t.Errorf("verification page is not the Japanese confirmation of alice's email:\n%s", page)
	}
	form := linkFormOf(t, page)
	code, page, _ := b.post(p.url+"/account/verify", form)
	if code != http.StatusOK || !strings.Contains(page, "alice@example.com") {
		t.Fatalf("POST /account/verify = %d:\n%s", code, page)
	}
	u, _ := p.store.GetUserByEmail(t.Context(), "alice@example.com")
	if !u.EmailVerified {
		t.Fatal("user not verified after the confirmation")
	}
	if code, page, _ := b.post(p.url+"/account/verify", form); code != http.StatusBadRequest || !strings.Contains(page, i18n.T("en", "verify.invalid")) {
		t.Errorf("the same confirmation again = %d:\n%s", code, page)
	}

	// email_verified flows to the ID token and userinfo.
	c, secret := p.client(t, store.Client{})
	code2, tok := p.postForm(t, "/oauth2/token", c.ID, secret, url.Values{"grant_type": {"password"},
		"username": {"alice@example.com"}, "password": {"correct horse"}, "scope": {"openid email"}})
	if code2 != 200 {
		t.Fatalf("password grant = %d %v", code2, tok)
	}
	_, claims := splitToken(t, tok["id_token"].(string))
	if claims["email_verified"] != true {
		t.Errorf("ID token email_verified = %v, want true", claims["email_verified"])
	}
	rec := p.do(t, "GET", "/userinfo", "", "Authorization", "Bearer "+tok["access_token"].(string))
	if info := decode(t, rec); info["email_verified"] != true {
		t.Errorf("userinfo = %v, want email_verified true", info)
	}
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Registration succeeds when mail is off, and when the mail cannot be
// queued (logged, not fatal).
func TestVerify_signupWithoutMail(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  harnessOption
	}{
		{"mail off", withOptions(func(*Options) {})},
		{"mail failing", withMailer(&recordingMailer{fail: errors.New("outbox down")})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opt)
			h.signup(t, "Alice", "alice@example.com", "correct horse")
		})
	}
}

// The code of the mail verifies by JSON and by the page's form; a code
// sent with another user's email is refused; codes are throttled per
// account.
func TestVerify_code(t *testing.T) {
	m := &recordingMailer{}
	h := newHarness(t, withMailer(m), withOptions(func(o *Options) {
		o.Accounts.CodePolicy = store.ThrottlePolicy{Free: 4, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	}))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	alice := m.only(t, account.MailVerify, "alice@example.com").Data["code"]
	h.signup(t, "Bob", "bob@example.com", "correct horse")
	bob := m.only(t, account.MailVerify, "bob@example.com").Data["code"]

	if rec := h.jsonPost(t, "/user/_verify", map[string]string{"email": "bob@example.com", "code": alice}); rec.Code != http.StatusBadRequest ||
		decode(t, rec)["detail"] != errLinkInvalid.detail {
		t.Errorf("alice's code with bob's email = %d %s, want 400", rec.Code, rec.Body)
	}
	rec := h.jsonPost(t, "/user/_verify", map[string]string{"email": "Bob@Example.com", "code": bob})
	if rec.Code != http.StatusOK || decode(t, rec)["email_verified"] != true {
		t.Fatalf("bob's code = %d %s, want 200 verified", rec.Code, rec.Body)
	}
	// Alice's account (bob's email did not count for her): 4 codes, then
	// 429 even for the right one.
	for i := range 4 {
		wrong := fmt.Sprintf("%06d", i)
		if wrong == alice {
			wrong = fmt.Sprintf("%06d", i+10)
		}
		if rec := h.jsonPost(t, "/user/_verify", map[string]string{"email": "alice@example.com", "code": wrong}); rec.Code != http.StatusBadRequest {
			t.Fatalf("wrong code #%d = %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec = h.jsonPost(t, "/user/_verify", map[string]string{"email": "alice@example.com", "code": alice})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("5th code within the minute = %d %s, want 429 with Retry-After", rec.Code, rec.Body)
	}
	for _, tc := range []struct {
		name string
		body string
		want int
	}{
		{"nothing", `{}`, 422},
		{"code alone", `{"code":"123456"}`, 422},
		{"token of another type", `{"token":5}`, 422},
	} {
		if rec := h.do(t, "POST", "/user/_verify", tc.body, "Content-Type", "application/json"); rec.Code != tc.want {
			t.Errorf("%s: POST /user/_verify %s = %d %s, want %d", tc.name, tc.body, rec.Code, rec.Body, tc.want)
		}
	}
}

// The page without a token asks for the email and the code; its form
// verifies; it is CSRF-protected.
func TestVerify_codeForm(t *testing.T) {
	m := &recordingMailer{}
	p := newProvider(t, withMailer(m))
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	code := m.only(t, account.MailVerify, "alice@example.com").Data["code"]
	b := newBrowser(t)
	status, page, _ := b.get(p.url + "/account/verify")
	if status != 200 || !strings.Contains(page, `name="code"`) || !strings.Contains(page, `autocomplete="one-time-code"`) {
		t.Fatalf("GET /account/verify = %d, want the code form:\n%s", status, page)
	}
	form := linkFormOf(t, page)
	form.Set("email", "alice@example.com")
	form.Set("code", code)
	forged := url.Values{"csrf": {"forged"}, "email": {"alice@example.com"}, "code": {code}}
	if status, _, _ := newBrowser(t).post(p.url+"/account/verify", forged); status != http.StatusForbidden {
		t.Errorf("POST without the CSRF cookie = %d, want 403", status)
	}
	if status, page, _ := b.post(p.url+"/account/verify", form); status != 200 || !strings.Contains(page, i18n.T("en", "verify.done_title")) {
		t.Fatalf("POST the code form = %d:\n%s", status, page)
	}
}

// A link is refused once used, once expired, once a newer one voided it,
// and when it was forged; the CSRF check refuses a form without its
// cookie, and leaves the link usable.
func TestVerify_refused(t *testing.T) {
	m := &recordingMailer{}
	p := newProvider(t, withMailer(m))
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	first := m.only(t, account.MailVerify, "alice@example.com").Data["link"]
	token := func(link string) string { u, _ := url.Parse(link); return u.Query().Get("token") }

	// A cross-site POST (no cookie) uses nothing.
	if status, _, _ := newBrowser(t).post(p.url+"/account/verify", url.Values{"csrf": {"x"}, "token": {token(first)}}); status != http.StatusForbidden {
		t.Errorf("POST without the CSRF cookie = %d, want 403", status)
	}
	// A new request voids the first link.
	if rec := p.jsonPost(t, "/user/_verify/resend", map[string]string{"email": "alice@example.com"}); rec.Code != http.StatusAccepted {
		t.Fatalf("resend = %d %s", rec.Code, rec.Body)
	}
	p.srv.Wait()
	second := m.only(t, account.MailVerify, "alice@example.com").Data["link"]
	for _, tc := range []struct {
		name, token string
	}{
		{"voided", token(first)},
		{"forged", strings.Repeat("A", 43)},
		{"too long", strings.Repeat("A", 5000)},
	} {
		if status, page, _ := newBrowser(t).get(p.url + "/account/verify?token=" + url.QueryEscape(tc.token)); status != http.StatusBadRequest ||
			!strings.Contains(page, i18n.T("en", "verify.invalid")) {
			t.Errorf("%s: GET = %d:\n%.400s", tc.name, status, page)
		}
		if rec := p.jsonPost(t, "/user/_verify", map[string]string{"token": tc.token}); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: POST /user/_verify = %d, want 400", tc.name, rec.Code)
		}
	}
	// Expired.
	p.clock.Add(account.DefaultVerifyTTL)
	if rec := p.jsonPost(t, "/user/_verify", map[string]string{"token": token(second)}); rec.Code != http.StatusBadRequest {
		t.Errorf("expired: POST /user/_verify = %d %s, want 400", rec.Code, rec.Body)
	}
}

// POST /user/_verify/resend answers 202 alike for every email, and mails
// only an unverified user; mail off is 503.
func TestVerify_resend(t *testing.T) {
	m := &recordingMailer{}
	h := newHarness(t, withMailer(m))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	h.signup(t, "Bob", "bob@example.com", "correct horse")
	m.take()
	if _, err := h.srv.accounts.MarkVerified(t.Context(), mustUserID(t, h, "bob@example.com")); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, email := range []string{"alice@example.com", "bob@example.com", "nobody@example.com"} {
		rec := h.jsonPost(t, "/user/_verify/resend", map[string]string{"email": email})
		if rec.Code != http.StatusAccepted {
			t.Errorf("resend %s = %d %s", email, rec.Code, rec.Body)
		}
		bodies = append(bodies, rec.Body.String())
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Errorf("bodies differ: %q", bodies)
	}
	h.srv.Wait()
	m.only(t, account.MailVerify, "alice@example.com")

	off := newHarness(t)
	if rec := off.jsonPost(t, "/user/_verify/resend", map[string]string{"email": "alice@example.com"}); rec.Code != http.StatusServiceUnavailable ||
		!strings.Contains(rec.Body.String(), "sends no mail") {
		t.Errorf("resend with mail off = %d %s, want 503 saying so", rec.Code, rec.Body)
	}
}

// --require-verified-email refuses every sign-in of an unverified user,
// but only once the password is right: a wrong password gets the usual
// answer, so that the refusal tells nothing to whoever lacks it.
func TestRequireVerifiedEmail(t *testing.T) { backends(t, testRequireVerifiedEmail) }

func testRequireVerifiedEmail(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend, withMailer(&recordingMailer{}), withOptions(func(o *Options) { o.Accounts.RequireVerifiedEmail = true }))
	uid := p.signup(t, "Alice", "alice@example.com", "correct horse")["id"].(string)
	c, secret := p.client(t, store.Client{})
	wrong := struct{ tutorial, page, grant *httptest.ResponseRecorder }{
		p.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "wrong password")),
		p.loginPage(t, c, "alice@example.com", "wrong password"),
		p.passwordGrant(t, c, secret, "alice@example.com", "wrong password"),
	}
	if wrong.tutorial.Code != 401 || wrong.page.Code != 401 || wrong.grant.Code != 400 {
		t.Fatalf("wrong password = %d, %d, %d; want 401, 401, 400", wrong.tutorial.Code, wrong.page.Code, wrong.grant.Code)
	}
	for _, rec := range []*httptest.ResponseRecorder{wrong.tutorial, wrong.page, wrong.grant} {
		if strings.Contains(rec.Body.String(), "verif") {
			t.Errorf("a wrong password's answer mentions verification: %s", rec.Body)
		}
	}
	right := p.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "correct horse"))
	if right.Code != http.StatusForbidden || !strings.Contains(decode(t, right)["detail"].(string), "not verified") {
		t.Errorf("tutorial login, right password = %d %s, want 403 saying the email is not verified", right.Code, right.Body)
	}
	if rec := p.loginPage(t, c, "alice@example.com", "correct horse"); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "not verified") ||
		strings.Contains(strings.Join(rec.Header().Values("Set-Cookie"), "\n"), sessionCookie+"=") {
		t.Errorf("login page, right password = %d, want 403 saying so, and no session:\n%.600s", rec.Code, rec.Body)
	}
	if rec := p.passwordGrant(t, c, secret, "alice@example.com", "correct horse"); rec.Code != 400 || decode(t, rec)["error"] != "invalid_grant" ||
		!strings.Contains(decode(t, rec)["error_description"].(string), "not verified") {
		t.Errorf("password grant, right password = %d %s, want invalid_grant saying so", rec.Code, rec.Body)
	}
	if _, err := p.srv.accounts.MarkVerified(t.Context(), uid); err != nil {
		t.Fatal(err)
	}
	p.login(t, "alice@example.com", "correct horse")
	if rec := p.passwordGrant(t, c, secret, "alice@example.com", "correct horse"); rec.Code != 200 {
		t.Errorf("password grant once verified = %d %s", rec.Code, rec.Body)
	}
}
