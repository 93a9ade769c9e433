package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
)

// parseAuthRequest parses an authorization request (oauth2.Authorizer):
// ar is nil when the client or redirect URI is itself invalid, and aerr
// then goes on an error page, never to the client.
func (p *pages) parseAuthRequest(ctx context.Context, q url.Values) (ar *oauth2.AuthorizeRequest, aerr *oauth2.AuthorizeError) {
	ar, err := p.authz.ParseRequest(ctx, q)
	if err != nil && !errors.As(err, &aerr) {
		aerr = &oauth2.AuthorizeError{Err: oauth2.AsError(err)}
	}
	return ar, aerr
}

// redirectError sends an error back to the client (RFC 6749 §4.1.2.1), with
// the issuer (RFC 9207) so that a client talking to several servers can
// tell which one answered.
func (p *pages) redirectError(w http.ResponseWriter, r *http.Request, ar *oauth2.AuthorizeRequest, e *oauth2.Error) {
	v := url.Values{"error": {e.Code}, "iss": {p.issuer}}
	if e.Description != "" {
		v.Set("error_description", e.Description)
	}
	if ar.State != "" {
		v.Set("state", ar.State)
	}
	p.redirectTo(w, r, ar.RedirectURI, v)
}

// handleAuthorize is GET (and POST) /oauth2/authorize.
func (p *pages) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, ok := p.pageParams(w, r)
	if !ok {
		return
	}
	ar, aerr := p.parseAuthRequest(ctx, q)
	if aerr != nil {
		if !aerr.Redirect {
			p.errorPage(w, r, http.StatusBadRequest, "error.invalid_signin", "reason", aerr.Err.Description)
			return
		}
		p.redirectError(w, r, ar, aerr.Err)
		return
	}
	sess, user, ok := p.currentSession(r)
	to := signIn{client: ar.Client.Name, clientID: ar.Client.ID, params: ar.LoginParams(), mfa: ar.WantsMultiFactor()}
	if !ok || ar.Reauthenticate(sess, p.now()) {
		if ar.Prompt == oauth2.PromptNone {
			p.redirectError(w, r, ar, oauth2.Errorf(oauth2.LoginRequired, "the user is not signed in, or not recently enough"))
			return
		}
		p.loginPage(w, r, to, "", "", http.StatusOK)
		return
	}
	if !p.factorsPassed(w, r, ar, sess, user, to) {
		return
	}
	if p.authz.NeedsConsent(ctx, ar, user) {
		if ar.Prompt == oauth2.PromptNone {
			p.redirectError(w, r, ar, oauth2.Errorf(oauth2.ConsentRequired, "the user has not consented"))
			return
		}
		params := clone(ar.Params)
		params.Del("prompt")
		p.renderPage(w, r, http.StatusOK, "consent", pageData{
			Title: tr(r, "consent.title"), Client: ar.Client.Name, Email: user.Email, Scopes: ar.Scope,
			CSRF: p.sessionCSRF(sess), Request: params.Encode(),
		})
		return
	}
	p.issueCode(w, r, ar, sess, user)
}

// factorsPassed reports whether session sess of user may have a code for
// ar as it is: it passed a second factor, or needs none. When it needs one
// it has not passed, the browser goes to the second factor (a step-up),
// or prompt=none answers interaction_required; false then says that the
// answer has been sent.
func (p *pages) factorsPassed(w http.ResponseWriter, r *http.Request, ar *oauth2.AuthorizeRequest, sess store.Session, user store.User, to signIn) bool {
	if account.MultiFactor(sess.AMR) {
		return true
	}
	ctx := r.Context()
	need, err := p.accounts.NeedsSecondFactor(ctx, user, to.mfa)
	if err != nil {
		p.log.fault(ctx, "second factors", "err", err)
		p.redirectError(w, r, ar, oauth2.Errorf(oauth2.ServerError, "the server could not answer"))
		return false
	}
	if !need {
		return true
	}
	if ar.Prompt == oauth2.PromptNone {
		p.redirectError(w, r, ar, oauth2.Errorf(oauth2.InteractionRequired, "the user must pass a second factor"))
		return false
	}
	amr := sess.AMR
	if len(amr) == 0 { // a session from before methods were recorded: a password's
		amr = []string{account.AMRPassword}
	}
	p.afterFirstFactor(w, r, user, amr, to)
	return false
}

func clone(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// issueCode sends the browser back to the client with a new code (RFC 6749
// §4.1.2) and the issuer (RFC 9207).
func (p *pages) issueCode(w http.ResponseWriter, r *http.Request, ar *oauth2.AuthorizeRequest, sess store.Session, u store.User) {
	raw, err := p.authz.IssueCode(r.Context(), ar, sess, u)
	if err != nil {
		p.log.fault(r.Context(), "store authorization code", "err", err)
		p.redirectError(w, r, ar, oauth2.Errorf(oauth2.ServerError, "the server could not answer"))
		return
	}
	v := url.Values{"code": {raw}, "iss": {p.issuer}}
	if ar.State != "" {
		v.Set("state", ar.State)
	}
	p.redirectTo(w, r, ar.RedirectURI, v)
}

// signIn is what a sign-in is for: an authorization request, whose client
// the login page names and to which it goes back, or a page of inkan's own
// (the account pages) to return to.
type signIn struct {
	client   string     // the client's name; empty for ret
	clientID string     // the client's id, for the login's event; empty for ret
	params   url.Values // the authorization request's parameters; nil for ret
	ret      string     // a path that accountReturn accepts, when params is nil
	// mfa: the sign-in must pass a second factor whatever the user has
	// (AuthorizeRequest.WantsMultiFactor).
	mfa bool
}

// next is where the browser goes once signed in.
func (s signIn) next() string {
	if s.params != nil {
		return "/oauth2/authorize?" + s.params.Encode()
	}
	return s.ret
}

// loginPage renders the sign-in form with a fresh double-submit CSRF token;
// msgKey, when not empty, is the catalogue's key of what went wrong.
func (p *pages) loginPage(w http.ResponseWriter, r *http.Request, to signIn, email, msgKey string, status int) {
	token := randomToken()
	http.SetCookie(w, p.cookies.cookie(csrfCookie, token, time.Hour))
	d := pageData{Title: tr(r, "login.title"), Client: to.client, Email: email, CSRF: token, Return: to.next(), Passkeys: p.accounts.PasskeysOn()}
	if msgKey != "" {
		d.Error = tr(r, msgKey)
	}
	if to.params != nil {
		d.Request = to.params.Encode()
	} else {
		d.Next = to.ret
	}
	if p.signup {
		d.SignupURL = "/account/signup?" + url.Values{"return": {to.next()}}.Encode()
	}
	p.renderPage(w, r, status, "login", d)
}

// handleLoginPage is GET /oauth2/login?return=/account: the login page of
// inkan's own pages, which comes back to return (accountReturn) once
// signed in, at once when the browser is signed in already.
func (p *pages) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	ret := accountReturn(r.URL.Query().Get("return"))
	_, u, ok := p.currentSession(r)
	if ok && r.URL.Query().Get("fresh") == "" {
		pageHeaders(w)
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	if ok { // fresh=1: a change that needs a recent sign-in sent the browser here
		p.loginPage(w, r, signIn{ret: ret}, u.Email, "account.reauth", http.StatusOK)
		return
	}
	p.loginPage(w, r, signIn{ret: ret}, "", "", http.StatusOK)
}

// sessionCSRF is the consent form's CSRF token, bound to the session.
func (p *pages) sessionCSRF(sess store.Session) string {
	return p.sessionMAC("inkan consent csrf", sess)
}

// readAuthForm reads a login or consent form and the authorization
// request it carries, answering with an error page when either is bad.
func (p *pages) readAuthForm(w http.ResponseWriter, r *http.Request) (*oauth2.AuthorizeRequest, url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.unreadable_form")
		return nil, nil, false
	}
	params, err := url.ParseQuery(r.PostForm.Get("request"))
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.malformed_request")
		return nil, nil, false
	}
	ar, aerr := p.parseAuthRequest(r.Context(), params)
	if aerr != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.invalid_request", "reason", aerr.Err.Description)
		return nil, nil, false
	}
	return ar, params, true
}

// readLoginForm reads the login form and what the sign-in is for: the
// authorization request it carries, or, with no request, the page of
// inkan's own to return to.
func (p *pages) readLoginForm(w http.ResponseWriter, r *http.Request) (signIn, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.unreadable_form")
		return signIn{}, false
	}
	if !r.PostForm.Has("request") && r.PostForm.Has("return") {
		return signIn{ret: accountReturn(r.PostForm.Get("return"))}, true
	}
	ar, params, ok := p.readAuthForm(w, r)
	if !ok {
		return signIn{}, false
	}
	return signIn{client: ar.Client.Name, clientID: ar.Client.ID, params: params, mfa: ar.WantsMultiFactor()}, true
}

// handleLogin is POST /oauth2/login: the sign-in form.
func (p *pages) handleLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	to, ok := p.readLoginForm(w, r)
	if !ok {
		return
	}
	c, err := r.Cookie(p.cookies.name(csrfCookie))
	if err != nil || !equalToken(c.Value, r.PostForm.Get("csrf")) {
		p.log.WarnContext(ctx, "login form refused", "reason", "CSRF token mismatch")
		p.errorPage(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	email := account.NormalizeEmail(r.PostForm.Get("email"))
	password := r.PostForm.Get("password")
	if len(password) > account.MaxPasswordBytes || email == "" {
		p.loginPage(w, r, to, email, "login.bad_credentials", http.StatusUnauthorized)
		return
	}
	u, err := p.accounts.Authenticate(events.WithClient(ctx, to.clientID), r.PostForm.Get("email"), password, p.proxies.clientIP(r))
	var throttled *account.ThrottledError
	switch {
	case errors.As(err, &throttled):
		p.loginPage(w, r, to, email, "login.throttled", http.StatusTooManyRequests)
		return
	case errors.Is(err, account.ErrBusy):
		p.loginPage(w, r, to, email, "login.busy", http.StatusServiceUnavailable)
		return
	case errors.Is(err, account.ErrBadCredentials):
		p.loginPage(w, r, to, email, "login.bad_credentials", http.StatusUnauthorized)
		return
	case errors.Is(err, account.ErrEmailNotVerified):
		p.loginPage(w, r, to, email, "login.not_verified", http.StatusForbidden)
		return
	case err != nil:
		p.log.fault(ctx, "login", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "error.internal")
		return
	}
	p.afterFirstFactor(w, r, u, []string{account.AMRPassword}, to)
}

// handleConsent is POST /oauth2/consent.
func (p *pages) handleConsent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, params, ok := p.readAuthForm(w, r)
	if !ok {
		return
	}
	sess, u, ok := p.currentSession(r)
	if !ok {
		p.loginPage(w, r, signIn{client: ar.Client.Name, clientID: ar.Client.ID, params: params}, "", "login.again", http.StatusUnauthorized)
		return
	}
	if !equalToken(p.sessionCSRF(sess), r.PostForm.Get("csrf")) {
		p.log.WarnContext(ctx, "consent form refused", "reason", "CSRF token mismatch", "sub", u.ID)
		p.errorPage(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	if r.PostForm.Get("decision") != "allow" {
		p.redirectError(w, r, ar, oauth2.Errorf(oauth2.AccessDenied, "the user denied access"))
		return
	}
	if !p.factorsPassed(w, r, ar, sess, u, signIn{client: ar.Client.Name, clientID: ar.Client.ID, params: ar.LoginParams(), mfa: ar.WantsMultiFactor()}) {
		return
	}
	if err := p.authz.Consent(ctx, ar, u); err != nil {
		p.log.fault(ctx, "store consent", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "error.internal")
		return
	}
	p.issueCode(w, r, ar, sess, u)
}
