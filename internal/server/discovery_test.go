package server

import "testing"

// The discovery document, byte for byte, under both of its paths (OpenID
// Connect Discovery 1.0 §4, RFC 8414 §3), with the headers it is served with.
func TestDiscovery_golden(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		t.Run(path, func(t *testing.T) {
			rec := h.do(t, "GET", path, "")
			if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" ||
				rec.Header().Get("Cache-Control") != "public, max-age=3600" || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("GET %s = %d %v, want 200 JSON, cacheable, for any origin", path, rec.Code, rec.Header())
			}
			golden(t, "discovery", rec.Body.Bytes())
		})
	}
}
