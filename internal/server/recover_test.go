package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/i18n"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
)

// Recovery from the mail's link, after a scanner has looked at it: the
// page refuses a password the signup policy refuses, or a mistyped
// repeat, and the link stays usable; the new password then ends every
// session (its clients are sent a back-channel logout token), refresh
// token and earlier access token, and a notice is mailed.
func TestRecover_link(t *testing.T) { backends(t, testRecover_link) }

func testRecover_link(t *testing.T, backend harnessOption) {
	m := &recordingMailer{}
	p := newProvider(t, backend, withMailer(m))
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	m.take()
	rc := newReceiver(t, http.StatusOK)
	conf := newRP(t, p, store.Client{BackchannelLogoutURI: rc.URL})
	b := newBrowser(t)
	tok := signInTokens(t, b, conf)
	tutorialToken := p.login(t, "alice@example.com", "correct horse")
	c, secret := p.client(t, store.Client{Audience: []string{p.url}})
	code, grant := p.postForm(t, "/oauth2/token", c.ID, secret, url.Values{"grant_type": {"password"},
		"username": {"alice@example.com"}, "password": {"correct horse"}, "scope": {"openid offline_access"}})
	if code != 200 {
		t.Fatalf("password grant = %d %v", code, grant)
	}
	p.clock.Add(time.Second)

	rec := p.jsonPost(t, "/user/_recover", map[string]string{"email": "Alice@Example.com"}, "Accept-Language", "ja")
	if rec.Code != http.StatusAccepted {
		t.Fatalf("POST /user/_recover = %d %s", rec.Code, rec.Body)
	}
	p.srv.Wait()
	msg := m.only(t, account.MailRecover, "alice@example.com")
	if msg.Lang != "ja" || msg.Data["expiry"] != "1h0m0s" || len(msg.Data["code"]) != 6 {
		t.Errorf("recovery mail = %+v", msg)
	}
	link := msg.Data["link"]
	if !strings.HasPrefix(link, p.url+"/account/recover?token=") {
		t.Fatalf("link = %q", link)
	}
	scan(t, link)

	pb := newBrowser(t)
	status, page, _ := pb.get(link)
	if status != 200 || !strings.Contains(page, `autocomplete="new-password"`) || !strings.Contains(page, "alice@example.com") {
		t.Fatalf("GET the link = %d, want the new-password form:\n%s", status, page)
	}
	form := linkFormOf(t, page)
	for _, tc := range []struct{ name, pw, pw2, want string }{
		{"common", "password", "password", "too common"},
		{"mismatch", "new password!", "new password?", i18n.T("en", "recover.mismatch")},
	} {
		f := url.Values{"csrf": form["csrf"], "token": form["token"], "password": {tc.pw}, "password2": {tc.pw2}}
		if status, page, _ := pb.post(p.url+"/account/recover", f); status != http.StatusUnprocessableEntity || !strings.Contains(page, tc.want) {
			t.Errorf("%s: POST = %d, want 422 saying %q:\n%.800s", tc.name, status, tc.want, page)
		}
	}
	form.Set("password", "new password!")
	form.Set("password2", "new password!")
	if status, page, _ := pb.post(p.url+"/account/recover", form); status != 200 || !strings.Contains(page, i18n.T("en", "recover.done_title")) {
		t.Fatalf("POST the new password = %d:\n%s", status, page)
	}

	if b.signedIn(conf) {
		t.Error("the browser session survived the recovery")
	}
	if refreshes(t, conf, tok.RefreshToken) {
		t.Error("the session's refresh token survived the recovery")
	}
	if code, body := p.postForm(t, "/oauth2/token", c.ID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {grant["refresh_token"].(string)}}); code != 400 {
		t.Errorf("password grant's refresh token after recovery = %d %v, want 400", code, body)
	}
	for _, raw := range []string{tutorialToken, grant["access_token"].(string), tok.AccessToken} {
		if rec := p.do(t, "GET", "/userinfo", "", "Authorization", "Bearer "+raw); rec.Code != http.StatusUnauthorized {
			t.Errorf("an earlier access token at /userinfo = %d, want 401", rec.Code)
		}
	}
	if err := p.srv.backchannel.deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, claims := splitToken(t, rc.next(t)); claims["sub"] == nil || claims["sid"] == nil {
		t.Errorf("logout token claims = %v", claims)
	}
	if rec := p.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "correct horse")); rec.Code != 401 {
		t.Errorf("old password = %d, want 401", rec.Code)
	}
	p.login(t, "alice@example.com", "new password!")
	if n := m.only(t, account.MailPasswordChanged, "alice@example.com"); n.Lang != "en" {
		t.Errorf("notice = %+v, want English (the page's language)", n)
	}
	if status, _, _ := pb.post(p.url+"/account/recover", form); status != http.StatusBadRequest {
		t.Errorf("the link again = %d, want 400", status)
	}
}

// The JSON route takes the link's token, or the email and the code.
func TestRecover_reset(t *testing.T) {
	m := &recordingMailer{}
	h := newHarness(t, withMailer(m))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	m.take()
	recover := func() account.Message {
		t.Helper()
		if rec := h.jsonPost(t, "/user/_recover", map[string]string{"email": "alice@example.com"}); rec.Code != http.StatusAccepted {
			t.Fatalf("POST /user/_recover = %d %s", rec.Code, rec.Body)
		}
		h.srv.Wait()
		return m.only(t, account.MailRecover, "alice@example.com")
	}
	msg := recover()
	u, _ := url.Parse(msg.Data["link"])
	tok := u.Query().Get("token")
	if rec := h.jsonPost(t, "/user/_reset", map[string]string{"token": tok, "password": "short"}); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("short password = %d %s, want 422", rec.Code, rec.Body)
	}
	if rec := h.jsonPost(t, "/user/_reset", map[string]string{"token": tok, "password": "new password!"}); rec.Code != http.StatusOK {
		t.Fatalf("reset by token = %d %s", rec.Code, rec.Body)
	}
	h.login(t, "alice@example.com", "new password!")
	m.only(t, account.MailPasswordChanged, "alice@example.com")

	msg = recover()
	if rec := h.jsonPost(t, "/user/_reset", map[string]string{"email": "alice@example.com", "code": "not-it", "password": "third password"}); rec.Code != http.StatusBadRequest {
		t.Errorf("wrong code = %d %s, want 400", rec.Code, rec.Body)
	}
	if rec := h.jsonPost(t, "/user/_reset", map[string]string{"email": "alice@example.com", "code": msg.Data["code"], "password": "third password"}); rec.Code != http.StatusOK {
		t.Fatalf("reset by code = %d %s", rec.Code, rec.Body)
	}
	h.login(t, "alice@example.com", "third password")
	m.only(t, account.MailPasswordChanged, "alice@example.com")

	// Expired: the link and the code of an hour ago.
	msg = recover()
	h.clock.Add(account.DefaultRecoveryTTL)
	u, _ = url.Parse(msg.Data["link"])
	for _, body := range []map[string]string{
		{"token": u.Query().Get("token"), "password": "fourth password"},
		{"email": "alice@example.com", "code": msg.Data["code"], "password": "fourth password"},
	} {
		if rec := h.jsonPost(t, "/user/_reset", body); rec.Code != http.StatusBadRequest {
			t.Errorf("expired %v = %d %s, want 400", body, rec.Code, rec.Body)
		}
	}
	for _, body := range []string{`{}`, `{"token":"x"}`, `{"email":"a@example.com","password":"x"}`} {
		if rec := h.do(t, "POST", "/user/_reset", body, "Content-Type", "application/json"); rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("POST /user/_reset %s = %d, want 422", body, rec.Code)
		}
	}
}

// The page without a token asks for a link, and takes a code.
func TestRecover_pageForms(t *testing.T) {
	m := &recordingMailer{}
	p := newProvider(t, withMailer(m))
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	m.take()
	b := newBrowser(t)
	status, page, _ := b.get(p.url + "/account/recover")
	if status != 200 || strings.Count(page, "<form") != 2 {
		t.Fatalf("GET /account/recover = %d, want two forms:\n%s", status, page)
	}
	csrf := linkFormOf(t, page).Get("csrf")
	for _, email := range []string{"alice@example.com", "nobody@example.com"} {
		status, page, _ := b.post(p.url+"/account/recover", url.Values{"csrf": {csrf}, "action": {"request"}, "email": {email}})
		if status != 200 || !strings.Contains(page, i18n.T("en", "recover.sent", "minutes", "60")) {
			t.Errorf("request for %s = %d:\n%s", email, status, page)
		}
	}
	p.srv.Wait()
	code := m.only(t, account.MailRecover, "alice@example.com").Data["code"]
	f := url.Values{"csrf": {csrf}, "action": {"code"}, "email": {"alice@example.com"}, "code": {code}, "password": {"new password!"}, "password2": {"new password!"}}
	if status, page, _ := b.post(p.url+"/account/recover", f); status != 200 || !strings.Contains(page, i18n.T("en", "recover.done_title")) {
		t.Fatalf("code form = %d:\n%s", status, page)
	}
	p.login(t, "alice@example.com", "new password!")
}

// POST /user/_recover answers a known and an unknown email with the same
// status, headers and body.
func TestRecover_sameAnswer(t *testing.T) {
	m := &recordingMailer{}
	h := newHarness(t, withMailer(m))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	m.take()
	known := h.jsonPost(t, "/user/_recover", map[string]string{"email": "alice@example.com"})
	unknown := h.jsonPost(t, "/user/_recover", map[string]string{"email": "nobody@example.com"})
	h.srv.Wait()
	if known.Code != http.StatusAccepted || unknown.Code != known.Code || unknown.Body.String() != known.Body.String() {
		t.Errorf("known = %d %s, unknown = %d %s; want the same 202", known.Code, known.Body, unknown.Code, unknown.Body)
	}
	for k := range known.Header() {
		if k != "X-Request-Id" && !slices.Equal(known.Header()[k], unknown.Header()[k]) {
			t.Errorf("header %s: known %q, unknown %q", k, known.Header()[k], unknown.Header()[k])
		}
	}
	if len(known.Header()) != len(unknown.Header()) {
		t.Errorf("headers: known %v, unknown %v", known.Header(), unknown.Header())
	}
	m.only(t, account.MailRecover, "alice@example.com")
}

// POST /user/_recover takes as long for an unknown email as for a known
// one: the median times of many interleaved requests, in this process,
// are within a factor of 1.5 of each other (the criterion; no
// absolute time is asserted). The mail is prepared after the answer and
// waited for outside the timing, as the answer does not wait for it.
func TestRecover_timing(t *testing.T) { backends(t, testRecover_timing) }

func testRecover_timing(t *testing.T, backend harnessOption) {
	m := &recordingMailer{}
	lots := store.ThrottlePolicy{Free: 100000, Base: time.Second, Max: time.Minute, Window: time.Hour}
	h := newHarness(t, backend, withMailer(m), withOptions(func(o *Options) {
		o.Accounts.MailAddressPolicy, o.Accounts.MailEmailPolicy = lots, lots
	}))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	request := func(email string) (time.Duration, *httptest.ResponseRecorder) {
		// As net/http does, the request's context ends once it is answered.
		ctx, cancel := context.WithCancel(t.Context())
		req := httptest.NewRequestWithContext(ctx, "POST", "/user/_recover", strings.NewReader(`{"email":"`+email+`"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		start := time.Now()
		h.srv.ServeHTTP(rec, req)
		d := time.Since(start)
		cancel()
		h.srv.Wait()
		return d, rec
	}
	for range 20 { // warm up both paths
		request("alice@example.com")
		request("nobody@example.com")
	}
	m.take()
	const n = 300
	var known, unknown []time.Duration
	for range n {
		emails := []string{"alice@example.com", "nobody@example.com"}
		if rand.IntN(2) == 0 {
			emails[0], emails[1] = emails[1], emails[0]
		}
		for _, e := range emails {
			d, rec := request(e)
			if rec.Code != http.StatusAccepted {
				t.Fatalf("POST /user/_recover = %d %s", rec.Code, rec.Body)
			}
			if e == "alice@example.com" {
				known = append(known, d)
			} else {
				unknown = append(unknown, d)
			}
		}
	}
	if got := len(m.take()); got != n {
		t.Fatalf("%d recovery mails for %d known requests", got, n)
	}
	mk, mu := median(known), median(unknown)
	ratio := float64(max(mk, mu)) / float64(min(mk, mu))
	t.Logf("median known %v, unknown %v: ratio %.2f", mk, mu, ratio)
	if ratio >= 1.5 {
		t.Errorf("median times known %v, unknown %v: ratio %.2f, want < 1.5", mk, mu, ratio)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// Recovery requests are throttled per email and per client address, known
// or not; mail off is a 503 that says why.
func TestRecover_throttleAndMailOff(t *testing.T) {
	m := &recordingMailer{}
	h := newHarness(t, withMailer(m), withOptions(func(o *Options) {
		o.Accounts.MailEmailPolicy = store.ThrottlePolicy{Free: 2, Base: time.Minute, Max: time.Hour, Window: time.Hour}
		o.Accounts.MailAddressPolicy = store.ThrottlePolicy{Free: 6, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	}))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	post := func(email, addr string) *httptest.ResponseRecorder {
		return h.jsonPost(t, "/user/_recover", map[string]string{"email": email}, "RemoteAddr", addr+":1234")
	}
	for _, email := range []string{"alice@example.com", "nobody@example.com"} {
		for i, addr := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
			want := http.StatusAccepted
			if i == 2 {
				want = http.StatusTooManyRequests
			}
			if rec := post(email, addr); rec.Code != want {
				t.Errorf("%s #%d from %s = %d %s, want %d", email, i+1, addr, rec.Code, rec.Body, want)
			}
		}
	}
	for i := range 7 {
		want := http.StatusAccepted
		if i == 6 {
			want = http.StatusTooManyRequests
		}
		if rec := post(fmt.Sprintf("user%d@example.com", i), "203.0.113.7"); rec.Code != want {
			t.Errorf("email #%d from one address = %d, want %d", i+1, rec.Code, want)
		} else if want == 429 && rec.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	h.srv.Wait()

	off := newHarness(t)
	rec := off.jsonPost(t, "/user/_recover", map[string]string{"email": "alice@example.com"})
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(decode(t, rec)["detail"].(string), "sends no mail") {
		t.Errorf("mail off = %d %s, want 503 saying so", rec.Code, rec.Body)
	}
	if rec := h.jsonPost(t, "/user/_recover", map[string]string{"email": "not an email"}); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("malformed email = %d, want 422", rec.Code)
	}
}

// The per-email and per-address budgets hold across two servers on one
// PostgreSQL database, each with its own connection pool.
func TestRecover_throttleAcrossReplicas(t *testing.T) {
	url := pgtest.Database(t)
	var stores []store.Store
	for range 2 {
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	m := &recordingMailer{}
	h := newHarness(t, withOptions(func(o *Options) { o.Store = stores[0] }), withMailer(m), withOptions(func(o *Options) {
		o.Accounts.MailEmailPolicy = store.ThrottlePolicy{Free: 3, Base: time.Minute, Max: time.Hour, Window: time.Hour}
		o.Accounts.MailAddressPolicy = store.ThrottlePolicy{Free: 5, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	}))
	opts := h.srv.opts
	opts.Store = stores[1]
	replica, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	servers := []*Server{h.srv, replica}
	post := func(i int, email, addr string) int {
		req := httptest.NewRequest("POST", "/user/_recover", strings.NewReader(`{"email":"`+email+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = addr + ":1234"
		rec := httptest.NewRecorder()
		servers[i%2].ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range 4 { // one email, alternating servers and addresses
		want := map[bool]int{true: 202, false: 429}[i < 3]
		if got := post(i, "alice@example.com", fmt.Sprintf("198.51.100.%d", i)); got != want {
			t.Errorf("request #%d for one email on server %d = %d, want %d", i+1, i%2, got, want)
		}
	}
	for i := range 6 { // one address, alternating servers and emails
		want := map[bool]int{true: 202, false: 429}[i < 5]
		if got := post(i, fmt.Sprintf("user%d@example.com", i), "203.0.113.7"); got != want {
			t.Errorf("request #%d from one address on server %d = %d, want %d", i+1, i%2, got, want)
		}
	}
	h.srv.Wait()
	replica.Wait()
}
