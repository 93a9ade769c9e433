package server

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/internal/store"
)

// pages serves the browser's side of OAuth 2.0 and OpenID Connect: the
// authorization endpoint with its login and consent forms (authorize.go),
// RP-Initiated Logout (logout.go), the pages' style sheet, and the pages
// that mailed links open: email verification (verify.go), password
// recovery (recover.go) and email change (email.go).
type pages struct {
	store    store.Store        // sessions, and the users and clients they name
	authz    *oauth2.Authorizer // the authorization request, consent and codes
	accounts *account.Service   // password logins
	hints    *oidc.HintVerifier // id_token_hint at logout: expired ID tokens too
	issuer   string             // iss of the redirects (RFC 9207)
	now      func() time.Time
	cookies  cookies
	proxies  proxies // the client's address, for the login throttle
	sessions *browserSessions
	signup   bool // AccountOptions.Signup: the login page links to the sign-up page
	// loggedOut wakes the delivery of back-channel logouts
	// (backchannel.kick) after a session ends.
	loggedOut func()
	events    events.Recorder // session.ended
	log       logs
}

// Mount registers the browser's pages on mux.
func (p *pages) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /oauth2/authorize", p.handleAuthorize)
	mux.HandleFunc("POST /oauth2/authorize", p.handleAuthorize)
	mux.HandleFunc("GET /oauth2/login", p.handleLoginPage)
	mux.HandleFunc("POST /oauth2/login", p.handleLogin)
	mux.HandleFunc("POST /oauth2/consent", p.handleConsent)
	mux.HandleFunc("GET /oauth2/logout", p.handleLogout)
	mux.HandleFunc("POST /oauth2/logout", p.handleLogout)
	mux.HandleFunc("GET /oauth2/static/style.css", p.handleStyle)
	mux.HandleFunc("GET "+account.VerifyPath, p.handleVerifyPage)
	mux.HandleFunc("POST "+account.VerifyPath, p.handleVerifyPost)
	mux.HandleFunc("GET "+account.RecoverPath, p.handleRecoverPage)
	mux.HandleFunc("POST "+account.RecoverPath, p.handleRecoverPost)
	mux.HandleFunc("GET "+account.EmailChangePath, p.handleEmailConfirmPage)
	mux.HandleFunc("POST "+account.EmailChangePath, p.handleEmailConfirmPost)
	mux.HandleFunc("POST /account/email", p.handleEmailForm)
	p.mountSecondFactor(mux)
	p.mountPasskeys(mux)
}

// currentSession returns the browser's login session, if it has a live one
// of an enabled user.
func (p *pages) currentSession(r *http.Request) (store.Session, store.User, bool) {
	return p.sessions.current(r)
}

// sessionMAC is a form's CSRF token, bound to the session and to one form,
// so that the token of one form is worthless for another.
func (p *pages) sessionMAC(form string, sess store.Session) string { return p.sessions.mac(form, sess) }

func equalToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// pageParams returns the parameters of a page endpoint that takes GET or
// POST: the query, or the form of a POST (within maxBodyBytes). A form that
// cannot be read is answered with the error page, and ok is false.
func (p *pages) pageParams(w http.ResponseWriter, r *http.Request) (q url.Values, ok bool) {
	if r.Method != http.MethodPost {
		return r.URL.Query(), true
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.unreadable_request")
		return nil, false
	}
	return r.PostForm, true
}

func (p *pages) redirectTo(w http.ResponseWriter, r *http.Request, target string, v url.Values) {
	u, _ := url.Parse(target)
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	pageHeaders(w)
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// The login, consent, logout and error pages, and the account pages
// (account_page.go, signup_page.go): HTML and CSS of our own, no
// JavaScript, every text from the catalogues of package i18n in the
// language of the request (page_text.go). Every page forbids framing and
// caching and sends no referrer.

const pageCSS = `body{font-family:system-ui,sans-serif;background:#f5f3ef;color:#222;margin:0}
main{max-width:24rem;margin:4rem auto 1rem;background:#fff;border:1px solid #ddd;border-radius:8px;padding:2rem}
main.wide{max-width:40rem}
h1{font-size:1.3rem;margin-top:0}h1 span{color:#b22}h2{font-size:1.05rem;margin:1.8rem 0 .4rem;border-top:1px solid #eee;padding-top:1.2rem}
label{display:block;margin:.8rem 0 .3rem}
input[type=email],input[type=password],input[type=text]{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #bbb;border-radius:4px}
button{margin-top:1.2rem;padding:.55rem 1.2rem;border:0;border-radius:4px;background:#b22;color:#fff;font-size:1rem;cursor:pointer}
button.secondary{background:#777}button.small{margin:0;padding:.3rem .8rem;font-size:.9rem;white-space:nowrap}
.error{color:#b22}.notice{color:#262}.hint{color:#666;font-size:.9rem}ul{padding-left:1.2rem}
.links{margin-top:1.2rem;font-size:.95rem}.links a{margin-right:1rem}a{color:#b22}
ul.sessions{list-style:none;padding:0}ul.sessions li{display:flex;justify-content:space-between;align-items:center;gap:1rem;padding:.6rem 0;border-bottom:1px solid #eee}
ul.sessions form{margin:0}.agent{font-weight:600;word-break:break-word}
ul.codes{font-family:monospace;font-size:1.05rem}
nav.lang{max-width:24rem;margin:0 auto 3rem;text-align:center;font-size:.9rem;color:#666}nav.lang a,nav.lang strong{margin:0 .4rem}`

// pageTemplates are every page, parsed once; parsePages (page_text.go)
// gives them the functions t and th, the texts of the catalogues.
var pageTemplates = parsePages(basePages, accountPage, signupPage, linkPageTemplate, secondFactorPages, totpSection, passkeyTemplates)

const basePages = `{{define "head"}}<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} · {{t .Lang "page.site"}}</title><link rel="stylesheet" href="/oauth2/static/style.css"></head><body><main{{if .Wide}} class="wide"{{end}}>
<h1><span>印</span> {{.Title}}</h1>{{end}}
{{define "foot"}}</main>
<nav class="lang" aria-label="{{t .Lang "lang.label"}}">{{range .Languages}}{{if .Current}}<strong lang="{{.Code}}">{{.Name}}</strong>{{else}}<a href="{{.Href}}" hreflang="{{.Code}}" lang="{{.Code}}">{{.Name}}</a>{{end}}{{end}}</nav>
</body></html>{{end}}

{{define "login"}}{{template "head" .}}
<p>{{if .Client}}{{th .Lang "login.continue" "client" .Client}}{{else}}{{t .Lang "login.continue_account"}}{{end}}</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/oauth2/login">
<input type="hidden" name="csrf" value="{{.CSRF}}">{{if .Next}}<input type="hidden" name="return" value="{{.Next}}">{{else}}<input type="hidden" name="request" value="{{.Request}}">{{end}}
<label for="email">{{t .Lang "login.email"}}</label><input id="email" name="email" type="email" autocomplete="username{{if .Passkeys}} webauthn{{end}}" required value="{{.Email}}">
<label for="password">{{t .Lang "login.password"}}</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{{t .Lang "login.submit"}}</button>
</form>
{{template "login-passkey" .}}
<p class="links"><a href="/account/recover">{{t .Lang "login.forgot"}}</a>{{if .SignupURL}}<a href="{{.SignupURL}}">{{t .Lang "login.signup"}}</a>{{end}}</p>
{{template "foot" .}}{{end}}

{{define "consent"}}{{template "head" .}}
<p>{{th .Lang "consent.asks" "client" .Client "email" .Email}}</p>
<ul>{{range .Scopes}}<li>{{scope $.Lang .}}</li>{{end}}</ul>
<form method="post" action="/oauth2/consent">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="request" value="{{.Request}}">
<button type="submit" name="decision" value="allow">{{t .Lang "consent.allow"}}</button>
<button type="submit" name="decision" value="deny" class="secondary">{{t .Lang "consent.deny"}}</button>
</form>{{template "foot" .}}{{end}}

{{define "logout"}}{{template "head" .}}
<p>{{if .Client}}{{th .Lang "logout.client_asks" "client" .Client}}{{else}}{{t .Lang "logout.ask"}}{{end}}</p>
<p>{{t .Lang "logout.signed_in_as" "email" .Email}}</p>
<form method="post" action="/oauth2/logout">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="request" value="{{.Request}}">
<button type="submit" name="decision" value="logout">{{t .Lang "logout.submit"}}</button>
<button type="submit" name="decision" value="stay" class="secondary">{{t .Lang "logout.stay"}}</button>
</form>{{template "foot" .}}{{end}}

{{define "message"}}{{template "head" .}}<p>{{.Message}}</p>{{if .Link}}<p class="links"><a href="{{.Link}}">{{.LinkText}}</a></p>{{end}}{{template "foot" .}}{{end}}
`

// pageData is what a page shows. Lang, Languages and Return are filled in
// by renderPage; the texts come translated (tr) or as catalogue keys the
// templates translate.
type pageData struct {
	Title, Client, Email, Error, CSRF, Request, Message string
	Scopes                                              []string
	// Next is where the login page goes once signed in when it serves no
	// authorization request (Request is empty): an account page.
	Next string
	// SignupURL links the login page to the sign-up page; empty when
	// sign-up is off.
	SignupURL string
	// Link and LinkText put a link under a message.
	Link, LinkText string
	// Wide widens the page (the account page).
	Wide bool
	// Passkeys offers passkeys on the login page (login-passkey) and the
	// second-factor page (mfa-passkey).
	Passkeys bool
	// View is what a page of its own shows (accountView, signupView).
	View any

	// Lang is the page's language (i18n.Match); Languages the switcher's
	// links; Return the page the switcher comes back to: the request's
	// own URL for a GET, otherwise the one the handler names.
	Lang      string
	Languages []languageLink
	Return    string
}

// pageHeaders are sent with every page.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (p *pages) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	renderPage(w, r, p.log, status, name, d)
}

// renderPage renders the page name in the request's language, with the
// pages' headers and those of the language (Content-Language, Vary).
func renderPage(w http.ResponseWriter, r *http.Request, log logs, status int, name string, d pageData) {
	d.Lang = pageLanguage(w, r)
	if d.Return == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path != "/lang" {
		d.Return = r.URL.RequestURI()
	}
	d.Languages = languageLinks(d.Lang, d.Return)
	pageHeaders(w)

	w.WriteHeader(status)
	if err := pageTemplates.ExecuteTemplate(w, name, d); err != nil {
		log.fault(r.Context(), "render page", "page", name, "err", err)
	}
}

// errorPage answers when the client or redirect URI is itself invalid, so
// that nothing may be sent back to it (RFC 6749 §4.1.2.1), and whenever a
// page cannot go on: the message is the catalogue's key, with its
// arguments (name, value pairs).
func (p *pages) errorPage(w http.ResponseWriter, r *http.Request, status int, key string, args ...string) {
	errorPage(w, r, p.log, status, key, args...)
}

func errorPage(w http.ResponseWriter, r *http.Request, log logs, status int, key string, args ...string) {
	renderPage(w, r, log, status, "message", pageData{Title: tr(r, "error.title"), Message: tr(r, key, args...)})
}

// messagePage is a page that says something: its title and message are
// the catalogue's keys.
func messagePage(w http.ResponseWriter, r *http.Request, log logs, status int, titleKey, msgKey string) {
	renderPage(w, r, log, status, "message", pageData{Title: tr(r, titleKey), Message: tr(r, msgKey)})
}

func (p *pages) handleStyle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write([]byte(pageCSS))
}
