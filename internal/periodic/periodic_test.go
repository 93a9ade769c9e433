package periodic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// records is a slog.Handler that keeps every record.
type records struct {
	mu   sync.Mutex
	list []slog.Record
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }
func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.list = append(h.list, r)
	return nil
}
func (h *records) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *records) WithGroup(string) slog.Handler      { return h }

// lines renders the records as "LEVEL msg err", in order.
func (h *records) lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.list {
		line := r.Level.String() + " " + r.Message
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" || a.Key == "failures" {
				line += " " + a.Key + "=" + a.Value.String()
			}
			return true
		})
		out = append(out, line)
	}
	return out
}

// A failure is logged once, again when it changes, and its end once.
func TestRun(t *testing.T) {
	boom, bang := errors.New("boom"), errors.New("bang")
	tests := []struct {
		name    string
		results []error // what the job returns, run after run
		want    []string
	}{
		{"success", []error{nil, nil, nil}, nil},
		{"one failure", []error{nil, boom, nil}, []string{"ERROR job failed err=boom", "INFO job failed: recovered failures=1"}},
		{"lasting failure", []error{boom, boom, boom, boom, boom, boom, boom, boom}, []string{"ERROR job failed err=boom"}},
		{"changes and recovers", []error{boom, boom, bang, bang, nil, nil, boom, boom},
			[]string{"ERROR job failed err=boom", "ERROR job failed err=bang", "INFO job failed: recovered failures=4", "ERROR job failed err=boom"}},
		{"same text, new error", []error{boom, errors.New("boom"), fmt.Errorf("%w", boom)}, []string{"ERROR job failed err=boom"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &records{}
				ctx, cancel := context.WithCancel(t.Context())
				calls := 0
				done := make(chan struct{})
				go func() {
					Run(ctx, time.Second, slog.New(h), "job failed", func(context.Context) error {
						calls++
						if calls > len(tc.results) {
							return nil
						}
						return tc.results[calls-1]
					})
					close(done)
				}()
				time.Sleep(time.Duration(len(tc.results))*time.Second + time.Second/2) // fake time inside the bubble
				synctest.Wait()
				cancel()
				<-done
				if calls != len(tc.results) {
					t.Errorf("after %d.5 intervals the job ran %d times", len(tc.results), calls)
				}
				got := h.lines()
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("log records:\n%q\nwant\n%q", got, tc.want)
				}
			})
		})
	}
}

// An error caused by the context ending is not logged.
func TestRun_cancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &records{}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			Run(ctx, time.Second, slog.New(h), "job failed", func(ctx context.Context) error {
				cancel()
				return ctx.Err()
			})
			close(done)
		}()
		<-done
		if got := h.lines(); len(got) != 0 {
			t.Errorf("log records after cancel: %q, want none", got)
		}
	})
}
