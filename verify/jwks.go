package verify

import (
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// ParseJWKS returns the keys of a JWK Set (RFC 7517 §5) that can verify
// tokens, in the order of the set, as a StaticKeySet; a RemoteKeySet keeps
// the keys of what it fetches by the same rules.
//
// A key is kept when it has a kid, a "use" of "sig" or none, an "alg" among
// [Algorithms] that fits the key's type ([AlgorithmFits]: RS* and PS*: RSA
// of at least 2048 bits; ES256: P-256; ES384: P-384; ES512: P-521; EdDSA:
// Ed25519), and no private or symmetric key material. A JWK holding a
// private key is dropped, not reduced to its public half: an issuer that
// publishes its private key has lost it. Other keys, including those of a
// type go-jose does not know, are ignored, as RFC 7517 §5 advises. When two
// usable keys share a kid, the first is kept.
//
// The error says that data is not a JWK Set, or that the set holds no
// usable key.
func ParseJWKS(data []byte) (StaticKeySet, error) {
	keys, err := usableKeys(data)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return keys, nil
}

// parseJWKS returns the usable keys of a JWKS by kid, for a RemoteKeySet.
func parseJWKS(body []byte) (map[string]Key, error) {
	keys, err := usableKeys(body)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]Key, len(keys))
	for _, k := range keys {
		byID[k.ID] = k
	}
	return byID, nil
}

// usableKeys returns the usable keys of a JWKS in order, the first of each
// kid (see ParseJWKS for which are usable), or an error when the body is not
// a JWKS or has none. Each key is decoded on its own with go-jose's
// JSONWebKey, because decoding a whole jose.JSONWebKeySet fails on the first
// key of a type go-jose does not know, where RFC 7517 §5 says to ignore that
// key.
func usableKeys(body []byte) ([]Key, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("not a JWKS: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New("not a JWKS: no keys member")
	}
	var keys []Key
	seen := make(map[string]bool, len(set.Keys))
	for _, raw := range set.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			continue
		}
		k, ok := usable(&jwk)
		if !ok || seen[k.ID] {
			continue
		}
		seen[k.ID] = true
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("JWKS has no usable signing key among %d", len(set.Keys))
	}
	return keys, nil
}

// usable returns jwk as a Key if it can verify tokens: a public key with a
// kid, for signing, whose alg is allowed and fits its type.
func usable(jwk *jose.JSONWebKey) (Key, bool) {
	if jwk.KeyID == "" || (jwk.Use != "" && jwk.Use != "sig") {
		return Key{}, false
	}
	// Private keys, symmetric keys and unknown types do not fit either.
	if !AlgorithmFits(jwk.Algorithm, jwk.Key) {
		return Key{}, false
	}
	return Key{ID: jwk.KeyID, Algorithm: jwk.Algorithm, Public: jwk.Key}, true
}
