package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	_ "crypto/sha256" // Hash's functions are linked in
	_ "crypto/sha512"
	"fmt"
	"math/big"
	"strings"

	"github.com/inkan-dev/inkan/verify"
)

// Algorithms inkan signs with (RFC 7518 §3.1, RFC 8037 §3.1): exactly
// verify.Algorithms, which is the list every part of inkan takes them from.
const (
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256.
	RS256 = "RS256"
	// RS384 is RSASSA-PKCS1-v1_5 with SHA-384.
	RS384 = "RS384"
	// RS512 is RSASSA-PKCS1-v1_5 with SHA-512.
	RS512 = "RS512"
	// PS256 is RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
	PS256 = "PS256"
	// PS384 is RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
	PS384 = "PS384"
	// PS512 is RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
	PS512 = "PS512"
	// ES256 is ECDSA with P-256 and SHA-256.
	ES256 = "ES256"
	// ES384 is ECDSA with P-384 and SHA-384.
	ES384 = "ES384"
	// ES512 is ECDSA with P-521 and SHA-512.
	ES512 = "ES512"
	// EdDSA is Ed25519 (RFC 8037); Ed448 is not supported.
	EdDSA = "EdDSA"
)

// Hash is the hash function of alg, for at_hash (OpenID Connect Core
// §3.1.3.6): SHA-384 for RS384, PS384 and ES384, SHA-512 for RS512, PS512,
// ES512 and EdDSA (Ed25519 hashes with SHA-512), SHA-256 otherwise.
func Hash(alg string) crypto.Hash {
	switch alg {
	case RS384, PS384, ES384:
		return crypto.SHA384
	case RS512, PS512, ES512, EdDSA:
		return crypto.SHA512
	default:
		return crypto.SHA256
	}
}

// DefaultAlgorithm returns the algorithm inkan signs with for pub when none
// is chosen: RS256 for RSA, ES256 for P-256, ES384 for P-384, ES512 for
// P-521 and EdDSA for Ed25519.
func DefaultAlgorithm(pub crypto.PublicKey) (string, error) {
	algs, err := algorithmsFor(pub)
	if err != nil {
		return "", err
	}
	return algs[0], nil
}

// CheckAlgorithm reports whether alg can be used with pub: RS256, RS384,
// RS512, PS256, PS384 or PS512 for RSA, ES256 for P-256, ES384 for P-384,
// ES512 for P-521 and EdDSA for Ed25519 (verify.AlgorithmFits). The error
// names both the algorithm and the key type, and lists the allowed ones.
func CheckAlgorithm(pub crypto.PublicKey, alg string) error {
	algs, err := algorithmsFor(pub)
	if err != nil {
		return err
	}
	for _, a := range algs {
		if a == alg {
			return nil
		}
	}
	return fmt.Errorf("algorithm %q cannot be used with key type %s (allowed: %s)",
		alg, keyTypeName(pub), strings.Join(algs, ", "))
}

// algorithmsFor lists the algorithms usable with pub, the default first:
// those of verify.Algorithms that fit it.
func algorithmsFor(pub crypto.PublicKey) ([]string, error) {
	pub, err := PublicKey(pub)
	if err != nil {
		return nil, err
	}
	var algs []string
	for _, a := range verify.Algorithms() {
		if verify.AlgorithmFits(a, pub) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 { // PublicKey accepted a key that no algorithm fits
		return nil, fmt.Errorf("%w: no signature algorithm for key type %s", ErrUnsupportedKey, keyTypeName(pub))
	}
	return algs, nil
}

// AlgorithmsByKeyType describes, for help texts, the algorithms each key
// type allows, its default first: "RSA: RS256, RS384, …; P-256: ES256; …".
// It is computed from verify.Algorithms and verify.AlgorithmFits, so that
// it follows the one list.
func AlgorithmsByKeyType() string {
	n := new(big.Int).Lsh(big.NewInt(1), minRSABits-1) // the shape of a key is all AlgorithmFits looks at
	types := []struct {
		name string
		pub  crypto.PublicKey
	}{
		{"RSA", &rsa.PublicKey{N: n, E: 65537}},
		{"P-256", &ecdsa.PublicKey{Curve: elliptic.P256()}},
		{"P-384", &ecdsa.PublicKey{Curve: elliptic.P384()}},
		{"P-521", &ecdsa.PublicKey{Curve: elliptic.P521()}},
		{"Ed25519", make(ed25519.PublicKey, ed25519.PublicKeySize)},
	}
	var parts []string
	for _, t := range types {
		var algs []string
		for _, a := range verify.Algorithms() {
			if verify.AlgorithmFits(a, t.pub) {
				algs = append(algs, a)
			}
		}
		parts = append(parts, t.name+": "+strings.Join(algs, ", "))
	}
	return strings.Join(parts, "; ")
}
