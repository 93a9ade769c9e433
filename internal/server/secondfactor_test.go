package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	inkanoidc "github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/internal/store"
)

// mfaUser signs up a user and enrols a TOTP for them through the account
// service; it returns the user's id, the TOTP secret and the recovery
// codes.
func (p *provider) mfaUser(t *testing.T, email string) (id, secret string, codes []string) {
	t.Helper()
	ctx := context.Background()
	id = p.signup(t, "Alice", email, "correct horse")["id"].(string)
	e, err := p.srv.accounts.BeginTOTP(ctx, id)
	if err != nil {
		t.Fatalf("BeginTOTP() = %v", err)
	}
	codes, err = p.srv.accounts.ConfirmTOTP(ctx, id, p.code(t, e.Secret))
	if err != nil || len(codes) != 10 {
		t.Fatalf("ConfirmTOTP() = %d codes, %v; want ten", len(codes), err)
	}
	p.clock.Add(30 * time.Second) // the step of that code is spent
	return id, e.Secret, codes
}

// code is the TOTP code of secret at the provider's clock.
func (p *provider) code(t *testing.T, secret string) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, p.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// authorizeURL is an authorization request of client c for openid, with
// the parameters extra (name, value pairs) besides.
func (p *provider) authorizeURL(c store.Client, extra ...string) string {
	q := url.Values{"client_id": {c.ID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return p.url + "/oauth2/authorize?" + q.Encode()
}

var csrfRE = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]*)">`)

// csrfOf reads the CSRF token of a page's form.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form on the page:\n%.800s", page)
	}
	return htmlUnescape(m[1])
}

// signInPassword posts the login form of the page at authURL and returns
// what came back: the second-factor page, or where it landed.
func (b *browser) signInPassword(authURL, email, password string) (int, string, *url.URL) {
	b.t.Helper()
	code, page, landed := b.get(authURL)
	if landed != nil {
		return code, page, landed
	}
	if !strings.Contains(page, `action="/oauth2/login"`) {
		b.t.Fatalf("GET authorize = %d, want the login page:\n%.500s", code, page)
	}
	form := hidden(b.t, page)
	form.Set("email", email)
	form.Set("password", password)
	base := authURL[:strings.Index(authURL, "/oauth2/")]
	return b.post(base+"/oauth2/login", form)
}

func TestSecondFactor_tutorial(t *testing.T) { backends(t, testSecondFactor_tutorial) }

// POST /user/_authenticate of a user with a TOTP owes the second factor:
// 401 with an mfa_token, which POST /user/_authenticate/mfa completes once,
// with a code used once.
func testSecondFactor_tutorial(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	_, secret, codes := p.mfaUser(t, "alice@example.com")

	rec := p.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "wrong"))
	if rec.Code != 401 || strings.Contains(rec.Body.String(), "mfa_token") {
		t.Fatalf("wrong password = %d %s, want the plain 401", rec.Code, rec.Body)
	}
	start := func() string {
		t.Helper()
		rec := p.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "correct horse"))
		body := decode(t, rec)
		tok, _ := body["mfa_token"].(string)
		if rec.Code != 401 || tok == "" || !strings.Contains(body["detail"].(string), "second factor") || body["access_token"] != nil {
			t.Fatalf("right password = %d %v, want 401 with an mfa_token and no token", rec.Code, body)
		}
		return tok
	}
	finish := func(tok, code string) *httptest.ResponseRecorder {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"mfa_token": tok, "code": code})
		return p.do(t, "POST", "/user/_authenticate/mfa", string(b), "Content-Type", "application/json")
	}

	tok := start()
	if rec := finish(tok, "000000"); rec.Code != 401 || decode(t, rec)["detail"] != "Incorrect code" {
		t.Errorf("wrong code = %d %s, want 401 Incorrect code", rec.Code, rec.Body)
	}
	good := p.code(t, secret)
	rec = finish(tok, good)
	if rec.Code != 200 || decode(t, rec)["access_token"] == nil {
		t.Fatalf("right code = %d %s, want 200 and the token", rec.Code, rec.Body)
	}
	if rec := p.do(t, "GET", "/user", "", "Authorization", "Bearer "+decode(t, rec)["access_token"].(string)); rec.Code != 200 {
		t.Errorf("GET /user with it = %d, want 200", rec.Code)
	}
	if rec := finish(tok, p.code(t, secret)); rec.Code != 401 || !strings.Contains(rec.Body.String(), "mfa_token") {
		t.Errorf("the mfa_token again = %d %s, want 401: used", rec.Code, rec.Body)
	}
	if rec := finish(start(), good); rec.Code != 401 || decode(t, rec)["detail"] != "Incorrect code" {
		t.Errorf("the same code again = %d %s, want 401: a replay", rec.Code, rec.Body)
	}
	if rec := finish(start(), strings.ToUpper(codes[0])); rec.Code != 200 {
		t.Errorf("a recovery code = %d %s, want 200", rec.Code, rec.Body)
	}
	if rec := finish(start(), codes[0]); rec.Code != 401 {
		t.Errorf("the recovery code again = %d %s, want 401: single use", rec.Code, rec.Body)
	}

	// A pending login takes a few tries at most, then starts over.
	tok = start()
	for range 5 {
		finish(tok, "000000")
	}
	if rec := finish(tok, p.code(t, secret)); rec.Code == 200 {
		t.Errorf("the right code after five wrong ones = %d, want a refusal", rec.Code)
	}

	metrics := httptest.NewRecorder()
	p.srv.opts.Metrics.Handler().ServeHTTP(metrics, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`inkan_second_factors_total{factor="totp",result="used"} 1`,
		`inkan_second_factors_total{factor="recovery_code",result="used"} 1`,
		`inkan_second_factors_total{factor="totp",result="enrolled"} 1`,
	} {
		if !strings.Contains(metrics.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !regexp.MustCompile(`inkan_second_factors_total\{factor="totp",result="failure"\} [1-9]`).MatchString(metrics.Body.String()) {
		t.Errorf("metrics count no TOTP failure")
	}

	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"no code", `{"mfa_token":"x"}`, 422},
		{"no token", `{"code":"123456"}`, 422},
		{"unknown token", `{"mfa_token":"nope","code":"123456"}`, 401},
		{"huge token", `{"mfa_token":"` + strings.Repeat("a", 5000) + `","code":"123456"}`, 401},
		{"not JSON", `mfa_token=x`, 400},
	} {
		rec := p.do(t, "POST", "/user/_authenticate/mfa", tc.body, "Content-Type", "application/json")
		if rec.Code != tc.want {
			t.Errorf("%s: = %d %s, want %d", tc.name, rec.Code, rec.Body, tc.want)
		}
	}
}

// The password grant cannot ask for a second factor: it refuses a user
// who has one, after the password checked out.
func TestSecondFactor_passwordGrant(t *testing.T) {
	p := newProvider(t)
	p.mfaUser(t, "alice@example.com")
	c, secret := p.client(t, store.Client{})
	conf := oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: oauth2.Endpoint{TokenURL: p.url + "/oauth2/token"}}
	_, err := conf.PasswordCredentialsToken(context.Background(), "alice@example.com", "correct horse")
	if !isOAuthError(err, "invalid_grant") || !strings.Contains(err.Error(), "authorization code flow") {
		t.Errorf("password grant = %v, want invalid_grant naming the authorization code flow", err)
	}
	_, err = conf.PasswordCredentialsToken(context.Background(), "alice@example.com", "wrong")
	if !isOAuthError(err, "invalid_grant") || strings.Contains(err.Error(), "second factor") {
		t.Errorf("password grant, wrong password = %v, want invalid_grant that says nothing of a second factor", err)
	}
}

func TestSecondFactor_codeFlow(t *testing.T) { backends(t, testSecondFactor_codeFlow) }

// The login page goes on to the second factor; the ID token says how the
// user signed in (amr, acr), which go-oidc verifies; prompt=none, the
// consent form and a refresh after the factors were reset are no way round.
func testSecondFactor_codeFlow(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	id, secret, _ := p.mfaUser(t, "alice@example.com")
	c, clientSecret := p.client(t, store.Client{Trusted: true})
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, p.url)
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		ACRValues []string `json:"acr_values_supported"`
	}
	if err := provider.Claims(&disc); err != nil || !slices.Equal(disc.ACRValues, inkanoidc.ACRValues) {
		t.Errorf("acr_values_supported = %v, %v", disc.ACRValues, err)
	}
	conf := oauth2.Config{ClientID: c.ID, ClientSecret: clientSecret, Endpoint: provider.Endpoint(), RedirectURL: redirectURI, Scopes: []string{oidc.ScopeOpenID, "offline_access"}}
	b := newBrowser(t)
	code, page, landed := b.signInPassword(conf.AuthCodeURL("st"), "alice@example.com", "correct horse")
	if landed != nil || code != 200 || !strings.Contains(page, `action="/oauth2/login/mfa"`) {
		t.Fatalf("after the password: %d %v, want the second-factor page:\n%.500s", code, landed, page)
	}
	if rec := p.do(t, "GET", "/oauth2/authorize?"+url.Values{"client_id": {c.ID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid"}}.Encode(), ""); rec.Code == http.StatusFound {
		t.Errorf("authorize without a session = %d, want no code", rec.Code)
	}
	csrf := csrfOf(t, page)
	if code, page, _ := b.post(p.url+"/oauth2/login/mfa", url.Values{"csrf": {csrf}, "code": {"000000"}}); code != 401 || !strings.Contains(page, `action="/oauth2/login/mfa"`) {
		t.Errorf("a wrong code = %d, want 401 and the page again:\n%.300s", code, page)
	} else {
		csrf = csrfOf(t, page)
	}
	if code, _, _ := b.post(p.url+"/oauth2/login/mfa", url.Values{"csrf": {"forged"}, "code": {p.code(t, secret)}}); code != 403 {
		t.Errorf("a forged CSRF token = %d, want 403", code)
	}
	_, _, landed = b.post(p.url+"/oauth2/login/mfa", url.Values{"csrf": {csrf}, "code": {p.code(t, secret)}})
	if landed == nil || landed.Query().Get("code") == "" {
		t.Fatalf("the right code did not land on the client with a code: %v", landed)
	}
	tok, err := conf.Exchange(ctx, landed.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: c.ID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("go-oidc Verify() = %v", err)
	}
	var claims struct {
		AMR      []string `json:"amr"`
		ACR      string   `json:"acr"`
		AuthTime int64    `json:"auth_time"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(claims.AMR, []string{"mfa", "otp", "pwd"}) || claims.ACR != inkanoidc.ACRMultiFactor || claims.AuthTime != p.clock.Now().Unix() {
		t.Errorf("ID token amr, acr, auth_time = %v, %q, %d; want [mfa otp pwd], %s, now", claims.AMR, claims.ACR, claims.AuthTime, inkanoidc.ACRMultiFactor)
	}

	// The session passed both: the next request needs neither.
	_, _, landed = b.get(conf.AuthCodeURL("st2", oauth2.SetAuthURLParam("prompt", "none")))
	if landed == nil || landed.Query().Get("code") == "" {
		t.Errorf("prompt=none with a two-factor session = %v, want a code", landed)
	}

	// A session of one factor gets no code: prompt=none says so, a
	// request without it steps up.
	b1 := newBrowser(t)
	b1.client.Jar.SetCookies(mustURL(t, p.url), []*http.Cookie{{Name: sessionCookie, Value: p.mustSession(t, id), Path: "/"}})
	_, _, landed = b1.get(conf.AuthCodeURL("st3", oauth2.SetAuthURLParam("prompt", "none")))
	if landed == nil || landed.Query().Get("error") != "interaction_required" {
		t.Errorf("prompt=none with a one-factor session = %v, want interaction_required", landed)
	}
	code, page, landed = b1.get(conf.AuthCodeURL("st4"))
	if landed != nil || !strings.Contains(page, `action="/oauth2/login/mfa"`) {
		t.Errorf("authorize with a one-factor session = %d %v, want the second-factor page", code, landed)
	}

	// Resetting the user's factors ends what was issued before: the
	// refresh token too.
	if err := p.srv.accounts.ResetMFA(ctx, id); err != nil {
		t.Fatal(err)
	}
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	if _, err := conf.TokenSource(ctx, &old).Token(); !isOAuthError(err, "invalid_grant") {
		t.Errorf("refresh after the factors were reset = %v, want invalid_grant", err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A client that requires a second factor: a user without one enrols a
// TOTP at sign-in, sees the recovery codes once, and lands with a code;
// the consent form of another client is no way round it.
func TestSecondFactor_requiredEnrolment(t *testing.T) {
	p := newProvider(t)
	id := p.signup(t, "Bob", "bob@example.com", "correct horse")["id"].(string)
	strict, _ := p.client(t, store.Client{RequireMFA: true, Trusted: true})
	lax, _ := p.client(t, store.Client{})
	auth := p.authorizeURL

	// One factor through the lax client's consent page, aimed at the
	// strict one: refused.
	b0 := newBrowser(t)
	b0.client.Jar.SetCookies(mustURL(t, p.url), []*http.Cookie{{Name: sessionCookie, Value: p.mustSession(t, id), Path: "/"}})
	_, page, _ := b0.get(auth(lax))
	form := hidden(t, page)
	req, _ := url.ParseQuery(form.Get("request"))
	req.Set("client_id", strict.ID)
	form.Set("request", req.Encode())
	form.Set("decision", "allow")
	if _, page, landed := b0.post(p.url+"/oauth2/consent", form); landed != nil && landed.Query().Get("code") != "" || !strings.Contains(page, "mfa") {
		t.Errorf("consent for the strict client with one factor = %v, want the enrolment page:\n%.300s", landed, page)
	}

	b := newBrowser(t)
	code, page, landed := b.signInPassword(auth(strict), "bob@example.com", "correct horse")
	if landed != nil || !strings.Contains(page, `action="/oauth2/login/mfa/enrol"`) || !strings.Contains(page, `src="/oauth2/login/mfa/qr.png"`) {
		t.Fatalf("after the password: %d %v, want the enrolment page with its QR code:\n%.500s", code, landed, page)
	}
	if code, png, _ := b.get(p.url + "/oauth2/login/mfa/qr.png"); code != 200 || !strings.HasPrefix(png, "\x89PNG") {
		t.Errorf("the enrolment's QR code = %d %.8q, want a PNG", code, png)
	}
	if code, _, _ := newBrowser(t).get(p.url + "/oauth2/login/mfa/qr.png"); code != 404 {
		t.Errorf("the QR code without the pending login = %d, want 404", code)
	}
	m := regexp.MustCompile(`<code>([A-Z2-7 ]+)</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no secret on the enrolment page:\n%.800s", page)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	code, page, _ = b.post(p.url+"/oauth2/login/mfa/enrol", url.Values{"csrf": {csrfOf(t, page)}, "code": {p.code(t, secret)}})
	if code != 200 || strings.Count(page, "<li><code>") != 10 {
		t.Fatalf("enrolment = %d, want the ten recovery codes:\n%.800s", code, page)
	}
	next := regexp.MustCompile(`<a href="([^"]+)">`).FindAllStringSubmatch(page, -1)
	var cont string
	for _, n := range next {
		if strings.HasPrefix(htmlUnescape(n[1]), "/oauth2/authorize?") {
			cont = htmlUnescape(n[1])
		}
	}
	if cont == "" {
		t.Fatalf("no link on to the authorization request:\n%.800s", page)
	}
	if _, _, landed := b.get(p.url + cont); landed == nil || landed.Query().Get("code") == "" {
		t.Errorf("continuing after the enrolment = %v, want a code", landed)
	}
}

// acr_values asking for two factors step a one-factor session up; max_age
// and prompt=login make the user sign in again.
func TestSecondFactor_acrValuesAndMaxAge(t *testing.T) {
	p := newProvider(t)
	_, secret, _ := p.mfaUser(t, "alice@example.com")
	bob := p.signup(t, "Bob", "bob@example.com", "correct horse")["id"].(string)
	c, _ := p.client(t, store.Client{Trusted: true})
	auth := func(extra ...string) string { return p.authorizeURL(c, extra...) }
	b := newBrowser(t)
	b.client.Jar.SetCookies(mustURL(t, p.url), []*http.Cookie{{Name: sessionCookie, Value: p.mustSession(t, bob), Path: "/"}})
	if _, _, landed := b.get(auth()); landed == nil || landed.Query().Get("code") == "" {
		t.Fatalf("a one-factor session of a user without factors = %v, want a code", landed)
	}
	if _, page, landed := b.get(auth("acr_values", inkanoidc.ACRMultiFactor)); landed != nil || !strings.Contains(page, "/oauth2/login/mfa/enrol") {
		t.Errorf("acr_values=2fa for a user without a factor = %v, want the enrolment page", landed)
	}
	if _, _, landed := b.get(auth("acr_values", inkanoidc.ACRSingleFactor+" "+inkanoidc.ACRMultiFactor)); landed == nil || landed.Query().Get("code") == "" {
		t.Errorf("acr_values=1fa 2fa = %v, want a code: one factor is acceptable", landed)
	}

	// Alice signs in with both factors; an hour later max_age=600 asks again.
	a := newBrowser(t)
	_, page, _ := a.signInPassword(auth(), "alice@example.com", "correct horse")
	_, _, landed := a.post(p.url+"/oauth2/login/mfa", url.Values{"csrf": {csrfOf(t, page)}, "code": {p.code(t, secret)}})
	if landed == nil || landed.Query().Get("code") == "" {
		t.Fatalf("sign-in with both factors = %v", landed)
	}
	p.clock.Add(time.Hour)
	if _, _, landed := a.get(auth("max_age", "7200")); landed == nil || landed.Query().Get("code") == "" {
		t.Errorf("max_age=7200 an hour after sign-in = %v, want a code", landed)
	}
	if _, _, landed := a.get(auth("max_age", "600", "prompt", "none")); landed == nil || landed.Query().Get("error") != "login_required" {
		t.Errorf("max_age=600 with prompt=none = %v, want login_required", landed)
	}
	for _, extra := range [][]string{{"max_age", "600"}, {"max_age", "0"}, {"prompt", "login"}} {
		code, page, landed := a.get(auth(extra...))
		if landed != nil || !strings.Contains(page, `action="/oauth2/login"`) {
			t.Errorf("%v = %d %v, want the login page", extra, code, landed)
			continue
		}
		form := hidden(t, page)
		if rq, _ := url.ParseQuery(form.Get("request")); rq.Has("max_age") || rq.Get("prompt") == "login" {
			t.Errorf("%v: the login page carries %v back, which would ask again forever", extra, rq)
		}
	}
	// Signing in again (both factors again) moves auth_time.
	p.clock.Add(time.Minute)
	_, page, _ = a.signInPassword(auth("max_age", "0"), "alice@example.com", "correct horse")
	_, _, landed = a.post(p.url+"/oauth2/login/mfa", url.Values{"csrf": {csrfOf(t, page)}, "code": {p.code(t, secret)}})
	if landed == nil || landed.Query().Get("code") == "" {
		t.Fatalf("re-authentication = %v", landed)
	}
	sessions, err := p.store.ListSessions(context.Background(), mustUserID(t, p.harness, "alice@example.com"))
	if err != nil || len(sessions) == 0 {
		t.Fatal(sessions, err)
	}
	last := sessions[0]
	for _, s := range sessions {
		if s.AuthTime.After(last.AuthTime) {
			last = s
		}
	}
	if !last.AuthTime.Equal(p.clock.Now().UTC().Truncate(time.Microsecond)) || !slices.Equal(last.AMR, []string{"mfa", "otp", "pwd"}) {
		t.Errorf("session after re-authentication = %v %v, want auth_time now and both factors", last.AuthTime, last.AMR)
	}
}

// --require-mfa: a user without a second factor gets no token from the
// tutorial's login, which names the account page; a refresh token of one
// factor is refused.
func TestSecondFactor_requiredEverywhere(t *testing.T) {
	p := newProvider(t, withOptions(func(o *Options) { o.Accounts.RequireMFA = true }))
	p.signup(t, "Bob", "bob@example.com", "correct horse")
	rec := p.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("bob@example.com", "correct horse"))
	if rec.Code != 403 || !strings.Contains(decode(t, rec)["detail"].(string), "/account") {
		t.Errorf("login without a factor under --require-mfa = %d %s, want 403 naming the account page", rec.Code, rec.Body)
	}
	if rec := p.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("bob@example.com", "wrong")); rec.Code != 401 {
		t.Errorf("wrong password under --require-mfa = %d, want the plain 401", rec.Code)
	}
	c, secret := p.client(t, store.Client{})
	conf := oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: oauth2.Endpoint{TokenURL: p.url + "/oauth2/token"}}
	if _, err := conf.PasswordCredentialsToken(context.Background(), "bob@example.com", "correct horse"); !isOAuthError(err, "invalid_grant") {
		t.Errorf("password grant under --require-mfa = %v, want invalid_grant", err)
	}
}

// The login's enrolment is only for a user without a factor: a password
// alone cannot read, nor confirm, a TOTP enrolment that a user with a
// passkey began on the account page.
func TestSecondFactor_enrolmentClosedWithAFactor(t *testing.T) {
	p := newProvider(t)
	ctx := context.Background()
	id := p.signup(t, "Alice", "alice@example.com", "correct horse")["id"].(string)
	now := p.clock.Now().UTC().Truncate(time.Microsecond)
	if err := p.store.CreatePasskey(ctx, store.Passkey{ID: []byte("cred-1"), UserID: id, Name: "Laptop", PublicKey: []byte{1}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	e, err := p.srv.accounts.BeginTOTP(ctx, id) // begun on the account page, not confirmed
	if err != nil {
		t.Fatal(err)
	}
	c, _ := p.client(t, store.Client{Trusted: true})
	b := newBrowser(t)
	code, page, landed := b.signInPassword(p.authorizeURL(c), "alice@example.com", "correct horse")
	if landed != nil || code != 200 || strings.Contains(page, "/oauth2/login/mfa/enrol") {
		t.Fatalf("after the password: %d %v, want the second step without an enrolment:\n%.500s", code, landed, page)
	}
	if code, _, _ := b.get(p.url + "/oauth2/login/mfa/qr.png"); code != 404 {
		t.Errorf("the pending enrolment's QR code through the login = %d, want 404", code)
	}
	m := regexp.MustCompile(`data-csrf="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the second step:\n%.500s", page)
	}
	code, _, landed = b.post(p.url+"/oauth2/login/mfa/enrol", url.Values{"csrf": {m[1]}, "code": {p.code(t, e.Secret)}})
	if code != 403 || landed != nil {
		t.Errorf("confirming it through the login = %d %v, want 403", code, landed)
	}
	if f, err := p.srv.accounts.Factors(ctx, id); err != nil || f.TOTP {
		t.Errorf("factors = %+v, %v; want the TOTP still pending", f, err)
	}
}
