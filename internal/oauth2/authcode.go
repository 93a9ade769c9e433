package oauth2

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// AuthCodeGrant exchanges an authorization code (RFC 6749 §4.1.3, RFC 7636
// §4.5). A code is single-use: a second exchange revokes every token issued
// from it (RFC 6749 §4.1.2).
type AuthCodeGrant struct {
	Store       store.GrantStore
	Issuer      *Issuer
	Users       Users
	Revocations *Revocations
	Logger      *slog.Logger     // required
	Now         func() time.Time // nil means time.Now
}

// Type is authorization_code.
func (*AuthCodeGrant) Type() string { return GrantAuthorizationCode }

// Exchange redeems req's code and mints its tokens.
func (g *AuthCodeGrant) Exchange(ctx context.Context, req *TokenRequest) (*TokenResponse, error) {
	c, raw := req.Client, req.Code
	invalid := Errorf(InvalidGrant, "the authorization code is invalid, expired or used")
	if raw == "" || len(raw) > 256 {
		return nil, Errorf(InvalidRequest, "code is required")
	}
	now := nowOf(g.Now)
	hash := HashToken(raw)
	// Check before redeeming: a request that fails its checks (another
	// client, a wrong verifier) must not use the code up for its owner.
	code, err := g.Store.GetAuthCode(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	if code.ClientID != c.ID || !now.Before(code.ExpiresAt) {
		return nil, invalid
	}
	if req.RedirectURI != code.RedirectURI {
		return nil, Errorf(InvalidGrant, "redirect_uri does not match the authorization request")
	}
	if err := checkVerifier(code.CodeChallenge, req.CodeVerifier); err != nil {
		return nil, err
	}
	// Redeem atomically: of parallel exchanges, one wins; a second exchange
	// by the rightful client is a replay, and revokes the grant.
	if _, err := g.Store.RedeemAuthCode(ctx, hash, now.UTC().Truncate(time.Microsecond)); errors.Is(err, store.ErrConflict) {
		g.Revocations.RevokeFamily(ctx, code.Family)
		g.Logger.WarnContext(ctx, "authorization code replayed: its tokens are revoked", "client_id", c.ID, "sub", code.UserID)
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	u, err := g.Users.Live(ctx, code.UserID, code.AuthTime)
	if errors.Is(err, ErrGrantEnded) {
		g.Logger.InfoContext(ctx, "authorization code refused", "client_id", c.ID, "sub", code.UserID, "reason", err)
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	return g.Issuer.Issue(ctx, UserGrant{
		Client: c, User: u, Scope: strings.Fields(code.Scope), AuthTime: code.AuthTime, AMR: code.AMR,
		Nonce: code.Nonce, SessionID: code.SessionID, Family: code.Family,
	})
}
