package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
	"github.com/inkan-dev/inkan/verify"
)

// Three automatic rotations under a steady stream of freshly issued tokens,
// checked by a resource server that uses verify against inkan's JWKS with
// its short cache lifetime: not one valid token is refused. Later, once the
// first key has retired, its tokens are refused as signed by an unknown key.
// The retirement waits out the 60 s leeway on exp, so this test runs in
// parallel with the others.
func TestE2E_rotationUnderLoad(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		rotationUnderLoad(t)
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.Database(t)
		t.Parallel()
		rotationUnderLoad(t, "--database", url, "--master-key-file", masterKeyFile(t))
	})
}

func rotationUnderLoad(t *testing.T, args ...string) {
	p := startInkan(t, dataDir(t), nil, append([]string{"--jwks-max-age", "2s", "--key-rotation", "5s", "--token-ttl", "2s"}, args...)...)
	p.register(t, "Alice", "alice@example.com", "correct horse")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v, err := verify.New(ctx, verify.Config{Issuer: p.base, Leeway: time.Second})
	if err != nil {
		t.Fatal(err)
	}

	firstToken := p.login(t, "alice@example.com", "correct horse")
	firstKID := tokenKID(t, firstToken)
	kids := map[string]int{}
	var verified, refused int
	deadline := time.Now().Add(90 * time.Second)
	for len(kids) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("saw %d signing keys in 90 s, want 4 (three rotations)", len(kids))
		}
		tok := p.login(t, "alice@example.com", "correct horse")
		kids[tokenKID(t, tok)]++
		if _, err := v.Verify(ctx, tok); err != nil {
			refused++
			t.Errorf("a freshly issued token by key %.8s… was refused: %v", tokenKID(t, tok), err)
		} else {
			verified++
		}
	}
	t.Logf("%d fresh tokens verified across %d keys (%v), %d refused", verified, len(kids), kids, refused)

	// The first key retires its successor's activation + token TTL + 60 s
	// leeway + max-age + the reload delay after; then its tokens name an
	// unknown key.
	eventually(t, 120*time.Second, "first key retired", func() bool {
		for _, k := range jwksKIDs(t, p.base) {
			if k == firstKID {
				return false
			}
		}
		return true
	})
	eventually(t, 10*time.Second, "retired key's token refused as unknown", func() bool {
		_, err := v.Verify(ctx, firstToken)
		return errors.Is(err, verify.ErrUnknownKey)
	})
}
