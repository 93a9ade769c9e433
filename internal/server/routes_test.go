package server

import (
	"net/http"
	"strings"
	"testing"
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
		{"PUT", "/user", 405, "GET, HEAD, POST", `{"detail":"Method Not Allowed"}`},
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
