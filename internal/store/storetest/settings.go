package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

var settingsTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"serving settings", testServingSettings},
}

// The stored serving settings are, for each setting on its own, the largest
// reported by a server that still reports; a stale value gives way.
func testServingSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetServing(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetServing() on an empty store = %v, want %v", err, store.ErrNotFound)
	}
	const stale = 3 * time.Minute
	a := store.ServingSettings{JWKSMaxAge: time.Hour, TokenTTL: 5 * time.Minute}
	b := store.ServingSettings{JWKSMaxAge: 5 * time.Minute, TokenTTL: 2 * time.Hour}
	steps := []struct {
		name string
		at   time.Duration // after base
		s    store.ServingSettings
		want store.ServingSettings
	}{
		{"first report", 0, a, a},
		{"larger of each", time.Minute, b, store.ServingSettings{JWKSMaxAge: time.Hour, TokenTTL: 2 * time.Hour}},
		{"an equal report keeps a value fresh", 2 * time.Minute, a, store.ServingSettings{JWKSMaxAge: time.Hour, TokenTTL: 2 * time.Hour}},
		// a's max-age was refreshed at 2m, b's TTL at 1m: neither is stale at 4m.
		{"smaller while fresh", 4 * time.Minute, store.ServingSettings{JWKSMaxAge: time.Second, TokenTTL: time.Second}, store.ServingSettings{JWKSMaxAge: time.Hour, TokenTTL: 2 * time.Hour}},
		// b's TTL (1m) is stale at 4m30s, a's max-age (2m) is not.
		{"stale gives way", 4*time.Minute + 30*time.Second, a, store.ServingSettings{JWKSMaxAge: time.Hour, TokenTTL: 5 * time.Minute}},
		{"only servers that report count", 20 * time.Minute, b, b},
	}
	for _, st := range steps {
		now := base.Add(st.at)
		if err := s.ReportServing(ctx, st.s, now, now.Add(-stale)); err != nil {
			t.Fatalf("%s: ReportServing() = %v", st.name, err)
		}
		got, err := s.GetServing(ctx)
		if err != nil || got != st.want {
			t.Errorf("%s: GetServing() = %+v, %v; want %+v", st.name, got, err, st.want)
		}
	}
}

// Replicas reporting at once settle on the largest of each setting.
func testConcurrentServing(t *testing.T, s store.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 1; i <= 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			set := store.ServingSettings{JWKSMaxAge: time.Duration(i) * time.Minute, TokenTTL: time.Duration(9-i) * time.Minute}
			if err := s.ReportServing(ctx, set, base, base.Add(-time.Minute)); err != nil {
				t.Errorf("ReportServing(%+v) = %v", set, err)
			}
		}()
	}
	wg.Wait()
	want := store.ServingSettings{JWKSMaxAge: 8 * time.Minute, TokenTTL: 8 * time.Minute}
	if got, err := s.GetServing(ctx); err != nil || got != want {
		t.Errorf("GetServing() after concurrent reports = %+v, %v; want %+v", got, err, want)
	}
}
