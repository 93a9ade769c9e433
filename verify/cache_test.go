package verify

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// mutableKeySet lets a test replace the keys between calls.
type mutableKeySet struct{ keys StaticKeySet }

func (m *mutableKeySet) Key(ctx context.Context, kid string) (Key, error) {
	return m.keys.Key(ctx, kid)
}

func TestVerifier_cache(t *testing.T) {
	key := mustFixedRSA(t)
	ks := &mutableKeySet{keys: StaticKeySet{{ID: "rsa", Algorithm: "RS256", Public: &key.PublicKey}}}
	now := testNow
	v := mustVerifier(t, func(c *Config) {
		c.KeySet = ks
		c.CacheSize = 4
		c.Now = func() time.Time { return now }
	})
	raw := mustSign(t, jose.RS256, key, "rsa", claims())
	ctx := context.Background()

	for i := range 2 {
		c, err := v.Verify(ctx, raw)
		if err != nil || c.Subject != "alice-id" || c.KeyID != "rsa" {
			t.Fatalf("Verify() #%d = %+v, %v", i, c, err)
		}
		c.Subject = "changed by the caller" // must not reach the cache
	}
	if n := len(v.cache.m); n != 1 {
		t.Fatalf("cache holds %d tokens, want 1", n)
	}
	if c, _ := v.Verify(ctx, raw); c.Subject != "alice-id" {
		t.Errorf("a caller's change reached the cache: Subject = %q", c.Subject)
	}

	t.Run("time rechecked", func(t *testing.T) {
		now = testNow.Add(2 * time.Hour)
		defer func() { now = testNow }()
		if _, err := v.Verify(ctx, raw); !errors.Is(err, ErrExpired) {
			t.Errorf("cached token past exp: Verify() error = %v, want %v", err, ErrExpired)
		}
	})
	t.Run("same key, new value", func(t *testing.T) {
		pub := key.PublicKey // an equal key in a fresh value, as after a reload
		ks.keys = StaticKeySet{{ID: "rsa", Algorithm: "RS256", Public: &pub}}
		if _, err := v.Verify(ctx, raw); err != nil {
			t.Errorf("Verify() after an equal reload = %v", err)
		}
	})
	t.Run("key replaced", func(t *testing.T) {
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		ks.keys = StaticKeySet{{ID: "rsa", Algorithm: "RS256", Public: &other.PublicKey}}
		if _, err := v.Verify(ctx, raw); !errors.Is(err, ErrSignature) {
			t.Errorf("cached token whose kid now names another key: Verify() error = %v, want %v", err, ErrSignature)
		}
	})
	t.Run("key removed", func(t *testing.T) {
		ks.keys = StaticKeySet{{ID: "rsa", Algorithm: "RS256", Public: &key.PublicKey}}
		if _, err := v.Verify(ctx, raw); err != nil {
			t.Fatalf("Verify() = %v", err)
		}
		ks.keys = nil
		if _, err := v.Verify(ctx, raw); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("cached token of a removed key: Verify() error = %v, want %v", err, ErrUnknownKey)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		ks.keys = StaticKeySet{{ID: "rsa", Algorithm: "RS256", Public: &key.PublicKey}}
		for i := range 20 {
			tok := mustSign(t, jose.RS256, key, "rsa", claims(set("jti", fmt.Sprint(i))))
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(ctx, tok); err != nil { // the second: cached
				t.Fatal(err)
			}
			if n := len(v.cache.m); n > 4 {
				t.Fatalf("cache holds %d tokens, want at most 4", n)
			}
		}
	})
	t.Run("kept from the second verification", func(t *testing.T) {
		tok := mustSign(t, jose.RS256, key, "rsa", claims(set("jti", "twice")))
		sum := sha256.Sum256([]byte(tok))
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, cached := v.cache.m[sum]; cached {
			t.Fatal("a token verified once was cached")
		}
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, cached := v.cache.m[sum]; !cached {
			t.Fatal("a token verified twice was not cached")
		}
		if _, seen := v.cache.seen[sum]; seen {
			t.Error("a cached token is still in the set of tokens seen once")
		}
	})
	t.Run("tokens seen once bounded", func(t *testing.T) {
		for i := range 20 {
			tok := mustSign(t, jose.RS256, key, "rsa", claims(set("jti", fmt.Sprint("once-", i))))
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if n := len(v.cache.seen); n > 4 {
				t.Fatalf("%d tokens seen once are remembered, want at most 4", n)
			}
		}
	})
	t.Run("failures not cached", func(t *testing.T) {
		before := len(v.cache.m)
		bad := mustSign(t, jose.RS256, key, "rsa", claims(set("iss", "https://evil")))
		for range 2 {
			if _, err := v.Verify(ctx, bad); !errors.Is(err, ErrIssuer) {
				t.Fatalf("Verify(wrong issuer) = %v", err)
			}
		}
		_, seen := v.cache.seen[sha256.Sum256([]byte(bad))]
		if len(v.cache.m) > before || seen {
			t.Error("a refused token was cached")
		}
	})
}
