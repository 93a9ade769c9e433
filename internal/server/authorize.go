package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
)

// Cookies of the browser flow.
const (
	sessionCookie = "inkan_session"
	csrfCookie    = "inkan_csrf"
)

// parseAuthRequest parses an authorization request (oauth2.Authorizer):
// ar is nil when the client or redirect URI is itself invalid, and aerr
// then goes on an error page, never to the client.
func (s *Server) parseAuthRequest(ctx context.Context, q url.Values) (ar *oauth2.AuthorizeRequest, aerr *oauth2.AuthorizeError) {
	ar, err := s.authz.ParseRequest(ctx, q)
	if err != nil && !errors.As(err, &aerr) {
		aerr = &oauth2.AuthorizeError{Err: oauth2.AsError(err)}
	}
	return ar, aerr
}

// redirectError sends an error back to the client (RFC 6749 §4.1.2.1), with
// the issuer (RFC 9207) so that a client talking to several servers can
// tell which one answered.
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, ar *oauth2.AuthorizeRequest, e *oauth2.Error) {
	v := url.Values{"error": {e.Code}, "iss": {s.opts.Issuer}}
	if e.Description != "" {
		v.Set("error_description", e.Description)
	}
	if ar.State != "" {
		v.Set("state", ar.State)
	}
	s.redirectTo(w, r, ar.RedirectURI, v)
}

func (s *Server) redirectTo(w http.ResponseWriter, r *http.Request, target string, v url.Values) {
	u, _ := url.Parse(target)
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	pageHeaders(w)
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// pageParams returns the parameters of a page endpoint that takes GET or
// POST: the query, or the form of a POST (within maxBodyBytes). A form that
// cannot be read is answered with the error page, and ok is false.
func (s *Server) pageParams(w http.ResponseWriter, r *http.Request) (q url.Values, ok bool) {
	if r.Method != http.MethodPost {
		return r.URL.Query(), true
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "The request could not be read.")
		return nil, false
	}
	return r.PostForm, true
}

// handleAuthorize is GET (and POST) /oauth2/authorize.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, ok := s.pageParams(w, r)
	if !ok {
		return
	}
	ar, aerr := s.parseAuthRequest(ctx, q)
	if aerr != nil {
		if !aerr.Redirect {
			s.errorPage(w, r, http.StatusBadRequest, "This sign-in request is invalid: "+aerr.Err.Description+".")
			return
		}
		s.redirectError(w, r, ar, aerr.Err)
		return
	}
	sess, user, ok := s.currentSession(r)
	if !ok || ar.Prompt == oauth2.PromptLogin {
		if ar.Prompt == oauth2.PromptNone {
			s.redirectError(w, r, ar, oauth2.Errorf(oauth2.LoginRequired, "the user is not signed in"))
			return
		}
		params := clone(ar.Params)
		params.Del("prompt") // asked for once: the login page is the answer
		if ar.Prompt == oauth2.PromptConsent {
			params.Set("prompt", oauth2.PromptConsent)
		}
		s.loginPage(w, r, ar, params, "", "", http.StatusOK)
		return
	}
	if s.authz.NeedsConsent(ctx, ar, user) {
		if ar.Prompt == oauth2.PromptNone {
			s.redirectError(w, r, ar, oauth2.Errorf(oauth2.ConsentRequired, "the user has not consented"))
			return
		}
		params := clone(ar.Params)
		params.Del("prompt")
		s.renderPage(w, r, http.StatusOK, "consent", pageData{
			Title: "Allow access?", Client: ar.Client.Name, Email: user.Email, Scopes: ar.Scope,
			CSRF: s.sessionCSRF(sess), Request: params.Encode(),
		})
		return
	}
	s.issueCode(w, r, ar, sess, user)
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
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, ar *oauth2.AuthorizeRequest, sess store.Session, u store.User) {
	raw, err := s.authz.IssueCode(r.Context(), ar, sess, u)
	if err != nil {
		s.fault(r.Context(), "store authorization code", "err", err)
		s.redirectError(w, r, ar, oauth2.Errorf(oauth2.ServerError, "the server could not answer"))
		return
	}
	v := url.Values{"code": {raw}, "iss": {s.opts.Issuer}}
	if ar.State != "" {
		v.Set("state", ar.State)
	}
	s.redirectTo(w, r, ar.RedirectURI, v)
}

// currentSession returns the browser's login session, if it has a live one
// of an enabled user.
func (s *Server) currentSession(r *http.Request) (store.Session, store.User, bool) {
	c, err := r.Cookie(s.cookieName(sessionCookie))
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return store.Session{}, store.User{}, false
	}
	ctx := r.Context()
	sess, err := s.opts.Store.GetSession(ctx, hashToken(c.Value))
	if err != nil || !s.opts.Now().Before(sess.ExpiresAt) {
		return store.Session{}, store.User{}, false
	}
	u, err := s.opts.Store.GetUser(ctx, sess.UserID)
	if err != nil || u.Disabled {
		return store.Session{}, store.User{}, false
	}
	return sess, u, true
}

// loginPage renders the sign-in form with a fresh double-submit CSRF token.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, ar *oauth2.AuthorizeRequest, params url.Values, email, msg string, status int) {
	token := randomToken()
	http.SetCookie(w, s.cookie(csrfCookie, token, time.Hour))
	s.renderPage(w, r, status, "login", pageData{
		Title: "Sign in", Client: ar.Client.Name, Email: email, Error: msg, CSRF: token, Request: params.Encode(),
	})
}

// cookie is one of the flow's cookies; a negative ttl deletes it (Max-Age=0).
func (s *Server) cookie(name, value string, ttl time.Duration) *http.Cookie {
	maxAge := int(ttl / time.Second)
	if ttl < 0 {
		maxAge = -1
	}
	return &http.Cookie{
		Name: s.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.https(),
	}
}

func (s *Server) https() bool { return strings.HasPrefix(s.opts.Issuer, "https://") }

// cookieName adds the __Host- prefix when the issuer is https: such a
// cookie is Secure, for path / and this host only, so that a sibling
// subdomain cannot plant a session or a CSRF pair (login CSRF).
func (s *Server) cookieName(name string) string {
	if s.https() {
		return "__Host-" + name
	}
	return name
}

// sessionCSRF is the consent form's CSRF token, bound to the session.
func (s *Server) sessionCSRF(sess store.Session) string {
	return s.sessionMAC("inkan consent csrf", sess)
}

// sessionMAC is a form's CSRF token, bound to the session and to one form,
// so that the token of one form is worthless for another.
func (s *Server) sessionMAC(form string, sess store.Session) string {
	m := hmac.New(sha256.New, s.opts.TokenSecret)
	m.Write([]byte(form + "\x00" + sess.Hash))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func equalToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// readAuthForm reads a login or consent form and the authorization
// request it carries, answering with an error page when either is bad.
func (s *Server) readAuthForm(w http.ResponseWriter, r *http.Request) (*oauth2.AuthorizeRequest, url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return nil, nil, false
	}
	params, err := url.ParseQuery(r.PostForm.Get("request"))
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "The request is malformed.")
		return nil, nil, false
	}
	ar, aerr := s.parseAuthRequest(r.Context(), params)
	if aerr != nil {
		s.errorPage(w, r, http.StatusBadRequest, "This request is invalid: "+aerr.Err.Description+".")
		return nil, nil, false
	}
	return ar, params, true
}

// handleLogin is POST /oauth2/login: the sign-in form.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, params, ok := s.readAuthForm(w, r)
	if !ok {
		return
	}
	c, err := r.Cookie(s.cookieName(csrfCookie))
	if err != nil || !equalToken(c.Value, r.PostForm.Get("csrf")) {
		s.opts.Logger.WarnContext(ctx, "login form refused", "reason", "CSRF token mismatch")
		s.errorPage(w, r, http.StatusForbidden, "This form has expired or did not come from this site. Go back and try again.")
		return
	}
	email := account.NormalizeEmail(r.PostForm.Get("email"))
	password := r.PostForm.Get("password")
	if len(password) > account.MaxPasswordBytes || email == "" {
		s.loginPage(w, r, ar, params, email, "Incorrect email or password.", http.StatusUnauthorized)
		return
	}
	u, err := s.accounts.Authenticate(ctx, r.PostForm.Get("email"), password, s.clientIP(r))
	var throttled *account.ThrottledError
	switch {
	case errors.As(err, &throttled):
		s.loginPage(w, r, ar, params, email, "Too many attempts. Wait a moment and try again.", http.StatusTooManyRequests)
		return
	case errors.Is(err, account.ErrBusy):
		s.loginPage(w, r, ar, params, email, "The server is busy. Try again in a moment.", http.StatusServiceUnavailable)
		return
	case errors.Is(err, account.ErrBadCredentials):
		s.loginPage(w, r, ar, params, email, "Incorrect email or password.", http.StatusUnauthorized)
		return
	case err != nil:
		s.fault(ctx, "login", "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong.")
		return
	}
	// A new session id at every sign-in: a cookie planted by someone else
	// (session fixation) is never adopted.
	if old, err := r.Cookie(s.cookieName(sessionCookie)); err == nil {
		s.opts.Store.DeleteSession(ctx, hashToken(old.Value))
	}
	raw := randomToken()
	now := s.opts.Now().UTC().Truncate(time.Microsecond)
	sess := store.Session{Hash: hashToken(raw), ID: rand.Text(), UserID: u.ID, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(s.opts.SessionTTL)}
	if err := s.opts.Store.CreateSession(ctx, sess); err != nil {
		s.fault(ctx, "create session", "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong.")
		return
	}
	http.SetCookie(w, s.cookie(sessionCookie, raw, s.opts.SessionTTL))
	http.SetCookie(w, s.cookie(csrfCookie, "", -1))
	pageHeaders(w)
	http.Redirect(w, r, "/oauth2/authorize?"+params.Encode(), http.StatusSeeOther)
}

// handleConsent is POST /oauth2/consent.
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, params, ok := s.readAuthForm(w, r)
	if !ok {
		return
	}
	sess, u, ok := s.currentSession(r)
	if !ok {
		s.loginPage(w, r, ar, params, "", "Sign in again to continue.", http.StatusUnauthorized)
		return
	}
	if !equalToken(s.sessionCSRF(sess), r.PostForm.Get("csrf")) {
		s.opts.Logger.WarnContext(ctx, "consent form refused", "reason", "CSRF token mismatch", "sub", u.ID)
		s.errorPage(w, r, http.StatusForbidden, "This form has expired or did not come from this site. Go back and try again.")
		return
	}
	if r.PostForm.Get("decision") != "allow" {
		s.redirectError(w, r, ar, oauth2.Errorf(oauth2.AccessDenied, "the user denied access"))
		return
	}
	if err := s.authz.Consent(ctx, ar, u); err != nil {
		s.fault(ctx, "store consent", "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong.")
		return
	}
	s.issueCode(w, r, ar, sess, u)
}
