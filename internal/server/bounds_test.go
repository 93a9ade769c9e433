package server

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/inkan-dev/inkan/internal/store"
)

// distinctScopes is distinct scope tokens filling about n bytes, the
// request that made scope parsing quadratic.
func distinctScopes(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("s" + strconv.Itoa(i))
	}
	return b.String()
}

// An oversized scope parameter is refused, unauthenticated at the
// authorization endpoint and at the token endpoint, saying which bound it
// broke.
func TestScope_bounds(t *testing.T) {
	p := newProvider(t)
	c, secret := p.client(t, store.Client{})
	form := func(scope string) string {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {secret}, "scope": {scope}}.Encode()
	}
	for _, tc := range []struct {
		name, scope, want string
	}{
		{"60 KB", distinctScopes(60 << 10), "longer than 2048 bytes"},
		{"over 64 scopes", distinctScopes(400), "more than 64 scopes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := p.do(t, "POST", "/oauth2/token", form(tc.scope), "Content-Type", "application/x-www-form-urlencoded")
			if body := decode(t, rec); rec.Code != 400 || body["error"] != "invalid_scope" || !strings.Contains(body["error_description"].(string), tc.want) {
				t.Errorf("token with a %d-byte scope = %d %v, want 400 invalid_scope saying %q", len(tc.scope), rec.Code, body, tc.want)
			}
			q := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {redirectURI}, "scope": {tc.scope}}
			rec = p.do(t, "GET", "/oauth2/authorize?"+q.Encode(), "")
			loc, _ := url.Parse(rec.Header().Get("Location"))
			if rec.Code != 302 || loc.Query().Get("error") != "invalid_scope" || !strings.Contains(loc.Query().Get("error_description"), tc.want) {
				t.Errorf("authorize with a %d-byte scope = %d %s, want a redirect with invalid_scope saying %q", len(tc.scope), rec.Code, loc, tc.want)
			}
		})
	}
}
