// Package token mints inkan's JSON Web Tokens with the active signing key.
package token

import (
	"crypto/rand"
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
