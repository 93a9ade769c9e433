package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fuzzSeed is a named input of FuzzVerify. testdata/fuzz/FuzzVerify holds the
// same inputs, signed once with the fixed key of testdata/rsa2048.pem; they
// stay meaningful because the key and the clock (testNow) are fixed.
type fuzzSeed struct {
	name string
	raw  string
}

// fuzzSeeds returns the one token that verifies under fuzzVerifier, and
// seeds: that token, equivalent encodings of it, and the attack tokens of
// TestVerifier_Verify.
func fuzzSeeds(tb testing.TB) (valid string, seeds []fuzzSeed) {
	tb.Helper()
	key := mustFixedRSA(tb)
	valid = mustSign(tb, jose.RS256, key, "rsa", claims())
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	header, payload, _ := strings.Cut(valid, ".")
	payload, sig, _ := strings.Cut(payload, ".")

	// The last character of a 256-byte signature carries 2 bits and 4
	// padding bits, which non-strict base64 decoding ignores.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	noncanonical := sig[:len(sig)-1] + alphabet[last|1:last|1+1]

	seeds = []fuzzSeed{
		{"valid_rs256", valid},
		{"valid_with_newlines", header + "\n." + payload[:10] + "\r\n" + payload[10:] + "." + sig},
		{"valid_noncanonical_signature", header + "." + payload + "." + noncanonical},
		{"alg_none", seg(tb, map[string]any{"alg": "none", "kid": "rsa", "typ": "JWT"}) + "." + seg(tb, claims()) + "."},
		{"hs256_public_pem", mustSign(tb, jose.HS256, pubPEM, "rsa", claims())},
		{"hs256_public_der", mustSign(tb, jose.HS256, pubDER, "rsa", claims())},
		{"ps256_with_rs256_kid", mustSign(tb, jose.PS256, key, "rsa", claims())},
		{"unknown_kid", mustSign(tb, jose.RS256, key, "nope", claims())},
		{"no_kid", mustSign(tb, jose.RS256, key, "", claims())},
		{"expired", mustSign(tb, jose.RS256, key, "rsa", claims(set("exp", testNow.Add(-time.Hour).Unix())))},
		{"not_yet_valid", mustSign(tb, jose.RS256, key, "rsa", claims(set("nbf", testNow.Add(time.Hour).Unix())))},
		{"iat_in_future", mustSign(tb, jose.RS256, key, "rsa", claims(set("iat", testNow.Add(time.Hour).Unix())))},
		{"no_exp", mustSign(tb, jose.RS256, key, "rsa", claims(del("exp")))},
		{"wrong_issuer", mustSign(tb, jose.RS256, key, "rsa", claims(set("iss", "https://evil.example.com")))},
		{"tampered_payload", header + "." + seg(tb, claims(set("sub", "mallory-id"))) + "." + sig},
		{"signature_stripped", header + "." + payload + "."},
		{"two_segments", header + "." + payload},
		{"garbage", "garbage"},
		{"empty", ""},
	}
	return valid, seeds
}

// fuzzVerifier trusts only the fixed RSA key, as kid "rsa" for RS256.
func fuzzVerifier(tb testing.TB) *Verifier {
	tb.Helper()
	return mustVerifier(tb, func(c *Config) {
		c.KeySet = StaticKeySet{{ID: "rsa", Algorithm: "RS256", Public: &mustFixedRSA(tb).PublicKey}}
	})
}

// segments decodes the three segments of a compact JWS as go-jose does, or
// returns false.
func segments(raw string) ([3][]byte, bool) {
	var out [3][]byte
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return out, false
	}
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			return out, false
		}
		out[i] = b
	}
	return out, true
}

func FuzzVerify(f *testing.F) {
	valid, seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s.raw)
	}
	want, ok := segments(valid)
	if !ok {
		f.Fatalf("segments(%q) failed", valid)
	}
	v := fuzzVerifier(f)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(context.Background(), raw)
		if err != nil {
			if c != nil {
				t.Errorf("Verify(%q) = %+v, %v, want nil claims with the error", raw, c, err)
			}
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("Verify(%q) error = %v, wraps %d sentinels, want 1", raw, err, n)
			}
			if raw == valid {
				t.Errorf("Verify(%q) error = %v, want nil", raw, err)
			}
			return
		}
		// Only the valid token verifies; an input that decodes to the same
		// bytes (newlines, non-canonical trailing bits) is the same token.
		got, ok := segments(raw)
		if !ok || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) || !bytes.Equal(got[2], want[2]) {
			t.Fatalf("Verify(%q) error = nil, want an error: a mutated token verified", raw)
		}
		if c.Subject != "alice-id" || c.KeyID != "rsa" {
			t.Errorf("Verify(%q) = sub %q kid %q, want alice-id and rsa", raw, c.Subject, c.KeyID)
		}
	})
}

// TestFuzzSeeds checks what each seed is, so the corpus keeps covering the
// attacks it is named after.
func TestFuzzSeeds(t *testing.T) {
	valid, seeds := fuzzSeeds(t)
	v := fuzzVerifier(t)
	wantErr := map[string]error{
		"valid_rs256":                  nil,
		"valid_with_newlines":          nil,
		"valid_noncanonical_signature": nil,
		"alg_none":                     ErrAlgorithm,
		"hs256_public_pem":             ErrAlgorithm,
		"hs256_public_der":             ErrAlgorithm,
		"ps256_with_rs256_kid":         ErrAlgorithm,
		"unknown_kid":                  ErrUnknownKey,
		"no_kid":                       ErrUnknownKey,
		"expired":                      ErrExpired,
		"not_yet_valid":                ErrNotYetValid,
		"iat_in_future":                ErrNotYetValid,
		"no_exp":                       ErrMalformed,
		"wrong_issuer":                 ErrIssuer,
		"tampered_payload":             ErrSignature,
		"signature_stripped":           ErrSignature,
		"two_segments":                 ErrMalformed,
		"garbage":                      ErrMalformed,
		"empty":                        ErrMalformed,
	}
	if len(seeds) != len(wantErr) {
		t.Fatalf("fuzzSeeds returned %d seeds, want %d", len(seeds), len(wantErr))
	}
	for _, s := range seeds {
		t.Run(s.name, func(t *testing.T) {
			want, ok := wantErr[s.name]
			if !ok {
				t.Fatalf("seed %q has no expectation", s.name)
			}
			if want == nil && s.name != "valid_rs256" && s.raw == valid {
				t.Fatalf("seed %q is the valid token itself, want another encoding of it", s.name)
			}
			_, err := v.Verify(context.Background(), s.raw)
			if !errors.Is(err, want) { // errors.Is(err, nil) means err == nil
				t.Errorf("Verify(%.40q) error = %v, want %v", s.raw, err, want)
			}
		})
	}
}
