package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

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
