package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
	"github.com/inkan-dev/inkan/internal/store/storetest"
)

func openPostgres(t *testing.T) store.Store {
	t.Helper()
	url := pgtest.Database(t)
	s, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, openPostgres) }

func TestConcurrent(t *testing.T) { storetest.RunConcurrent(t, openPostgres) }

// Replicas that start together on an empty database migrate it once.
func TestOpen_concurrentMigrations(t *testing.T) {
	url := pgtest.Database(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.Open(context.Background(), url)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("Open() = %v", err)
		}
	}
}

func TestOpen_badURL(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://user:s3cret@127.0.0.1:1/x?sslmode=bogus")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open(bad URL) = %v, want an error without the password", err)
	}
}
