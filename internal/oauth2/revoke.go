package oauth2

import (
	"context"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// Revoker is RFC 7009 revocation: the client that holds a token revokes
// it. A refresh token revokes its whole grant; an access token is refused
// until it expires.
type Revoker struct {
	Store       store.GrantStore
	Access      AccessTokens
	Revocations *Revocations
	// Leeway is the clock skew verification tolerates on exp: an access
	// token's revocation outlives its exp by that much.
	Leeway time.Duration
}

// Revoke revokes raw for the authenticated client c. Unknown or foreign
// tokens are no error, as RFC 7009 §2.2 says.
func (r *Revoker) Revoke(ctx context.Context, c store.Client, raw string) error {
	if raw == "" {
		return Errorf(InvalidRequest, "token is required")
	}
	if jwt(raw) {
		at, err := r.Access.Verify(ctx, raw)
		if err == nil && at.ClientID == c.ID { // an access token: the verifier refuses ID tokens
			return r.Revocations.RevokeAccess(ctx, at.ID, at.Expiry.Add(r.Leeway))
		}
		return nil
	}
	if rt, err := r.Store.GetRefreshToken(ctx, HashToken(raw)); err == nil && rt.ClientID == c.ID {
		r.Revocations.RevokeFamily(ctx, rt.Family)
	}
	return nil
}
