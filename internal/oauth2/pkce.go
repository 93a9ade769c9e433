package oauth2

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// ValidVerifier reports whether a PKCE code_verifier has RFC 7636 §4.1's
// form: 43 to 128 characters of [A-Za-z0-9-._~].
func ValidVerifier(v string) bool { return unreserved(v, 43, 128) }

// ValidChallenge reports whether an S256 code_challenge has the form of a
// base64url SHA-256 digest (43 characters).
func ValidChallenge(c string) bool { return len(c) == 43 && unreserved(c, 43, 43) }

func unreserved(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !unreservedByte(s[i]) {
			return false
		}
	}
	return true
}

// unreservedByte reports whether c is one of RFC 7636 §4.1's unreserved
// characters, [A-Za-z0-9-._~].
func unreservedByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// VerifyS256 reports whether verifier hashes to challenge (RFC 7636 §4.6),
// in constant time.
func VerifyS256(verifier, challenge string) bool {
	if !ValidVerifier(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// checkVerifier is PKCE at the token endpoint (RFC 7636 §4.6): a code
// issued with an S256 challenge needs the verifier that hashes to it, and a
// code issued without one takes no verifier.
func checkVerifier(challenge, verifier string) error {
	switch {
	case challenge != "" && !VerifyS256(verifier, challenge):
		return Errorf(InvalidGrant, "code_verifier does not match the code_challenge")
	case challenge == "" && verifier != "":
		// A verifier for a code issued without a challenge: a PKCE downgrade
		// (RFC 9700 §4.8.2).
		return Errorf(InvalidGrant, "no code_challenge was sent for this code")
	}
	return nil
}
