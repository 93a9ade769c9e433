package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// Cookies of the browser flow.
const (
	sessionCookie = "inkan_session"
	csrfCookie    = "inkan_csrf"
	codeTTL       = 60 * time.Second
)

// authRequest is a validated authorization request (RFC 6749 §4.1.1,
// OpenID Connect Core §3.1.2.1).
type authRequest struct {
	client      store.Client
	redirectURI string
	scope       []string
	state       string
	nonce       string
	challenge   string
	prompt      string // "", "none", "login" or "consent"
	params      url.Values
}

// authError is a problem of an authorization request: sent back to the
// redirect URI when that is valid, shown on an error page otherwise.
type authError struct {
	page bool // the client or redirect URI is itself invalid
	err  *oauth2.Error
}

func (s *Server) parseAuthRequest(ctx context.Context, q url.Values) (*authRequest, *authError) {
	for _, k := range []string{"client_id", "redirect_uri"} {
		switch v := q[k]; {
		case len(v) > 1:
			return nil, &authError{page: true, err: oauth2.Errorf(oauth2.InvalidRequest, "%s given more than once", k)}
		case len(v) == 1 && !plaintext.Valid(v[0]):
			return nil, &authError{page: true, err: oauth2.Errorf(oauth2.InvalidRequest, "%s holds control characters or invalid UTF-8", k)}
		}
	}
	c, err := s.opts.Store.GetClient(ctx, q.Get("client_id"))
	if err != nil || q.Get("client_id") == "" {
		return nil, &authError{page: true, err: oauth2.Errorf(oauth2.InvalidRequest, "unknown client")}
	}
	redirect, ok := oauth2.MatchRedirectURI(c.RedirectURIs, q.Get("redirect_uri"))
	if !ok {
		return nil, &authError{page: true, err: oauth2.Errorf(oauth2.InvalidRequest, "the redirect_uri is not registered for this client")}
	}
	ar := &authRequest{client: c, redirectURI: redirect, state: q.Get("state"), nonce: q.Get("nonce"), params: q}
	fail := func(code, desc string) (*authRequest, *authError) {
		return ar, &authError{err: oauth2.Errorf(code, "%s", desc)}
	}
	for k, v := range q {
		if len(v) > 1 {
			return fail(oauth2.InvalidRequest, k+" given more than once")
		}
		// state and nonce are stored or echoed, and none is a secret.
		if !plaintext.Valid(k) || !plaintext.Valid(q.Get(k)) {
			if k == "state" {
				ar.state = "" // not echoed back
			}
			return fail(oauth2.InvalidRequest, fmt.Sprintf("parameter %q holds control characters or invalid UTF-8", k))
		}
	}
	if q.Get("response_type") != "code" {
		return fail(oauth2.UnsupportedResponseType, "only response_type=code is supported")
	}
	if !oauth2.Allows(c, oauth2.GrantAuthorizationCode) {
		return fail(oauth2.UnauthorizedClient, "the client may not use the authorization code flow")
	}
	if q.Has("request") || q.Has("request_uri") {
		return fail(oauth2.InvalidRequest, "request objects are not supported")
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		return fail(oauth2.InvalidRequest, "only response_mode=query is supported")
	}
	requested, err := oauth2.ParseScope(q.Get("scope"))
	if err != nil {
		return fail(oauth2.InvalidScope, oauth2.AsError(err).Description)
	}
	if ar.scope, err = oauth2.GrantScope(c, requested); err != nil {
		return fail(oauth2.InvalidScope, oauth2.AsError(err).Description)
	}
	switch m := q.Get("code_challenge_method"); {
	case m != "" && m != "S256":
		return fail(oauth2.InvalidRequest, "code_challenge_method must be S256")
	case q.Get("code_challenge") != "" && !oauth2.ValidChallenge(q.Get("code_challenge")):
		return fail(oauth2.InvalidRequest, "malformed code_challenge")
	case m == "S256" && q.Get("code_challenge") == "":
		return fail(oauth2.InvalidRequest, "code_challenge is required with code_challenge_method")
	case q.Get("code_challenge") != "" && m == "":
		return fail(oauth2.InvalidRequest, "code_challenge_method=S256 is required (plain is not supported)")
	}
	ar.challenge = q.Get("code_challenge")
	if c.Public && ar.challenge == "" {
		return fail(oauth2.InvalidRequest, "PKCE (S256) is required for public clients")
	}
	if len(ar.nonce) > 512 || len(ar.state) > 2048 {
		return fail(oauth2.InvalidRequest, "state or nonce too long")
	}
	switch p := q.Get("prompt"); p {
	case "", "none", "login", "consent":
		ar.prompt = p
	default:
		return fail(oauth2.InvalidRequest, "prompt must be none, login or consent")
	}
	return ar, nil
}

// redirectError sends an error back to the client (RFC 6749 §4.1.2.1), with
// the issuer (RFC 9207) so that a client talking to several servers can
// tell which one answered.
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, ar *authRequest, e *oauth2.Error) {
	v := url.Values{"error": {e.Code}, "iss": {s.opts.Issuer}}
	if e.Description != "" {
		v.Set("error_description", e.Description)
	}
	if ar.state != "" {
		v.Set("state", ar.state)
	}
	s.redirectTo(w, r, ar.redirectURI, v)
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
		if aerr.page {
			s.errorPage(w, r, http.StatusBadRequest, "This sign-in request is invalid: "+aerr.err.Description+".")
			return
		}
		s.redirectError(w, r, ar, aerr.err)
		return
	}
	sess, user, ok := s.currentSession(r)
	if !ok || ar.prompt == "login" {
		if ar.prompt == "none" {
			s.redirectError(w, r, ar, oauth2.Errorf(oauth2.LoginRequired, "the user is not signed in"))
			return
		}
		params := clone(ar.params)
		params.Del("prompt") // asked for once: the login page is the answer
		if ar.prompt == "consent" {
			params.Set("prompt", "consent")
		}
		s.loginPage(w, r, ar, params, "", "", http.StatusOK)
		return
	}
	if s.needsConsent(ctx, ar, user) {
		if ar.prompt == "none" {
			s.redirectError(w, r, ar, oauth2.Errorf(oauth2.ConsentRequired, "the user has not consented"))
			return
		}
		params := clone(ar.params)
		params.Del("prompt")
		s.renderPage(w, r, http.StatusOK, "consent", pageData{
			Title: "Allow access?", Client: ar.client.Name, Email: user.Email, Scopes: ar.scope,
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

// needsConsent is the one decision whether the user must confirm this
// authorization on the consent page (and whether prompt=none must answer
// consent_required). A trusted client never asks; others ask unless the user
// already consented to every requested scope, or when prompt=consent.
//
// A public client has no secret, so anyone can send its client_id: another
// app on the device that registers the same private-use scheme or listens on
// the loopback port receives the code (RFC 8252 §8.6). Neither remembered
// consent nor --trusted can tell the real app from an impostor, so a public
// client is always asked, unless it is trusted and this request's redirect
// URI is https: an app-claimed https URI (RFC 8252 §7.2) that only the app
// owning the domain receives.
func (s *Server) needsConsent(ctx context.Context, ar *authRequest, u store.User) bool {
	if ar.client.Public {
		u, err := url.Parse(ar.redirectURI)
		return !ar.client.Trusted || err != nil || u.Scheme != "https"
	}
	if ar.client.Trusted {
		return false
	}
	if ar.prompt == "consent" {
		return true
	}
	c, err := s.opts.Store.GetConsent(ctx, u.ID, ar.client.ID)
	if err != nil {
		return true
	}
	for _, sc := range ar.scope {
		if !slices.Contains(c.Scopes, sc) {
			return true
		}
	}
	return false
}

func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, ar *authRequest, sess store.Session, u store.User) {
	ctx := r.Context()
	raw := randomToken()
	now := s.opts.Now().UTC().Truncate(time.Microsecond)
	err := s.opts.Store.CreateAuthCode(ctx, store.AuthCode{
		Hash: hashToken(raw), ClientID: ar.client.ID, UserID: u.ID, RedirectURI: ar.params.Get("redirect_uri"),
		Scope: strings.Join(ar.scope, " "), Nonce: ar.nonce, CodeChallenge: ar.challenge, SessionID: sess.ID,
		Family: newFamily(), AuthTime: sess.AuthTime, CreatedAt: now, ExpiresAt: now.Add(codeTTL),
	})
	if err != nil {
		s.fault(ctx, "store authorization code", "err", err)
		s.redirectError(w, r, ar, oauth2.Errorf(oauth2.ServerError, "the server could not answer"))
		return
	}
	v := url.Values{"code": {raw}, "iss": {s.opts.Issuer}}
	if ar.state != "" {
		v.Set("state", ar.state)
	}
	s.redirectTo(w, r, ar.redirectURI, v)
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
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, ar *authRequest, params url.Values, email, msg string, status int) {
	token := randomToken()
	http.SetCookie(w, s.cookie(csrfCookie, token, time.Hour))
	s.renderPage(w, r, status, "login", pageData{
		Title: "Sign in", Client: ar.client.Name, Email: email, Error: msg, CSRF: token, Request: params.Encode(),
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
func (s *Server) readAuthForm(w http.ResponseWriter, r *http.Request) (*authRequest, url.Values, bool) {
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
		s.errorPage(w, r, http.StatusBadRequest, "This request is invalid: "+aerr.err.Description+".")
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
	scopes := ar.scope
	if old, err := s.opts.Store.GetConsent(ctx, u.ID, ar.client.ID); err == nil {
		for _, sc := range old.Scopes {
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	err := s.opts.Store.PutConsent(ctx, store.Consent{UserID: u.ID, ClientID: ar.client.ID, Scopes: scopes, CreatedAt: s.opts.Now().UTC().Truncate(time.Microsecond)})
	if err != nil {
		s.fault(ctx, "store consent", "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong.")
		return
	}
	s.issueCode(w, r, ar, sess, u)
}
