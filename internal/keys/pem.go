package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // Hash's functions are linked in
	_ "crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

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

// minRSABits is the smallest RSA modulus inkan accepts (RFC 7518 §3.3).
const minRSABits = 2048

// ErrUnsupportedKey reports a key of a type, curve or size inkan does not sign
// or verify with. It is always wrapped with detail.
var ErrUnsupportedKey = errors.New("unsupported key")

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

// Thumbprint returns the RFC 7638 JWK thumbprint of pub: the SHA-256 hash of
// its required members, base64url-encoded without padding (RFC 7638 §3).
// Given a private key, it uses the public half.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	pub, err := PublicKey(pub)
	if err != nil {
		return "", err
	}
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// PublicJWK builds the public JWK of pub (RFC 7517 §4) with "use":"sig": its
// JSON form has exactly kty, use, alg, kid and n, e (RSA) or crv, x, y (EC)
// or crv, x (OKP). An empty kid means the [Thumbprint]; an empty alg means
// the [DefaultAlgorithm]; an alg the key cannot use is an error. Given a
// private key, it uses only the public half.
func PublicJWK(pub crypto.PublicKey, kid, alg string) (jose.JSONWebKey, error) {
	pub, err := PublicKey(pub)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	if alg == "" {
		if alg, err = DefaultAlgorithm(pub); err != nil {
			return jose.JSONWebKey{}, err
		}
	} else if err := CheckAlgorithm(pub, alg); err != nil {
		return jose.JSONWebKey{}, err
	}
	if kid == "" {
		if kid, err = Thumbprint(pub); err != nil {
			return jose.JSONWebKey{}, err
		}
	}
	return jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}, nil
}

// JWKSFromPEM is `inkan jwk`: it turns the first key of a PEM file into an
// indented JWK Set (RFC 7517 §5), {"keys": [<public JWK>]}, followed by a
// newline. kid and alg are as for [PublicJWK]. It never emits private key
// members, even for a private key PEM.
func JWKSFromPEM(data []byte, kid, alg string) ([]byte, error) {
	key, err := ParsePEM(data)
	if err != nil {
		return nil, err
	}
	jwk, err := PublicJWK(key, kid, alg)
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	return append(out, '\n'), nil
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

// MarshalPrivatePEM encodes a private key as a PKCS#8 "PRIVATE KEY" PEM block.
func MarshalPrivatePEM(key crypto.Signer) ([]byte, error) {
	der, err := MarshalPKCS8(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPKCS8 encodes a private key as PKCS#8 DER (RFC 5208), the form the
// database stores. The key must be one inkan supports.
func MarshalPKCS8(key crypto.Signer) ([]byte, error) {
	if k, ok := key.(*ed25519.PrivateKey); ok && k != nil {
		key = *k
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, fmt.Errorf("%w: %T is not a private key", ErrUnsupportedKey, key)
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal PKCS#8: %w", err)
	}
	return der, nil
}

// ParsePKCS8 decodes PKCS#8 DER written by [MarshalPKCS8]. It applies the
// same key rules as [ParsePEM].
func ParsePKCS8(der []byte) (crypto.Signer, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		if what, ok := unsupportedPKCS8(der); ok {
			return nil, fmt.Errorf("%w: %s", ErrUnsupportedKey, what)
		}
		return nil, fmt.Errorf("parse PKCS#8 private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
	}
	if err := checkKey(signer); err != nil {
		return nil, err
	}
	return signer, nil
}

// The functions below look inside DER that crypto/x509 refused, to tell an
// unsupported key type or curve (ErrUnsupportedKey) from a malformed key.

// Object identifiers of key algorithms and curves (RFC 3279, RFC 5480,
// RFC 8410, SEC 2).
var (
	oidRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECPublic  = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidEd25519   = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidCurveP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidCurveP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidCurveP521 = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

// oidNames names algorithms and curves inkan does not support, for messages.
var oidNames = map[string]string{
	"1.2.840.113549.1.1.10":   "RSASSA-PSS-only RSA",
	"1.2.840.10040.4.1":       "DSA",
	"1.3.101.110":             "X25519",
	"1.3.101.111":             "X448",
	"1.3.101.113":             "Ed448",
	"1.3.132.0.10":            "secp256k1",
	"1.3.132.0.33":            "P-224",
	"1.3.36.3.3.2.8.1.1.7":    "brainpoolP256r1",
	"1.3.36.3.3.2.8.1.1.11":   "brainpoolP384r1",
	"1.3.36.3.3.2.8.1.1.13":   "brainpoolP512r1",
	"1.2.156.10197.1.301":     "SM2",
	"1.2.840.10045.3.1.1":     "P-192",
	"2.16.840.1.101.3.4.3.17": "ML-DSA-44",
	"2.16.840.1.101.3.4.3.18": "ML-DSA-65",
	"2.16.840.1.101.3.4.3.19": "ML-DSA-87",
}

// oidName describes oid for a message, e.g. "secp256k1 (1.3.132.0.10)".
func oidName(oid asn1.ObjectIdentifier) string {
	if name, ok := oidNames[oid.String()]; ok {
		return fmt.Sprintf("%s (%s)", name, oid)
	}
	return "OID " + oid.String()
}

// unsupportedAlgorithm describes the key in an AlgorithmIdentifier and
// reports whether inkan does not support it.
func unsupportedAlgorithm(alg pkix.AlgorithmIdentifier) (string, bool) {
	switch {
	case alg.Algorithm.Equal(oidRSA), alg.Algorithm.Equal(oidEd25519):
		return "", false
	case alg.Algorithm.Equal(oidECPublic):
		var curve asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &curve); err != nil {
			return "", false
		}
		return unsupportedCurve(curve)
	default:
		return "key algorithm " + oidName(alg.Algorithm), true
	}
}

// unsupportedCurve describes an EC curve and reports whether inkan does not
// support it.
func unsupportedCurve(curve asn1.ObjectIdentifier) (string, bool) {
	if curve.Equal(oidCurveP256) || curve.Equal(oidCurveP384) || curve.Equal(oidCurveP521) {
		return "", false
	}
	return "ECDSA curve " + oidName(curve) + ", need P-256, P-384 or P-521", true
}

// spkiASN1 is SubjectPublicKeyInfo (RFC 5280 §4.1).
type spkiASN1 struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// unsupportedSPKI is unsupportedAlgorithm for SubjectPublicKeyInfo DER.
func unsupportedSPKI(der []byte) (string, bool) {
	var spki spkiASN1
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return "", false
	}
	return unsupportedAlgorithm(spki.Algorithm)
}

// unsupportedPKCS8 is unsupportedAlgorithm for PKCS#8 PrivateKeyInfo DER
// (RFC 5208 §5; trailing attributes are ignored).
func unsupportedPKCS8(der []byte) (string, bool) {
	var info struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return "", false
	}
	return unsupportedAlgorithm(info.Algorithm)
}

// unsupportedSEC1 is unsupportedCurve for a SEC 1 ECPrivateKey (RFC 5915 §3).
func unsupportedSEC1(der []byte) (string, bool) {
	var key struct {
		Version    int
		PrivateKey []byte
		Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &key); err != nil || len(key.Curve) == 0 {
		return "", false
	}
	return unsupportedCurve(key.Curve)
}

// unsupportedCertificate is unsupportedSPKI for the subject public key of an
// X.509 certificate (RFC 5280 §4.1).
func unsupportedCertificate(der []byte) (string, bool) {
	var cert struct {
		TBS struct {
			Version      int `asn1:"optional,explicit,default:0,tag:0"`
			SerialNumber asn1.RawValue
			Signature    asn1.RawValue
			Issuer       asn1.RawValue
			Validity     asn1.RawValue
			Subject      asn1.RawValue
			PublicKey    spkiASN1
		}
	}
	if _, err := asn1.Unmarshal(der, &cert); err != nil {
		return "", false
	}
	return unsupportedAlgorithm(cert.TBS.PublicKey.Algorithm)
}
