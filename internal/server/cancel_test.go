package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/store"
)

// disconnectingHasher is a client that hangs up mid-request: armed with
// the request's cancel, it cancels at the next hash or verification, as
// net/http does when the connection closes, and fails as the hasher would.
type disconnectingHasher struct {
	PasswordHasher
	mu     sync.Mutex
	cancel context.CancelFunc
}

func (d *disconnectingHasher) arm(cancel context.CancelFunc) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cancel = cancel
}

func (d *disconnectingHasher) hangUp(ctx context.Context) error {
	d.mu.Lock()
	cancel := d.cancel
	d.cancel = nil
	d.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	return ctx.Err()
}

func (d *disconnectingHasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := d.hangUp(ctx); err != nil {
		return "", err
	}
	return d.PasswordHasher.Hash(ctx, pw)
}

func (d *disconnectingHasher) Verify(ctx context.Context, enc, pw string) (bool, bool, error) {
	if err := d.hangUp(ctx); err != nil {
		return false, false, err
	}
	return d.PasswordHasher.Verify(ctx, enc, pw)
}

// A client that disconnects mid-request is logged at info as cancelled,
// with its route and request id, and counted as 499, on the tutorial's
// routes, the OAuth token endpoint and the login page alike: never a 500,
// and nothing at error level.
func TestCancelled(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(LogHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	metrics := NewMetrics(nil)
	hasher := &disconnectingHasher{PasswordHasher: &countingHasher{h: password.New(cheap, 2)}}
	p := newProvider(t, withOptions(func(o *Options) { o.Logger, o.Metrics, o.Passwords = logger, metrics, hasher }))
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	c, secret := p.client(t, store.Client{Trusted: true})
	const formType = "application/x-www-form-urlencoded"
	authReq := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {redirectURI}, "scope": {"openid"}}

	for _, tc := range []struct {
		name, method, path, body, route string
		header                          []string
	}{
		{"tutorial login", "POST", "/user/_authenticate", "", "POST /user/_authenticate",
			[]string{"Authorization", basic("alice@example.com", "correct horse")}},
		{"registration", "POST", "/user", `{"name":"Bob","email":"bob@example.com","password":"correct horse"}`, "POST /user",
			[]string{"Content-Type", "application/json"}},
		{"password grant", "POST", "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice@example.com"}, "password": {"correct horse"}}.Encode(),
			"POST /oauth2/token", []string{"Content-Type", formType, "Authorization", basicClient(c.ID, secret)}},
		{"login page", "POST", "/oauth2/login", url.Values{"csrf": {"t"}, "request": {authReq.Encode()}, "email": {"alice@example.com"}, "password": {"correct horse"}}.Encode(),
			"POST /oauth2/login", []string{"Content-Type", formType, "Cookie", "inkan_csrf=t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(buf.String())
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			id := "req-" + strings.ReplaceAll(tc.name, " ", "-")
			req.Header.Set("X-Request-Id", id)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			hasher.arm(cancel)
			p.srv.ServeHTTP(httptest.NewRecorder(), req.WithContext(ctx))

			var access []map[string]any
			for _, line := range strings.Split(strings.TrimSpace(buf.String()[before:]), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if rec["level"] == "ERROR" || rec["status"] == float64(500) {
					t.Errorf("logged %v, want nothing at error level and no 500", rec)
				}
				if m, _ := rec["msg"].(string); strings.HasPrefix(m, "request") && rec["route"] != nil {
					access = append(access, rec)
				}
			}
			want := map[string]any{"level": "INFO", "msg": "request cancelled", "route": tc.route, "request_id": id, "status": float64(499)}
			if len(access) != 1 {
				t.Fatalf("access-log lines %v, want one like %v", access, want)
			}
			for k, v := range want {
				if access[0][k] != v {
					t.Errorf("access-log %s = %v, want %v (line %v)", k, access[0][k], v, access[0])
				}
			}
		})
	}
	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, route := range []string{"POST /user/_authenticate", "POST /oauth2/token", "POST /oauth2/login"} {
		if want := `inkan_http_requests_total{method="POST",route="` + route + `",status="499"} 1`; !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(rec.Body.String(), `status="500"`) {
		t.Errorf("/metrics counts a 500:\n%s", grepLines(rec.Body.String(), "inkan_http_requests_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A revocation and the end of a session are written even when the client
// has gone away mid-request: a client that disconnects at the right moment
// must not be able to cancel them.
func TestMustFinish_clientGone(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the client has gone

	h.srv.revocations.RevokeFamily(ctx, "family-of-a-gone-client")
	rows, err := h.store.ListRevocations(t.Context(), t0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		found = found || (r.Kind == "family" && r.Value == "family-of-a-gone-client")
	}
	if !found {
		t.Errorf("revokeFamily with a cancelled request context stored nothing: %v", rows)
	}

	if got := context.Cause(ctx); got == nil {
		t.Fatal("the test's context is not cancelled")
	}
	wctx, done := mustFinish(ctx)
	defer done()
	if wctx.Err() != nil {
		t.Errorf("mustFinish(cancelled ctx).Err() = %v, want a live context", wctx.Err())
	}
	if _, ok := wctx.Deadline(); !ok {
		t.Error("mustFinish gives no deadline")
	}
}
