package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
)

// tokenResponseBody is RFC 6749 §5.1's successful response, with the ID
// token of OpenID Connect Core §3.1.3.3.
type tokenResponseBody struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// oauthHandler adapts an OAuth endpoint: errors are rendered by
// writeOAuthError, the one writer of RFC 6749 §5.2 bodies.
func (s *Server) oauthHandler(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		if err := h(w, r); err != nil {
			e := oauth2.AsError(err)
			if e.Code == oauth2.ServerError {
				s.fault(r.Context(), "oauth request failed", "err", err)
			}
			writeOAuthError(w, r, e)
		}
	})
}

func writeOAuthError(w http.ResponseWriter, r *http.Request, e *oauth2.Error) {
	status := e.HTTPStatus()
	if status == http.StatusUnauthorized && e.Code == oauth2.InvalidClient {
		w.Header().Set("WWW-Authenticate", `Basic realm="inkan"`)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	body := map[string]string{"error": e.Code}
	if e.Description != "" {
		body["error_description"] = e.Description
	}
	writeJSON(w, status, body)
}

// secretParams are the parameters held to no text rule: they are hashed,
// never stored or shown.
var secretParams = map[string]bool{"password": true, "client_secret": true}

// readForm parses an application/x-www-form-urlencoded body of at most
// maxBodyBytes and refuses repeated parameters (RFC 6749 §3.2) and, but for
// secrets, parameters that are not plaintext.Valid.
func readForm(w http.ResponseWriter, r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return oauth2.Errorf(oauth2.InvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		return oauth2.Errorf(oauth2.InvalidRequest, "malformed or oversized form body")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return oauth2.Errorf(oauth2.InvalidRequest, "parameter %s given more than once", k)
		}
		if !plaintext.Valid(k) || !secretParams[k] && !plaintext.Valid(r.PostForm.Get(k)) {
			return oauth2.Errorf(oauth2.InvalidRequest, "parameter %q holds control characters or invalid UTF-8", k)
		}
	}
	return nil
}

// authenticateClient reads and checks the client's credentials.
func (s *Server) authenticateClient(r *http.Request) (store.Client, error) {
	cred, err := oauth2.ReadCredentials(r)
	if err != nil {
		return store.Client{}, err
	}
	if !plaintext.Valid(cred.ClientID) { // from the Authorization header: readForm did not see it
		return store.Client{}, oauth2.Errorf(oauth2.InvalidClient, "malformed client credentials")
	}
	c, err := s.opts.Store.GetClient(r.Context(), cred.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		oauth2.HashSecret(cred.Secret) // the same work as for a known client
		return store.Client{}, oauth2.Errorf(oauth2.InvalidClient, "client authentication failed")
	}
	if err != nil {
		return store.Client{}, err
	}
	if err := oauth2.Authenticate(c, cred); err != nil {
		return store.Client{}, err
	}
	return c, nil
}

// handleToken is POST /oauth2/token (RFC 6749 §3.2).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	c, err := s.authenticateClient(r)
	if err != nil {
		return err
	}
	grant := r.PostForm.Get("grant_type")
	if !slices.Contains(oauth2.Grants, grant) {
		return oauth2.Errorf(oauth2.UnsupportedGrantType, "grant_type %q is not supported", grant)
	}
	if !oauth2.Allows(c, grant) {
		return oauth2.Errorf(oauth2.UnauthorizedClient, "the client may not use the %s grant", grant)
	}
	var resp tokenResponseBody
	switch grant {
	case oauth2.GrantClientCredentials:
		resp, err = s.clientCredentials(r, c)
	case oauth2.GrantPassword:
		resp, err = s.passwordGrant(r, c)
	case oauth2.GrantRefreshToken:
		resp, err = s.refreshGrant(r, c)
	case oauth2.GrantAuthorizationCode:
		resp, err = s.codeGrant(r, c)
	}
	if err != nil {
		return err
	}
	s.opts.Metrics.tokens.Inc()
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) clientCredentials(r *http.Request, c store.Client) (tokenResponseBody, error) {
	if c.Public {
		return tokenResponseBody{}, oauth2.Errorf(oauth2.UnauthorizedClient, "a public client cannot use client_credentials")
	}
	requested, err := oauth2.ParseScope(r.PostForm.Get("scope"))
	if err != nil {
		return tokenResponseBody{}, err
	}
	scope, err := oauth2.GrantScope(c, requested)
	if err != nil {
		return tokenResponseBody{}, err
	}
	// No user, so no OpenID Connect scopes.
	scope = slices.DeleteFunc(scope, func(s string) bool { return s == "openid" || s == "offline_access" })
	at, err := s.tokens.IssueAccess(token.AccessClaims{Subject: c.ID, Audience: audience(c), ClientID: c.ID, Scope: strings.Join(scope, " ")})
	if err != nil {
		return tokenResponseBody{}, err
	}
	return tokenResponseBody{AccessToken: at.Raw, TokenType: "Bearer", ExpiresIn: at.Claims.Expiry - at.Claims.IssuedAt, Scope: at.Claims.Scope}, nil
}

func audience(c store.Client) []string {
	if len(c.Audience) > 0 {
		return c.Audience
	}
	return []string{c.ID}
}

// passwordGrant is RFC 6749 §4.3, sharing the _authenticate route's
// throttling, timing and hash pool.
func (s *Server) passwordGrant(r *http.Request, c store.Client) (tokenResponseBody, error) {
	ctx := r.Context()
	username, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	if account.NormalizeEmail(username) == "" || password == "" || len(password) > account.MaxPasswordBytes {
		return tokenResponseBody{}, oauth2.Errorf(oauth2.InvalidRequest, "username and password are required")
	}
	requested, err := oauth2.ParseScope(r.PostForm.Get("scope"))
	if err != nil {
		return tokenResponseBody{}, err
	}
	scope, err := oauth2.GrantScope(c, requested)
	if err != nil {
		return tokenResponseBody{}, err
	}
	u, err := s.accounts.Authenticate(ctx, username, password, s.clientIP(r))
	if err != nil {
		var te *account.ThrottledError
		switch {
		case errors.As(err, &te):
			return tokenResponseBody{}, &oauth2.Error{Code: oauth2.InvalidGrant, Description: "too many attempts", Status: http.StatusTooManyRequests, RetryAfter: int(te.Seconds())}
		case errors.Is(err, account.ErrBusy):
			return tokenResponseBody{}, &oauth2.Error{Code: oauth2.TemporarilyUnavailable, Description: "busy, retry shortly", RetryAfter: 1}
		case errors.Is(err, account.ErrBadCredentials):
			return tokenResponseBody{}, oauth2.Errorf(oauth2.InvalidGrant, "incorrect username or password")
		}
		return tokenResponseBody{}, err
	}
	now := s.opts.Now()
	return s.issueForUser(ctx, c, u, scope, now, "", "", newFamily())
}

// issueForUser mints an access token, a refresh token when the client may
// refresh, and an ID token when openid was granted.
func (s *Server) issueForUser(ctx context.Context, c store.Client, u store.User, scope []string, authTime time.Time, nonce, sessionID, family string) (tokenResponseBody, error) {
	at, err := s.tokens.IssueAccess(token.AccessClaims{
		Subject: u.ID, Audience: audience(c), ClientID: c.ID, Scope: strings.Join(scope, " "),
		AuthTime: authTime.Unix(), Family: family, Profile: token.ProfileFor(u, scope), ValidAfter: u.TokensValidAfter,
	})
	if err != nil {
		return tokenResponseBody{}, err
	}
	resp := tokenResponseBody{AccessToken: at.Raw, TokenType: "Bearer", ExpiresIn: at.Claims.Expiry - at.Claims.IssuedAt, Scope: at.Claims.Scope}
	if oauth2.Allows(c, oauth2.GrantRefreshToken) {
		raw := randomToken()
		now := s.opts.Now().UTC().Truncate(time.Microsecond)
		err := s.opts.Store.CreateRefreshToken(ctx, store.RefreshToken{
			Hash: hashToken(raw), Family: family, ClientID: c.ID, UserID: u.ID, Scope: strings.Join(scope, " "),
			SessionID: sessionID, AuthTime: authTime.UTC().Truncate(time.Microsecond), CreatedAt: now, ExpiresAt: now.Add(s.opts.RefreshTokenTTL),
		})
		if err != nil {
			return tokenResponseBody{}, err
		}
		resp.RefreshToken = raw
	}
	if slices.Contains(scope, "openid") {
		if resp.IDToken, err = s.idToken(c, u, scope, authTime, nonce, sessionID, at.Raw); err != nil {
			return tokenResponseBody{}, err
		}
	}
	return resp, nil
}

// idToken mints an ID token; sessionID, the sid, names the login session
// it came from (none for the password grant), for logout.
func (s *Server) idToken(c store.Client, u store.User, scope []string, authTime time.Time, nonce, sessionID, accessToken string) (string, error) {
	p := token.ProfileFor(u, scope)
	claims := token.IDClaims{Subject: u.ID, Audience: c.ID, AuthTime: authTime.Unix(), Nonce: nonce, SessionID: sessionID,
		Email: p.Email, EmailVerified: p.EmailVerified, Name: p.Name}
	return s.tokens.IssueID(claims, accessToken)
}

// refreshGrant is RFC 6749 §6 with rotation: each refresh token is used
// once and replaced. Presented again within RefreshReuseWindow of its
// first use (parallel tabs, a lost response), it yields the same successor;
// after that, the whole family is revoked (RFC 9700 §4.14.2).
func (s *Server) refreshGrant(r *http.Request, c store.Client) (tokenResponseBody, error) {
	ctx := r.Context()
	raw := r.PostForm.Get("refresh_token")
	invalid := oauth2.Errorf(oauth2.InvalidGrant, "the refresh token is invalid, expired or revoked")
	if raw == "" || len(raw) > 256 {
		return tokenResponseBody{}, oauth2.Errorf(oauth2.InvalidRequest, "refresh_token is required")
	}
	now := s.opts.Now()
	rt, err := s.opts.Store.GetRefreshToken(ctx, hashToken(raw))
	if errors.Is(err, store.ErrNotFound) {
		return tokenResponseBody{}, invalid
	} else if err != nil {
		return tokenResponseBody{}, err
	}
	u, err := s.liveRefreshToken(ctx, rt, c, now)
	if errors.Is(err, errGrantEnded) {
		s.opts.Logger.InfoContext(ctx, "refresh token refused", "client_id", c.ID, "sub", rt.UserID, "reason", err)
		return tokenResponseBody{}, invalid
	} else if err != nil {
		return tokenResponseBody{}, err
	}
	requested, err := oauth2.ParseScope(r.PostForm.Get("scope"))
	if err != nil {
		return tokenResponseBody{}, err
	}
	granted := strings.Fields(rt.Scope)
	scope := granted
	if len(requested) > 0 {
		for _, sc := range requested {
			if !slices.Contains(granted, sc) {
				return tokenResponseBody{}, oauth2.Errorf(oauth2.InvalidScope, "scope %s was not granted", sc)
			}
		}
		scope = requested
	}
	// The successor is derived from the token and a server secret, so a
	// presentation within the reuse window gets the same one without the
	// server keeping any raw token. Marking the token used and storing its
	// successor is one transaction: one durable write per rotation.
	succ := s.successor(raw)
	nowt := now.UTC().Truncate(time.Microsecond)
	before, err := s.opts.Store.RotateRefreshToken(ctx, rt.Hash, nowt, store.RefreshToken{
		Hash: hashToken(succ), Family: rt.Family, ClientID: c.ID, UserID: u.ID, Scope: rt.Scope,
		SessionID: rt.SessionID, AuthTime: rt.AuthTime, CreatedAt: nowt, ExpiresAt: nowt.Add(s.opts.RefreshTokenTTL),
	})
	if err != nil {
		return tokenResponseBody{}, err
	}
	if !before.UsedAt.IsZero() && now.Sub(before.UsedAt) > s.opts.RefreshReuseWindow {
		// Reused after the window: the token leaked, or a client lost
		// track. Revoke the whole family, the successor stored just now too.
		s.revokeFamily(ctx, rt.Family)
		s.opts.Logger.WarnContext(ctx, "refresh token reused: family revoked", "client_id", c.ID, "sub", rt.UserID)
		return tokenResponseBody{}, invalid
	}
	at, err := s.tokens.IssueAccess(token.AccessClaims{
		Subject: u.ID, Audience: audience(c), ClientID: c.ID, Scope: strings.Join(scope, " "),
		AuthTime: rt.AuthTime.Unix(), Family: rt.Family, Profile: token.ProfileFor(u, scope), ValidAfter: u.TokensValidAfter,
	})
	if err != nil {
		return tokenResponseBody{}, err
	}
	resp := tokenResponseBody{AccessToken: at.Raw, TokenType: "Bearer", ExpiresIn: at.Claims.Expiry - at.Claims.IssuedAt, Scope: at.Claims.Scope, RefreshToken: succ}
	if slices.Contains(scope, "openid") {
		if resp.IDToken, err = s.idToken(c, u, scope, rt.AuthTime, "", rt.SessionID, at.Raw); err != nil {
			return tokenResponseBody{}, err
		}
	}
	return resp, nil
}

// errGrantEnded wraps why a refresh token or code no longer counts.
var errGrantEnded = errors.New("grant ended")

// liveRefreshToken returns the user of rt when client c may still use it at
// now: it is c's, unexpired, its family is not revoked, and its user is live
// (liveUser) for the sign-in it came from. Whether it was used already is
// the caller's matter. Any other answer wraps errGrantEnded, or is a store
// error.
func (s *Server) liveRefreshToken(ctx context.Context, rt store.RefreshToken, c store.Client, now time.Time) (store.User, error) {
	if rt.ClientID != c.ID {
		return store.User{}, fmt.Errorf("%w: another client's", errGrantEnded)
	}
	if !now.Before(rt.ExpiresAt) {
		return store.User{}, fmt.Errorf("%w: expired", errGrantEnded)
	}
	if s.revocations.family(rt.Family) {
		return store.User{}, fmt.Errorf("%w: %w", errGrantEnded, errRevoked)
	}
	return s.liveGrantUser(ctx, rt.UserID, rt.AuthTime)
}

// liveGrantUser is liveUser with its refusals wrapping errGrantEnded.
func (s *Server) liveGrantUser(ctx context.Context, id string, authTime time.Time) (store.User, error) {
	u, err := s.liveUser(ctx, id, authTime)
	if errors.Is(err, account.ErrUserGone) || errors.Is(err, account.ErrBeforeReset) {
		return store.User{}, fmt.Errorf("%w: %w", errGrantEnded, err)
	}
	return u, err
}

// successor is the refresh token that replaces raw.
func (s *Server) successor(raw string) string {
	m := hmac.New(sha256.New, s.opts.TokenSecret)
	m.Write([]byte("inkan refresh successor\x00" + raw))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) revokeFamily(ctx context.Context, family string) {
	ctx, cancel := mustFinish(ctx)
	defer cancel()
	exp := s.opts.Now().Add(s.opts.RefreshTokenTTL + s.opts.TokenTTL)
	if err := s.opts.Store.Revoke(ctx, store.Revocation{Kind: "family", Value: family, ExpiresAt: exp.UTC().Truncate(time.Microsecond)}); err != nil {
		s.opts.Logger.ErrorContext(ctx, "revoke token family", "err", err)
	}
	s.revocations.add("family", family)
}

// mustFinishTimeout bounds a write that mustFinish detaches.
const mustFinishTimeout = 10 * time.Second

// mustFinish detaches ctx from its request for a write that must not be
// lost when the client goes away mid-request: a revocation or the end of a
// session, which a client that disconnects at the right moment could
// otherwise cancel. The write keeps ctx's values (the request id) and gets
// a deadline of its own.
func mustFinish(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), mustFinishTimeout)
}

// randomToken is an opaque token of 256 random bits.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newFamily() string { return rand.Text() }

// hashToken is how opaque tokens and codes are stored.
func hashToken(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}
