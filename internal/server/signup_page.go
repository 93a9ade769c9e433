package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
)

// The sign-up page: GET and POST /account/signup?return=..., POST /user's
// rules (account.ValidateSignup) and throttle (account.Service.Register)
// behind a form with a double-submit CSRF token, as the login page's. Once
// the account exists the browser is signed in to it and goes on to return
// (accountReturn): the account page, or the authorization request that
// sent it to sign up.

// signupView is what the sign-up page shows.
type signupView struct {
	Name, Email string
	Problems    []string // what is wrong, in the page's language
	MinPassword int
}

// handleSignupPage is GET /account/signup.
func (a *accountPages) handleSignupPage(w http.ResponseWriter, r *http.Request) {
	if !a.signup {
		messagePage(w, r, a.log, http.StatusForbidden, "signup.title", "signup.closed")
		return
	}
	a.signupPage(w, r, http.StatusOK, accountReturn(r.URL.Query().Get("return")), signupView{})
}

// signupPage renders the sign-up form with a fresh double-submit CSRF
// token.
func (a *accountPages) signupPage(w http.ResponseWriter, r *http.Request, status int, ret string, v signupView) {
	token := randomToken()
	http.SetCookie(w, a.sessions.cookies.cookie(csrfCookie, token, time.Hour))
	v.MinPassword = account.MinPasswordBytes
	renderPage(w, r, a.log, status, "signup", pageData{
		Title: tr(r, "signup.title"), CSRF: token, Next: ret, View: v,
		Link:   "/oauth2/login?" + url.Values{"return": {ret}}.Encode(),
		Return: "/account/signup?" + url.Values{"return": {ret}}.Encode(),
	})
}

// handleSignup is POST /account/signup: the form's name, email and
// password, under POST /user's rules; 422 with every problem, 409 for a
// taken email, 429 when throttled, and on success a new session and a
// redirect to return.
func (a *accountPages) handleSignup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !a.signup {
		messagePage(w, r, a.log, http.StatusForbidden, "signup.title", "signup.closed")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		errorPage(w, r, a.log, http.StatusBadRequest, "error.unreadable_form")
		return
	}
	f := r.PostForm
	ret := accountReturn(f.Get("return"))
	c, err := r.Cookie(a.sessions.cookies.name(csrfCookie))
	if err != nil || !equalToken(c.Value, f.Get("csrf")) {
		a.log.WarnContext(ctx, "signup form refused", "reason", "CSRF token mismatch")
		errorPage(w, r, a.log, http.StatusForbidden, "error.csrf")
		return
	}
	fields := map[string]json.RawMessage{}
	for _, name := range []string{"name", "email", "password"} {
		if f.Has(name) {
			fields[name], _ = json.Marshal(f.Get(name)) // a string always marshals
		}
	}
	m := a.metrics.signups
	again := signupView{Name: f.Get("name"), Email: f.Get("email")}
	in, problems := account.ValidateSignup(fields)
	if len(problems) > 0 {
		m.WithLabelValues(resultInvalid).Inc()
		for _, p := range problems {
			key, args := problemText(p)
			again.Problems = append(again.Problems, tr(r, key, args...))
		}
		a.signupPage(w, r, http.StatusUnprocessableEntity, ret, again)
		return
	}
	u, err := a.accounts.Register(ctx, in, a.proxies.clientIP(r))
	var te *account.ThrottledError
	switch {
	case errors.As(err, &te):
		m.WithLabelValues(resultThrottled).Inc()
		w.Header().Set("Retry-After", strconv.FormatInt(te.Seconds(), 10))
	case errors.Is(err, account.ErrBusy):
		m.WithLabelValues(resultBusy).Inc()
	case errors.Is(err, account.ErrEmailTaken):
		m.WithLabelValues(resultConflict).Inc()
	case err == nil:
		m.WithLabelValues(resultSuccess).Inc()
	}
	if err != nil {
		status, key, args := pageError(err)
		if status == http.StatusInternalServerError {
			a.log.fault(ctx, "register", "err", err)
			errorPage(w, r, a.log, status, "error.internal")
			return
		}
		again.Problems = []string{tr(r, key, args...)}
		a.signupPage(w, r, status, ret, again)
		return
	}
	if _, err := a.sessions.start(w, r, u, []string{account.AMRPassword}); err != nil {
		a.log.fault(ctx, "create session", "err", err)
		errorPage(w, r, a.log, http.StatusInternalServerError, "error.internal")
		return
	}
	pageHeaders(w)
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

const signupPage = `{{define "signup"}}{{template "head" .}}{{with .View}}
<p>{{t $.Lang "signup.intro"}}</p>
{{if .Problems}}<ul class="error" role="alert">{{range .Problems}}<li>{{.}}</li>{{end}}</ul>{{end}}
<form method="post" action="/account/signup">
<input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="return" value="{{$.Next}}">
<label for="name">{{t $.Lang "signup.name"}}</label><input id="name" name="name" type="text" autocomplete="name" required maxlength="64" value="{{.Name}}">
<label for="email">{{t $.Lang "signup.email"}}</label><input id="email" name="email" type="email" autocomplete="email" required value="{{.Email}}">
<label for="password">{{t $.Lang "signup.password"}}</label><input id="password" name="password" type="password" autocomplete="new-password" required minlength="{{.MinPassword}}">
<p class="hint">{{t $.Lang "signup.password_hint" "min" (print .MinPassword)}}</p>
<button type="submit">{{t $.Lang "signup.submit"}}</button>
</form>
<p class="links"><a href="{{$.Link}}">{{t $.Lang "signup.have_account"}}</a></p>
{{end}}{{template "foot" .}}{{end}}
`
