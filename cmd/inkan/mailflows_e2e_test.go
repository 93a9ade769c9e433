package main

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/i18n/locales"
	"github.com/inkan-dev/inkan/internal/mail/mailpittest"
)

// The flows of mailed links end to end, on real processes that send
// through a real SMTP server (Mailpit), on SQLite and on PostgreSQL: each
// link is taken from the delivered mail, fetched first by a mail scanner
// (GET and HEAD, which must leave it usable), then opened in headless
// Chromium, whose pages are saved as screenshots (screenshotDir).

// onBothBackendsMail is onBothBackends with a Mailpit of each backend's
// own, which the server sends its mail to, and the flags of extra.
func onBothBackendsMail(t *testing.T, extra []string, fn func(t *testing.T, p *proc, mp *mailpittest.Server, storeArgs ...string)) {
	t.Helper()
	var mp *mailpittest.Server
	onBothBackendsWith(t, func(t *testing.T) []string {
		mp = mailpittest.Start(t)
		return append([]string{"--smtp-url", mp.SMTPURL, "--smtp-from", mailFrom}, extra...)
	}, func(t *testing.T, p *proc, storeArgs ...string) { fn(t, p, mp, storeArgs...) })
}

// en is the English text of a catalogue key, its {placeholders} filled
// from name, value pairs: what the pages and the mails say.
func en(t *testing.T, key string, args ...string) string {
	t.Helper()
	enOnce.Do(func() {
		raw, err := locales.FS.ReadFile("en.json")
		if err == nil {
			err = json.Unmarshal(raw, &enTexts)
		}
		enErr = err
	})
	if enErr != nil {
		t.Fatalf("the English catalogue: %v", enErr)
	}
	s, ok := enTexts[key]
	if !ok {
		t.Fatalf("the English catalogue has no key %q", key)
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+args[i]+"}", args[i+1])
	}
	return s
}

var (
	enOnce  sync.Once
	enTexts map[string]string
	enErr   error
)

// site is what the server's mails call it: the issuer's host.
func (p *proc) site() string { return strings.TrimPrefix(p.base, "http://") }

var (
	mailLinkRE  = regexp.MustCompile(`https?://[^\s"'<>]+\?token=[A-Za-z0-9_-]+`)
	pageErrorRE = regexp.MustCompile(`<p class="error"[^>]*>([^<]*)</p>`)
)

// waitMail waits, with a deadline, for the mail to to whose subject is
// subject, and returns it.
func waitMail(t *testing.T, mp *mailpittest.Server, to, subject string) mailpittest.Message {
	t.Helper()
	var found mailpittest.Message
	eventually(t, 30*time.Second, "a mail to "+to+" with the subject "+subject, func() bool {
		for _, m := range mp.Messages(t, to) {
			if m.Subject == subject {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// mailLink waits for the mail to to whose subject is subject and returns
// its one-time link, which must lead to path on the server and be the same
// in the plain-text and the HTML body.
func mailLink(t *testing.T, p *proc, mp *mailpittest.Server, to, subject, path string) string {
	t.Helper()
	m := waitMail(t, mp, to, subject)
	links := mailLinkRE.FindAllString(m.Text, -1)
	if len(links) != 1 {
		t.Fatalf("the mail %q to %s holds the links %q, want one:\n%s", subject, to, links, m.Text)
	}
	link := links[0]
	if !strings.HasPrefix(link, p.base+path+"?token=") {
		t.Fatalf("the mail's link is %s, want one to %s%s", link, p.base, path)
	}
	if !strings.Contains(html.UnescapeString(m.HTML), `href="`+link+`"`) {
		t.Errorf("the HTML body of the mail %q does not link to %s", subject, link)
	}
	return link
}

// scan is what a mail scanner does to a link before the person opens it:
// a HEAD and a GET, with no cookies, reading the page. Both must answer
// 200; the link must stay usable, which the caller then shows.
func scan(t *testing.T, link string) {
	t.Helper()
	scanner := &http.Client{Timeout: 10 * time.Second}
	for _, method := range []string{http.MethodHead, http.MethodGet, http.MethodGet} {
		req, err := http.NewRequest(method, link, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", "LinkScanner/1.0")
		resp, err := scanner.Do(req)
		if err != nil {
			t.Fatalf("scanner %s: %v", method, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("scanner %s of the link = %d, want 200:\n%s", method, resp.StatusCode, body)
		}
		if method == http.MethodGet && !strings.Contains(string(body), `<form method="post"`) {
			t.Errorf("scanner GET of the link: no form in the page:\n%s", body)
		}
	}
}

// callback is a client's redirect URI on loopback: it records the query of
// each request and answers with a page.
type callback struct {
	uri    string
	landed chan url.Values
}

func startCallback(t *testing.T) *callback {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cb := &callback{uri: "http://" + ln.Addr().String() + "/cb", landed: make(chan url.Values, 8)}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cb" {
			select {
			case cb.landed <- r.URL.Query():
			default:
			}
		}
		w.Write([]byte("<!doctype html><title>Client</title><p>Back at the client.</p>"))
	})}
	go func() { _ = srv.Serve(ln) }() // http.ErrServerClosed, once the cleanup closes it
	t.Cleanup(func() { srv.Close() })
	return cb
}

// next is the query of the next request to the redirect URI.
func (cb *callback) next(t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-cb.landed:
		return q
	case <-time.After(30 * time.Second):
		t.Fatal("the browser never reached the redirect URI")
		return nil
	}
}

// rp is a relying party registered with the CLI: a trusted confidential
// client with the authorization code and refresh grants, known to go-oidc
// through discovery.
type rp struct {
	provider *oidc.Provider
	conf     oauth2.Config
}

func newRP(t *testing.T, p *proc, redirect string, storeArgs ...string) *rp {
	t.Helper()
	out := mustInkan(t, "", append([]string{"clients", "add", "--name", "Mail App", "--redirect-uri", "http://127.0.0.1/cb",
		"--grant", "authorization_code,refresh_token,password", "--trusted"}, storeArgs...)...)
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &reg); err != nil || reg.ClientSecret == "" {
		t.Fatalf("clients add printed %q: %v", out, err)
	}
	provider, err := oidc.NewProvider(context.Background(), p.base)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &rp{provider: provider, conf: oauth2.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "email", "offline_access"}}}
}

// emailClaims are the claims of an ID token about the email.
type emailClaims struct {
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
}

// signIn signs email in through the login page in a browser without
// JavaScript (newRPBrowser, whose redirect URI is http://127.0.0.1:8765/cb)
// and returns the email claims of the ID token, verified by go-oidc, and
// those of userinfo.
func (c *rp) signIn(t *testing.T, base, email, password string) (id emailClaims, userinfo emailClaims) {
	t.Helper()
	ctx := context.Background()
	conf := c.conf
	conf.RedirectURL = "http://127.0.0.1:8765/cb"
	verifier := oauth2.GenerateVerifier()
	b := newRPBrowser()
	resp, err := b.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n")))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"email": {email}, "password": {password}}
	for _, m := range loginFormRE.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if resp, err := b.PostForm(base+"/oauth2/login", form); !errors.Is(err, errLanded) {
		body := ""
		if resp != nil {
			raw, _ := io.ReadAll(resp.Body)
			body = string(raw)
		}
		t.Fatalf("the login of %s did not land on the redirect URI: %v\n%.800s", email, err, body)
	}
	tok, err := conf.Exchange(ctx, b.landedAt.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange() = %v", err)
	}
	idt, err := c.provider.Verifier(&oidc.Config{ClientID: conf.ClientID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("go-oidc Verify() = %v", err)
	}
	if err := idt.Claims(&id); err != nil {
		t.Fatal(err)
	}
	ui, err := c.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("UserInfo() = %v", err)
	}
	if err := ui.Claims(&userinfo); err != nil {
		t.Fatal(err)
	}
	return id, userinfo
}

func verifiedClaim(c emailClaims) string {
	if c.EmailVerified == nil {
		return "absent"
	}
	if *c.EmailVerified {
		return "true"
	}
	return "false"
}

// Registration mails a link; a scanner's GET and HEAD leave it usable; in
// Chromium it opens a page with a confirm button, whose click verifies the
// email, which ID tokens and userinfo then say; the link is then used up.
func TestE2E_verifyEmailInBrowser(t *testing.T) {
	exe := chromium(t)
	onBothBackendsMail(t, nil, func(t *testing.T, p *proc, mp *mailpittest.Server, storeArgs ...string) {
		verifyEmailInBrowser(t, exe, p, mp, storeArgs...)
	})
}

func verifyEmailInBrowser(t *testing.T, exe string, p *proc, mp *mailpittest.Server, storeArgs ...string) {
	const email, pw = "alice@example.com", "correct horse battery"
	p.register(t, "Alice", email, pw)
	link := mailLink(t, p, mp, email, en(t, "mail.verify.subject", "site", p.site()), account.VerifyPath)
	app := newRP(t, p, "http://127.0.0.1:8765/cb", storeArgs...)

	scan(t, link)
	id, ui := app.signIn(t, p.base, email, pw)
	if verifiedClaim(id) != "false" || verifiedClaim(ui) != "false" {
		t.Fatalf("before the link is used: email_verified %s in the ID token, %s in userinfo; want false", verifiedClaim(id), verifiedClaim(ui))
	}

	tab := headless(t, exe)
	shot := screenshooter(t)
	var page, button, done, again string
	err := browse(tab,
		chromedp.Navigate(link),
		chromedp.WaitVisible(`main form button[type=submit]`, chromedp.ByQuery),
		chromedp.Text(`main`, &page, chromedp.ByQuery),
		chromedp.Text(`main form button[type=submit]`, &button, chromedp.ByQuery),
		shot("verify-1-page"),
		chromedp.Click(`main form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`input[name=token]`, chromedp.ByQuery),
		chromedp.Text(`main`, &done, chromedp.ByQuery),
		shot("verify-2-done"),
		// The person opens the link again.
		chromedp.Navigate(link),
		chromedp.WaitVisible(`main p`, chromedp.ByQuery),
		chromedp.Text(`main`, &again, chromedp.ByQuery),
		shot("verify-3-used"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(page, en(t, "verify.confirm_intro", "email", email)) || button != en(t, "verify.confirm_button") {
		t.Errorf("the link's page reads %q with the button %q, want the confirmation of %s and its button", page, button, email)
	}
	if !strings.Contains(done, en(t, "verify.done", "email", email)) {
		t.Errorf("after the click the page reads %q, want %q", done, en(t, "verify.done", "email", email))
	}
	if !strings.Contains(again, en(t, "verify.invalid")) || strings.Contains(again, button) {
		t.Errorf("the used link's page reads %q, want %q and no button", again, en(t, "verify.invalid"))
	}

	id, ui = app.signIn(t, p.base, email, pw)
	if verifiedClaim(id) != "true" || verifiedClaim(ui) != "true" || id.Email != email {
		t.Errorf("once verified: email %q, email_verified %s in the ID token, %s in userinfo; want %s, true, true", id.Email, verifiedClaim(id), verifiedClaim(ui), email)
	}
}

// Forgot password, in Chromium: one browser (a laptop) is signed in and its
// client holds a refresh token and an access token, and the tutorial's
// token was issued too. POST /user/_recover mails a link; a scanner's GET
// and HEAD leave it usable; another browser (a phone) opens it and sets a
// new password. Then the old password fails and the new one works, the
// laptop's session is signed out, the refresh token, the access token and
// the tutorial's token are refused, and a "password changed" notice
// arrives. An email change asked for with the old password (by whoever
// learnt it, to their own address) is void.
func TestE2E_recoverPasswordInBrowser(t *testing.T) {
	exe := chromium(t)
	onBothBackendsMail(t, nil, func(t *testing.T, p *proc, mp *mailpittest.Server, storeArgs ...string) {
		recoverPasswordInBrowser(t, exe, p, mp, storeArgs...)
	})
}

func recoverPasswordInBrowser(t *testing.T, exe string, p *proc, mp *mailpittest.Server, storeArgs ...string) {
	ctx := context.Background()
	const email, oldPW, newPW = "alice@example.com", "correct horse battery", "staple battery horse"
	p.register(t, "Alice", email, oldPW)
	tutorialToken := p.login(t, email, oldPW)
	cb := startCallback(t)
	app := newRP(t, p, cb.uri, storeArgs...)

	// The laptop signs in through the login page.
	laptop := headless(t, exe)
	shot := screenshooter(t)
	verifier := oauth2.GenerateVerifier()
	err := browse(laptop,
		chromedp.Navigate(app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))),
		chromedp.WaitVisible(`#email`, chromedp.ByID),
		chromedp.SendKeys(`#email`, email, chromedp.ByID),
		chromedp.SendKeys(`#password`, oldPW, chromedp.ByID),
		chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("laptop: %v", err)
	}
	tok, err := app.conf.Exchange(ctx, cb.next(t).Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("Exchange() = %+v, %v; want a refresh token", tok, err)
	}
	// Signed in: a new authorization needs no login.
	silent := app.conf.AuthCodeURL("st2", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none"))
	if err := browse(laptop, chromedp.Navigate(silent)); err != nil {
		t.Fatalf("laptop: %v", err)
	}
	if q := cb.next(t); q.Get("code") == "" {
		t.Fatalf("prompt=none before the reset landed with %v, want a code", q)
	}
	if _, err := app.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("UserInfo() before the reset = %v", err)
	}

	// Whoever learnt the old password asks to move the account to their
	// own address: the link reaches their inbox.
	const mallory = "mallory@example.net"
	if code, body, _ := call(t, "POST", p.base+"/user/_email", `{"email":"`+mallory+`","password":"`+oldPW+`"}`, "Authorization", "Bearer "+tutorialToken); code != http.StatusAccepted {
		t.Fatalf("POST /user/_email = %d %v, want 202", code, body)
	}
	takeover := mailLink(t, p, mp, mallory, en(t, "mail.email-change.subject", "site", p.site()), account.EmailChangePath)

	if code, body, _ := call(t, "POST", p.base+"/user/_recover", `{"email":"`+email+`"}`); code != http.StatusAccepted {
		t.Fatalf("POST /user/_recover = %d %v, want 202", code, body)
	}
	link := mailLink(t, p, mp, email, en(t, "mail.recover.subject", "site", p.site()), account.RecoverPath)
	scan(t, link)

	// The phone: a browser of its own, with none of the laptop's cookies.
	phone := openTab(t, laptop, chromedp.WithNewBrowserContext())
	var page, done string
	err = browse(phone,
		chromedp.Navigate(link),
		chromedp.WaitVisible(`#password`, chromedp.ByID),
		chromedp.Text(`main`, &page, chromedp.ByQuery),
		shot("recover-1-page"),
		chromedp.SendKeys(`#password`, newPW, chromedp.ByID),
		chromedp.SendKeys(`#password2`, newPW, chromedp.ByID),
		chromedp.Click(`main form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`#password`, chromedp.ByID),
		chromedp.Text(`main`, &done, chromedp.ByQuery),
		shot("recover-2-done"),
	)
	if err != nil {
		t.Fatalf("phone: %v", err)
	}
	if !strings.Contains(page, en(t, "recover.new_intro", "email", email)) {
		t.Errorf("the link's page reads %q, want %q", page, en(t, "recover.new_intro", "email", email))
	}
	if !strings.Contains(done, en(t, "recover.done")) {
		t.Fatalf("after the new password the page reads %q, want %q", done, en(t, "recover.done"))
	}

	if code, _, _ := call(t, "POST", p.base+"/user/_authenticate", "", "Authorization", basicAuth(email, oldPW)); code != http.StatusUnauthorized {
		t.Errorf("login with the old password = %d, want 401", code)
	}
	if newToken := p.login(t, email, newPW); p.me(t, newToken) != http.StatusOK {
		t.Error("the token of a login with the new password is refused")
	}
	if code := p.me(t, tutorialToken); code != http.StatusUnauthorized {
		t.Errorf("GET /user with the tutorial's token from before = %d, want 401", code)
	}
	if _, err := app.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo takes the access token from before the reset")
	}
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	var re *oauth2.RetrieveError
	if _, err := app.conf.TokenSource(ctx, &old).Token(); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh with the token from before the reset = %v, want invalid_grant", err)
	}
	if err := browse(laptop, chromedp.Navigate(silent)); err != nil {
		t.Fatalf("laptop: %v", err)
	}
	if q := cb.next(t); q.Get("error") != "login_required" {
		t.Errorf("the laptop's prompt=none after the reset landed with %v, want error=login_required", q)
	}

	notice := waitMail(t, mp, email, en(t, "mail.password-changed.subject", "site", p.site()))
	if !strings.Contains(notice.Text, en(t, "mail.password-changed.body", "site", p.site())) || mailLinkRE.MatchString(notice.Text) {
		t.Errorf("the notice reads:\n%s\nwant %q and no one-time link", notice.Text, en(t, "mail.password-changed.body", "site", p.site()))
	}
	// The change asked for with the old password ended with it.
	if code, body, _ := call(t, "POST", p.base+"/user/_email/confirm", `{"token":"`+strings.TrimPrefix(takeover, p.base+account.EmailChangePath+"?token=")+`"}`); code != http.StatusBadRequest {
		t.Errorf("POST /user/_email/confirm with the link asked for before the reset = %d %v, want 400", code, body)
	}
	if code := p.me(t, p.login(t, email, newPW)); code != http.StatusOK {
		t.Errorf("after the refused email change, the login with %s = %d", email, code)
	}
	// The link is used up.
	if code, _, _ := call(t, "POST", p.base+"/user/_reset", `{"token":"`+strings.TrimPrefix(link, p.base+account.RecoverPath+"?token=")+`","password":"third battery horse"}`); code != http.StatusBadRequest {
		t.Errorf("a second reset with the link = %d, want 400", code)
	}
}

// Email change: POST /user/_email with a Bearer token mails a link to the
// new address; a scanner's GET and HEAD change nothing; the person
// confirms in Chromium; the old address then gets a notice, only the new
// email signs in, and the old one is free to register.
func TestE2E_changeEmailInBrowser(t *testing.T) {
	exe := chromium(t)
	onBothBackendsMail(t, nil, func(t *testing.T, p *proc, mp *mailpittest.Server, storeArgs ...string) {
		changeEmailInBrowser(t, exe, p, mp)
	})
}

func changeEmailInBrowser(t *testing.T, exe string, p *proc, mp *mailpittest.Server) {
	const oldEmail, newEmail, pw = "alice@example.com", "alice.new@example.com", "correct horse battery"
	p.register(t, "Alice", oldEmail, pw)
	token := p.login(t, oldEmail, pw)
	loginCode := func(email string) int {
		code, _, _ := call(t, "POST", p.base+"/user/_authenticate", "", "Authorization", basicAuth(email, pw))
		return code
	}
	change := func(password string) int {
		code, _, _ := call(t, "POST", p.base+"/user/_email", `{"email":"`+newEmail+`","password":"`+password+`"}`, "Authorization", "Bearer "+token)
		return code
	}
	// 403, as on every self-service route: the Bearer token is good, the
	// password confirming the change is not (a 401 would tell the client
	// to drop its token).
	if code := change("not the password"); code != http.StatusForbidden {
		t.Errorf("POST /user/_email with a wrong password = %d, want 403", code)
	}
	if code := change(pw); code != http.StatusAccepted {
		t.Fatalf("POST /user/_email = %d, want 202", code)
	}
	link := mailLink(t, p, mp, newEmail, en(t, "mail.email-change.subject", "site", p.site()), account.EmailChangePath)
	scan(t, link)
	noticeSubject := en(t, "mail.email-changed-notice.subject", "site", p.site())
	for _, m := range mp.Messages(t, oldEmail) {
		if m.Subject == noticeSubject {
			t.Error("the old address got the notice before the change was confirmed")
		}
	}
	if loginCode(oldEmail) != http.StatusOK || loginCode(newEmail) != http.StatusUnauthorized {
		t.Fatal("the email changed before the link was used")
	}

	tab := headless(t, exe)
	shot := screenshooter(t)
	var page, done string
	err := browse(tab,
		chromedp.Navigate(link),
		chromedp.WaitVisible(`main form button[type=submit]`, chromedp.ByQuery),
		chromedp.Text(`main`, &page, chromedp.ByQuery),
		shot("email-1-page"),
		chromedp.Click(`main form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`input[name=token]`, chromedp.ByQuery),
		chromedp.Text(`main`, &done, chromedp.ByQuery),
		shot("email-2-done"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(page, en(t, "verify.change_intro", "email", newEmail)) {
		t.Errorf("the link's page reads %q, want %q", page, en(t, "verify.change_intro", "email", newEmail))
	}
	if !strings.Contains(done, en(t, "verify.changed", "email", newEmail)) {
		t.Fatalf("after the click the page reads %q, want %q", done, en(t, "verify.changed", "email", newEmail))
	}

	notice := waitMail(t, mp, oldEmail, noticeSubject)
	if !strings.Contains(notice.Text, newEmail) || mailLinkRE.MatchString(notice.Text) {
		t.Errorf("the notice to the old address reads:\n%s\nwant the new address and no one-time link", notice.Text)
	}
	if code := loginCode(oldEmail); code != http.StatusUnauthorized {
		t.Errorf("login with the old email = %d, want 401", code)
	}
	newToken := p.login(t, newEmail, pw)
	if code, body, _ := call(t, "GET", p.base+"/user", "", "Authorization", "Bearer "+newToken); code != http.StatusOK || body["email"] != newEmail {
		t.Errorf("GET /user after the change = %d %v, want the new email", code, body)
	}
	if n := len(mp.Messages(t, newEmail)); n != 1 {
		t.Errorf("the new address got %d mails, want the confirmation alone", n)
	}
	// The old address is free: someone may register with it.
	p.register(t, "Other", oldEmail, "another good password")
}

// --require-verified-email with mail on: a new user cannot sign in, by the
// tutorial's route, the login page or the password grant, until the email
// is verified, and is told so only with the right password (a wrong one
// gets what an unknown user gets). A new verification mail voids the
// first; its link lets the user in.
func TestE2E_requireVerifiedEmail(t *testing.T) {
	onBothBackendsMail(t, []string{"--require-verified-email"}, requireVerifiedEmail)
}

func requireVerifiedEmail(t *testing.T, p *proc, mp *mailpittest.Server, storeArgs ...string) {
	const email, pw = "alice@example.com", "correct horse battery"
	p.register(t, "Alice", email, pw)
	app := newRP(t, p, "http://127.0.0.1:8765/cb", storeArgs...)
	subject := en(t, "mail.verify.subject", "site", p.site())
	first := mailLink(t, p, mp, email, subject, account.VerifyPath)

	type answer struct {
		status int
		body   string
	}
	tutorial := func(user, password string) answer {
		code, body, _ := call(t, "POST", p.base+"/user/_authenticate", "", "Authorization", basicAuth(user, password))
		if code == http.StatusOK {
			return answer{code, "signed in"}
		}
		detail, _ := body["detail"].(string)
		return answer{code, detail}
	}
	loginPage := func(user, password string) answer {
		b := newRPBrowser()
		conf := app.conf
		conf.RedirectURL = "http://127.0.0.1:8765/cb"
		resp, err := b.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		form := url.Values{"email": {user}, "password": {password}}
		for _, m := range loginFormRE.FindAllStringSubmatch(string(page), -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		resp, err = b.PostForm(p.base+"/oauth2/login", form)
		if errors.Is(err, errLanded) {
			return answer{http.StatusFound, "signed in"}
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		m := pageErrorRE.FindStringSubmatch(string(raw))
		if m == nil {
			t.Fatalf("the login page (%d) shows no error:\n%s", resp.StatusCode, raw)
		}
		return answer{resp.StatusCode, html.UnescapeString(m[1])}
	}
	grant := func(user, password string) answer {
		_, err := app.conf.PasswordCredentialsToken(context.Background(), user, password)
		var re *oauth2.RetrieveError
		if err == nil {
			return answer{http.StatusOK, "signed in"}
		}
		if !errors.As(err, &re) {
			t.Fatalf("password grant: %v", err)
		}
		return answer{re.Response.StatusCode, re.ErrorCode + ": " + re.ErrorDescription}
	}
	for _, tc := range []struct {
		name      string
		login     func(user, password string) answer
		refused   int
		mentioned string
	}{
		{"tutorial", tutorial, http.StatusForbidden, "not verified"},
		{"login page", loginPage, http.StatusForbidden, "not verified"},
		{"password grant", grant, http.StatusBadRequest, "not verified"},
	} {
		unknown, wrong, right := tc.login("bob@example.com", pw), tc.login(email, "not the password"), tc.login(email, pw)
		if wrong != unknown || strings.Contains(wrong.body, tc.mentioned) {
			t.Errorf("%s: a wrong password gets %v, an unknown user %v; want the same, saying nothing of verification", tc.name, wrong, unknown)
		}
		if right.status != tc.refused || !strings.Contains(right.body, tc.mentioned) {
			t.Errorf("%s: the right password, unverified, gets %v; want %d saying %q", tc.name, right, tc.refused, tc.mentioned)
		}
	}

	// A new mail voids the first link.
	if code, body, _ := call(t, "POST", p.base+"/user/_verify/resend", `{"email":"`+email+`"}`); code != http.StatusAccepted {
		t.Fatalf("POST /user/_verify/resend = %d %v, want 202", code, body)
	}
	var second string
	eventually(t, 30*time.Second, "a second verification mail", func() bool {
		for _, m := range mp.Messages(t, email) {
			if l := mailLinkRE.FindString(m.Text); m.Subject == subject && l != "" && l != first {
				second = l
				return true
			}
		}
		return false
	})
	scan(t, second)
	if code, _, _ := call(t, "POST", p.base+"/user/_verify", `{"token":"`+strings.TrimPrefix(first, p.base+account.VerifyPath+"?token=")+`"}`); code != http.StatusBadRequest {
		t.Errorf("POST /user/_verify with the first link's token = %d, want 400 (voided by the second)", code)
	}
	if right := tutorial(email, pw); right.status != http.StatusForbidden {
		t.Errorf("after the voided link, login = %v, want still refused", right)
	}
	if code, page := followLink(t, second, nil); code != http.StatusOK || !strings.Contains(page, html.EscapeString(en(t, "verify.done", "email", email))) {
		t.Fatalf("the second link's confirmation = %d:\n%s", code, page)
	}
	for _, tc := range []struct {
		name  string
		login func(user, password string) answer
	}{
		{"tutorial", tutorial}, {"login page", loginPage}, {"password grant", grant},
	} {
		if got := tc.login(email, pw); got.body != "signed in" {
			t.Errorf("%s once verified: %v, want signed in", tc.name, got)
		}
	}
}
