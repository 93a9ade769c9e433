package oauth2

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/internal/store"
)

// AccessToken is what introspection and revocation learn of a JWT access
// token (RFC 9068) from the server, which verifies it.
type AccessToken struct {
	ID       string // jti
	Subject  string
	Issuer   string
	Audience []string
	ClientID string // empty for the tutorial's tokens
	Scope    string
	Expiry   time.Time
	IssuedAt time.Time
	// User is the live user the token is for: nil for a client's own
	// token (client_credentials), and from Check only.
	User *store.User
	// Granted is the scope of User that the token may see (from Check).
	Granted []string
}

// AccessTokens reads access tokens for introspection and revocation.
type AccessTokens interface {
	// Verify checks raw's signature and time claims only.
	Verify(ctx context.Context, raw string) (AccessToken, error)
	// Check verifies raw and that it still counts: not revoked, its client
	// still registered and its user, if it has one, live.
	Check(ctx context.Context, raw string) (AccessToken, error)
}

// jwt reports whether raw has the form of a compact JWS (three parts)
// rather than an opaque refresh token.
func jwt(raw string) bool { return strings.Count(raw, ".") == 2 }

// Introspection is RFC 7662 §2.2's response. Only Active is sent for an
// inactive token; access and refresh tokens send their own members.
type Introspection struct {
	Active    bool
	TokenType string // Bearer (an access token) or refresh_token
	Subject   string
	Issuer    string   // access tokens only
	Audience  []string // access tokens only
	ClientID  string
	Scope     string
	Username  string // access tokens only: the user's email, under its scope
	ID        string // jti; access tokens only
	Expiry    int64  // Unix seconds
	IssuedAt  int64  // Unix seconds
}

// Token types of an Introspection.
const (
	TokenTypeBearer  = "Bearer"
	TokenTypeRefresh = "refresh_token"
)

// MarshalJSON is the response body: {"active":false} for an inactive
// token; for an access token, its optional members (aud, client_id, scope,
// username) only when set; for a refresh token, client_id and scope always.
func (in Introspection) MarshalJSON() ([]byte, error) {
	if !in.Active {
		return json.Marshal(map[string]any{"active": false})
	}
	out := map[string]any{"active": true, "token_type": in.TokenType, "sub": in.Subject, "exp": in.Expiry, "iat": in.IssuedAt}
	if in.TokenType == TokenTypeRefresh {
		out["client_id"], out["scope"] = in.ClientID, in.Scope
		return json.Marshal(out)
	}
	out["iss"], out["jti"] = in.Issuer, in.ID
	if len(in.Audience) > 0 {
		out["aud"] = in.Audience
	}
	for k, v := range map[string]string{"client_id": in.ClientID, "scope": in.Scope, "username": in.Username} {
		if v != "" {
			out[k] = v
		}
	}
	return json.Marshal(out)
}

// Introspector answers RFC 7662 introspection: whether a token is active.
type Introspector struct {
	Store  store.GrantStore
	Access AccessTokens
	Policy *RefreshPolicy
	Now    func() time.Time // nil means time.Now
}

// Introspect tells the authenticated client c whether raw is active.
// Anything not provably active, a store failure included, is inactive; a
// public client, which proves nothing about itself, gets invalid_client.
func (i *Introspector) Introspect(ctx context.Context, c store.Client, raw string) (Introspection, error) {
	if c.Public {
		return Introspection{}, Errorf(InvalidClient, "introspection requires a confidential client")
	}
	if raw == "" {
		return Introspection{}, Errorf(InvalidRequest, "token is required")
	}
	if jwt(raw) {
		at, err := i.Access.Check(ctx, raw)
		if err != nil {
			return Introspection{}, nil
		}
		out := Introspection{
			Active: true, TokenType: TokenTypeBearer, Subject: at.Subject, Issuer: at.Issuer, Audience: at.Audience,
			ClientID: at.ClientID, Scope: at.Scope, ID: at.ID, Expiry: at.Expiry.Unix(), IssuedAt: at.IssuedAt.Unix(),
		}
		if at.User != nil { // RFC 7662 §2.2's username: the email, under its scope
			out.Username = oidc.ProfileFor(*at.User, at.Granted).Email
		}
		return out, nil
	}
	rt, err := i.Store.GetRefreshToken(ctx, HashToken(raw))
	if err == nil {
		_, err = i.Policy.Active(ctx, rt, c, nowOf(i.Now))
	}
	if err != nil {
		return Introspection{}, nil
	}
	return Introspection{
		Active: true, TokenType: TokenTypeRefresh, ClientID: rt.ClientID, Subject: rt.UserID,
		Scope: rt.Scope, Expiry: rt.ExpiresAt.Unix(), IssuedAt: rt.CreatedAt.Unix(),
	}, nil
}
