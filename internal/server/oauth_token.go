package server

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// oauthProtocol is the OAuth 2.0 protocol (package oauth2) that the token,
// revocation and introspection endpoints call into, wired by wireOAuth.
type oauthProtocol struct {
	issuer       *oauth2.Issuer
	tokens       *oauth2.TokenEndpoint
	revoker      *oauth2.Revoker
	introspector *oauth2.Introspector
}

// wireOAuth builds the revocation set and the OAuth protocol over the
// server's store, keys, clock and logger, with the adapters of
// oauth_adapters.go for what package oauth2 asks of the server.
func (s *Server) wireOAuth() {
	o := s.opts
	s.revocations = &oauth2.Revocations{Store: o.Store, Logger: o.Logger, Now: o.Now, FamilyTTL: o.RefreshTokenTTL + o.TokenTTL}
	users := liveUsers{s}
	access := accessTokens{s}
	issuer := &oauth2.Issuer{Tokens: s.tokens, IDTokens: s.ids, Store: o.Store, Secret: o.TokenSecret, RefreshTTL: o.RefreshTokenTTL, Now: o.Now}
	policy := &oauth2.RefreshPolicy{Users: users, Revocations: s.revocations, ReuseWindow: o.RefreshReuseWindow}
	s.oauth = oauthProtocol{
		issuer: issuer,
		tokens: oauth2.NewTokenEndpoint(
			&oauth2.AuthCodeGrant{Store: o.Store, Issuer: issuer, Users: users, Revocations: s.revocations, Logger: o.Logger, Now: o.Now},
			&oauth2.RefreshGrant{Store: o.Store, Issuer: issuer, Policy: policy, Logger: o.Logger, Now: o.Now},
			&oauth2.ClientCredentialsGrant{Issuer: issuer},
			&oauth2.PasswordGrant{Passwords: passwordLogins{s}, Issuer: issuer, MaxPasswordBytes: account.MaxPasswordBytes, Now: o.Now},
		),
		revoker:      &oauth2.Revoker{Store: o.Store, Access: access, Revocations: s.revocations, Leeway: Leeway},
		introspector: &oauth2.Introspector{Store: o.Store, Access: access, Policy: policy, Now: o.Now},
	}
}

// oauthHandler adapts an OAuth endpoint: errors are rendered by
// writeOAuthError, the one writer of RFC 6749 §5.2 bodies, and logged by
// their level: a fault (server_error) at Error through fault. A client's
// mistake is not logged here: the access log has its status, and the
// grants log the refusals worth a line (a replayed code, a reused refresh
// token).
func (s *Server) oauthHandler(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		if err := h(w, r); err != nil {
			e := oauth2.AsError(err)
			if e.LogLevel() >= slog.LevelError {
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

// handleToken is POST /oauth2/token (RFC 6749 §3.2): the form, the
// client, then the grant the request names (oauth2.TokenEndpoint).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	c, err := s.authenticateClient(r)
	if err != nil {
		return err
	}
	resp, err := s.oauth.tokens.Exchange(r.Context(), oauth2.ParseTokenRequest(r.PostForm, c, s.clientIP(r)))
	if err != nil {
		return err
	}
	s.opts.Metrics.tokens.Inc()
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// successor is the refresh token that replaces raw (oauth2.Issuer).
func (s *Server) successor(raw string) string { return s.oauth.issuer.Successor(raw) }

// revokeFamily revokes every token of a grant (oauth2.Revocations).
func (s *Server) revokeFamily(ctx context.Context, family string) {
	s.revocations.RevokeFamily(ctx, family)
}

// mustFinish detaches ctx from its request for a write that must not be
// lost when the client goes away mid-request (oauth2.MustFinish).
func mustFinish(ctx context.Context) (context.Context, context.CancelFunc) {
	return oauth2.MustFinish(ctx)
}

// randomToken is an opaque token of 256 random bits (oauth2.RandomToken).
func randomToken() string { return oauth2.RandomToken() }

// newFamily names a new grant (oauth2.NewFamily).
func newFamily() string { return oauth2.NewFamily() }

// hashToken is how opaque tokens and codes are stored (oauth2.HashToken).
func hashToken(raw string) string { return oauth2.HashToken(raw) }
