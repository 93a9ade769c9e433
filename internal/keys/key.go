package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"

	"github.com/inkan-dev/inkan/verify"
)

// minRSABits is the smallest RSA modulus inkan accepts (RFC 7518 §3.3).
const minRSABits = 2048

// ErrUnsupportedKey reports a key of a type, curve or size inkan does not sign
// or verify with. It is always wrapped with detail.
var ErrUnsupportedKey = errors.New("unsupported key")

// PublicKey returns the public half of a key returned by [ParsePEM] (or of
// any crypto.Signer). A public key is returned as is. The result is one of
// *rsa.PublicKey, *ecdsa.PublicKey and ed25519.PublicKey; keys inkan does
// not support are an error wrapping [ErrUnsupportedKey].
func PublicKey(key any) (crypto.PublicKey, error) {
	var pub crypto.PublicKey
	switch k := key.(type) {
	case nil:
		return nil, fmt.Errorf("%w: nil key", ErrUnsupportedKey)
	case *rsa.PublicKey, *ecdsa.PublicKey:
		pub = k
	case ed25519.PublicKey:
		pub = k
	case *ed25519.PublicKey:
		if k == nil {
			return nil, fmt.Errorf("%w: nil Ed25519 key", ErrUnsupportedKey)
		}
		pub = *k
	case ed25519.PrivateKey:
		// ed25519.PrivateKey.Public panics on a short slice.
		if len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrUnsupportedKey, len(k))
		}
		pub = k.Public()
	case *ed25519.PrivateKey:
		if k == nil {
			return nil, fmt.Errorf("%w: nil Ed25519 key", ErrUnsupportedKey)
		}
		return PublicKey(*k)
	case *rsa.PrivateKey:
		if k == nil {
			return nil, fmt.Errorf("%w: nil RSA key", ErrUnsupportedKey)
		}
		pub = &k.PublicKey
	case *ecdsa.PrivateKey:
		if k == nil {
			return nil, fmt.Errorf("%w: nil ECDSA key", ErrUnsupportedKey)
		}
		pub = &k.PublicKey
	case crypto.Signer:
		pub = k.Public()
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
	}
	if err := checkPublic(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// checkKey reports whether key, private or public, is one inkan supports.
func checkKey(key any) error {
	_, err := PublicKey(key)
	return err
}

// checkPublic reports whether pub is a well-formed public key of a type,
// curve and size inkan supports.
func checkPublic(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return fmt.Errorf("%w: nil RSA key", ErrUnsupportedKey)
		}
		if k.E < 3 || k.E%2 == 0 {
			return fmt.Errorf("%w: RSA public exponent %d", ErrUnsupportedKey, k.E)
		}
		if bits := k.N.BitLen(); bits < minRSABits {
			return fmt.Errorf("%w: RSA key of %d bits, need at least %d", ErrUnsupportedKey, bits, minRSABits)
		}
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return fmt.Errorf("%w: nil ECDSA key", ErrUnsupportedKey)
		}
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() && k.Curve != elliptic.P521() {
			return fmt.Errorf("%w: ECDSA curve %s, need P-256, P-384 or P-521", ErrUnsupportedKey, k.Curve.Params().Name)
		}
		// Bytes fails for points that are not on the curve.
		if _, err := k.Bytes(); err != nil {
			return fmt.Errorf("%w: invalid ECDSA public key: %w", ErrUnsupportedKey, err)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: Ed25519 public key of %d bytes", ErrUnsupportedKey, len(k))
		}
	default:
		return fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
	}
	return nil
}

// keyTypeName names the kind of a supported key for messages: "RSA",
// "P-256", "P-384", "P-521" or "Ed25519".
func keyTypeName(key any) string {
	pub, err := PublicKey(key)
	if err != nil {
		return fmt.Sprintf("%T", key)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return k.Curve.Params().Name
	default:
		return "Ed25519"
	}
}

// Generate makes a new private key for alg: RSA for RS256, RS384, RS512,
// PS256, PS384 and PS512 (bits 2048, 3072 or 4096; 0 means 2048), P-256 for
// ES256, P-384 for ES384, P-521 for ES512 and Ed25519 for EdDSA. For the
// elliptic-curve algorithms bits must be 0. Anything else is an error
// naming the allowed values.
func Generate(alg string, bits int) (crypto.Signer, error) {
	var (
		key crypto.Signer
		err error
	)
	switch alg {
	case RS256, RS384, RS512, PS256, PS384, PS512:
		switch bits {
		case 0:
			bits = minRSABits
		case 2048, 3072, 4096:
		default:
			return nil, fmt.Errorf("generate %s key: %d bits, want 2048, 3072 or 4096", alg, bits)
		}
		key, err = rsa.GenerateKey(rand.Reader, bits)
	case ES256, ES384, ES512, EdDSA:
		if bits != 0 {
			return nil, fmt.Errorf("generate %s key: bits must be 0, not %d (the curve fixes the size)", alg, bits)
		}
		switch alg {
		case ES256:
			key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		case ES384:
			key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		case ES512:
			key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		default:
			_, key, err = ed25519.GenerateKey(rand.Reader)
		}
	default:
		return nil, fmt.Errorf("generate key: algorithm %q, want one of %s", alg, strings.Join(verify.Algorithms(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	return key, nil
}
