package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// testNow is the fixed clock of every test; tokens are minted around it.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const testIssuer = "https://id.example.com"

var sentinels = []error{
	ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrSignature,
	ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience, ErrType,
}

// testKeys holds one private key per algorithm; set publishes their public
// halves, each under its own kid and for its algorithm only.
type testKeys struct {
	rsa  *rsa.PrivateKey // the fixed key of testdata/rsa2048.pem, kid "rsa", RS256
	pss  *rsa.PrivateKey // kid "pss", PS256
	p256 *ecdsa.PrivateKey
	p384 *ecdsa.PrivateKey
	ed   ed25519.PrivateKey
	set  StaticKeySet
}

var loadTestKeys = sync.OnceValues(func() (*testKeys, error) {
	k := &testKeys{}
	var err error
	if k.rsa, err = fixedRSA(); err != nil {
		return nil, err
	}
	if k.pss, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if k.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if k.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		return nil, err
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	k.set = StaticKeySet{
		{ID: "rsa", Algorithm: "RS256", Public: &k.rsa.PublicKey},
		{ID: "pss", Algorithm: "PS256", Public: &k.pss.PublicKey},
		{ID: "p256", Algorithm: "ES256", Public: &k.p256.PublicKey},
		{ID: "p384", Algorithm: "ES384", Public: &k.p384.PublicKey},
		{ID: "ed", Algorithm: "EdDSA", Public: k.ed.Public()},
	}
	return k, nil
})

func mustTestKeys(tb testing.TB) *testKeys {
	tb.Helper()
	k, err := loadTestKeys()
	if err != nil {
		tb.Fatalf("test keys: %v", err)
	}
	return k
}

var fixedRSA = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	data, err := os.ReadFile("testdata/rsa2048.pem")
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("testdata/rsa2048.pem: no PRIVATE KEY block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("testdata/rsa2048.pem: not an RSA key")
	}
	return rk, nil
})

// mustFixedRSA returns the RSA key of testdata/rsa2048.pem, which stays the
// same across runs so that the fuzz seeds signed with it stay valid.
func mustFixedRSA(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	k, err := fixedRSA()
	if err != nil {
		tb.Fatalf("fixed RSA key: %v", err)
	}
	return k
}

// mustSign returns the compact JWS of claims signed by key under alg, with
// the header {alg, kid, typ: "JWT"} (no kid when kid is empty), as inkan's
// tutorial tokens are.
func mustSign(tb testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	tb.Helper()
	return mustSignType(tb, "JWT", alg, key, kid, claims)
}

// mustSignAccess is mustSign with typ at+jwt, as RFC 9068 access tokens,
// which carry an aud, are.
func mustSignAccess(tb testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	tb.Helper()
	return mustSignType(tb, "at+jwt", alg, key, kid, claims)
}

// mustSignType is mustSign with the given typ, none when it is empty.
func mustSignType(tb testing.TB, typ string, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	tb.Helper()
	if kid != "" {
		key = jose.JSONWebKey{Key: key, KeyID: kid}
	}
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		tb.Fatalf("jose.NewSigner(%s): %v", alg, err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatalf("json.Marshal(%v): %v", claims, err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		tb.Fatalf("Sign(%s): %v", alg, err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		tb.Fatalf("CompactSerialize: %v", err)
	}
	return raw
}

// seg is the unpadded base64url encoding of v's JSON, or of v itself when it
// is a string.
func seg(tb testing.TB, v any) string {
	tb.Helper()
	if s, ok := v.(string); ok {
		return base64.RawURLEncoding.EncodeToString([]byte(s))
	}
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("json.Marshal(%v): %v", v, err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// claims returns valid claims at testNow, changed by the edit funcs.
func claims(edits ...func(map[string]any)) map[string]any {
	c := map[string]any{
		"iss":   testIssuer,
		"sub":   "alice-id",
		"iat":   testNow.Unix(),
		"exp":   testNow.Add(time.Hour).Unix(),
		"jti":   "jti-1",
		"email": "alice@example.com",
		"user":  "Alice",
	}
	for _, edit := range edits {
		edit(c)
	}
	return c
}

func set(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
func del(k string) func(map[string]any)        { return func(c map[string]any) { delete(c, k) } }

// mustVerifier returns a Verifier over the test keys at testNow with a
// minute of leeway, changed by edit when it is not nil.
func mustVerifier(tb testing.TB, edit func(*Config)) *Verifier {
	tb.Helper()
	cfg := Config{
		Issuer: testIssuer,
		KeySet: mustTestKeys(tb).set,
		Leeway: time.Minute,
		Now:    func() time.Time { return testNow },
	}
	if edit != nil {
		edit(&cfg)
	}
	v, err := New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return v
}

// replaceSegment returns raw with its i-th dot-separated segment replaced.
func replaceSegment(raw string, i int, s string) string {
	parts := strings.Split(raw, ".")
	parts[i] = s
	return strings.Join(parts, ".")
}

func TestVerifier_Verify(t *testing.T) {
	k := mustTestKeys(t)
	valid := mustSign(t, jose.RS256, k.rsa, "rsa", claims())
	pubDER, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	none := func(alg string) string {
		return seg(t, map[string]any{"alg": alg, "kid": "rsa", "typ": "JWT"}) + "." + seg(t, claims()) + "."
	}
	audience := func(c *Config) { c.Audience = "api" }

	tests := []struct {
		name    string
		raw     string
		config  func(*Config) // nil: mustVerifier's defaults
		wantErr error         // nil: the token verifies
	}{
		{name: "rs256", raw: valid},
		{name: "ps256", raw: mustSign(t, jose.PS256, k.pss, "pss", claims())},
		{name: "es256", raw: mustSign(t, jose.ES256, k.p256, "p256", claims())},
		{name: "es384", raw: mustSign(t, jose.ES384, k.p384, "p384", claims())},
		{name: "eddsa", raw: mustSign(t, jose.EdDSA, k.ed, "ed", claims())},

		// Algorithm attacks.
		{name: "alg none", raw: none("none"), wantErr: ErrAlgorithm},
		{name: "alg None", raw: none("None"), wantErr: ErrAlgorithm},
		{name: "alg NONE", raw: none("NONE"), wantErr: ErrAlgorithm},
		{name: "hs256 keyed with public pem", raw: mustSign(t, jose.HS256, pubPEM, "rsa", claims()), wantErr: ErrAlgorithm},
		{name: "hs256 keyed with public der", raw: mustSign(t, jose.HS256, pubDER, "rsa", claims()), wantErr: ErrAlgorithm},
		{name: "ps256 with rs256 key", raw: mustSign(t, jose.PS256, k.rsa, "rsa", claims()), wantErr: ErrAlgorithm},
		{name: "rs256 with ps256 key", raw: mustSign(t, jose.RS256, k.pss, "pss", claims()), wantErr: ErrAlgorithm},
		{name: "es256 with eddsa key", raw: mustSign(t, jose.ES256, k.p256, "ed", claims()), wantErr: ErrAlgorithm},
		{
			name:    "es256 not in allow-list",
			raw:     mustSign(t, jose.ES256, k.p256, "p256", claims()),
			config:  func(c *Config) { c.Algorithms = []string{"RS256"} },
			wantErr: ErrAlgorithm,
		},
		{
			name:   "rs256 in allow-list",
			raw:    valid,
			config: func(c *Config) { c.Algorithms = []string{"RS256"} },
		},

		// Keys.
		{name: "unknown kid", raw: mustSign(t, jose.RS256, k.rsa, "nope", claims()), wantErr: ErrUnknownKey},
		{name: "no kid", raw: mustSign(t, jose.RS256, k.rsa, "", claims()), wantErr: ErrUnknownKey},
		{name: "signed by another key", raw: mustSign(t, jose.RS256, k.pss, "rsa", claims()), wantErr: ErrSignature},

		// Time.
		{name: "expired beyond leeway", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("exp", testNow.Add(-61*time.Second).Unix()))), wantErr: ErrExpired},
		{name: "expired at leeway end", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("exp", testNow.Add(-time.Minute).Unix()))), wantErr: ErrExpired},
		{name: "expired within leeway", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("exp", testNow.Add(-59*time.Second).Unix())))},
		{
			name:    "exp now without leeway", // RFC 7519 §4.1.4: now must be before exp
			raw:     mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("exp", testNow.Unix()))),
			config:  func(c *Config) { c.Leeway = 0 },
			wantErr: ErrExpired,
		},
		{
			name:   "exp in a second without leeway",
			raw:    mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("exp", testNow.Add(time.Second).Unix()))),
			config: func(c *Config) { c.Leeway = 0 },
		},
		{name: "nbf beyond leeway", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("nbf", testNow.Add(61*time.Second).Unix()))), wantErr: ErrNotYetValid},
		{name: "nbf within leeway", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("nbf", testNow.Add(59*time.Second).Unix())))},
		{name: "nbf at leeway end", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("nbf", testNow.Add(time.Minute).Unix())))},
		{name: "iat beyond leeway", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("iat", testNow.Add(61*time.Second).Unix()))), wantErr: ErrNotYetValid},
		{name: "iat within leeway", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("iat", testNow.Add(59*time.Second).Unix())))},
		{name: "no iat", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(del("iat")))},
		{name: "no exp", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(del("exp"))), wantErr: ErrMalformed},
		{name: "exp string", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("exp", "tomorrow"))), wantErr: ErrMalformed},
		{name: "exp overflow", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("exp", 1e300))), wantErr: ErrMalformed},
		{name: "nbf overflow", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("nbf", 1e300))), wantErr: ErrMalformed},
		{name: "expired and tampered", raw: replaceSegment(mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("exp", testNow.Add(-time.Hour).Unix()))), 1, seg(t, claims())), wantErr: ErrSignature},

		// Issuer and audience.
		{name: "wrong issuer", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("iss", "https://evil.example.com"))), wantErr: ErrIssuer},
		{name: "issuer with trailing slash", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("iss", testIssuer+"/"))), wantErr: ErrIssuer},
		{name: "no issuer", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(del("iss"))), wantErr: ErrIssuer},
		{name: "audience unchecked", raw: mustSignAccess(t, jose.RS256, k.rsa, "rsa", claims(set("aud", "other")))},
		{name: "audience missing", raw: valid, config: audience, wantErr: ErrAudience},
		{name: "audience wrong", raw: mustSignAccess(t, jose.RS256, k.rsa, "rsa", claims(set("aud", "other"))), config: audience, wantErr: ErrAudience},
		{name: "audience wrong array", raw: mustSignAccess(t, jose.RS256, k.rsa, "rsa", claims(set("aud", []string{"other", "apis"}))), config: audience, wantErr: ErrAudience},
		{name: "audience string", raw: mustSignAccess(t, jose.RS256, k.rsa, "rsa", claims(set("aud", "api"))), config: audience},
		{name: "audience in array", raw: mustSignAccess(t, jose.RS256, k.rsa, "rsa", claims(set("aud", []string{"other", "api"}))), config: audience},

		// Tampering.
		{name: "tampered payload", raw: replaceSegment(valid, 1, seg(t, claims(set("sub", "mallory-id")))), wantErr: ErrSignature},
		{name: "tampered header", raw: replaceSegment(valid, 0, seg(t, map[string]any{"alg": "RS256", "kid": "rsa", "typ": "at+jwt"})), wantErr: ErrSignature},
		{name: "signature stripped", raw: replaceSegment(valid, 2, ""), wantErr: ErrSignature},
		{name: "signature truncated", raw: valid[:len(valid)-4], wantErr: ErrSignature},
		{name: "signature of another token", raw: replaceSegment(valid, 2, strings.Split(mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("sub", "bob-id"))), ".")[2]), wantErr: ErrSignature},

		// Malformed input.
		{name: "empty", raw: "", wantErr: ErrMalformed},
		{name: "garbage", raw: "garbage", wantErr: ErrMalformed},
		{name: "dots", raw: "..", wantErr: ErrMalformed},
		{name: "garbage segments", raw: "a.b.c", wantErr: ErrMalformed},
		{name: "two segments", raw: valid[:strings.LastIndex(valid, ".")], wantErr: ErrMalformed},
		{name: "four segments", raw: valid + ".x", wantErr: ErrMalformed},
		{name: "bad base64 payload", raw: replaceSegment(valid, 1, "!!!"), wantErr: ErrMalformed},
		{name: "header not json", raw: replaceSegment(valid, 0, seg(t, "RS256")), wantErr: ErrMalformed},
		{name: "payload not an object", raw: mustSign(t, jose.RS256, k.rsa, "rsa", []string{"exp"}), wantErr: ErrMalformed},
		{name: "payload null", raw: mustSign(t, jose.RS256, k.rsa, "rsa", nil), wantErr: ErrMalformed},
		{name: "longer than MaxTokenSize", raw: mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("pad", strings.Repeat("x", DefaultMaxTokenSize)))), wantErr: ErrMalformed},
		{
			name:   "longer than a raised MaxTokenSize",
			raw:    mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("pad", strings.Repeat("x", DefaultMaxTokenSize)))),
			config: func(c *Config) { c.MaxTokenSize = 2 * DefaultMaxTokenSize },
		},
		{
			name:    "longer than a lowered MaxTokenSize",
			raw:     valid,
			config:  func(c *Config) { c.MaxTokenSize = len(valid) - 1 },
			wantErr: ErrMalformed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := mustVerifier(t, tc.config)
			c, err := v.Verify(context.Background(), tc.raw)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify(%.40q) error = %v, want nil", tc.raw, err)
				}
				if c.Subject != "alice-id" {
					t.Errorf("Verify(%.40q) Subject = %q, want %q", tc.raw, c.Subject, "alice-id")
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Verify(%.40q) error = %v, want %v", tc.raw, err, tc.wantErr)
			}
			if c != nil {
				t.Errorf("Verify(%.40q) claims = %+v, want nil", tc.raw, c)
			}
			for _, s := range sentinels {
				if !errors.Is(s, tc.wantErr) && errors.Is(err, s) {
					t.Errorf("Verify(%.40q) error = %v, also matches %v", tc.raw, err, s)
				}
			}
		})
	}
}

// claimsEqual reports whether a and b have the same exported fields, times
// compared as instants.
func claimsEqual(a, b *Claims) bool {
	return a.Issuer == b.Issuer && a.Subject == b.Subject && slices.Equal(a.Audience, b.Audience) &&
		a.Expiry.Equal(b.Expiry) && a.NotBefore.Equal(b.NotBefore) && a.IssuedAt.Equal(b.IssuedAt) &&
		a.ID == b.ID && a.Email == b.Email && a.Name == b.Name && a.KeyID == b.KeyID && a.Type == b.Type
}

func TestVerifier_Verify_claims(t *testing.T) {
	k := mustTestKeys(t)
	raw := mustSignAccess(t, jose.ES256, k.p256, "p256", claims(
		set("aud", []string{"api", "web"}),
		set("nbf", testNow.Add(-time.Minute).Unix()),
		set("roles", []string{"admin", "ops"}),
	))
	v := mustVerifier(t, func(c *Config) { c.Audience = "web" })
	got, err := v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("Verify(%.40q) error = %v, want nil", raw, err)
	}
	want := &Claims{
		Issuer:    testIssuer,
		Subject:   "alice-id",
		Audience:  []string{"api", "web"},
		Expiry:    testNow.Add(time.Hour),
		NotBefore: testNow.Add(-time.Minute),
		IssuedAt:  testNow,
		ID:        "jti-1",
		Email:     "alice@example.com",
		Name:      "Alice",
		KeyID:     "p256",
		Type:      "at+jwt",
	}
	if !claimsEqual(got, want) {
		t.Errorf("Verify(%.40q) claims = %+v, want %+v", raw, *got, *want)
	}
	if got.Expiry.Location() != time.UTC {
		t.Errorf("Verify(%.40q) Expiry location = %v, want UTC", raw, got.Expiry.Location())
	}

	var custom struct {
		Roles []string `json:"roles"`
		Sub   string   `json:"sub"`
	}
	if err := got.Decode(&custom); err != nil {
		t.Fatalf("Claims.Decode() error = %v, want nil", err)
	}
	if !slices.Equal(custom.Roles, []string{"admin", "ops"}) || custom.Sub != "alice-id" {
		t.Errorf("Claims.Decode() = %+v, want roles [admin ops] and sub alice-id", custom)
	}
}

func TestNew(t *testing.T) {
	keys := StaticKeySet{}
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "minimal", cfg: Config{Issuer: testIssuer, KeySet: keys}},
		{name: "all defaults listed", cfg: Config{Issuer: testIssuer, KeySet: keys, Algorithms: Algorithms()}},
		{name: "one algorithm", cfg: Config{Issuer: testIssuer, KeySet: keys, Algorithms: []string{"EdDSA"}}},
		{name: "no issuer", cfg: Config{KeySet: keys}, wantErr: true},
		{name: "no key set", cfg: Config{Issuer: testIssuer}}, // a RemoteKeySet for the issuer
		{name: "jwks url", cfg: Config{Issuer: testIssuer, JWKSURL: "https://keys.example.com/jwks"}},
		{name: "key set and jwks url", cfg: Config{Issuer: testIssuer, KeySet: keys, JWKSURL: "https://keys.example.com/jwks"}, wantErr: true},
		{name: "relative jwks url", cfg: Config{Issuer: testIssuer, JWKSURL: "/jwks"}, wantErr: true},
		{name: "issuer not a url", cfg: Config{Issuer: "inkan"}, wantErr: true},
		{name: "negative refresh", cfg: Config{Issuer: testIssuer, KeySetOptions: RemoteKeySetOptions{MinRefreshInterval: -time.Second}}, wantErr: true},
		{name: "hs256", cfg: Config{Issuer: testIssuer, KeySet: keys, Algorithms: []string{"RS256", "HS256"}}, wantErr: true},
		{name: "hs384", cfg: Config{Issuer: testIssuer, KeySet: keys, Algorithms: []string{"HS384"}}, wantErr: true},
		{name: "hs512", cfg: Config{Issuer: testIssuer, KeySet: keys, Algorithms: []string{"HS512"}}, wantErr: true},
		{name: "none", cfg: Config{Issuer: testIssuer, KeySet: keys, Algorithms: []string{"none"}}, wantErr: true},
		{name: "empty name", cfg: Config{Issuer: testIssuer, KeySet: keys, Algorithms: []string{""}}, wantErr: true},
		{name: "lower case", cfg: Config{Issuer: testIssuer, KeySet: keys, Algorithms: []string{"rs256"}}, wantErr: true},
		{name: "rs512", cfg: Config{Issuer: testIssuer, KeySet: keys, Algorithms: []string{"RS512"}}},
		{name: "es256k", cfg: Config{Issuer: testIssuer, KeySet: keys, Algorithms: []string{"ES256K"}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(t.Context(), tc.cfg) // no I/O, and the refresh loop ends with the test
			if (err != nil) != tc.wantErr {
				t.Fatalf("New(%+v) error = %v, want error %t", tc.cfg, err, tc.wantErr)
			}
			if err != nil {
				if v != nil {
					t.Errorf("New(%+v) = %v, want nil with the error", tc.cfg, v)
				}
				if !strings.HasPrefix(err.Error(), "verify: ") {
					t.Errorf("New(%+v) error = %q, want prefix %q", tc.cfg, err, "verify: ")
				}
			}
		})
	}
}

func TestStaticKeySet_Key(t *testing.T) {
	ks := mustTestKeys(t).set
	tests := []struct {
		name    string
		kid     string
		wantAlg string
		wantErr error
	}{
		{name: "found", kid: "p384", wantAlg: "ES384"},
		{name: "missing", kid: "nope", wantErr: ErrUnknownKey},
		{name: "empty", kid: "", wantErr: ErrUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ks.Key(context.Background(), tc.kid)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Key(%q) error = %v, want %v", tc.kid, err, tc.wantErr)
			}
			if k.Algorithm != tc.wantAlg {
				t.Errorf("Key(%q) Algorithm = %q, want %q", tc.kid, k.Algorithm, tc.wantAlg)
			}
		})
	}
}

// TestVerifier_Verify_concurrent exercises a shared Verifier under -race.
func TestVerifier_Verify_concurrent(t *testing.T) {
	k := mustTestKeys(t)
	v := mustVerifier(t, nil)
	good := mustSign(t, jose.EdDSA, k.ed, "ed", claims())
	bad := mustSign(t, jose.EdDSA, k.ed, "nope", claims())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if _, err := v.Verify(context.Background(), good); err != nil {
					t.Errorf("Verify(%.40q) error = %v, want nil", good, err)
				}
				if _, err := v.Verify(context.Background(), bad); !errors.Is(err, ErrUnknownKey) {
					t.Errorf("Verify(%.40q) error = %v, want %v", bad, err, ErrUnknownKey)
				}
			}
		})
	}
	wg.Wait()
}

// Changing a slice that Algorithms returned cannot smuggle HMAC into the
// default allow-list, nor into an explicit one.
func TestNew_defaultAlgorithmsImmutable(t *testing.T) {
	algs := Algorithms()
	algs[0] = "HS256"
	v, err := New(t.Context(), Config{Issuer: "https://i", KeySet: StaticKeySet{}})
	if err != nil {
		t.Fatalf("New() error = %v, want nil", err)
	}
	if slices.Contains(v.names, "HS256") {
		t.Errorf("New() allows %q after a caller changed its copy of Algorithms(), want only %q", v.names, Algorithms())
	}
	_, err = New(t.Context(), Config{Issuer: "https://i", KeySet: StaticKeySet{}, Algorithms: []string{"HS256"}})
	if err == nil {
		t.Error("New(Algorithms: HS256) succeeded after a caller changed its copy of Algorithms(), want an error")
	}
}

// By default only access tokens verify: RFC 9068's (typ at+jwt) and inkan's
// tutorial tokens (typ JWT, no aud); an OpenID Connect ID token (typ JWT
// with an aud) is refused unless AllowIDTokens, whatever Types says.
func TestVerifier_types(t *testing.T) {
	key := mustFixedRSA(t)
	idToken := claims(set("aud", "client-1"), set("nonce", "n"), set("at_hash", "x"))
	only := func(types ...string) func(*Config) { return func(c *Config) { c.Types = types } }
	for _, tc := range []struct {
		name    string
		typ     string
		claims  map[string]any
		config  func(*Config)
		wantErr error
	}{
		{name: "access token", typ: "at+jwt", claims: claims(set("aud", "api"))},
		{name: "access token media type", typ: "application/at+JWT", claims: claims(set("aud", "api"))},
		{name: "tutorial token", typ: "JWT", claims: claims()},
		{name: "tutorial token lower case", typ: "jwt", claims: claims()},
		{name: "id token", typ: "JWT", claims: idToken, wantErr: ErrType},
		{name: "id token without typ", claims: idToken, wantErr: ErrType},
		{name: "no typ", claims: claims(), wantErr: ErrType},
		{name: "other typ", typ: "logout+jwt", claims: claims(), wantErr: ErrType},
		{name: "id token allowed", typ: "JWT", claims: idToken, config: func(c *Config) { c.AllowIDTokens = true }},
		{name: "id token listed", typ: "JWT", claims: idToken, config: only("JWT"), wantErr: ErrType},
		{name: "no typ listed", claims: claims(), config: only("")},
		{name: "only at+jwt", typ: "JWT", claims: claims(), config: only("at+jwt"), wantErr: ErrType},
		{name: "only at+jwt access token", typ: "at+jwt", claims: claims(set("aud", "api")), config: only("at+jwt")},
		// A type of its own with an aud is not an ID token's shape.
		{name: "logout token listed", typ: "logout+jwt", claims: claims(set("aud", "client-1")), config: only("logout+jwt")},
		{name: "no typ with aud listed", claims: idToken, config: only(""), wantErr: ErrType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := mustSignType(t, tc.typ, jose.RS256, key, "rsa", tc.claims)
			_, err := mustVerifier(t, tc.config).Verify(t.Context(), raw)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Verify(typ %q, aud %v) = %v, want %v", tc.typ, tc.claims["aud"], err, tc.wantErr)
			}
		})
	}
}

// Types given to New are copied: a caller changing its slice later, or
// DefaultTypes, changes nothing.
func TestNew_typesCopied(t *testing.T) {
	types := []string{"at+jwt"}
	v := mustVerifier(t, func(c *Config) { c.Types = types })
	types[0] = "JWT"
	saved := slices.Clone(DefaultTypes)
	t.Cleanup(func() { DefaultTypes = saved })
	DefaultTypes = append(DefaultTypes, "")
	raw := mustSign(t, jose.RS256, mustFixedRSA(t), "rsa", claims())
	if _, err := v.Verify(t.Context(), raw); !errors.Is(err, ErrType) {
		t.Errorf("Verify(typ JWT) after the caller changed its Types = %v, want %v", err, ErrType)
	}
	if _, err := mustVerifier(t, nil).Verify(t.Context(), mustSignType(t, "", jose.RS256, mustFixedRSA(t), "rsa", claims())); !errors.Is(err, ErrType) {
		t.Errorf("Verify(no typ) after DefaultTypes was changed = %v, want %v", err, ErrType)
	}
}

// inkan's tutorial tokens name the user in "user", OAuth access tokens in
// OpenID Connect's "name"; Claims.Name holds either.
func TestVerifier_name(t *testing.T) {
	key := mustFixedRSA(t)
	for _, tc := range []struct {
		name   string
		claims map[string]any
		want   string
	}{
		{"user", claims(), "Alice"},
		{"name", claims(del("user"), set("name", "Alice N")), "Alice N"},
		{"both", claims(set("name", "Alice N")), "Alice"},
		{"neither", claims(del("user")), ""},
	} {
		c, err := mustVerifier(t, nil).Verify(t.Context(), mustSign(t, jose.RS256, key, "rsa", tc.claims))
		if err != nil {
			t.Fatalf("%s: Verify() error = %v", tc.name, err)
		}
		if c.Name != tc.want {
			t.Errorf("%s: Verify() Name = %q, want %q", tc.name, c.Name, tc.want)
		}
	}
}

// SkipExpiryCheck takes an expired token, and nothing else that is wrong.
func TestVerifier_skipExpiryCheck(t *testing.T) {
	k := mustTestKeys(t)
	v := mustVerifier(t, func(c *Config) { c.SkipExpiryCheck = true })
	year := 365 * 24 * time.Hour
	for _, tc := range []struct {
		name    string
		raw     string
		wantErr error
	}{
		{"expired a year ago", mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("exp", testNow.Add(-year).Unix()))), nil},
		{"no exp", mustSign(t, jose.RS256, k.rsa, "rsa", claims(del("exp"))), ErrMalformed},
		{"wrong issuer", mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("exp", testNow.Add(-year).Unix()), set("iss", "https://evil.example"))), ErrIssuer},
		{"issued in the future", mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("iat", testNow.Add(time.Hour).Unix()))), ErrNotYetValid},
		{"unknown key", mustSign(t, jose.RS256, k.pss, "rsa", claims(set("exp", testNow.Add(-year).Unix()))), ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tc.raw)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Verify() = %v, want %v", err, tc.wantErr)
			}
		})
	}
	expired := mustSign(t, jose.RS256, k.rsa, "rsa", claims(set("exp", testNow.Add(-year).Unix())))
	if _, err := mustVerifier(t, nil).Verify(t.Context(), expired); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify(expired) without SkipExpiryCheck = %v, want %v", err, ErrExpired)
	}
}
