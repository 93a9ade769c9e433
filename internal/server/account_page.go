package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/i18n"
	"github.com/inkan-dev/inkan/internal/store"
)

// accountPages serves the account pages, signed in through the login page
// (GET /oauth2/login?return=/account) and without JavaScript:
//
//	GET  /account                  the account: name, email, password, sessions, deletion
//	POST /account/name             {csrf, name}
//	POST /account/password         {csrf, current_password, new_password, confirm_password}
//	POST /account/sessions/end     {csrf, id}: one session ends
//	POST /account/sessions/end-all {csrf}: signed out everywhere
//	POST /account/delete           {csrf, password}
//	GET  /account/signup, POST /account/signup   (signup_page.go)
//
// The page also holds the form of POST /account/email {csrf, email,
// password}, whose handler checks its CSRF token with accountCSRF, and
// links to /account/recover from the login page. Every form carries a CSRF
// token bound to the session (accountCSRF); each POST answers with a
// redirect to GET /account (Post/Redirect/Get) or, when it fails, the page
// again with what went wrong.
type accountPages struct {
	accounts *account.Service
	sessions *browserSessions
	proxies  proxies // the client's address, for the throttles
	signup   bool    // AccountOptions.Signup
	metrics  *Metrics
	// loggedOut wakes the delivery of back-channel logouts
	// (backchannel.kick) after sessions end.
	loggedOut func()
	log       logs
}

// Mount registers the account pages on mux.
func (a *accountPages) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /account", a.handleAccount)
	mux.HandleFunc("POST /account/name", a.form(a.rename))
	mux.HandleFunc("POST /account/password", a.form(a.changePassword))
	mux.HandleFunc("POST /account/sessions/end", a.form(a.endSession))
	mux.HandleFunc("POST /account/sessions/end-all", a.form(a.endAll))
	mux.HandleFunc("POST /account/delete", a.form(a.deleteAccount))
	mux.HandleFunc("GET /account/signup", a.handleSignupPage)
	mux.HandleFunc("POST /account/signup", a.handleSignup)
	a.mountTOTP(mux)
	a.mountPasskeys(mux)
}

// accountPath is the account page; loginForAccount the login page that
// comes back to it.
const (
	accountPath     = "/account"
	loginForAccount = "/oauth2/login?return=%2Faccount"
)

// accountReturn is where the login and sign-up pages go once signed in:
// ret when it is an account page or an authorization request of this
// server, the account page otherwise.
func accountReturn(ret string) string {
	if ret, ok := localPath(ret); ok {
		path, _, _ := strings.Cut(ret, "?")
		if path == accountPath || strings.HasPrefix(path, accountPath+"/") || path == "/oauth2/authorize" {
			return ret
		}
	}
	return accountPath
}

// recentSignIn is how recently a session must have authenticated for its
// user to add or remove a second factor in it (OWASP's re-authentication
// for sensitive changes): one who took the session later must prove the
// password, and the second factor the account has, before binding a
// factor of their own to it.
const recentSignIn = 15 * time.Minute

// freshLogin is the login page that signs in again even when the browser
// is signed in, then comes back to the account page.
const freshLogin = loginForAccount + "&fresh=1"

// recent reports whether sess authenticated within recentSignIn.
func (a *accountPages) recent(sess store.Session) bool {
	return a.sessions.now().Sub(sess.AuthTime) <= recentSignIn
}

// fresh reports whether sess may change the user's second factors; when
// not, it sends the browser to sign in again and returns false.
func (a *accountPages) fresh(w http.ResponseWriter, r *http.Request, sess store.Session) bool {
	if a.recent(sess) {
		return true
	}
	a.log.InfoContext(r.Context(), "second-factor change refused", "reason", "sign-in not recent", "sub", sess.UserID, "form", r.URL.Path)
	pageHeaders(w)
	http.Redirect(w, r, freshLogin, http.StatusSeeOther)
	return false
}

// accountCSRF is the CSRF token of the account page's forms, bound to the
// session: every POST under /account/ (the email change's too) checks it.
func accountCSRF(b *browserSessions, sess store.Session) string {
	return b.mac("inkan account csrf", sess)
}

// signedInForm reads a form of the account page: the session it acts in
// and its CSRF token. A browser that is not signed in goes to the login
// page; a form without the session's token is refused. ok is false when
// the answer has been sent.
func (a *accountPages) signedInForm(w http.ResponseWriter, r *http.Request) (sess store.Session, u store.User, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		errorPage(w, r, a.log, http.StatusBadRequest, "error.unreadable_form")
		return sess, u, false
	}
	sess, u, ok = a.sessions.current(r)
	if !ok {
		pageHeaders(w)
		http.Redirect(w, r, loginForAccount, http.StatusSeeOther)
		return sess, u, false
	}
	if !equalToken(accountCSRF(a.sessions, sess), r.PostForm.Get("csrf")) {
		a.log.WarnContext(r.Context(), "account form refused", "reason", "CSRF token mismatch", "sub", u.ID, "form", r.URL.Path)
		errorPage(w, r, a.log, http.StatusForbidden, "error.csrf")
		return sess, u, false
	}
	return sess, u, true
}

// form adapts an action of the account page: it runs once signedInForm
// has checked the session and the CSRF token.
func (a *accountPages) form(act func(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if sess, u, ok := a.signedInForm(w, r); ok {
			act(w, r, sess, u)
		}
	}
}

// accountView is what the account page shows.
type accountView struct {
	Name, Email   string
	EmailVerified bool
	Notice        string // what the last action did
	Sessions      []sessionView
	MinPassword   int
	TOTP          totpView     // account_totp.go
	Passkeys      passkeysView // account_passkeys.go
}

// sessionView is one session of the account page.
type sessionView struct {
	ID, Agent, Address, SignedIn, Expires string
	Current                               bool
}

// notices are the account page's ?done= values, each the catalogue's key
// of what it says; anything else says nothing.
var notices = map[string]string{
	"name": "account.done.name", "password": "account.done.password", "session": "account.done.session", "email": "account.done.email",
}

// handleAccount is GET /account: the account of the browser's session,
// or the login page that comes back here.
func (a *accountPages) handleAccount(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := a.sessions.current(r)
	if !ok {
		pageHeaders(w)
		http.Redirect(w, r, loginForAccount, http.StatusSeeOther)
		return
	}
	notice := ""
	if key, ok := notices[r.URL.Query().Get("done")]; ok {
		notice = tr(r, key)
	}
	a.render(w, r, http.StatusOK, sess, u, notice, "")
}

// render renders the account page: notice says what was done, problem
// what went wrong (both already in the page's language).
func (a *accountPages) render(w http.ResponseWriter, r *http.Request, status int, sess store.Session, u store.User, notice, problem string) {
	list, err := a.accounts.Sessions(r.Context(), u.ID)
	if err != nil {
		a.log.fault(r.Context(), "list sessions", "err", err)
		errorPage(w, r, a.log, http.StatusInternalServerError, "error.internal")
		return
	}
	lang := i18n.Match(r)
	v := accountView{Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified, Notice: notice, MinPassword: account.MinPasswordBytes}
	for _, se := range list {
		sv := sessionView{
			ID: se.ID, Agent: se.UserAgent, Address: se.Address, Current: se.ID == sess.ID,
			SignedIn: se.AuthTime.UTC().Format(pageTime), Expires: se.ExpiresAt.UTC().Format(pageTime),
		}
		if sv.Agent == "" {
			sv.Agent = i18n.T(lang, "account.sessions.unknown_agent")
		}
		v.Sessions = append(v.Sessions, sv)
	}
	err = a.fillTOTP(r, u, &v)
	if err == nil {
		err = a.fillPasskeys(r, u, &v)
	}
	if err != nil {
		a.log.fault(r.Context(), "second factors", "err", err)
		errorPage(w, r, a.log, http.StatusInternalServerError, "error.internal")
		return
	}
	renderPage(w, r, a.log, status, "account", pageData{
		Title: i18n.T(lang, "account.title"), Email: u.Email, Error: problem, CSRF: accountCSRF(a.sessions, sess),
		Wide: true, View: v, Return: accountPath,
	})
}

// pageTime is how the pages show a time: in UTC, to the minute.
const pageTime = "2006-01-02 15:04 UTC"

// done goes back to the account page, which says what was done.
func (a *accountPages) done(w http.ResponseWriter, r *http.Request, what string) {
	pageHeaders(w)
	http.Redirect(w, r, accountPath+"?done="+url.QueryEscape(what), http.StatusSeeOther)
}

// failed renders the account page again with what err means for the
// person, or the error page for a fault.
func (a *accountPages) failed(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User, err error) {
	status, key, args := pageError(err)
	if status == http.StatusInternalServerError {
		a.log.fault(r.Context(), "account page", "err", err, "sub", u.ID)
		errorPage(w, r, a.log, status, "error.internal")
		return
	}
	if status == http.StatusUnauthorized { // the user went meanwhile
		a.sessions.clear(w, r)
		pageHeaders(w)
		http.Redirect(w, r, loginForAccount, http.StatusSeeOther)
		return
	}
	var te *account.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.FormatInt(te.Seconds(), 10))
	}
	a.render(w, r, status, sess, u, "", tr(r, key, args...))
}

// pageError is what a page says of the account service's error: its
// status, the catalogue's key and the key's arguments.
func pageError(err error) (status int, key string, args []string) {
	var ie *account.InvalidError
	var te *account.ThrottledError
	switch {
	case errors.As(err, &ie) && len(ie.Problems) > 0:
		key, args := problemText(ie.Problems[0])
		return http.StatusUnprocessableEntity, key, args
	case errors.Is(err, account.ErrWrongPassword):
		return http.StatusForbidden, "account.wrong_password", nil
	case errors.Is(err, account.ErrNoSession):
		return http.StatusNotFound, "account.session_not_found", nil
	case errors.Is(err, account.ErrEmailTaken):
		return http.StatusConflict, "problem.email.taken", nil
	case errors.As(err, &te):
		return http.StatusTooManyRequests, "login.throttled", nil
	case errors.Is(err, account.ErrBusy):
		return http.StatusServiceUnavailable, "login.busy", nil
	case errors.Is(err, account.ErrUserGone), errors.Is(err, account.ErrBeforeReset):
		return http.StatusUnauthorized, "login.again", nil
	}
	return http.StatusInternalServerError, "error.internal", nil
}

// problemText is the catalogue's key, with its arguments, of a field
// problem of the account service (whose own messages are English, for the
// JSON routes).
func problemText(p account.FieldProblem) (string, []string) {
	if p.Type == "missing" {
		return "problem.missing", nil
	}
	switch p.Field {
	case "name":
		switch p.Type {
		case "string_too_short":
			return "problem.name.empty", nil
		case "string_too_long":
			return "problem.name.too_long", []string{"max", strconv.Itoa(account.MaxNameRunes)}
		}
		return "problem.name.invalid", nil
	case "email":
		return "problem.email.invalid", nil
	case "password", "new_password":
		switch {
		case p.Type == "string_too_short":
			return "problem.password.too_short", []string{"min", strconv.Itoa(account.MinPasswordBytes)}
		case p.Type == "string_too_long":
			return "problem.password.too_long", []string{"max", strconv.Itoa(account.MaxPasswordBytes)}
		case p.Msg == account.MsgSamePassword:
			return "problem.password.same", nil
		}
		return "problem.password.common", nil
	}
	return "error.malformed_request", nil
}

// rename is POST /account/name.
func (a *accountPages) rename(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if _, err := a.accounts.Rename(r.Context(), u.ID, r.PostForm.Get("name")); err != nil {
		a.failed(w, r, sess, u, err)
		return
	}
	a.done(w, r, "name")
}

// changePassword is POST /account/password: every session ends, this one
// too, and the browser gets a new one, so that it stays signed in.
func (a *accountPages) changePassword(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	f := r.PostForm
	if f.Get("new_password") != f.Get("confirm_password") {
		a.render(w, r, http.StatusUnprocessableEntity, sess, u, "", tr(r, "account.password.mismatch"))
		return
	}
	nu, err := a.accounts.ChangePassword(r.Context(), u.ID, f.Get("current_password"), f.Get("new_password"), a.proxies.clientIP(r), i18n.Match(r))
	if err != nil {
		a.failed(w, r, sess, u, err)
		return
	}
	a.loggedOut()
	if _, err := a.sessions.start(w, r, nu, sess.AMR); err != nil {
		a.log.fault(r.Context(), "create session", "err", err)
		errorPage(w, r, a.log, http.StatusInternalServerError, "error.internal")
		return
	}
	a.done(w, r, "password")
}

// endSession is POST /account/sessions/end: one session ends, with its
// refresh tokens, codes and access tokens; this browser's own too, which
// then signs in again.
func (a *accountPages) endSession(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	id := r.PostForm.Get("id")
	if err := a.accounts.EndSession(r.Context(), u.ID, id); err != nil {
		a.failed(w, r, sess, u, err)
		return
	}
	a.loggedOut()
	if id == sess.ID {
		a.sessions.clear(w, r)
	}
	a.done(w, r, "session")
}

// endAll is POST /account/sessions/end-all: signed out everywhere, here
// too.
func (a *accountPages) endAll(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if _, err := a.accounts.EndAllSessions(r.Context(), u.ID); err != nil {
		a.failed(w, r, sess, u, err)
		return
	}
	a.loggedOut()
	a.sessions.clear(w, r)
	renderPage(w, r, a.log, http.StatusOK, "message", pageData{
		Title: tr(r, "account.everywhere.done_title"), Message: tr(r, "account.everywhere.done"),
		Link: loginForAccount, LinkText: tr(r, "login.title"), Return: loginForAccount,
	})
}

// deleteAccount is POST /account/delete: the account goes once the
// password is checked.
func (a *accountPages) deleteAccount(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := a.accounts.DeleteAccount(r.Context(), u.ID, r.PostForm.Get("password"), a.proxies.clientIP(r)); err != nil {
		a.failed(w, r, sess, u, err)
		return
	}
	a.loggedOut()
	a.sessions.clear(w, r)
	renderPage(w, r, a.log, http.StatusOK, "message", pageData{
		Title: tr(r, "account.deleted.title"), Message: tr(r, "account.deleted"), Return: "/account/signup",
	})
}

const accountPage = `{{define "account"}}{{template "head" .}}{{with .View}}
<p>{{th $.Lang "account.signed_in_as" "email" .Email}}</p>
{{if .Notice}}<p class="notice" role="status">{{.Notice}}</p>{{end}}
{{if $.Error}}<p class="error" role="alert">{{$.Error}}</p>{{end}}

<h2>{{t $.Lang "account.name.heading"}}</h2>
<form method="post" action="/account/name">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label for="name">{{t $.Lang "account.name.label"}}</label><input id="name" name="name" type="text" autocomplete="name" required maxlength="64" value="{{.Name}}">
<button type="submit">{{t $.Lang "account.name.submit"}}</button>
</form>

<h2>{{t $.Lang "account.email.heading"}}</h2>
<p>{{.Email}} ({{if .EmailVerified}}{{t $.Lang "account.email.verified"}}{{else}}{{t $.Lang "account.email.unverified"}}{{end}})</p>
<form method="post" action="/account/email">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label for="email">{{t $.Lang "account.email.new"}}</label><input id="email" name="email" type="email" autocomplete="email" required>
<label for="email-password">{{t $.Lang "account.email.password"}}</label><input id="email-password" name="password" type="password" autocomplete="current-password" required>
<p class="hint">{{t $.Lang "account.email.hint"}}</p>
<button type="submit">{{t $.Lang "account.email.submit"}}</button>
</form>

<h2>{{t $.Lang "account.password.heading"}}</h2>
<form method="post" action="/account/password">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<input type="text" name="username" autocomplete="username" value="{{.Email}}" hidden>
<label for="current_password">{{t $.Lang "account.password.current"}}</label><input id="current_password" name="current_password" type="password" autocomplete="current-password" required>
<label for="new_password">{{t $.Lang "account.password.new"}}</label><input id="new_password" name="new_password" type="password" autocomplete="new-password" required minlength="{{.MinPassword}}">
<label for="confirm_password">{{t $.Lang "account.password.confirm"}}</label><input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required minlength="{{.MinPassword}}">
<p class="hint">{{t $.Lang "account.password.hint" "min" (print .MinPassword)}}</p>
<button type="submit">{{t $.Lang "account.password.submit"}}</button>
</form>

{{template "account-totp" $}}
{{template "account-passkeys" $}}

<h2>{{t $.Lang "account.sessions.heading"}}</h2>
{{if .Sessions}}<ul class="sessions">{{range .Sessions}}
<li><div><span class="agent">{{.Agent}}</span>{{if .Current}} <strong>({{t $.Lang "account.sessions.current"}})</strong>{{end}}<br>
<span class="hint">{{t $.Lang "account.sessions.signed_in" "time" .SignedIn}}{{if .Address}} · {{t $.Lang "account.sessions.from" "address" .Address}}{{end}} · {{t $.Lang "account.sessions.expires" "time" .Expires}}</span></div>
<form method="post" action="/account/sessions/end"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><button type="submit" class="small secondary">{{t $.Lang "account.sessions.end"}}</button></form></li>{{end}}
</ul>{{else}}<p>{{t $.Lang "account.sessions.none"}}</p>{{end}}

<h2>{{t $.Lang "account.everywhere.heading"}}</h2>
<form method="post" action="/account/sessions/end-all">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<p class="hint">{{t $.Lang "account.everywhere.hint"}}</p>
<button type="submit" class="secondary">{{t $.Lang "account.everywhere.submit"}}</button>
</form>

<h2>{{t $.Lang "account.delete.heading"}}</h2>
<form method="post" action="/account/delete">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<p class="hint">{{t $.Lang "account.delete.hint"}}</p>
<label for="delete-password">{{t $.Lang "account.delete.password"}}</label><input id="delete-password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{{t $.Lang "account.delete.submit"}}</button>
</form>

<p class="links"><a href="/oauth2/logout">{{t $.Lang "account.signout"}}</a></p>
{{end}}{{template "foot" .}}{{end}}
`
