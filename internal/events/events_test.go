package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)

func mustSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "inkan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// An event takes what it leaves empty from the request's context, its time
// from the clock (in UTC microseconds), and is stored even when the
// request's client has gone.
func TestTrail_Record(t *testing.T) {
	st := mustSQLite(t)
	var counted []string
	tr := New(Options{Store: st, Now: func() time.Time { return t0.In(time.FixedZone("JST", 9*3600)) },
		Count: func(typ string, err error) { counted = append(counted, fmt.Sprint(typ, " ", err)) }})
	ctx, cancel := context.WithCancel(WithClient(WithRequest(context.Background(), "192.0.2.7", "curl/8.5", "req-1"), "client-1"))
	cancel() // the client went away
	tr.Record(ctx, Event{Type: LoginSuccess, UserID: "u1", Detail: map[string]string{"via": "page"}})
	tr.Record(ctx, Event{Type: "custom.thing", UserID: "u2", ClientID: "own", RequestID: "own-req", At: t0.Add(time.Hour)})
	got, err := st.ListEvents(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i].ID = 0
	}
	want := []store.Event{
		{At: t0.Add(time.Hour).Truncate(time.Microsecond), Type: "custom.thing", UserID: "u2", ClientID: "own", Address: "192.0.2.7", UserAgent: "curl/8.5", RequestID: "own-req"},
		{At: t0.Truncate(time.Microsecond), Type: LoginSuccess, UserID: "u1", ClientID: "client-1", Address: "192.0.2.7", UserAgent: "curl/8.5", RequestID: "req-1", Detail: map[string]string{"via": "page"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"login.success <nil>", "other <nil>"}, counted); diff != "" {
		t.Errorf("Count calls (-want +got):\n%s", diff)
	}
}

func TestRecord_nil(t *testing.T) {
	Record(context.Background(), nil, Event{Type: Signup}) // no panic
	Record(context.Background(), Discard, Event{Type: Signup})
}

// Every field is printable and bounded; Detail keeps only keys that name
// no secret, at most MaxDetail of them.
func TestBound(t *testing.T) {
	long := strings.Repeat("é", 300) // 600 bytes
	many := map[string]string{}
	for i := range MaxDetail + 3 {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	tests := []struct {
		name        string
		in          Event
		want        Event
		wantDropped []string
	}{
		{"plain", Event{Type: Signup, UserID: "u", UserAgent: "Mozilla/5.0 ✓"}, Event{Type: Signup, UserID: "u", UserAgent: "Mozilla/5.0 ✓"}, nil},
		{"control characters", Event{UserAgent: "a\nINFO forged\x1b[2J\x00"}, Event{UserAgent: "a\ufffdINFO forged\ufffd[2J\ufffd"}, nil},
		{"bidi override", Event{UserAgent: "abc\u202edef\u2066"}, Event{UserAgent: "abc\ufffddef\ufffd"}, nil},
		{"invalid UTF-8", Event{UserID: "a\xffb\xc3"}, Event{UserID: "a\ufffdb\ufffd"}, nil},
		{"long user agent", Event{UserAgent: long}, Event{UserAgent: strings.Repeat("é", 126) + "…"}, nil},
		{"long detail value", Event{Detail: map[string]string{"reason": long}}, Event{Detail: map[string]string{"reason": strings.Repeat("é", 126) + "…"}}, nil},
		{"empty detail", Event{Detail: map[string]string{}}, Event{}, nil},
		{"empty values", Event{Detail: map[string]string{"sid": "", "via": "x", "password": ""}}, Event{Detail: map[string]string{"via": "x"}}, nil},
		{"only empty values", Event{Detail: map[string]string{"sid": ""}}, Event{}, nil},
		{"secret keys", Event{Detail: map[string]string{
			"password": "hunter2", "client_secret": "s", "refresh_token": "t", "code": "c", "password_hash": "h",
			"kid": "k1", "reason": "wrong_password",
		}}, Event{Detail: map[string]string{"kid": "k1", "reason": "wrong_password"}},
			[]string{"client_secret", "code", "password", "password_hash", "refresh_token"}},
		{"bad keys", Event{Detail: map[string]string{"Upper": "x", "with space": "x", "": "x", strings.Repeat("k", 33): "x", "ok_1": "y"}},
			Event{Detail: map[string]string{"ok_1": "y"}}, []string{"", "Upper", strings.Repeat("k", 29) + "…", "with space"}},
		{"too many", Event{Detail: many}, Event{Detail: func() map[string]string {
			m := map[string]string{}
			for i := range MaxDetail {
				m[fmt.Sprintf("k%02d", i)] = "v"
			}
			return m
		}()}, []string{"k16", "k17", "k18"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, dropped := bound(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("bound() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantDropped, dropped); diff != "" {
				t.Errorf("bound() dropped (-want +got):\n%s", diff)
			}
		})
	}
}

// clean's output is printable and within its bound, whatever the input.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"", "plain", "a\nb", "\xff\xfe", "é" + strings.Repeat("x", 70), "\u202e", "\x1b[31m"} {
		f.Add(s, 64)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 4 || max > 1024 {
			return
		}
		got := clean(s, max)
		if !printable(got) || len(got) > max {
			t.Fatalf("clean(%q, %d) = %q: not printable or longer than %d", s, max, got, max)
		}
		if printable(s) && len(s) <= max && got != s {
			t.Fatalf("clean(%q, %d) = %q, want it unchanged", s, max, got)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("clean(%q) = %q: invalid UTF-8", s, got)
		}
	})
}

// failing is a store whose appends fail with err while it is set.
type failing struct {
	mu  sync.Mutex
	err error
}

func (f *failing) set(err error) { f.mu.Lock(); f.err = err; f.mu.Unlock() }

func (f *failing) AppendEvent(context.Context, store.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// records keeps log records as "LEVEL msg".
type records struct {
	mu    sync.Mutex
	lines []string
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }
func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" || a.Key == "keys" {
			line += " " + a.Key + "=" + a.Value.String()
		}
		return true
	})
	h.lines = append(h.lines, line)
	return nil
}
func (h *records) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *records) WithGroup(string) slog.Handler      { return h }

// A failing store never fails the caller; its error is logged once per
// change, and its end once; each failure is counted.
func TestTrail_errors(t *testing.T) {
	st := &failing{}
	logs := &records{}
	var failures int
	tr := New(Options{Store: st, Logger: slog.New(logs), Count: func(_ string, err error) {
		if err != nil {
			failures++
		}
	}})
	ctx := context.Background()
	down, other := errors.New("database is down"), errors.New("disk full")
	for _, err := range []error{nil, down, down, down, other, nil, nil} {
		st.set(err)
		tr.Record(ctx, Event{Type: LoginFailure})
	}
	want := []string{"ERROR record audit event err=database is down", "ERROR record audit event err=disk full", "INFO record audit event: recovered"}
	if diff := cmp.Diff(want, logs.lines); diff != "" {
		t.Errorf("log records (-want +got):\n%s", diff)
	}
	if failures != 4 {
		t.Errorf("failures counted = %d, want 4", failures)
	}
}

// A detail key that names a secret is dropped and the mistake logged.
func TestTrail_secretKeyLogged(t *testing.T) {
	st := mustSQLite(t)
	logs := &records{}
	tr := New(Options{Store: st, Logger: slog.New(logs)})
	tr.Record(context.Background(), Event{Type: LoginFailure, Detail: map[string]string{"password": "hunter2", "reason": "wrong_password"}})
	got, _ := st.ListEvents(context.Background(), store.EventFilter{})
	if len(got) != 1 || got[0].Detail["password"] != "" || got[0].Detail["reason"] != "wrong_password" {
		t.Errorf("stored = %+v, want the reason without the password", got)
	}
	if want := []string{"ERROR audit event detail dropped keys=[password]"}; !cmp.Equal(want, logs.lines) {
		t.Errorf("log records = %q, want %q", logs.lines, want)
	}
}

// A slow store does not hold the caller longer than Timeout.
func TestTrail_timeout(t *testing.T) {
	var got error
	tr := New(Options{Store: storeFunc(func(ctx context.Context, _ store.Event) error {
		<-ctx.Done()
		got = ctx.Err()
		return got
	}), Timeout: time.Millisecond})
	tr.Record(context.Background(), Event{Type: Signup})
	if !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("the append's context ended with %v, want %v", got, context.DeadlineExceeded)
	}
}

type storeFunc func(context.Context, store.Event) error

func (f storeFunc) AppendEvent(ctx context.Context, e store.Event) error { return f(ctx, e) }

func TestKnown(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range Types {
		if seen[typ] {
			t.Errorf("type %q listed twice", typ)
		}
		seen[typ] = true
		if !Known(typ) || clean(typ, maxType) != typ || len(typ) > maxType {
			t.Errorf("type %q is not a bounded, known type", typ)
		}
	}
	if Known("login") || Known("") {
		t.Error("Known accepts what is not a type")
	}
}

// WithRequestFunc's fields are computed only when an event is recorded.
func TestWithRequestFunc_lazy(t *testing.T) {
	st := mustSQLite(t)
	calls := 0
	ctx := WithRequestFunc(context.Background(), func() (string, string, string) {
		calls++
		return "192.0.2.1", "agent", "req-9"
	})
	if calls != 0 {
		t.Fatalf("WithRequestFunc called f %d times before any event", calls)
	}
	New(Options{Store: st}).Record(ctx, Event{Type: Signup})
	got, _ := st.ListEvents(context.Background(), store.EventFilter{})
	if calls != 1 || len(got) != 1 || got[0].Address != "192.0.2.1" || got[0].UserAgent != "agent" || got[0].RequestID != "req-9" {
		t.Errorf("after one event: %d calls, stored %+v; want 1 call and the request's fields", calls, got)
	}
}
