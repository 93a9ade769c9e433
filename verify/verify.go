// Package verify checks JSON Web Tokens issued by inkan (or any issuer that
// signs with asymmetric keys published as a JWKS, RFC 7517): the signature
// with the key the header's kid names, in that key's algorithm only, and the
// registered claims of RFC 7519 §4.1 against a clock.
//
// A resource server builds one Verifier with New, usually giving only the
// issuer: the keys then come from the issuer's JWKS, fetched and cached by a
// RemoteKeySet. Verifier.Middleware guards HTTP handlers with it (RFC 6750).
//
// It imports nothing else from inkan, so resource servers can depend on it
// alone.
package verify

import (
	"cmp"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Errors returned by Verify, always wrapped with detail; test them with errors.Is.
var (
	ErrMalformed   = errors.New("verify: malformed token")
	ErrAlgorithm   = errors.New("verify: algorithm not allowed")
	ErrUnknownKey  = errors.New("verify: unknown signing key")
	ErrSignature   = errors.New("verify: invalid signature")
	ErrExpired     = errors.New("verify: token expired")
	ErrNotYetValid = errors.New("verify: token not yet valid")
	ErrIssuer      = errors.New("verify: wrong issuer")
	ErrAudience    = errors.New("verify: wrong audience")
	ErrType        = errors.New("verify: wrong token type")
)

// DefaultTypes are the typ header values accepted when Config.Types is
// empty: RFC 9068 access tokens ("at+jwt") and inkan's tutorial tokens
// ("JWT", without an aud). New uses its own copy.
var DefaultTypes = []string{"at+jwt", "JWT"}

var defaultTypes = []string{"at+jwt", "JWT"}

// DefaultMaxTokenSize is the size above which a token is refused unparsed.
const DefaultMaxTokenSize = 8192

// Key is one public verification key.
type Key struct {
	ID        string           // the kid
	Algorithm string           // the only algorithm this key verifies
	Public    crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// KeySet finds public keys by kid.
type KeySet interface {
	// Key returns the key with the given kid, or an error wrapping
	// ErrUnknownKey.
	Key(ctx context.Context, kid string) (Key, error)
}

// StaticKeySet is a fixed KeySet.
type StaticKeySet []Key

// Key implements KeySet.
func (s StaticKeySet) Key(_ context.Context, kid string) (Key, error) {
	for _, k := range s {
		if k.ID == kid {
			return k, nil
		}
	}
	return Key{}, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
}

// Config configures a Verifier.
type Config struct {
	// Issuer is the exact iss every token must carry. Required.
	Issuer string
	// KeySet supplies the verification keys. When nil, New builds a
	// RemoteKeySet for JWKSURL with KeySetOptions; those two fields serve
	// only that case.
	KeySet KeySet
	// JWKSURL is where the issuer publishes its JWKS. Empty means Issuer,
	// less one trailing slash, followed by "/.well-known/jwks.json", where
	// inkan serves it. Setting it together with KeySet is an error.
	JWKSURL string
	// KeySetOptions configures the RemoteKeySet that New builds when KeySet
	// is nil: its HTTP client and refresh intervals (the zero value means
	// every default; see RemoteKeySetOptions). When its Now is nil, the key
	// set uses Config.Now.
	KeySetOptions RemoteKeySetOptions
	// Audience, when set, must be one of the token's aud values. When empty,
	// aud is not checked.
	Audience string
	// Algorithms is the allow-list of signature algorithms; empty means
	// every one of [Algorithms]. Symmetric algorithms and "none" are
	// refused here.
	Algorithms []string
	// Leeway is the clock skew tolerated on exp, nbf and iat. Zero means none.
	Leeway time.Duration
	// Now is the clock; nil means time.Now. A RemoteKeySet built by New
	// uses it too.
	Now func() time.Time
	// MaxTokenSize bounds the token length in bytes; zero means
	// DefaultMaxTokenSize.
	MaxTokenSize int
	// Types lists the typ header values accepted, compared
	// case-insensitively with any "application/" prefix dropped; "" stands
	// for a token without typ. Empty means DefaultTypes: "at+jwt" (RFC 9068
	// access tokens) and "JWT" (inkan's tutorial tokens). A resource server
	// that takes only OAuth access tokens sets []string{"at+jwt"}.
	Types []string
	// AllowIDTokens accepts OpenID Connect ID tokens, which are refused by
	// default whatever Types says: a token whose typ is JWT or absent and
	// that carries an aud is taken for an ID token, since an ID token always
	// names its client in aud (OpenID Connect Core §2) and is typ JWT, while
	// access tokens are typ at+jwt (RFC 9068 §2.1) and inkan's tutorial
	// tokens have no aud. An API that took ID tokens would let any client
	// the user signed in to call it as the user (RFC 9068 §4). Only a
	// relying party that checks ID tokens sets it, with Audience its client
	// id.
	AllowIDTokens bool

	// SkipExpiryCheck accepts tokens whose exp has passed; exp must still
	// be present, and nbf, iat, iss, aud and the signature are checked as
	// always. It is for tokens used as hints, such as the id_token_hint of
	// OpenID Connect RP-Initiated Logout 1.0 §2, which an OP should accept
	// after it expired. A resource server MUST NOT set it: it would take
	// tokens that expired any time ago.
	SkipExpiryCheck bool
	// CacheSize, when positive, keeps up to that many verified tokens, so
	// that a token presented again skips the signature check. A token is
	// kept from its second verification on: one presented only once (a
	// stream of new tokens, or an attacker's) takes no room beyond its
	// SHA-256 and displaces nothing. A hit still checks that the key its
	// kid names is the same key in the KeySet (a removed or replaced key
	// refuses it) and checks exp, nbf, iat, iss and aud against the clock
	// again. Zero disables the cache.
	CacheSize int
}

// Verifier verifies tokens. It is safe for concurrent use.
type Verifier struct {
	cfg   Config
	algs  []jose.SignatureAlgorithm
	names []string
	cache *tokenCache // nil without Config.CacheSize
}

// New returns a Verifier for cfg.
//
// When cfg.KeySet is nil, New builds a RemoteKeySet for cfg.JWKSURL (by
// default the issuer's /.well-known/jwks.json) with NewRemoteKeySet. New
// then does no I/O and succeeds while the issuer is down: the JWKS is
// fetched on the first Verify. ctx bounds the key set's background refresh;
// cancel it only when the Verifier is no longer needed, as the Verifier then
// fetches no more keys.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("verify: Config.Issuer is required")
	}
	if cfg.KeySet != nil && cfg.JWKSURL != "" {
		return nil, errors.New("verify: set Config.KeySet or Config.JWKSURL, not both")
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = Algorithms()
	}
	if len(cfg.Types) == 0 {
		cfg.Types = slices.Clone(defaultTypes)
	} else {
		cfg.Types = slices.Clone(cfg.Types)
	}
	v := &Verifier{cfg: cfg}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(algorithms, a) {
			return nil, fmt.Errorf("verify: algorithm %q is not allowed (use %s)", a, strings.Join(algorithms, ", "))
		}
		v.algs = append(v.algs, jose.SignatureAlgorithm(a))
		v.names = append(v.names, a)
	}
	if v.cfg.Now == nil {
		v.cfg.Now = time.Now
	}
	if v.cfg.MaxTokenSize <= 0 {
		v.cfg.MaxTokenSize = DefaultMaxTokenSize
	}
	if cfg.CacheSize > 0 {
		v.cache = newTokenCache(cfg.CacheSize)
	}
	if v.cfg.KeySet == nil { // last, so that no goroutine starts for a refused cfg
		jwksURL := cfg.JWKSURL
		if jwksURL == "" {
			jwksURL = strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/jwks.json"
		}
		opts := cfg.KeySetOptions
		if opts.Now == nil {
			opts.Now = v.cfg.Now
		}
		ks, err := NewRemoteKeySet(ctx, jwksURL, &opts)
		if err != nil {
			return nil, err
		}
		v.cfg.KeySet = ks
	}
	return v, nil
}

// Claims are the verified claims of a token.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	Expiry    time.Time
	NotBefore time.Time // zero when absent
	IssuedAt  time.Time // zero when absent
	ID        string    // jti
	Email     string
	Name      string // inkan's "user" claim, or else OpenID Connect's "name"
	KeyID     string // the kid of the key that verified the token
	Type      string // the typ header, such as "JWT"

	raw []byte
}

// Decode unmarshals the whole verified payload into v, for claims that
// Claims has no field for.
func (c *Claims) Decode(v any) error { return json.Unmarshal(c.raw, v) }

type wireClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
	Email     string           `json:"email"`
	Name      string           `json:"user"`
	OIDCName  string           `json:"name"`
}

// Verify checks raw, a JWS in compact serialization, and returns its claims.
// The key is the one named by the header's kid, and the header's alg must be
// both allowed and that key's own algorithm.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if len(raw) > v.cfg.MaxTokenSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, v.cfg.MaxTokenSize)
	}
	var sum [sha256.Size]byte
	if v.cache != nil {
		sum = sha256.Sum256([]byte(raw))
		if c, ok, err := v.fromCache(ctx, sum); ok {
			return c, err
		}
	}
	jws, err := jose.ParseSignedCompact(raw, v.algs)
	if err != nil {
		if alg, ok := peekAlg(raw); ok && !slices.Contains(v.names, alg) {
			return nil, fmt.Errorf("%w: %q", ErrAlgorithm, alg)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err) //nolint:errorlint // go-jose's error is detail: only verify's sentinels are in the chain
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want one signature", ErrMalformed)
	}
	h := jws.Signatures[0].Protected
	if h.KeyID == "" {
		return nil, fmt.Errorf("%w: no kid in header", ErrUnknownKey)
	}
	key, err := v.cfg.KeySet.Key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != h.Algorithm {
		return nil, fmt.Errorf("%w: %q with key %q of %q", ErrAlgorithm, h.Algorithm, key.ID, key.Algorithm)
	}
	payload, err := jws.Verify(key.Public)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err) //nolint:errorlint // go-jose's error is detail: only verify's sentinels are in the chain
	}
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err) //nolint:errorlint // go-jose's error is detail: only verify's sentinels are in the chain
	}
	c := &Claims{
		Issuer: w.Issuer, Subject: w.Subject, Audience: w.Audience, ID: w.ID,
		Email: w.Email, Name: cmp.Or(w.Name, w.OIDCName), KeyID: key.ID, raw: payload,
	}
	if typ, ok := h.ExtraHeaders[jose.HeaderType].(string); ok {
		c.Type = typ
	}
	if err := setTimes(c, &w); err != nil {
		return nil, err
	}
	if err := v.checkClaims(c); err != nil {
		return nil, err
	}
	if v.cache != nil {
		c.Issuer = v.cfg.Issuer // checked equal: the cache shares one copy
		v.cache.put(sum, &cached{claims: *c, key: key}, v.cfg.Now())
	}
	return c, nil
}

// cached is a verified token.
type cached struct {
	claims Claims
	key    Key
}

// tokenCache maps the SHA-256 of a token to its verification.
//
// A token enters it on its second verification, not its first: seen holds
// the hashes of tokens verified once. A token presented once, as most of a
// stream of new ones are, then costs 32 bytes instead of a cached
// verification, and it never displaces the tokens in use; a token in use
// pays one more signature check, once.
type tokenCache struct {
	mu   sync.RWMutex
	m    map[[sha256.Size]byte]*cached
	seen map[[sha256.Size]byte]struct{}
	max  int
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{max: size, m: map[[sha256.Size]byte]*cached{}, seen: map[[sha256.Size]byte]struct{}{}}
}

func (tc *tokenCache) put(sum [sha256.Size]byte, e *cached, now time.Time) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if _, again := tc.seen[sum]; !again {
		if len(tc.seen) >= tc.max {
			clear(tc.seen) // a new generation: the tokens in use come back
		}
		tc.seen[sum] = struct{}{}
		return
	}
	delete(tc.seen, sum)
	if len(tc.m) >= tc.max {
		for k, old := range tc.m { // expired entries first
			if !now.Before(old.claims.Expiry) {
				delete(tc.m, k)
			}
		}
		for k := range tc.m { // then arbitrary ones, down to 3/4
			if len(tc.m) < tc.max*3/4 {
				break
			}
			delete(tc.m, k)
		}
	}
	tc.m[sum] = e
}

// fromCache answers a token verified before, if its key is still the one
// the key set holds for its kid; ok is false on a miss.
func (v *Verifier) fromCache(ctx context.Context, sum [sha256.Size]byte) (c *Claims, ok bool, err error) {
	v.cache.mu.RLock()
	e := v.cache.m[sum]
	v.cache.mu.RUnlock()
	if e == nil {
		return nil, false, nil
	}
	k, err := v.cfg.KeySet.Key(ctx, e.key.ID)
	same, _ := k.Public.(interface{ Equal(crypto.PublicKey) bool })
	if err != nil || k.Algorithm != e.key.Algorithm || same == nil || !same.Equal(e.key.Public) {
		v.cache.mu.Lock()
		delete(v.cache.m, sum)
		v.cache.mu.Unlock()
		return nil, false, nil
	}
	claims := e.claims
	if err := v.checkClaims(&claims); err != nil {
		return nil, true, err
	}
	return &claims, true, nil
}

// setTimes sets c's exp, nbf and iat from w, the payload's claims; an absent
// nbf or iat stays the zero time.
func setTimes(c *Claims, w *wireClaims) error {
	if w.Expiry == nil {
		return fmt.Errorf("%w: no exp claim", ErrMalformed)
	}
	c.Expiry = w.Expiry.Time().UTC()
	if w.NotBefore != nil {
		c.NotBefore = w.NotBefore.Time().UTC()
	}
	if w.IssuedAt != nil {
		c.IssuedAt = w.IssuedAt.Time().UTC()
	}
	return nil
}

// checkClaims checks c, whose times setTimes set, against the clock and
// the configuration: on every Verify, a cached token's too.
func (v *Verifier) checkClaims(c *Claims) error {
	now := v.cfg.Now()
	leeway := v.cfg.Leeway
	// RFC 7519 §4.1.4: now must be before exp (plus leeway) to accept.
	if !v.cfg.SkipExpiryCheck && !now.Before(c.Expiry.Add(leeway)) {
		return fmt.Errorf("%w: at %s", ErrExpired, c.Expiry.Format(time.RFC3339))
	}
	if !c.NotBefore.IsZero() && now.Add(leeway).Before(c.NotBefore) {
		return fmt.Errorf("%w: nbf %s", ErrNotYetValid, c.NotBefore.Format(time.RFC3339))
	}
	if !c.IssuedAt.IsZero() && now.Add(leeway).Before(c.IssuedAt) {
		return fmt.Errorf("%w: issued in the future, at %s", ErrNotYetValid, c.IssuedAt.Format(time.RFC3339))
	}
	if !slices.ContainsFunc(v.cfg.Types, func(t string) bool { return normalType(t) == normalType(c.Type) }) {
		return fmt.Errorf("%w: %q", ErrType, c.Type)
	}
	if !v.cfg.AllowIDTokens && isIDToken(c) {
		return fmt.Errorf("%w: an ID token (typ %q with an aud), not an access token", ErrType, c.Type)
	}
	if c.Issuer != v.cfg.Issuer {
		return fmt.Errorf("%w: %q", ErrIssuer, c.Issuer)
	}
	if v.cfg.Audience != "" && !slices.Contains(c.Audience, v.cfg.Audience) {
		return fmt.Errorf("%w: %q not in %q", ErrAudience, v.cfg.Audience, c.Audience)
	}
	return nil
}

// peekAlg reads the alg of a compact JWS header without trusting it, only to
// classify a parse failure.
func peekAlg(raw string) (string, bool) {
	seg, _, ok := strings.Cut(raw, ".")
	if !ok || len(seg) > 1024 {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return "", false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil || h.Alg == "" {
		return "", false
	}
	return h.Alg, true
}

// isIDToken reports whether c has the shape of an OpenID Connect ID token:
// typ JWT or none (OpenID Connect Core sets no typ of its own), and an aud
// (see Config.AllowIDTokens). Tokens of an explicit type of their own, such
// as at+jwt or a Back-Channel Logout 1.0 logout+jwt, are not taken for one.
// inkan mints nothing else of that shape.
func isIDToken(c *Claims) bool {
	t := normalType(c.Type)
	return (t == "" || t == "jwt") && len(c.Audience) > 0
}

func normalType(t string) string {
	return strings.TrimPrefix(strings.ToLower(t), "application/")
}
