package cache_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/cache"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
	"github.com/inkan-dev/inkan/internal/store/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("sqlite.Open() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// The cache is a store like any other: it passes the conformance suite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return cache.New(open(t, filepath.Join(t.TempDir(), "inkan.db")), discard)
	})
}

// A change made by another process is seen after Refresh; until then the
// cached user is served.
func TestStore_otherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inkan.db")
	c := cache.New(open(t, path), discard)
	other := open(t, path) // the CLI, say
	u := store.User{ID: "u1", Name: "A", Email: "a@example.com", PasswordHash: "h", CreatedAt: time.Unix(1, 0).UTC(), UpdatedAt: time.Unix(1, 0).UTC()}
	if err := c.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetUser(ctx, "u1"); err != nil || got.Disabled {
		t.Fatalf("GetUser() = %+v, %v", got, err)
	}
	if _, err := other.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) { u.Disabled = true; return u, nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetUser(ctx, "u1"); got.Disabled {
		t.Fatal("the cache saw the other process's change before Refresh: it is not caching")
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetUser(ctx, "u1"); !got.Disabled {
		t.Error("GetUser() after Refresh still serves the stale user")
	}
	// A password changed by the CLI ends the user's earlier tokens: every
	// replica's cache must learn the new TokensValidAfter.
	changed := time.Unix(1000, 123000).UTC()
	if _, err := other.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) { u.TokensValidAfter = changed; return u, nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetUser(ctx, "u1"); !got.TokensValidAfter.Equal(changed) {
		t.Errorf("GetUser() after Refresh: TokensValidAfter = %v, want %v", got.TokensValidAfter, changed)
	}
	if err := other.DeleteUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, "u1"); err == nil {
		t.Error("GetUser() after another process deleted the user and Refresh succeeded")
	}
}

// A client changed by another process (a rotated secret) is seen after
// Refresh; until then the cached client is served.
func TestStore_clients(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inkan.db")
	c := cache.New(open(t, path), discard)
	other := open(t, path)
	cl := store.Client{ID: "c1", Name: "App", SecretHash: []byte("old"), CreatedAt: time.Unix(1, 0).UTC(), UpdatedAt: time.Unix(1, 0).UTC()}
	if err := c.CreateClient(ctx, cl); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetClient(ctx, "c1"); string(got.SecretHash) != "old" {
		t.Fatalf("GetClient() = %+v", got)
	}
	if _, err := other.UpdateClient(ctx, "c1", func(o store.Client) (store.Client, error) { o.SecretHash = []byte("new"); return o, nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetClient(ctx, "c1"); string(got.SecretHash) != "old" {
		t.Fatal("the cache saw the other process's change before Refresh: it is not caching")
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetClient(ctx, "c1"); string(got.SecretHash) != "new" {
		t.Error("GetClient() after Refresh serves the stale secret")
	}
	if err := c.DeleteClient(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetClient(ctx, "c1"); err == nil {
		t.Error("GetClient() after this process deleted the client succeeded")
	}
}
