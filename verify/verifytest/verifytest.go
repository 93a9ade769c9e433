// Package verifytest runs a stand-in token issuer for the tests of code that
// uses package verify, as go-oidc's oidctest does for OpenID Connect: a
// signing key generated at start, its JWKS (RFC 7517 §5) served by an
// httptest.Server where verify.New looks for it by default, and tokens with
// the claims and headers a test chooses.
//
//	is := verifytest.NewIssuer(nil)
//	defer is.Close()
//	v, err := verify.New(ctx, verify.Config{Issuer: is.URL, Audience: "api"})
//	...
//	raw := is.Token(nil, map[string]any{"sub": "alice", "aud": "api"})
//
// For brevity its functions panic rather than return errors. It is for tests
// only: the private key lives in memory unprotected, and the server answers
// anyone.
package verifytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/inkan-dev/inkan/verify"
)

// JWKSPath is where an Issuer serves its JWKS, as inkan does, and where
// verify.New fetches it from by default.
const JWKSPath = "/.well-known/jwks.json"

// Defaults of Options.
const (
	DefaultAlgorithm = "ES256"
	DefaultKeyID     = "test-key"
)

// Options configures an Issuer. The zero value, or nil, means every default.
type Options struct {
	// Algorithm is the alg of the signing key, one of verify.Algorithms();
	// empty means DefaultAlgorithm. An RSA key for RS* and PS* has 2048
	// bits.
	Algorithm string
	// KeyID is the kid of the key; empty means DefaultKeyID.
	KeyID string
}

// Issuer is a test issuer: one signing key, and a server publishing its
// public half. It is safe for concurrent use, once Now is set.
type Issuer struct {
	// URL is the issuer: the default iss of its tokens, and the base URL of
	// its server, which serves the JWKS at URL + JWKSPath. Read it only.
	URL string
	// KeyID and Algorithm are the kid and alg of the signing key, in the
	// JWKS and in each token's header. Read them only: choose them with
	// Options.
	KeyID     string
	Algorithm string
	// Now is the clock of the default iat and exp of a token; nil means
	// time.Now. Set it before minting, for a test with a fixed clock.
	Now func() time.Time

	key  crypto.Signer
	jwks []byte
	srv  *httptest.Server
}

// NewIssuer generates a key and starts the issuer's server; Close stops it.
// opts may be nil. It panics on an algorithm that verify does not accept.
func NewIssuer(opts *Options) *Issuer {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Algorithm == "" {
		o.Algorithm = DefaultAlgorithm
	}
	if o.KeyID == "" {
		o.KeyID = DefaultKeyID
	}
	key := generate(o.Algorithm)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: key.Public(), KeyID: o.KeyID, Algorithm: o.Algorithm, Use: "sig"},
	}})
	if err != nil {
		panic(fmt.Sprintf("verifytest: JWKS: %v", err))
	}
	is := &Issuer{KeyID: o.KeyID, Algorithm: o.Algorithm, key: key, jwks: jwks}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+JWKSPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(is.jwks)
	})
	is.srv = httptest.NewServer(mux)
	is.URL = is.srv.URL
	return is
}

// generate returns a new private key for alg.
func generate(alg string) crypto.Signer {
	var (
		key crypto.Signer
		err error
	)
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		panic(fmt.Sprintf("verifytest: algorithm %q, want one of %q", alg, verify.Algorithms()))
	}
	if err != nil {
		panic(fmt.Sprintf("verifytest: generate %s key: %v", alg, err))
	}
	if !verify.AlgorithmFits(alg, key.Public()) {
		panic(fmt.Sprintf("verifytest: a %s key that verify refuses", alg))
	}
	return key
}

// Close stops the server.
func (is *Issuer) Close() { is.srv.Close() }

// JWKSURL returns the URL of the JWKS, URL + JWKSPath.
func (is *Issuer) JWKSURL() string { return is.URL + JWKSPath }

// JWKS returns the JWKS the server serves: the public key, with its kid,
// its alg and "use":"sig".
func (is *Issuer) JWKS() []byte { return slices.Clone(is.jwks) }

// KeySet returns the public key as a verify.StaticKeySet, for a Verifier
// that needs no HTTP.
func (is *Issuer) KeySet() verify.StaticKeySet {
	return verify.StaticKeySet{{ID: is.KeyID, Algorithm: is.Algorithm, Public: is.key.Public()}}
}

// Token returns a JWS in compact serialization, signed with the issuer's
// key.
//
// Its header has the key's alg and kid and typ "at+jwt" (an RFC 9068 access
// token), then the entries of header, each replacing or adding one; a nil or
// "" kid or typ drops it. The alg is always the key's: header may not name
// one.
//
// Its claims are iss (URL), iat (now) and exp (an hour from now), then the
// entries of claims, each replacing or adding one; a nil value drops it. A
// time.Time value is written as a NumericDate (RFC 7519 §2), in seconds.
func (is *Issuer) Token(header, claims map[string]any) string {
	now := time.Now
	if is.Now != nil {
		now = is.Now
	}
	t := now()
	payload := map[string]any{"iss": is.URL, "iat": t.Unix(), "exp": t.Add(time.Hour).Unix()}
	for k, v := range claims {
		switch v := v.(type) {
		case nil:
			delete(payload, k)
		case time.Time:
			payload[k] = v.Unix()
		default:
			payload[k] = v
		}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		panic(fmt.Sprintf("verifytest: claims: %v", err))
	}

	kid, typ := is.KeyID, "at+jwt"
	opts := &jose.SignerOptions{}
	for k, v := range header {
		switch k {
		case "alg":
			panic("verifytest: the alg header is the key's own; sign with another Issuer for another alg")
		case "kid":
			kid = headerString(k, v)
		case "typ":
			typ = headerString(k, v)
		default:
			opts = opts.WithHeader(jose.HeaderKey(k), v)
		}
	}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(is.Algorithm),
		Key:       jose.JSONWebKey{Key: is.key, KeyID: kid}, // no kid header when kid is ""
	}, opts)
	if err != nil {
		panic(fmt.Sprintf("verifytest: signer: %v", err))
	}
	jws, err := signer.Sign(body)
	if err != nil {
		panic(fmt.Sprintf("verifytest: sign: %v", err))
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		panic(fmt.Sprintf("verifytest: serialize: %v", err))
	}
	return raw
}

// headerString returns a kid or typ header value: a string, or "" for nil.
func headerString(name string, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	panic(fmt.Sprintf("verifytest: header %q is %T, want a string", name, v))
}
