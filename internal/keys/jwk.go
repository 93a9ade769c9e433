package keys

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

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
