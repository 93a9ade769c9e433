package oauth2

import (
	"context"
	"slices"
)

// ClientCredentialsGrant is RFC 6749 §4.4: a confidential client gets an
// access token of its own, for its own scopes.
type ClientCredentialsGrant struct {
	Issuer *Issuer
}

// Type is client_credentials.
func (*ClientCredentialsGrant) Type() string { return GrantClientCredentials }

// Exchange mints the client's access token.
func (g *ClientCredentialsGrant) Exchange(_ context.Context, req *TokenRequest) (*TokenResponse, error) {
	c := req.Client
	if c.Public {
		return nil, Errorf(UnauthorizedClient, "a public client cannot use client_credentials")
	}
	scope, err := ClientScope(c, req.Scope)
	if err != nil {
		return nil, err
	}
	// No user, so no OpenID Connect scopes.
	scope = slices.DeleteFunc(scope, func(s string) bool { return s == "openid" || s == "offline_access" })
	return g.Issuer.IssueForClient(c, scope)
}
