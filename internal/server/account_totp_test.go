package server

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/store"
)

var (
	totpSecretRE   = regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`)
	recoveryCodeRE = regexp.MustCompile(`<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>`)
)

// totpCode is the code of secret (base32) at t.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recoveryCodes are the codes a page shows.
func recoveryCodes(t *testing.T, page string) []string {
	t.Helper()
	var codes []string
	for _, m := range recoveryCodeRE.FindAllStringSubmatch(page, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 {
		t.Fatalf("the page shows %d recovery codes, want 10:\n%.1500s", len(codes), page)
	}
	return codes
}

// enrolTOTP begins an enrolment on the account page and returns the
// enrolment page and the secret it shows.
func (b *browser) enrolTOTP(p *provider, page string) (string, string) {
	b.t.Helper()
	code, enrol := b.accountPost(p, page, "/account/totp/begin", url.Values{})
	m := totpSecretRE.FindStringSubmatch(enrol)
	if code != 200 || m == nil || !strings.Contains(enrol, `<img src="/account/totp/qr.png"`) || !strings.Contains(enrol, `action="/account/totp/confirm"`) {
		b.t.Fatalf("POST /account/totp/begin = %d, want the enrolment page:\n%.1500s", code, enrol)
	}
	return enrol, strings.ReplaceAll(m[1], " ", "")
}

// The whole of the section: begin, the enrolment page and its QR code,
// a wrong code, the right one (a new session, the others ended, ten
// recovery codes shown once), new recovery codes, and removal with the
// password and a code.
func TestAccountPage_totp(t *testing.T) { backends(t, testAccountPage_totp) }

func testAccountPage_totp(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	b, other := newBrowser(t), newBrowser(t)
	page := b.accountSignIn(p, "alice@example.com", "correct horse")
	other.accountSignIn(p, "alice@example.com", "correct horse")
	tok := p.login(t, "alice@example.com", "correct horse")
	p.clock.Add(2 * time.Second)
	for _, want := range []string{`id="totp"`, "Two-step verification", `action="/account/totp/begin"`} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	if code, _ := b.accountPost(p, page, "/account/totp/confirm", url.Values{"code": {"123456"}}); code != http.StatusConflict {
		t.Errorf("POST /account/totp/confirm without an enrolment = %d, want 409", code)
	}

	enrol, secret := b.enrolTOTP(p, page)
	if len(secret) != 32 || !strings.Contains(enrol, `href="otpauth://totp/`) || strings.Contains(enrol, "<script") {
		t.Errorf("enrolment page: secret %q, or no otpauth link, or a script:\n%s", secret, enrol)
	}
	if !strings.Contains(enrol, `<code class="secret">`+groupsOfFour(secret)+`</code>`) {
		t.Errorf("the secret is not shown in groups of four")
	}
	// The QR code: a PNG of the pending enrolment, never cached, for the
	// session's user only.
	resp, err := b.client.Get(p.url + "/account/totp/qr.png")
	if err != nil {
		t.Fatal(err)
	}
	qr, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	img, err := png.Decode(bytes.NewReader(qr))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Cache-Control") != "no-store" || err != nil || img.Bounds().Dx() != 256 {
		t.Errorf("GET /account/totp/qr.png = %d %q %q, %v", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), err)
	}
	p.signup(t, "Bob", "bob@example.com", "correct horse")
	bob := newBrowser(t)
	bob.accountSignIn(p, "bob@example.com", "correct horse")
	if code, _, _ := bob.get(p.url + "/account/totp/qr.png"); code != 404 {
		t.Errorf("another user's GET /account/totp/qr.png = %d, want 404 (the enrolment is alice's)", code)
	}
	if code, _, _ := newBrowser(t).get(p.url + "/account/totp/qr.png"); code != 404 {
		t.Errorf("GET /account/totp/qr.png signed out = %d, want 404", code)
	}
	if code, again, _ := b.get(p.url + "/account/totp"); code != 200 || !strings.Contains(again, groupsOfFour(secret)) {
		t.Errorf("GET /account/totp = %d, want the same enrolment", code)
	}
	if code, body := b.accountPost(p, page, "/account/totp/confirm", url.Values{"code": {"000000"}}); code != 403 || !strings.Contains(body, "The code is wrong or was used already.") || !strings.Contains(body, `action="/account/totp/confirm"`) {
		t.Errorf("POST /account/totp/confirm with a wrong code = %d, want 403 on the enrolment page:\n%.800s", code, body)
	}
	code, shown := b.accountPost(p, page, "/account/totp/confirm", url.Values{"code": {totpCode(t, secret, p.clock.Now())}})
	if code != 200 || !strings.Contains(shown, "Your recovery codes") || !strings.Contains(shown, `href="/account?done=totp#totp"`) {
		t.Fatalf("POST /account/totp/confirm = %d, want the recovery codes:\n%.1500s", code, shown)
	}
	codes := recoveryCodes(t, shown)

	// A new session for this browser, with otp in its AMR; every other
	// session and token ended.
	code, page, _ = b.get(p.url + "/account?done=totp")
	if code != 200 || !strings.Contains(page, "Two-step verification is on.") || !strings.Contains(page, "Recovery codes left: 10.") || !strings.Contains(page, `action="/account/totp/remove"`) {
		t.Fatalf("the account page after enrolling = %d:\n%.2000s", code, page)
	}
	if strings.Count(page, `action="/account/sessions/end"`) != 1 {
		t.Errorf("sessions after enrolling: want this browser's only")
	}
	if code, page, _ := other.get(p.url + "/account"); code != 200 || !strings.Contains(page, `action="/oauth2/login"`) {
		t.Errorf("the other browser after enrolling = %d, want the login page", code)
	}
	if rec := p.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok); rec.Code != 401 {
		t.Errorf("a token from before enrolling = %d, want 401", rec.Code)
	}
	alice, err := p.store.GetUserByEmail(context.Background(), "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := p.store.ListSessions(context.Background(), alice.ID)
	if err != nil || len(sessions) != 1 || !slices.Contains(sessions[0].AMR, account.AMROTP) {
		t.Errorf("sessions after enrolling = %+v, %v; want one with otp in its AMR", sessions, err)
	}
	if code, _, _ := b.get(p.url + "/account/totp/qr.png"); code != 404 {
		t.Errorf("GET /account/totp/qr.png once enrolled = %d, want 404", code)
	}
	if code, page, _ := b.get(p.url + "/account/totp"); code != 200 || strings.Contains(page, "/account/totp/confirm") {
		t.Errorf("GET /account/totp once enrolled = %d, want the account page", code)
	}
	if code, _ := b.accountPost(p, page, "/account/totp/begin", url.Values{}); code != http.StatusConflict {
		t.Errorf("POST /account/totp/begin once enrolled = %d, want 409", code)
	}

	// New recovery codes take a current code, and replace the old.
	if code, body := b.accountPost(p, page, "/account/totp/recovery-codes", url.Values{"code": {"aaaa-bbbb-cccc-dddd"}}); code != 403 || !strings.Contains(body, "The code is wrong") {
		t.Errorf("POST /account/totp/recovery-codes with a wrong code = %d, want 403", code)
	}
	p.clock.Add(30 * time.Second)
	code, shown = b.accountPost(p, page, "/account/totp/recovery-codes", url.Values{"code": {totpCode(t, secret, p.clock.Now())}})
	if code != 200 || !strings.Contains(shown, `href="/account?done=recovery-codes#totp"`) {
		t.Fatalf("POST /account/totp/recovery-codes = %d:\n%.1500s", code, shown)
	}
	fresh := recoveryCodes(t, shown)
	if slices.Contains(fresh, codes[0]) {
		t.Error("a new recovery code is an old one")
	}
	if code, page, _ := b.get(p.url + "/account?done=recovery-codes"); code != 200 || !strings.Contains(page, "New recovery codes are in place") {
		t.Errorf("the account page after new codes = %d", code)
	}

	// Removal takes the password and a code.
	for _, tc := range []struct {
		name, password, code string
		wantCode             int
		want                 string
	}{
		{"wrong password", "wrong horse", fresh[0], 403, "The password is incorrect."},
		{"old recovery code", "correct horse", codes[1], 403, "The code is wrong or was used already."},
		{"no code", "correct horse", "", 403, "The code is wrong or was used already."},
	} {
		code, body := b.accountPost(p, page, "/account/totp/remove", url.Values{"password": {tc.password}, "code": {tc.code}})
		if code != tc.wantCode || !strings.Contains(body, tc.want) {
			t.Errorf("%s: POST /account/totp/remove = %d, want %d saying %q:\n%.600s", tc.name, code, tc.wantCode, tc.want, body)
		}
	}
	code, page = b.accountPost(p, page, "/account/totp/remove", url.Values{"password": {"correct horse"}, "code": {strings.ToUpper(fresh[0])}})
	if code != 200 || !strings.Contains(page, "Two-step verification is off.") || !strings.Contains(page, `action="/account/totp/begin"`) || strings.Contains(page, "Recovery codes left") {
		t.Fatalf("POST /account/totp/remove = %d, want the account page without TOTP:\n%.2000s", code, page)
	}
	if code, _ := b.accountPost(p, page, "/account/totp/remove", url.Values{"password": {"correct horse"}, "code": {fresh[1]}}); code != http.StatusConflict {
		t.Errorf("POST /account/totp/remove without a TOTP = %d, want 409", code)
	}
}

// Every form of the section wants the session's CSRF token, and a
// browser that is not signed in goes to the login page.
func TestAccountPage_totpCSRF(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	b := newBrowser(t)
	b.accountSignIn(p, "alice@example.com", "correct horse")
	for _, path := range []string{"/account/totp/begin", "/account/totp/confirm", "/account/totp/recovery-codes", "/account/totp/remove"} {
		if code, _, _ := b.post(p.url+path, url.Values{"csrf": {"forged"}, "code": {"123456"}, "password": {"correct horse"}}); code != 403 {
			t.Errorf("POST %s with a forged token = %d, want 403", path, code)
		}
		if code, page, _ := newBrowser(t).post(p.url+path, url.Values{}); code != 200 || !strings.Contains(page, `action="/oauth2/login"`) {
			t.Errorf("POST %s signed out = %d, want the login page", path, code)
		}
	}
	if code, page, _ := newBrowser(t).get(p.url + "/account/totp"); code != 200 || !strings.Contains(page, `action="/oauth2/login"`) {
		t.Errorf("GET /account/totp signed out = %d, want the login page", code)
	}
	users, _ := p.store.ListUsers(context.Background())
	if st, err := p.store.GetTOTP(context.Background(), users[0].ID); err == nil {
		t.Errorf("a forged form enrolled %+v", st)
	}
}

// Wrong codes on the enrolment page are throttled per account: 429 with
// Retry-After, in the page's language.
func TestAccountPage_totpThrottled(t *testing.T) {
	p := newProvider(t, withOptions(func(o *Options) {
		o.Accounts.MFAPolicy = store.ThrottlePolicy{Free: 2, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	}))
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	b := newBrowser(t)
	page := b.accountSignIn(p, "alice@example.com", "correct horse")
	_, secret := b.enrolTOTP(p, page)
	for range 2 {
		if code, _ := b.accountPost(p, page, "/account/totp/confirm", url.Values{"code": {"000000"}}); code != 403 {
			t.Fatalf("wrong code = %d, want 403", code)
		}
	}
	form := url.Values{"csrf": {formToken(t, page)}, "code": {totpCode(t, secret, p.clock.Now())}}
	req, _ := http.NewRequest("POST", p.url+"/account/totp/confirm", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "ja")
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "60" || !strings.Contains(string(body), "試行回数が多すぎます") || !strings.Contains(string(body), "認証アプリ") {
		t.Errorf("a code past the budget = %d, Retry-After %q, want 429 in Japanese:\n%.1000s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

// Adding or removing a second factor wants a recent sign-in: a session
// older than recentSignIn is sent to sign in again (the login page, even
// though signed in), and after it the change goes through.
func TestAccountPage_factorsNeedRecentSignIn(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	b := newBrowser(t)
	page := b.accountSignIn(p, "alice@example.com", "correct horse")
	p.clock.Add(recentSignIn + time.Minute)

	// Forms: a redirect to the login page, which asks again.
	req, _ := http.NewRequest("POST", p.url+"/account/totp/begin", strings.NewReader(url.Values{"csrf": {formToken(t, page)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	noFollow := *b.client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != freshLogin {
		t.Fatalf("POST /account/totp/begin with an old sign-in = %d %s, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), freshLogin)
	}
	code, login, _ := b.get(p.url + freshLogin)
	if code != 200 || !strings.Contains(login, `action="/oauth2/login"`) || !strings.Contains(login, "sign in again before changing your second factors") {
		t.Fatalf("GET %s signed in = %d, want the login form saying why:\n%.600s", freshLogin, code, login)
	}
	if f, err := p.srv.accounts.Factors(context.Background(), mustUserID(t, p.harness, "alice@example.com")); err != nil || f.TOTP {
		t.Fatalf("factors = %+v, %v", f, err)
	}
	if e, err := p.srv.accounts.PendingTOTP(context.Background(), mustUserID(t, p.harness, "alice@example.com")); err == nil {
		t.Errorf("an old sign-in began an enrolment: %+v", e.URL)
	}

	// JSON (the passkey script): 403 naming the login page.
	jr, _ := http.NewRequest("POST", p.url+"/account/passkeys/options", strings.NewReader(`{}`))
	jr.Header.Set("Content-Type", "application/json")
	jr.Header.Set("X-CSRF-Token", formToken(t, page))
	jresp, err := b.client.Do(jr)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	if err := json.NewDecoder(jresp.Body).Decode(&body); err != nil {
		t.Fatalf("POST /account/passkeys/options: %v", err)
	}
	jresp.Body.Close()
	if jresp.StatusCode != http.StatusForbidden || body["login"] != freshLogin {
		t.Errorf("POST /account/passkeys/options with an old sign-in = %d %v, want 403 naming %s", jresp.StatusCode, body, freshLogin)
	}

	// Signed in again: the change goes through.
	form := url.Values{"csrf": {formToken(t, login)}, "return": {"/account"}, "email": {"alice@example.com"}, "password": {"correct horse"}}
	if code, page, _ = b.post(p.url+"/oauth2/login", form); code != 200 || !strings.Contains(page, `action="/account/totp/begin"`) {
		t.Fatalf("signing in again = %d, want the account page:\n%.500s", code, page)
	}
	b.enrolTOTP(p, page)
}
