package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
)

// codeGrant exchanges an authorization code (RFC 6749 §4.1.3, RFC 7636
// §4.5). A code is single-use: a second exchange revokes every token issued
// from it (RFC 6749 §4.1.2).
func (s *Server) codeGrant(r *http.Request, c store.Client) (tokenResponseBody, error) {
	ctx := r.Context()
	raw := r.PostForm.Get("code")
	invalid := oauth2.Errorf(oauth2.InvalidGrant, "the authorization code is invalid, expired or used")
	if raw == "" || len(raw) > 256 {
		return tokenResponseBody{}, oauth2.Errorf(oauth2.InvalidRequest, "code is required")
	}
	now := s.opts.Now()
	hash := hashToken(raw)
	// Check before redeeming: a request that fails its checks (another
	// client, a wrong verifier) must not use the code up for its owner.
	code, err := s.opts.Store.GetAuthCode(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return tokenResponseBody{}, invalid
	} else if err != nil {
		return tokenResponseBody{}, err
	}
	if code.ClientID != c.ID || !now.Before(code.ExpiresAt) {
		return tokenResponseBody{}, invalid
	}
	if r.PostForm.Get("redirect_uri") != code.RedirectURI {
		return tokenResponseBody{}, oauth2.Errorf(oauth2.InvalidGrant, "redirect_uri does not match the authorization request")
	}
	verifier := r.PostForm.Get("code_verifier")
	switch {
	case code.CodeChallenge != "" && !oauth2.VerifyS256(verifier, code.CodeChallenge):
		return tokenResponseBody{}, oauth2.Errorf(oauth2.InvalidGrant, "code_verifier does not match the code_challenge")
	case code.CodeChallenge == "" && verifier != "":
		// A verifier for a code issued without a challenge: a PKCE downgrade
		// (RFC 9700 §4.8.2).
		return tokenResponseBody{}, oauth2.Errorf(oauth2.InvalidGrant, "no code_challenge was sent for this code")
	}
	// Redeem atomically: of parallel exchanges, one wins; a second exchange
	// by the rightful client is a replay, and revokes the grant.
	if _, err := s.opts.Store.RedeemAuthCode(ctx, hash, now.UTC().Truncate(time.Microsecond)); errors.Is(err, store.ErrConflict) {
		s.revokeFamily(ctx, code.Family)
		s.opts.Logger.WarnContext(ctx, "authorization code replayed: its tokens are revoked", "client_id", c.ID, "sub", code.UserID)
		return tokenResponseBody{}, invalid
	} else if err != nil {
		return tokenResponseBody{}, err
	}
	u, err := s.liveGrantUser(ctx, code.UserID, code.AuthTime)
	if errors.Is(err, errGrantEnded) {
		s.opts.Logger.InfoContext(ctx, "authorization code refused", "client_id", c.ID, "sub", code.UserID, "reason", err)
		return tokenResponseBody{}, invalid
	} else if err != nil {
		return tokenResponseBody{}, err
	}
	return s.issueForUser(ctx, c, u, strings.Fields(code.Scope), code.AuthTime, code.Nonce, code.SessionID, code.Family)
}
