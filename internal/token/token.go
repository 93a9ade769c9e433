// Package token mints inkan's JSON Web Tokens with the active signing key:
// the tutorial's access token (typ JWT), RFC 9068 access tokens (typ
// at+jwt) and OpenID Connect ID tokens.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
)

// SignerSource supplies the signer of the active key.
type SignerSource interface {
	Active() *keys.Signer
}

// Issuer mints tokens.
type Issuer struct {
	Issuer string        // the iss claim
	TTL    time.Duration // exp = iat + TTL, computed for each token
	Keys   SignerSource
	Now    func() time.Time // nil means time.Now
}

// Claims of the tutorial-compatible access token (RFC 7519 §4.1 plus the
// tutorial's email and user).
type Claims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	ID       string `json:"jti"`
	Email    string `json:"email"`
	User     string `json:"user"`
}

// Token is a minted token.
type Token struct {
	Raw    string
	Claims Claims
	KeyID  string
}

// ExpiresIn is the lifetime in whole seconds, for expires_in.
func (t Token) ExpiresIn() int64 { return t.Claims.Expiry - t.Claims.IssuedAt }

// Issue mints an access token for u: header {alg, kid, typ: "JWT"}, and a
// fresh jti of 128 random bits.
func (i *Issuer) Issue(u store.User) (Token, error) {
	now := time.Now
	if i.Now != nil {
		now = i.Now
	}
	iat := now().Unix()
	c := Claims{
		Issuer:   i.Issuer,
		Subject:  u.ID,
		IssuedAt: iat,
		Expiry:   iat + int64(i.TTL/time.Second),
		ID:       rand.Text(), // 26 base32 characters: 130 bits from crypto/rand
		Email:    u.Email,
		User:     u.Name,
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	s := i.Keys.Active()
	raw, err := s.Sign(payload, keys.TypeJWT)
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	return Token{Raw: raw, Claims: c, KeyID: s.KeyID}, nil
}

// AccessClaims are the claims of an RFC 9068 access token.
type AccessClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	IssuedAt int64    `json:"iat"`
	Expiry   int64    `json:"exp"`
	ID       string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	Family   string   `json:"fam,omitempty"` // the grant it came from, for revoking it as a whole
}

// Access is a minted access token.
type Access struct {
	Raw    string
	Claims AccessClaims
	KeyID  string
}

// IssueAccess mints an access token in the JWT profile of RFC 9068: typ
// at+jwt; sub is the user, or the client for client_credentials.
func (i *Issuer) IssueAccess(c AccessClaims) (Access, error) {
	now := time.Now
	if i.Now != nil {
		now = i.Now
	}
	c.Issuer = i.Issuer
	c.IssuedAt = now().Unix()
	c.Expiry = c.IssuedAt + int64(i.TTL/time.Second)
	c.ID = rand.Text()
	payload, err := json.Marshal(c)
	if err != nil {
		return Access{}, fmt.Errorf("issue access token: %w", err)
	}
	s := i.Keys.Active()
	raw, err := s.Sign(payload, keys.TypeAccessToken)
	if err != nil {
		return Access{}, fmt.Errorf("issue access token: %w", err)
	}
	return Access{Raw: raw, Claims: c, KeyID: s.KeyID}, nil
}

// IDClaims are the claims of an OpenID Connect ID token (Core §2).
type IDClaims struct {
	Issuer        string `json:"iss"`
	Subject       string `json:"sub"`
	Audience      string `json:"aud"`
	IssuedAt      int64  `json:"iat"`
	Expiry        int64  `json:"exp"`
	AuthTime      int64  `json:"auth_time,omitempty"`
	Nonce         string `json:"nonce,omitempty"`
	SessionID     string `json:"sid,omitempty"` // the login session (Back-Channel Logout 1.0 §2.1), never the cookie
	AccessHash    string `json:"at_hash,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
}

// IssueID mints an ID token for the client; accessToken, when given, is
// bound by at_hash (Core §3.1.3.6).
func (i *Issuer) IssueID(c IDClaims, accessToken string) (string, error) {
	now := time.Now
	if i.Now != nil {
		now = i.Now
	}
	s := i.Keys.Active()
	c.Issuer = i.Issuer
	c.IssuedAt = now().Unix()
	c.Expiry = c.IssuedAt + int64(i.TTL/time.Second)
	if accessToken != "" {
		c.AccessHash = halfHash(s.Algorithm, accessToken)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("issue ID token: %w", err)
	}
	return s.Sign(payload, keys.TypeJWT)
}

// halfHash is the left half of the token's hash with the hash function of
// the signing algorithm, base64url: SHA-256 for RS256, PS256 and ES256,
// SHA-384 for ES384, SHA-512 for EdDSA (Ed25519), as OpenID Connect says.
func halfHash(alg, tok string) string {
	var sum []byte
	switch alg {
	case keys.ES384:
		h := sha512.Sum384([]byte(tok))
		sum = h[:]
	case keys.EdDSA:
		h := sha512.Sum512([]byte(tok))
		sum = h[:]
	default:
		h := sha256.Sum256([]byte(tok))
		sum = h[:]
	}
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
