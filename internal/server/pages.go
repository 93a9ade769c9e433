package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
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
	store      store.Store        // sessions, and the users and clients they name
	authz      *oauth2.Authorizer // the authorization request, consent and codes
	accounts   *account.Service   // password logins
	hints      *oidc.HintVerifier // id_token_hint at logout: expired ID tokens too
	issuer     string             // iss of the redirects (RFC 9207)
	secret     []byte             // TokenOptions.Secret: the forms' CSRF MACs
	sessionTTL time.Duration      // TokenOptions.SessionTTL
	now        func() time.Time
	cookies    cookies
	proxies    proxies // the client's address, for the login throttle
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
}

// currentSession returns the browser's login session, if it has a live one
// of an enabled user.
func (p *pages) currentSession(r *http.Request) (store.Session, store.User, bool) {
	c, err := r.Cookie(p.cookies.name(sessionCookie))
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return store.Session{}, store.User{}, false
	}
	ctx := r.Context()
	sess, err := p.store.GetSession(ctx, hashToken(c.Value))
	if err != nil || !p.now().Before(sess.ExpiresAt) {
		return store.Session{}, store.User{}, false
	}
	u, err := p.store.GetUser(ctx, sess.UserID)
	if err != nil || u.Disabled {
		return store.Session{}, store.User{}, false
	}
	return sess, u, true
}

// sessionMAC is a form's CSRF token, bound to the session and to one form,
// so that the token of one form is worthless for another.
func (p *pages) sessionMAC(form string, sess store.Session) string {
	m := hmac.New(sha256.New, p.secret)
	m.Write([]byte(form + "\x00" + sess.Hash))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

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
		p.errorPage(w, r, http.StatusBadRequest, "The request could not be read.")
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

// The login, consent, logout and error pages: HTML and CSS of our own, no
// JavaScript. Every page forbids framing and caching and sends no referrer.

const pageCSS = `body{font-family:system-ui,sans-serif;background:#f5f3ef;color:#222;margin:0}
main{max-width:24rem;margin:4rem auto;background:#fff;border:1px solid #ddd;border-radius:8px;padding:2rem}
h1{font-size:1.3rem;margin-top:0}h1 span{color:#b22}label{display:block;margin:.8rem 0 .3rem}
input[type=email],input[type=password],input[type=text]{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #bbb;border-radius:4px}
button{margin-top:1.2rem;padding:.55rem 1.2rem;border:0;border-radius:4px;background:#b22;color:#fff;font-size:1rem;cursor:pointer}
button.secondary{background:#777}.error{color:#b22}ul{padding-left:1.2rem}`

var pageTemplates = template.Must(template.New("base").Parse(`{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} · inkan</title><link rel="stylesheet" href="/oauth2/static/style.css"></head><body><main>
<h1><span>印</span> {{.Title}}</h1>{{end}}
{{define "foot"}}</main></body></html>{{end}}

{{define "login"}}{{template "head" .}}
<p>Sign in to continue to <strong>{{.Client}}</strong>.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/oauth2/login">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="request" value="{{.Request}}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="{{.Email}}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>{{template "foot" .}}{{end}}

{{define "consent"}}{{template "head" .}}
<p><strong>{{.Client}}</strong> asks to access your account ({{.Email}}):</p>
<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="/oauth2/consent">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="request" value="{{.Request}}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>{{template "foot" .}}{{end}}

{{define "logout"}}{{template "head" .}}
<p>{{if .Client}}<strong>{{.Client}}</strong> asks to sign you out of inkan.{{else}}Sign out of inkan?{{end}}</p>
<p>You are signed in as {{.Email}}.</p>
<form method="post" action="/oauth2/logout">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="request" value="{{.Request}}">
<button type="submit" name="decision" value="logout">Sign out</button>
<button type="submit" name="decision" value="stay" class="secondary">Stay signed in</button>
</form>{{template "foot" .}}{{end}}

{{define "message"}}{{template "head" .}}<p>{{.Message}}</p>{{template "foot" .}}{{end}}
`))

type pageData struct {
	Title, Client, Email, Error, CSRF, Request, Message string
	Scopes                                              []string
}

// pageHeaders are sent with every page.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (p *pages) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	pageHeaders(w)
	w.WriteHeader(status)
	if err := pageTemplates.ExecuteTemplate(w, name, d); err != nil {
		p.log.fault(r.Context(), "render page", "page", name, "err", err)
	}
}

// errorPage answers when the client or redirect URI is itself invalid, so
// that nothing may be sent back to it (RFC 6749 §4.1.2.1).
func (p *pages) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	p.renderPage(w, r, status, "message", pageData{Title: "Cannot continue", Message: msg})
}

func (p *pages) handleStyle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write([]byte(pageCSS))
}
