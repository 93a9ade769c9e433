package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
	"github.com/inkan-dev/inkan/internal/store/storetest"
)

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "inkan.db"))
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, openSQLite) }

func TestConcurrent(t *testing.T) { storetest.RunConcurrent(t, openSQLite) }

// Two handles on one file behave as two processes do: a write through one is
// seen by the other, and migrations run once.
func TestOpen_sharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inkan.db")
	a, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(a) = %v", err)
	}
	defer a.Close()
	b, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(b) = %v", err)
	}
	defer b.Close()
	ctx := context.Background()
	v0, _ := b.KeysVersion(ctx)
	if err := a.CreateKey(ctx, store.SigningKey{ID: "k", Algorithm: "RS256", PrivateKey: []byte{1}}); err != nil {
		t.Fatalf("CreateKey() = %v", err)
	}
	if v1, _ := b.KeysVersion(ctx); v1 == v0 {
		t.Errorf("KeysVersion() seen by the other handle = %d, unchanged", v1)
	}
	if _, err := b.GetKey(ctx, "k"); err != nil {
		t.Errorf("GetKey() through the other handle = %v", err)
	}
}
