package keys

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrNoPEM reports input that holds no PEM block with a key in it.
var ErrNoPEM = errors.New("no PEM key block found")

// errEncrypted is returned for encrypted PEM blocks; the standard library
// cannot decrypt PKCS#8 and its legacy PEM decryption is insecure.
var errEncrypted = errors.New("encrypted keys are not supported: decrypt with openssl first (openssl pkey -in encrypted.pem -out key.pem)")

// ParsePEM reads the first key block of a PEM file, skipping blocks that are
// not keys (e.g. "EC PARAMETERS", which `openssl ecparam -genkey` writes
// first). It accepts PKCS#1 ("RSA PRIVATE KEY", "RSA PUBLIC KEY"), PKCS#8
// ("PRIVATE KEY"), SEC1 ("EC PRIVATE KEY"), SPKI ("PUBLIC KEY") and
// "CERTIFICATE" (the certificate's public key).
//
// It returns either a crypto.Signer (*rsa.PrivateKey, *ecdsa.PrivateKey or
// ed25519.PrivateKey) or a public key (*rsa.PublicKey, *ecdsa.PublicKey or
// ed25519.PublicKey). Encrypted PEM ("ENCRYPTED PRIVATE KEY", or a block with
// "Proc-Type: 4,ENCRYPTED") is refused with an error telling the user to
// decrypt it with openssl first.
//
// Supported keys are RSA of at least 2048 bits, ECDSA on P-256, P-384 and
// P-521, and Ed25519. Anything else is an error wrapping [ErrUnsupportedKey].
func ParsePEM(data []byte) (any, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, ErrNoPEM
		}
		if !isKeyBlock(block.Type) {
			continue
		}
		key, err := parseBlock(block)
		if err != nil {
			return nil, fmt.Errorf("PEM block %q: %w", block.Type, err)
		}
		return key, nil
	}
}

// ParsePrivatePEM is [ParsePEM] that requires a private key.
func ParsePrivatePEM(data []byte) (crypto.Signer, error) {
	key, err := ParsePEM(data)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("PEM holds a %s public key, need a private key", keyTypeName(key))
	}
	return signer, nil
}

// isKeyBlock reports whether a PEM block of type typ holds a key, so ParsePEM
// must parse it rather than skip it. Unknown "... PRIVATE KEY" and
// "... PUBLIC KEY" types (e.g. "OPENSSH PRIVATE KEY", "DSA PRIVATE KEY") count
// as keys, so they are reported as unsupported instead of being skipped.
func isKeyBlock(typ string) bool {
	return typ == "CERTIFICATE" ||
		strings.HasSuffix(typ, "PRIVATE KEY") ||
		strings.HasSuffix(typ, "PUBLIC KEY")
}

// parseBlock parses one PEM key block and checks the key against inkan's rules.
func parseBlock(block *pem.Block) (any, error) {
	if block.Type == "ENCRYPTED PRIVATE KEY" ||
		strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") ||
		block.Headers["DEK-Info"] != "" {
		return nil, errEncrypted
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse PKCS#1 private key: %w", err)
		}
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse PKCS#1 public key: %w", err)
		}
	case "PRIVATE KEY":
		return ParsePKCS8(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			if what, ok := unsupportedSEC1(block.Bytes); ok {
				return nil, fmt.Errorf("%w: %s", ErrUnsupportedKey, what)
			}
			return nil, fmt.Errorf("parse SEC 1 EC private key: %w", err)
		}
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			if what, ok := unsupportedSPKI(block.Bytes); ok {
				return nil, fmt.Errorf("%w: %s", ErrUnsupportedKey, what)
			}
			return nil, fmt.Errorf("parse public key: %w", err)
		}
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			if what, ok := unsupportedCertificate(block.Bytes); ok {
				return nil, fmt.Errorf("%w: %s", ErrUnsupportedKey, what)
			}
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		key = cert.PublicKey
	default:
		return nil, fmt.Errorf("%w: PEM type %q", ErrUnsupportedKey, block.Type)
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return key, nil
}

// MarshalPrivatePEM encodes a private key as a PKCS#8 "PRIVATE KEY" PEM block.
func MarshalPrivatePEM(key crypto.Signer) ([]byte, error) {
	der, err := MarshalPKCS8(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
