package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// byID maps the keys of a StaticKeySet by kid, and fails on a repeated kid.
func byID(tb testing.TB, keys StaticKeySet) map[string]Key {
	tb.Helper()
	m := make(map[string]Key, len(keys))
	for _, k := range keys {
		if _, dup := m[k.ID]; dup {
			tb.Errorf("ParseJWKS() returned kid %q twice", k.ID)
		}
		m[k.ID] = k
	}
	return m
}

// TestParseJWKS: which keys of a JWKS are kept. Every case also holds the
// good key "ok", so that only the key under test can go missing.
func TestParseJWKS(t *testing.T) {
	k := mustTestKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ok := jwk("ok", "ES256", &k.p256.PublicKey)
	secret := []byte("0123456789abcdef0123456789abcdef")
	tests := []struct {
		name    string
		key     any    // a JSONWebKey or raw JSON
		wantAlg string // empty: the key is dropped
	}{
		{name: "rs256", key: jwk("k", "RS256", &k.rsa.PublicKey), wantAlg: "RS256"},
		{name: "ps256", key: jwk("k", "PS256", &k.pss.PublicKey), wantAlg: "PS256"},
		{name: "es384", key: jwk("k", "ES384", &k.p384.PublicKey), wantAlg: "ES384"},
		{name: "eddsa", key: jwk("k", "EdDSA", k.ed.Public()), wantAlg: "EdDSA"},
		{name: "no use", key: jose.JSONWebKey{Key: &k.rsa.PublicKey, KeyID: "k", Algorithm: "RS256"}, wantAlg: "RS256"},

		{name: "hs256", key: jose.JSONWebKey{Key: secret, KeyID: "k", Algorithm: "HS256", Use: "sig"}},
		{name: "oct as rs256", key: jose.JSONWebKey{Key: secret, KeyID: "k", Algorithm: "RS256", Use: "sig"}},
		{name: "no kid", key: jwk("", "RS256", &k.rsa.PublicKey)},
		{name: "no alg", key: jwk("k", "", &k.rsa.PublicKey)},
		{name: "alg none", key: jwk("k", "none", &k.rsa.PublicKey)},
		{name: "rs384", key: jwk("k", "RS384", &k.rsa.PublicKey), wantAlg: "RS384"},
		{name: "rs512", key: jwk("k", "RS512", &k.rsa.PublicKey), wantAlg: "RS512"},
		{name: "ps384", key: jwk("k", "PS384", &k.pss.PublicKey), wantAlg: "PS384"},
		{name: "ps512", key: jwk("k", "PS512", &k.pss.PublicKey), wantAlg: "PS512"},
		{name: "es512", key: jwk("k", "ES512", &p521.PublicKey), wantAlg: "ES512"},
		{name: "es512 on p384", key: jwk("k", "ES512", &k.p384.PublicKey)},
		{name: "es384 on p521", key: jwk("k", "ES384", &p521.PublicKey)},
		{name: "alg es256k", key: jwk("k", "ES256K", &k.p256.PublicKey)},
		{name: "use enc", key: jose.JSONWebKey{Key: &k.rsa.PublicKey, KeyID: "k", Algorithm: "RS256", Use: "enc"}},
		{name: "private rsa", key: jwk("k", "RS256", k.rsa)},
		{name: "private ec", key: jwk("k", "ES256", k.p256)},
		{name: "private ed25519", key: jwk("k", "EdDSA", k.ed)},
		{name: "rs256 on ec", key: jwk("k", "RS256", &k.p256.PublicKey)},
		{name: "es256 on p384", key: jwk("k", "ES256", &k.p384.PublicKey)},
		{name: "es384 on p256", key: jwk("k", "ES384", &k.p256.PublicKey)},
		{name: "eddsa on rsa", key: jwk("k", "EdDSA", &k.rsa.PublicKey)},
		{name: "ps256 on ed25519", key: jwk("k", "PS256", k.ed.Public())},
		{name: "rsa 1024", key: jwk("k", "RS256", &small.PublicKey)},
		{name: "x25519", key: `{"kty":"OKP","crv":"X25519","kid":"k","alg":"EdDSA","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`},
		{name: "unknown kty", key: `{"kty":"XYZ","kid":"k","alg":"RS256"}`},
		{name: "not an object", key: `"k"`},
		{name: "rsa without n", key: `{"kty":"RSA","kid":"k","alg":"RS256","e":"AQAB"}`},
		{name: "ec off curve", key: `{"kty":"EC","crv":"P-256","kid":"k","alg":"ES256","x":"AQ","y":"AQ"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := jwksOf(t, tc.key, ok)
			set, err := ParseJWKS(body)
			if err != nil {
				t.Fatalf("ParseJWKS(%s) error = %v, want nil", body, err)
			}
			keys := byID(t, set)
			if _, found := keys["ok"]; !found {
				t.Errorf("ParseJWKS(%s) dropped the good key", body)
			}
			got, found := keys["k"]
			switch {
			case tc.wantAlg == "" && found:
				t.Errorf("ParseJWKS(%s) kept %+v, want it dropped", body, got)
			case tc.wantAlg != "" && !found:
				t.Errorf("ParseJWKS(%s) dropped the key, want it kept", body)
			case found && got.Algorithm != tc.wantAlg:
				t.Errorf("ParseJWKS(%s) Algorithm = %q, want %q", body, got.Algorithm, tc.wantAlg)
			}
		})
	}
	t.Run("duplicate kid", func(t *testing.T) {
		body := jwksOf(t, jwk("k", "ES256", &k.p256.PublicKey), jwk("k", "EdDSA", k.ed.Public()))
		keys, err := ParseJWKS(body)
		if err != nil || len(keys) != 1 || keys[0].Algorithm != "ES256" {
			t.Errorf("ParseJWKS(%s) = %v, %v; want the first key", body, keys, err)
		}
	})
	t.Run("inkan's jwks", func(t *testing.T) {
		body := jwksOf(t, jwk("a", "RS256", &k.rsa.PublicKey), jwk("b", "EdDSA", k.ed.Public()))
		keys, err := ParseJWKS(body)
		if err != nil {
			t.Fatal(err)
		}
		want := StaticKeySet{
			{ID: "a", Algorithm: "RS256", Public: &k.rsa.PublicKey},
			{ID: "b", Algorithm: "EdDSA", Public: k.ed.Public()},
		}
		if !keySetsEqual(keys, want) {
			t.Errorf("ParseJWKS() = %+v, want %+v", keys, want)
		}
	})
}

// keySetsEqual reports whether a and b hold the same keys in the same order.
func keySetsEqual(a, b StaticKeySet) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		pub, ok := a[i].Public.(interface{ Equal(crypto.PublicKey) bool })
		if a[i].ID != b[i].ID || a[i].Algorithm != b[i].Algorithm || !ok || !pub.Equal(b[i].Public) {
			return false
		}
	}
	return true
}

// ParseJWKS refuses what is not a JWK Set, and a set without a usable key,
// with an error of its own package.
func TestParseJWKS_errors(t *testing.T) {
	k := mustTestKeys(t)
	tests := []struct {
		name string
		body string
	}{
		{name: "empty", body: ``},
		{name: "html", body: `<html>`},
		{name: "array", body: `[]`},
		{name: "no keys member", body: `{}`},
		{name: "keys null", body: `{"keys":null}`},
		{name: "keys not an array", body: `{"keys":{}}`},
		{name: "no keys", body: `{"keys":[]}`},
		{name: "no usable key", body: string(jwksOf(t, jwk("k", "RS256", k.rsa), jwk("", "ES256", &k.p256.PublicKey)))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParseJWKS([]byte(tc.body))
			if err == nil || keys != nil {
				t.Fatalf("ParseJWKS(%q) = %v, %v; want nil and an error", tc.body, keys, err)
			}
			if !strings.HasPrefix(err.Error(), "verify: ") {
				t.Errorf("ParseJWKS(%q) error = %q, want prefix %q", tc.body, err, "verify: ")
			}
		})
	}
}

// A RemoteKeySet keeps the keys ParseJWKS keeps.
func TestParseJWKS_remote(t *testing.T) {
	k := mustTestKeys(t)
	body := jwksOf(t, jwk("a", "RS256", &k.rsa.PublicKey), jwk("a", "ES256", &k.p256.PublicKey),
		jwk("b", "EdDSA", k.ed.Public()), jwk("c", "HS256", []byte("0123456789abcdef0123456789abcdef")))
	set, err := ParseJWKS(body)
	if err != nil {
		t.Fatal(err)
	}
	remote, err := parseJWKS(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(remote) != len(set) {
		t.Fatalf("parseJWKS() kept %d keys, ParseJWKS() %d", len(remote), len(set))
	}
	for _, want := range set {
		if got, ok := remote[want.ID]; !ok || !keySetsEqual(StaticKeySet{got}, StaticKeySet{want}) {
			t.Errorf("parseJWKS()[%q] = %+v, want %+v", want.ID, got, want)
		}
	}
}

// fits reports, independently of AlgorithmFits, whether key is one that
// ParseJWKS may keep.
func fits(key Key) bool {
	switch pub := key.Public.(type) {
	case *rsa.PublicKey:
		return strings.Contains(" RS256 RS384 RS512 PS256 PS384 PS512 ", " "+key.Algorithm+" ") && pub.N.BitLen() >= 2048
	case *ecdsa.PublicKey:
		return key.Algorithm == "ES256" && pub.Curve == elliptic.P256() ||
			key.Algorithm == "ES384" && pub.Curve == elliptic.P384() ||
			key.Algorithm == "ES512" && pub.Curve == elliptic.P521()
	case ed25519.PublicKey:
		return key.Algorithm == "EdDSA" && len(pub) == ed25519.PublicKeySize
	}
	return false
}

// FuzzParseJWKS: no input panics, and every key kept is a public key with a
// kid of its own whose alg fits it. The seeds are in testdata/fuzz.
func FuzzParseJWKS(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		keys, err := ParseJWKS(body)
		if err != nil {
			if keys != nil || !strings.HasPrefix(err.Error(), "verify: ") {
				t.Errorf("ParseJWKS(%q) = %v, %v; want nil and a verify error", body, keys, err)
			}
			return
		}
		if len(keys) == 0 {
			t.Errorf("ParseJWKS(%q) = no keys and no error", body)
		}
		seen := map[string]bool{}
		for _, key := range keys {
			if key.ID == "" || seen[key.ID] || !fits(key) {
				t.Errorf("ParseJWKS(%q) kept %+v", body, key)
			}
			seen[key.ID] = true
		}
	})
}

// TestFuzzParseJWKSSeeds checks that the seeds of FuzzParseJWKS in
// testdata/fuzz/FuzzParseJWKS still cover both outcomes: sets with usable
// keys, and sets or other input refused.
func TestFuzzParseJWKSSeeds(t *testing.T) {
	want := map[string]int{ // seed → keys kept; 0 means refused
		"rs256_es256":       2,
		"es384_eddsa_ps256": 3,
		"every_algorithm":   10,
		"duplicate_kid":     1,
		"private_key":       0,
		"hs256":             0,
		"x25519":            0,
		"unknown_kty_first": 1,
		"html":              0,
		"no_keys_member":    0,
	}
	for name, n := range want {
		t.Run(name, func(t *testing.T) {
			body := mustFuzzSeed(t, "FuzzParseJWKS", name)
			keys, err := ParseJWKS(body)
			if len(keys) != n || (n == 0) != (err != nil) {
				t.Errorf("ParseJWKS(seed %s) = %d keys, %v; want %d keys", name, len(keys), err, n)
			}
		})
	}
}

// mustFuzzSeed reads the one []byte value of a seed file in the
// "go test fuzz v1" format.
func mustFuzzSeed(tb testing.TB, target, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "fuzz", target, name))
	if err != nil {
		tb.Fatal(err)
	}
	header, value, ok := strings.Cut(strings.TrimSpace(string(data)), "\n")
	if !ok || header != "go test fuzz v1" || !strings.HasPrefix(value, "[]byte(") || !strings.HasSuffix(value, ")") {
		tb.Fatalf("%s/%s: not a go test fuzz v1 file of one []byte", target, name)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(value, "[]byte("), ")"))
	if err != nil {
		tb.Fatalf("%s/%s: %v", target, name, err)
	}
	return []byte(s)
}
