package server

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestJWKS(t *testing.T) {
	h := newHarness(t)
	rec := h.do(t, "GET", "/.well-known/jwks.json", "")
	if rec.Code != 200 {
		t.Fatalf("GET jwks = %d", rec.Code)
	}
	for k, want := range map[string]string{
		"Content-Type":  "application/json",
		"Cache-Control": "public, max-age=300",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	golden(t, "jwks", rec.Body.Bytes())
	keys := decode(t, rec)["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("jwks has %d keys, want 1", len(keys))
	}
	k := keys[0].(map[string]any)
	for _, member := range []string{"kty", "use", "alg", "kid", "n", "e"} {
		if _, ok := k[member]; !ok {
			t.Errorf("key lacks %q: %v", member, k)
		}
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := k[private]; ok {
			t.Errorf("key publishes private member %q", private)
		}
	}
	if len(k) != 6 || k["use"] != "sig" || k["alg"] != "RS256" || k["kid"] != h.kid {
		t.Errorf("key = %v, want exactly kty,use=sig,alg=RS256,kid=%s,n,e", k, h.kid)
	}
}

func TestRoutes_fallbacks(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		method, path string
		wantStatus   int
		wantAllow    string
		wantBody     string
	}{
		{"GET", "/nope", 404, "", `{"detail":"Not Found"}`},
		{"GET", "/user/extra", 404, "", `{"detail":"Not Found"}`},
		{"PUT", "/user", 405, "DELETE, GET, HEAD, PATCH, POST", `{"detail":"Method Not Allowed"}`},
		{"POST", "/user/sessions", 405, "DELETE, GET, HEAD", `{"detail":"Method Not Allowed"}`},
		{"DELETE", "/user/_authenticate", 405, "POST", `{"detail":"Method Not Allowed"}`},
		{"POST", "/.well-known/jwks.json", 405, "GET, HEAD", `{"detail":"Method Not Allowed"}`},
		{"GET", "/healthz", 200, "", `{"status":"ok"}`},
		{"GET", "/readyz", 200, "", `{"status":"ok"}`},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := h.do(t, tc.method, tc.path, "")
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			if got := rec.Header().Get("Allow"); got != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tc.wantAllow)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tc.wantBody {
				t.Errorf("body = %s, want %s", got, tc.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("X-Content-Type-Options: nosniff missing")
			}
		})
	}
}

func TestReadyz_databaseDown(t *testing.T) {
	h := newHarness(t)
	h.store.Close()
	if rec := h.do(t, "GET", "/readyz", ""); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with the database closed = %d, want 503", rec.Code)
	}
	if rec := h.do(t, "GET", "/healthz", ""); rec.Code != 200 {
		t.Errorf("GET /healthz with the database closed = %d, want 200", rec.Code)
	}
}

func TestRequestID(t *testing.T) {
	h := newHarness(t)
	tests := []struct{ in, want string }{
		{"abc-123", "abc-123"},
		{"bad id\nwith newline", ""},
		{strings.Repeat("a", 129), ""},
		{"", ""},
	}
	for _, tc := range tests {
		rec := h.do(t, "GET", "/healthz", "", "X-Request-Id", tc.in)
		got := rec.Header().Get("X-Request-Id")
		if tc.want != "" && got != tc.want {
			t.Errorf("X-Request-Id for %q = %q, want it kept", tc.in, got)
		}
		if tc.want == "" && (got == "" || got == tc.in) {
			t.Errorf("X-Request-Id for %q = %q, want a fresh one", tc.in, got)
		}
	}
}

func TestRecover(t *testing.T) {
	h := newHarness(t)
	handler := h.srv.middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptestDo(handler)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("panic → %d %s, want a bare 500", rec.Code, rec.Body)
	}
}

func TestMetrics(t *testing.T) {
	m := NewMetrics(func() time.Duration { return 90 * time.Second })
	h := newHarness(t, withOptions(func(o *Options) { o.Metrics, o.HTTP.ServeMetrics = m, true }))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	tok := h.login(t, "alice@example.com", "correct horse")
	h.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "wrong"))
	h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok)
	h.do(t, "GET", "/no/such/path/"+tok, "")
	rec := h.do(t, "GET", "/metrics", "")
	if rec.Code != 200 {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`inkan_http_requests_total{method="GET",route="GET /user",status="200"} 1`,
		`inkan_http_requests_total{method="POST",route="POST /user",status="201"} 1`,
		`inkan_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`inkan_http_request_duration_seconds_bucket{route="GET /user",le="+Inf"} 1`,
		`inkan_logins_total{result="success"} 1`,
		`inkan_logins_total{result="failure"} 1`,
		`inkan_signups_total{result="success"} 1`,
		`inkan_tokens_issued_total 1`,
		`inkan_signing_key_age_seconds 90`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, tok) || strings.Contains(body, "alice") {
		t.Error("/metrics holds a token or an email")
	}
	t.Run("off the API when it has its own address", func(t *testing.T) {
		h := newHarness(t, withOptions(func(o *Options) { o.Metrics = NewMetrics(nil) }))
		if rec := h.do(t, "GET", "/metrics", ""); rec.Code != 404 {
			t.Errorf("GET /metrics with ServeMetrics off = %d, want 404", rec.Code)
		}
	})
}

func TestHSTS(t *testing.T) {
	h := newHarness(t, withOptions(withThrottle))
	tests := []struct {
		name   string
		header []string
		want   bool
	}{
		{"plain http", nil, false},
		{"https from a trusted proxy", []string{"RemoteAddr", "10.0.0.1:1", "X-Forwarded-Proto", "https"}, true},
		{"https claimed by anyone", []string{"RemoteAddr", "203.0.113.1:1", "X-Forwarded-Proto", "https"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := h.do(t, "GET", "/healthz", "", tc.header...).Header().Get("Strict-Transport-Security") != ""
			if got != tc.want {
				t.Errorf("Strict-Transport-Security sent = %v, want %v", got, tc.want)
			}
		})
	}
	tlsOn := newHarness(t, withOptions(func(o *Options) { o.HTTP.HSTS = true }))
	if tlsOn.do(t, "GET", "/healthz", "").Header().Get("Strict-Transport-Security") == "" {
		t.Error("HSTS option set, but no Strict-Transport-Security")
	}
}
