package server

import (
	"context"
	"errors"
	"strings"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/verify"
)

// accessTokens is the one check of an access token presented to inkan:
// by GET /user, /userinfo and introspection (check), and through the
// adapters of oauth_adapters.go by revocation.
type accessTokens struct {
	verifier    *verify.Verifier    // the signature, iss, exp, nbf and typ
	revocations *oauth2.Revocations // revoked tokens and grant families
	clients     store.ClientStore   // a token of a deleted client is dead
	accounts    *account.Service    // account.Service.Live: the user's side
}

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

// check verifies raw as an access token (the tutorial's or RFC 9068's; the
// verifier refuses ID tokens) that nobody revoked, whose client, if it
// names one, still exists, and whose user, if it has one, is live
// (account.Service.Live, the one rule for whether what was issued to a
// user still counts) for a token issued at its iat.
func (a *accessTokens) check(ctx context.Context, raw string) (*verify.Claims, accessExtra, *store.User, error) {
	var extra accessExtra
	claims, err := a.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, extra, nil, err
	}
	if err := claims.Decode(&extra); err != nil {
		return nil, extra, nil, err
	}
	if a.revocations.Revoked(claims.ID, extra.Family) {
		return nil, extra, nil, errRevoked
	}
	if extra.ClientID != "" { // deleting a client ends its tokens
		if _, err := a.clients.GetClient(ctx, extra.ClientID); errors.Is(err, store.ErrNotFound) {
			return nil, extra, nil, errClientGone
		} else if err != nil {
			return nil, extra, nil, err
		}
		if claims.Subject == extra.ClientID {
			return claims, extra, nil, nil // client_credentials: no user
		}
	}
	u, err := a.accounts.Live(ctx, claims.Subject, claims.IssuedAt)
	if err != nil {
		return nil, extra, nil, err
	}
	return claims, extra, &u, nil
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
