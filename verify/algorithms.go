package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"slices"
	"strings"
)

// algorithms is every signature algorithm verify accepts: the asymmetric
// JWS algorithms of RFC 7518 §3.1 and RFC 8037 §3.1. It is also the list
// inkan signs with, checks --signing-alg against and advertises in its
// discovery document, so that nothing it signs is ever refused here. The
// first algorithm of each key type is that type's default.
var algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Algorithms returns every signature algorithm verify accepts, in a new
// slice: RS256, RS384, RS512, PS256, PS384, PS512 (RSA of at least 2048
// bits), ES256 (P-256), ES384 (P-384), ES512 (P-521) and EdDSA (Ed25519).
// HMAC and "none" are never among them.
func Algorithms() []string { return slices.Clone(algorithms) }

// AlgorithmFits reports whether alg is one of [Algorithms] and suits the
// public key pub: an RSA key of at least 2048 bits for RS* and PS*, the
// matching curve for ES256, ES384 and ES512, and Ed25519 for EdDSA.
func AlgorithmFits(alg string, pub crypto.PublicKey) bool {
	if !slices.Contains(algorithms, alg) {
		return false
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return k != nil && k.N != nil && (strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")) && k.N.BitLen() >= minRSABits
	case *ecdsa.PublicKey:
		if k == nil {
			return false
		}
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA" && len(k) == ed25519.PublicKeySize
	}
	return false
}
