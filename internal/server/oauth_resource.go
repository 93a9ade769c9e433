package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/verify"
)

// accessExtra are the RFC 9068 claims verify.Claims has no field for.
type accessExtra struct {
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Family   string `json:"fam"`
	AuthTime int64  `json:"auth_time"`
}

// Why a token is refused, for the logs.
var (
	errRevoked    = oauth2.ErrRevoked
	errClientGone = errors.New("client deleted")
)

// checkAccessToken verifies raw as an access token (the tutorial's or RFC
// 9068's; the verifier refuses ID tokens) that nobody revoked, whose client,
// if it names one, still exists, and whose user, if it has one, is live
// (liveUser) for a token issued at its iat.
func (s *Server) checkAccessToken(ctx context.Context, raw string) (*verify.Claims, accessExtra, *store.User, error) {
	var extra accessExtra
	claims, err := s.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, extra, nil, err
	}
	if err := claims.Decode(&extra); err != nil {
		return nil, extra, nil, err
	}
	if s.revocations.Revoked(claims.ID, extra.Family) {
		return nil, extra, nil, errRevoked
	}
	if extra.ClientID != "" { // deleting a client ends its tokens
		if _, err := s.opts.Store.GetClient(ctx, extra.ClientID); errors.Is(err, store.ErrNotFound) {
			return nil, extra, nil, errClientGone
		} else if err != nil {
			return nil, extra, nil, err
		}
		if claims.Subject == extra.ClientID {
			return claims, extra, nil, nil // client_credentials: no user
		}
	}
	u, err := s.liveUser(ctx, claims.Subject, claims.IssuedAt)
	if err != nil {
		return nil, extra, nil, err
	}
	return claims, extra, &u, nil
}

// liveUser is account.Service.Live, the one rule for whether what was
// issued to user id at issued still counts.
func (s *Server) liveUser(ctx context.Context, id string, issued time.Time) (store.User, error) {
	return s.accounts.Live(ctx, id, issued)
}

// isRFC9068 tells an OAuth access token (typ at+jwt) from the tutorial's.
func isRFC9068(c *verify.Claims) bool {
	return strings.TrimPrefix(strings.ToLower(c.Type), "application/") == "at+jwt"
}

// grantedScope is what an access token may see of its user: its scope, or
// for the tutorial's tokens, which predate scopes, everything, as always.
func grantedScope(c *verify.Claims, extra accessExtra) []string {
	if isRFC9068(c) {
		return strings.Fields(extra.Scope)
	}
	return []string{"openid", "profile", "email"}
}

// handleIntrospect is RFC 7662: an authenticated client asks whether a token
// is active (oauth2.Introspector).
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	c, err := s.authenticateClient(r)
	if err != nil {
		return err
	}
	out, err := s.oauth.introspector.Introspect(r.Context(), c, r.PostForm.Get("token"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleRevoke is RFC 7009: the client that holds a token revokes it
// (oauth2.Revoker), and is answered 200 whatever the token was (§2.2).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	c, err := s.authenticateClient(r)
	if err != nil {
		return err
	}
	if err := s.oauth.revoker.Revoke(r.Context(), c, r.PostForm.Get("token")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
