// Package token mints inkan's JSON Web Tokens with the active signing key:
// the tutorial's access token (typ JWT), RFC 9068 access tokens (typ
// at+jwt) and Back-Channel Logout tokens (typ logout+jwt). OpenID Connect
// ID tokens are package oidc's.
package token

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/inkan-dev/inkan/internal/keys"
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

// User is what a tutorial token says of its user.
type User struct {
	ID, Email, Name string
	// ValidAfter is the user's TokensValidAfter: the token's iat is past it.
	ValidAfter time.Time
}

// Issue mints an access token for u: header {alg, kid, typ: "JWT"}, and a
// fresh jti of 128 random bits.
func (i *Issuer) Issue(u User) (Token, error) {
	now := time.Now
	if i.Now != nil {
		now = i.Now
	}
	iat := issuedAt(now(), u.ValidAfter)
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

// issuedAt is the iat of a token minted at now for a user whose tokens are
// valid from validAfter on (the user's TokensValidAfter): now in whole
// seconds, but never less than validAfter rounded up to a whole second. A
// token minted just after a credential change, in the same second, thus
// has iat >= validAfter like every later one, while one minted just before
// it has iat <= now < validAfter. The iat may run up to a second ahead of
// the clock, well within any verifier's leeway.
func issuedAt(now, validAfter time.Time) int64 {
	if validAfter.IsZero() {
		return now.Unix()
	}
	return max(now.Unix(), ceilUnix(validAfter))
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// ValidAfter is the TokensValidAfter of a user whose credentials change at
// now (a new password, a disable) and was old: now, so that every code,
// refresh token and sign-in from before it is refused, and every token
// minted before it too, since their iat <= now. One exception: a token
// minted under old may carry an iat of old rounded up (issuedAt), past now
// when old is in the same second; the instant is then just after that iat,
// which refuses those tokens too, and with them the codes and refresh
// tokens of sign-ins in the rest of that second: the user signs in again a
// second later.
func ValidAfter(now, old time.Time) time.Time {
	now = now.UTC().Truncate(time.Microsecond)
	if old.IsZero() {
		return now
	}
	if past := time.Unix(ceilUnix(old), 0).UTC().Add(time.Microsecond); past.After(now) {
		return past
	}
	return now
}

// Profile is what a token, or an endpoint answering one, tells about its
// user: plain values, which oidc.ProfileFor, the one rule for what a scope
// reveals, fills in.
type Profile struct {
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
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
	// ACR and AMR say how the user authenticated (RFC 9068 §2.2.1), as
	// the ID token does.
	ACR     string   `json:"acr,omitempty"`
	AMR     []string `json:"amr,omitempty"`
	Family  string   `json:"fam,omitempty"` // the grant it came from, for revoking it as a whole
	Profile          // the user's identity claims, by scope (RFC 9068 §2.2.3.1): oidc.ProfileFor
	// ValidAfter is the user's TokensValidAfter: iat is never before it.
	ValidAfter time.Time `json:"-"`
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
	c.IssuedAt = issuedAt(now(), c.ValidAfter)
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
