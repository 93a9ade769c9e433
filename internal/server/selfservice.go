package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/i18n"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
	"github.com/inkan-dev/inkan/verify"
)

// selfService serves the JSON routes by which a signed-in user looks after
// their own account, beside the tutorial's and in its manner ({"detail":
// ...} errors, the Bearer token of GET /user):
//
//	PATCH  /user                {"name"}                              → 200 the user
//	POST   /user/_password      {"current_password", "new_password"}  → 200 a fresh token
//	GET    /user/sessions                                             → 200 {"sessions": [...]}
//	DELETE /user/sessions/{id}                                        → 204, that session ended
//	DELETE /user/sessions                                             → 204, signed out everywhere
//	DELETE /user                {"password"}                          → 204, the account deleted
//
// The rules are account.Service's (self.go there).
type selfService struct {
	issuer   string           // the audience of the Bearer tokens, as at GET /user
	accounts *account.Service // the rules
	tokens   *token.Issuer    // the fresh token after a password change
	access   *accessTokens    // the Bearer token
	sessions *browserSessions // the browser's session, if the request carries its cookie
	proxies  proxies          // the client's address, for the login throttle
	metrics  *Metrics
	// loggedOut wakes the delivery of back-channel logouts
	// (backchannel.kick) after sessions end.
	loggedOut func()
	log       logs
}

// Mount registers the self-service routes on mux.
func (s *selfService) Mount(mux *http.ServeMux) {
	mux.Handle("PATCH /user", detailRoute(s.log, s.handleRename))
	mux.Handle("DELETE /user", detailRoute(s.log, s.handleDelete))
	mux.Handle("POST /user/_password", detailRoute(s.log, s.handlePassword))
	mux.Handle("GET /user/sessions", detailRoute(s.log, s.handleSessions))
	mux.Handle("DELETE /user/sessions", detailRoute(s.log, s.handleEndAll))
	mux.Handle("DELETE /user/sessions/{id}", detailRoute(s.log, s.handleEndSession))
}

// detailRoute adapts a handler of the tutorial's manner: its errors are
// rendered as {"detail": ...}; anything that is not a *detailError is
// logged and sent as a bare 500.
func detailRoute(log logs, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var de *detailError
		if !errors.As(err, &de) {
			log.fault(r.Context(), "request failed", "err", err)
			de = errInternal
		}
		writeDetailError(w, de)
	})
}

// bearerUser is the user of the request's Bearer token, by GET /user's
// rule: a token of the tutorial's, or an OAuth access token whose aud
// includes the issuer (RFC 9068 §4: a token minted for another audience is
// not for these routes), of a live user. It returns errNoToken or
// errBadToken otherwise, having logged why.
func (a *accessTokens) bearerUser(r *http.Request, issuer string, log logs) (*verify.Claims, accessExtra, store.User, error) {
	ctx := r.Context()
	raw, err := parseBearer(r.Header.Get("Authorization"), maxTokenSize)
	if errors.Is(err, errNoAuthorization) {
		return nil, accessExtra{}, store.User{}, errNoToken
	}
	if err != nil {
		log.InfoContext(ctx, "token refused", "reason", err)
		return nil, accessExtra{}, store.User{}, errBadToken
	}
	claims, extra, u, err := a.check(ctx, raw)
	if err == nil && u == nil {
		err = errors.New("a client's own token, with no user")
	}
	if err == nil && isRFC9068(claims) && !slices.Contains(claims.Audience, issuer) {
		err = fmt.Errorf("an access token for %q, not for the issuer", claims.Audience)
	}
	if err != nil {
		log.InfoContext(ctx, "token refused", "reason", fmt.Sprint(err))
		return nil, accessExtra{}, store.User{}, errBadToken
	}
	return claims, extra, *u, nil
}

// Errors of the self-service routes.
var (
	errWrongPassword = &detailError{status: http.StatusForbidden, detail: "Incorrect password"}
	errNoSession     = detailf(http.StatusNotFound, "Session not found")
)

// selfError is the self-service routes' answer to the account service's
// errors: 422 for input against the rules, 403 for a wrong password, 404
// for a session that is not the user's, 401 when the token's user went
// meanwhile, and tutorialError's answers (429, 503) for the rest.
func selfError(err error) error {
	var ie *account.InvalidError
	switch {
	case errors.As(err, &ie):
		return &detailError{status: http.StatusUnprocessableEntity, detail: fieldErrors(ie.Problems)}
	case errors.Is(err, account.ErrWrongPassword):
		return errWrongPassword
	case errors.Is(err, account.ErrNoSession):
		return errNoSession
	case errors.Is(err, account.ErrUserGone), errors.Is(err, account.ErrBeforeReset):
		return errBadToken
	}
	return tutorialError(err)
}

// stringMembers reads the string members names of a JSON object body
// (readJSONObject), all required, and refuses any other member: a client
// that sends one expects an effect these routes do not have (PATCH /user
// with an email, which changes only through POST /user/_email). The
// problems are FastAPI's 422.
func stringMembers(w http.ResponseWriter, r *http.Request, names ...string) (map[string]string, error) {
	fields, err := readJSONObject(w, r)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var problems []fieldError
	for _, name := range names {
		raw, ok := fields[name]
		var v string
		switch {
		case !ok:
			problems = append(problems, fieldError{Loc: []string{"body", name}, Type: "missing", Msg: "Field required"})
		case bytes.Equal(bytes.TrimSpace(raw), []byte("null")) || json.Unmarshal(raw, &v) != nil:
			problems = append(problems, fieldError{Loc: []string{"body", name}, Type: "string_type", Msg: "Input should be a valid string"})
		default:
			out[name] = v
		}
	}
	extra := make([]string, 0, len(fields))
	for name := range fields {
		if !slices.Contains(names, name) {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		problems = append(problems, fieldError{Loc: []string{"body", name}, Type: "extra_forbidden", Msg: "Extra inputs are not permitted"})
	}
	if len(problems) > 0 {
		return nil, &detailError{status: http.StatusUnprocessableEntity, detail: problems}
	}
	return out, nil
}

// handleRename is PATCH /user {"name"}: the name, under the signup rules
// → 200 with the user, as POST /user answers.
func (s *selfService) handleRename(w http.ResponseWriter, r *http.Request) error {
	_, _, u, err := s.access.bearerUser(r, s.issuer, s.log)
	if err != nil {
		return err
	}
	in, err := stringMembers(w, r, "name")
	if err != nil {
		return err
	}
	u, err = s.accounts.Rename(r.Context(), u.ID, in["name"])
	if err != nil {
		return selfError(err)
	}
	noStore(w)
	writeJSON(w, http.StatusOK, userResponse{ID: u.ID, Name: u.Name, Email: u.Email, CreatedAt: u.CreatedAt})
	return nil
}

// handlePassword is POST /user/_password {"current_password",
// "new_password"}: the current password checked as a login is (the login
// throttle, the hash pool), the new one under the signup policy. Every
// token, refresh token, code and session issued before ends (the user's
// TokensValidAfter moves; the sessions' clients get back-channel logouts),
// the caller's token too, and the user is mailed a notice (when the server
// sends mail), so the answer is a fresh token in the shape of
// POST /user/_authenticate's, with which the caller stays signed in.
func (s *selfService) handlePassword(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	_, _, u, err := s.access.bearerUser(r, s.issuer, s.log)
	if err != nil {
		return err
	}
	in, err := stringMembers(w, r, "current_password", "new_password")
	if err != nil {
		return err
	}
	u, err = s.accounts.ChangePassword(ctx, u.ID, in["current_password"], in["new_password"], s.proxies.clientIP(r), i18n.Match(r))
	if err != nil {
		return selfError(err)
	}
	s.loggedOut()
	tok, err := s.tokens.Issue(token.User{ID: u.ID, Email: u.Email, Name: u.Name, ValidAfter: u.TokensValidAfter})
	if err != nil {
		return err
	}
	s.metrics.tokens.Inc()
	s.log.InfoContext(ctx, "token issued", "sub", u.ID, "kid", tok.KeyID, "jti", tok.Claims.ID)
	noStore(w)
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok.Raw, TokenType: "Bearer", ExpiresIn: tok.ExpiresIn()})
	return nil
}

// sessionResponse is one of the user's browser sessions. ID is the public
// sid (the one ID tokens carry), never the cookie or its hash.
type sessionResponse struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	SignedIn  time.Time `json:"signed_in_at"`
	ExpiresAt time.Time `json:"expires_at"`
	UserAgent string    `json:"user_agent"`
	Address   string    `json:"address"`
	Current   bool      `json:"current"`
}

type sessionsResponse struct {
	Sessions []sessionResponse `json:"sessions"`
}

// handleSessions is GET /user/sessions: the user's live browser sessions,
// the latest sign-in first, with current true for the one the request came
// from: the session of its cookie, or the one its OAuth access token was
// issued under.
func (s *selfService) handleSessions(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	_, extra, u, err := s.access.bearerUser(r, s.issuer, s.log)
	if err != nil {
		return err
	}
	list, err := s.accounts.Sessions(ctx, u.ID)
	if err != nil {
		return err
	}
	current := ""
	if sess, su, ok := s.sessions.current(r); ok && su.ID == u.ID {
		current = sess.ID
	} else if current, err = s.accounts.SessionOf(ctx, u.ID, extra.Family, list); err != nil {
		return err
	}
	out := sessionsResponse{Sessions: make([]sessionResponse, len(list))}
	for i, se := range list {
		out.Sessions[i] = sessionResponse{
			ID: se.ID, CreatedAt: se.CreatedAt, SignedIn: se.AuthTime, ExpiresAt: se.ExpiresAt,
			UserAgent: se.UserAgent, Address: se.Address, Current: se.ID == current,
		}
	}
	noStore(w)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleEndSession is DELETE /user/sessions/{id}: that session of the
// user's ends, with its refresh tokens and codes, and the access tokens
// issued under it (their grants are revoked); its clients get back-channel
// logouts. Another user's session, or one that ended, is 404.
func (s *selfService) handleEndSession(w http.ResponseWriter, r *http.Request) error {
	_, _, u, err := s.access.bearerUser(r, s.issuer, s.log)
	if err != nil {
		return err
	}
	if err := s.accounts.EndSession(r.Context(), u.ID, r.PathValue("id")); err != nil {
		return selfError(err)
	}
	s.loggedOut()
	noStore(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleEndAll is DELETE /user/sessions, sign-out-everywhere: every
// session, refresh token and code of the user ends, and every access token
// issued before, the caller's own included (TokensValidAfter moves).
func (s *selfService) handleEndAll(w http.ResponseWriter, r *http.Request) error {
	_, _, u, err := s.access.bearerUser(r, s.issuer, s.log)
	if err != nil {
		return err
	}
	if _, err := s.accounts.EndAllSessions(r.Context(), u.ID); err != nil {
		return selfError(err)
	}
	s.loggedOut()
	noStore(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleDelete is DELETE /user {"password"}: the account is deleted once
// the password is checked as a login is; its sessions' clients get
// back-channel logouts, and its tokens stop working.
func (s *selfService) handleDelete(w http.ResponseWriter, r *http.Request) error {
	_, _, u, err := s.access.bearerUser(r, s.issuer, s.log)
	if err != nil {
		return err
	}
	in, err := stringMembers(w, r, "password")
	if err != nil {
		return err
	}
	if err := s.accounts.DeleteAccount(r.Context(), u.ID, in["password"], s.proxies.clientIP(r)); err != nil {
		return selfError(err)
	}
	s.loggedOut()
	noStore(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
