package oidc

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
)

// IDClaims are the claims of an OpenID Connect ID token (Core §2).
type IDClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	AuthTime int64  `json:"auth_time,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	// ACR and AMR say how the user authenticated: the level (ACRFor) and
	// the methods (RFC 8176).
	ACR        string   `json:"acr,omitempty"`
	AMR        []string `json:"amr,omitempty"`
	SessionID  string   `json:"sid,omitempty"` // the login session (Back-Channel Logout 1.0 §2.1), never the cookie
	AccessHash string   `json:"at_hash,omitempty"`
	token.Profile
}

// Claims are the names of the claims an ID token may carry, those of
// IDClaims in their order, for the discovery document's claims_supported.
var Claims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash", "email", "email_verified", "name"}

// The authentication context classes (acr, OpenID Connect Core §2) inkan
// tells apart, weakest first, as discovery lists them: one factor (a
// password), or more (a password and a code or passkey, or a passkey with
// user verification). An authorization request's acr_values asking for
// ACRMultiFactor alone makes the user step up to a second factor.
const (
	ACRSingleFactor = "urn:inkan:acr:1fa"
	ACRMultiFactor  = "urn:inkan:acr:2fa"
)

// ACRValues are the acr_values_supported.
var ACRValues = []string{ACRSingleFactor, ACRMultiFactor}

// ACRFor is the class of an authentication by the methods amr (RFC 8176):
// ACRMultiFactor when they include "mfa", ACRSingleFactor otherwise, and
// none when amr is empty (a sign-in from before methods were recorded).
func ACRFor(amr []string) string {
	switch {
	case len(amr) == 0:
		return ""
	case slices.Contains(amr, "mfa"):
		return ACRMultiFactor
	}
	return ACRSingleFactor
}

// Issuer mints ID tokens with the active signing key.
type Issuer struct {
	Issuer string        // the iss claim
	TTL    time.Duration // exp = iat + TTL
	Keys   token.SignerSource
	Now    func() time.Time // nil means time.Now
}

// IDToken mints an ID token for user u and client c (aud): its identity
// claims follow scope (ProfileFor); authTime is when the user signed in,
// amr how (RFC 8176; acr follows from it, ACRFor);
// nonce is the authorization request's; sessionID, the sid, names the
// login session it came from (none for the password grant), for logout;
// accessToken, when given, is bound by at_hash (Core §3.1.3.6).
func (i *Issuer) IDToken(c store.Client, u store.User, scope []string, authTime time.Time, amr []string, nonce, sessionID, accessToken string) (string, error) {
	return i.sign(IDClaims{
		Subject: u.ID, Audience: c.ID, AuthTime: authTime.Unix(), Nonce: nonce, SessionID: sessionID,
		ACR: ACRFor(amr), AMR: amr,
		Profile: ProfileFor(u, scope),
	}, accessToken)
}

// sign fills in iss, iat, exp and at_hash, and signs the claims as a JWT
// (typ JWT) with the active key.
func (i *Issuer) sign(c IDClaims, accessToken string) (string, error) {
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
// the signing algorithm (keys.Hash: SHA-256, SHA-384 or SHA-512; SHA-512 for
// EdDSA with Ed25519), base64url, as OpenID Connect Core §3.1.3.6 says.
func halfHash(alg, tok string) string {
	h := keys.Hash(alg).New()
	h.Write([]byte(tok))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
