package watch

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

func mustOpen(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "inkan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// syncedLog is a concurrency-safe log buffer.
type syncedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// failing reads the counters from a real store unless told to fail.
type failing struct {
	Counters
	mu   sync.Mutex
	fail bool
}

func (f *failing) Versions(ctx context.Context) (store.Versions, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return store.Versions{}, errors.New("database away")
	}
	return f.Counters.Versions(ctx)
}

func (f *failing) set(fail bool) {
	f.mu.Lock()
	f.fail = fail
	f.mu.Unlock()
}

// One poll hands every view the store's counters of that moment; a view
// that fails is logged under its own name, once, and does not stop the
// views after it; counters that cannot be read make the views stale.
func TestRun(t *testing.T) {
	st := mustOpen(t)
	ctx := context.Background()
	var log syncedLog
	logger := slog.New(slog.NewTextHandler(&log, nil))
	src := &failing{Counters: st}

	synctest.Test(t, func(t *testing.T) {
		var (
			mu          sync.Mutex
			seen        []store.Versions
			stale       int
			brokenCalls int
		)
		views := []View{
			{Name: "broken view", Sync: func(context.Context, store.Versions) error {
				mu.Lock()
				defer mu.Unlock()
				brokenCalls++
				return errors.New("cannot rebuild")
			}},
			{Name: "good view", Sync: func(_ context.Context, v store.Versions) error {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, v)
				return nil
			}, Stale: func() {
				mu.Lock()
				defer mu.Unlock()
				stale++
			}},
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { Run(runCtx, time.Second, logger, src, views...); close(done) }()

		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		before, _ := st.Versions(ctx)
		if err := st.Revoke(ctx, store.Revocation{Kind: "jti", Value: "j1", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		src.set(true)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		stop()
		<-done

		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 2 {
			t.Fatalf("the good view was synced %d times, want 2 (then the counters failed): %+v", len(seen), seen)
		}
		if seen[0] != before || seen[1].Revocations == before.Revocations {
			t.Errorf("the good view saw %+v, want %+v then a moved revocations counter", seen, before)
		}
		if brokenCalls != 2 {
			t.Errorf("the broken view was called %d times, want 2", brokenCalls)
		}
		if stale != 3 {
			t.Errorf("Stale called %d times, want 3 (once per failed read)", stale)
		}
	})
	text := log.String()
	for msg, want := range map[string]int{`msg="broken view"`: 1, `msg="read change counters"`: 1, `msg="good view"`: 0} {
		if n := strings.Count(text, msg); n != want {
			t.Errorf("log has %d records %s, want %d:\n%s", n, msg, want, text)
		}
	}
}
