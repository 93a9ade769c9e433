package verify

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// BenchmarkVerify_RS256 verifies one RS256 token with a cached key; compare
// it with BenchmarkRSAVerifyRaw, the bare RSA verification it contains.
func BenchmarkVerify_RS256(b *testing.B) {
	key := mustFixedRSA(b)
	raw := mustSign(b, jose.RS256, key, "rsa", claims())
	v := mustVerifier(b, func(c *Config) {
		c.KeySet = StaticKeySet{{ID: "rsa", Algorithm: "RS256", Public: &key.PublicKey}}
	})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(ctx, raw); err != nil {
				b.Errorf("Verify(%.40q) error = %v, want nil", raw, err)
				return
			}
		}
	})
}

// BenchmarkRSAVerifyRaw is the baseline of BenchmarkVerify_RS256: SHA-256 of
// the same token's signing input and rsa.VerifyPKCS1v15, nothing else.
func BenchmarkRSAVerifyRaw(b *testing.B) {
	key := mustFixedRSA(b)
	raw := mustSign(b, jose.RS256, key, "rsa", claims())
	i := strings.LastIndexByte(raw, '.')
	input := []byte(raw[:i])
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := &key.PublicKey
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h := sha256.Sum256(input)
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
				b.Errorf("VerifyPKCS1v15 error = %v, want nil", err)
				return
			}
		}
	})
}

// BenchmarkVerify_RS256_cached is a token presented again with
// Config.CacheSize set, as the inkan server runs.
func BenchmarkVerify_RS256_cached(b *testing.B) {
	key := mustFixedRSA(b)
	raw := mustSign(b, jose.RS256, key, "rsa", claims())
	v := mustVerifier(b, func(c *Config) {
		c.KeySet = StaticKeySet{{ID: "rsa", Algorithm: "RS256", Public: &key.PublicKey}}
		c.CacheSize = 1024
	})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(ctx, raw); err != nil {
				b.Errorf("Verify(%.40q) error = %v, want nil", raw, err)
				return
			}
		}
	})
}

// BenchmarkVerify_RS256_remote is BenchmarkVerify_RS256 with the key from a
// RemoteKeySet that holds it, as a resource server runs after New without a
// KeySet.
func BenchmarkVerify_RS256_remote(b *testing.B) {
	key := mustFixedRSA(b)
	raw := mustSign(b, jose.RS256, key, "rsa", claims())
	is := newJWKSServer(b, jwk("rsa", "RS256", &key.PublicKey))
	r, _ := mustRemote(b, is.url(), nil, nil)
	v := mustVerifier(b, func(c *Config) { c.KeySet = r })
	ctx := context.Background()
	if _, err := v.Verify(ctx, raw); err != nil { // the one fetch
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(ctx, raw); err != nil {
				b.Errorf("Verify(%.40q) error = %v, want nil", raw, err)
				return
			}
		}
	})
	b.StopTimer()
	is.wantFetches(b, 1)
}
