package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// One JSON access-log line a request, with the route pattern and request
// id, and never a token, password, hash or Authorization value anywhere in
// the log, even at debug level.
func TestAccessLog(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(LogHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	h := newHarness(t, withOptions(func(o *Options) { o.Logger = logger }))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	tok := h.login(t, "alice@example.com", "correct horse")
	h.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "wrong horse"))
	h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok, "X-Request-Id", "req-42")
	h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok+"x")

	var access []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec["msg"] == "request" {
			access = append(access, rec)
		}
	}
	if len(access) != 5 {
		t.Fatalf("%d access-log lines for 5 requests", len(access))
	}
	me := access[3]
	for k, want := range map[string]any{"method": "GET", "route": "GET /user", "status": float64(200), "request_id": "req-42"} {
		if me[k] != want {
			t.Errorf("access-log %s = %v, want %v", k, me[k], want)
		}
	}
	if _, ok := me["duration"]; !ok {
		t.Error("access-log line has no duration")
	}
	u, _ := h.store.GetUserByEmail(t.Context(), "alice@example.com")
	for _, secret := range []string{tok, tok[strings.LastIndexByte(tok, '.')+1:], "correct horse", "wrong horse", u.PasswordHash, "Basic ", "Bearer ey"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the log holds %.30q", secret)
		}
	}
}
