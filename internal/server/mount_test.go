package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Each handler mounts its own routes and no other's, and together they
// mount every route the server has.
func TestServer_mount(t *testing.T) {
	h := newHarness(t, withOptions(func(o *Options) { o.HTTP.ServeMetrics = true }))
	want := map[string][]string{
		"*server.tutorial": {"POST /user", "GET /user", "POST /user/_authenticate", "POST /user/_verify", "POST /user/_verify/resend",
			"POST /user/_recover", "POST /user/_reset", "POST /user/_email", "POST /user/_email/confirm"},
		"*server.wellKnown": {"GET /.well-known/jwks.json", "GET /.well-known/openid-configuration", "GET /.well-known/oauth-authorization-server"},
		"server.health":     {"GET /healthz", "GET /readyz"},
		"*server.pages": {"GET /oauth2/authorize", "POST /oauth2/authorize", "GET /oauth2/login", "POST /oauth2/login", "POST /oauth2/consent",
			"GET /oauth2/logout", "POST /oauth2/logout", "GET /oauth2/static/style.css",
			"GET /account/verify", "POST /account/verify", "GET /account/recover", "POST /account/recover",
			"GET /account/email/confirm", "POST /account/email/confirm", "POST /account/email"},
		"*server.selfService": {"PATCH /user", "DELETE /user", "POST /user/_password", "GET /user/sessions", "DELETE /user/sessions",
			"DELETE /user/sessions/{id}"},
		"*server.accountPages": {"GET /account", "POST /account/name", "POST /account/password", "POST /account/sessions/end",
			"POST /account/sessions/end-all", "POST /account/delete", "GET /account/signup", "POST /account/signup"},
		"*server.languages": {"GET /lang"},
		"*server.oauth": {"OPTIONS /oauth2/token", "OPTIONS /oauth2/revoke", "OPTIONS /oauth2/introspect", "OPTIONS /userinfo",
			"POST /oauth2/token", "POST /oauth2/revoke", "POST /oauth2/introspect", "GET /userinfo", "POST /userinfo"},
		"*server.Metrics": {"GET /metrics"},
	}
	pattern := func(mux *http.ServeMux, route string) string {
		method, path, _ := strings.Cut(route, " ")
		_, p := mux.Handler(httptest.NewRequest(method, path, nil))
		return p
	}
	seen := map[string]bool{}
	for _, m := range h.srv.handlers {
		name := fmt.Sprintf("%T", m)
		if _, ok := want[name]; !ok {
			t.Errorf("handler %s mounts routes this test does not know", name)
			continue
		}
		seen[name] = true
		mux := http.NewServeMux()
		m.Mount(mux)
		for owner, routes := range want {
			for _, route := range routes {
				got := pattern(mux, route)
				if owner == name && got != route {
					t.Errorf("%s.Mount: %s routed to %q, want %q", name, route, got, route)
				}
				if owner != name && got != "" {
					t.Errorf("%s.Mount: %s routed to %q, want it left to %s", name, route, got, owner)
				}
			}
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("New built no %s", name)
		}
	}
}
