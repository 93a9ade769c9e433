package oauth2

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
)

// IDTokenMinter mints OpenID Connect ID tokens (Core §2), with at_hash
// binding accessToken when it is given (Core §3.1.3.6); sessionID, the sid,
// names the login session the grant came from (none for the password
// grant), for logout.
type IDTokenMinter interface {
	IDToken(c store.Client, u store.User, scope []string, authTime time.Time, amr []string, nonce, sessionID, accessToken string) (string, error)
}

// Issuer mints what a grant returns: RFC 9068 access tokens, opaque
// refresh tokens (stored by their hash) and, through IDTokens, ID tokens.
type Issuer struct {
	Tokens   *token.Issuer
	IDTokens IDTokenMinter
	Store    store.GrantStore
	// Secret keys the HMAC that derives a refresh token's successor (32
	// bytes; replicas share it).
	Secret []byte
	// RefreshTTL is the lifetime of a refresh token.
	RefreshTTL time.Duration
	Now        func() time.Time // nil means time.Now
}

// UserGrant is what tokens are minted for: a client's grant of scope from
// a user, with the sign-in it came from.
type UserGrant struct {
	Client    store.Client
	User      store.User
	Scope     []string
	AuthTime  time.Time // the user's sign-in (auth_time)
	AMR       []string  // how the user authenticated (amr, RFC 8176)
	Nonce     string    // of the authorization request, for the ID token
	SessionID string    // the login session (sid); empty for the password grant
	Family    string    // the grant's family: every token of it carries it, for revoking them as one
}

// Issue mints an access token, a refresh token when the client may
// refresh (RFC 6749 §1.5), and an ID token when openid was granted.
func (i *Issuer) Issue(ctx context.Context, g UserGrant) (*TokenResponse, error) {
	resp, err := i.access(g)
	if err != nil {
		return nil, err
	}
	if Allows(g.Client, GrantRefreshToken) {
		raw := RandomToken()
		now := nowOf(i.Now).UTC().Truncate(time.Microsecond)
		err := i.Store.CreateRefreshToken(ctx, store.RefreshToken{
			Hash: HashToken(raw), Family: g.Family, ClientID: g.Client.ID, UserID: g.User.ID, Scope: strings.Join(g.Scope, " "),
			SessionID: g.SessionID, AuthTime: g.AuthTime.UTC().Truncate(time.Microsecond), AMR: g.AMR, CreatedAt: now, ExpiresAt: now.Add(i.RefreshTTL),
		})
		if err != nil {
			return nil, err
		}
		resp.RefreshToken = raw
	}
	return i.withIDToken(g, resp)
}

// IssueRotated mints what a refresh returns: an access token and, when
// openid was granted, an ID token, beside successor, the refresh token
// that the rotation stored.
func (i *Issuer) IssueRotated(g UserGrant, successor string) (*TokenResponse, error) {
	resp, err := i.access(g)
	if err != nil {
		return nil, err
	}
	resp.RefreshToken = successor
	return i.withIDToken(g, resp)
}

// IssueForClient mints a client's own access token (client_credentials,
// RFC 6749 §4.4): its subject is the client, and no user is in it.
func (i *Issuer) IssueForClient(c store.Client, scope []string) (*TokenResponse, error) {
	at, err := i.Tokens.IssueAccess(token.AccessClaims{Subject: c.ID, Audience: Audience(c), ClientID: c.ID, Scope: strings.Join(scope, " ")})
	if err != nil {
		return nil, err
	}
	return bearer(at), nil
}

func (i *Issuer) access(g UserGrant) (*TokenResponse, error) {
	at, err := i.Tokens.IssueAccess(token.AccessClaims{
		Subject: g.User.ID, Audience: Audience(g.Client), ClientID: g.Client.ID, Scope: strings.Join(g.Scope, " "),
		AuthTime: g.AuthTime.Unix(), ACR: oidc.ACRFor(g.AMR), AMR: g.AMR, Family: g.Family, Profile: oidc.ProfileFor(g.User, g.Scope), ValidAfter: g.User.TokensValidAfter,
	})
	if err != nil {
		return nil, err
	}
	return bearer(at), nil
}

func bearer(at token.Access) *TokenResponse {
	return &TokenResponse{AccessToken: at.Raw, TokenType: "Bearer", ExpiresIn: at.Claims.Expiry - at.Claims.IssuedAt, Scope: at.Claims.Scope}
}

func (i *Issuer) withIDToken(g UserGrant, resp *TokenResponse) (*TokenResponse, error) {
	if !slices.Contains(g.Scope, "openid") {
		return resp, nil
	}
	var err error
	if resp.IDToken, err = i.IDTokens.IDToken(g.Client, g.User, g.Scope, g.AuthTime, g.AMR, g.Nonce, g.SessionID, resp.AccessToken); err != nil {
		return nil, err
	}
	return resp, nil
}

// Successor is the refresh token that replaces raw: derived from it and
// Secret, so that a presentation within the reuse window gets the same one
// without the server keeping any raw token.
func (i *Issuer) Successor(raw string) string {
	m := hmac.New(sha256.New, i.Secret)
	m.Write([]byte("inkan refresh successor\x00" + raw))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// successorOf is the stored form of succ, the successor of rt, for user
// u, rotated at now (already in UTC at microseconds).
func (i *Issuer) successorOf(rt store.RefreshToken, succ string, u store.User, now time.Time) store.RefreshToken {
	return store.RefreshToken{
		Hash: HashToken(succ), Family: rt.Family, ClientID: rt.ClientID, UserID: u.ID, Scope: rt.Scope,
		SessionID: rt.SessionID, AuthTime: rt.AuthTime, AMR: rt.AMR, CreatedAt: now, ExpiresAt: now.Add(i.RefreshTTL),
	}
}

// Audience is the aud of the client's access tokens: its registered
// audience, or its own id.
func Audience(c store.Client) []string {
	if len(c.Audience) > 0 {
		return c.Audience
	}
	return []string{c.ID}
}

// RandomToken is an opaque token of 256 random bits, base64url: a code, a
// refresh token, a session cookie.
func RandomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewFamily names a new grant, whose tokens all carry it.
func NewFamily() string { return rand.Text() }

// HashToken is how opaque tokens and codes are stored: the hex SHA-256 of
// the token, whose 256 random bits need no slow hash.
func HashToken(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}
