package server

import (
	"testing"

	"golang.org/x/oauth2"

	"github.com/inkan-dev/inkan/internal/store"
)

// Logout ends the codes issued under the session and not yet exchanged: a
// code taken from the browser's history cannot mint tokens afterwards.
func TestLogout_endsUnredeemedCodes(t *testing.T) { backends(t, testLogout_endsUnredeemedCodes) }

func testLogout_endsUnredeemedCodes(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	c, secret := p.client(t, store.Client{})
	conf := oauth2.Config{ClientID: c.ID, ClientSecret: secret, RedirectURL: redirectURI, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: p.url + "/oauth2/authorize", TokenURL: p.url + "/oauth2/token"}}
	b := newBrowser(t)
	landed := b.signIn(conf.AuthCodeURL("s"), "alice@example.com", "correct horse", true)
	if _, err := conf.Exchange(t.Context(), landed.Query().Get("code")); err != nil {
		t.Fatalf("Exchange() = %v", err)
	}
	_, _, landed = b.get(conf.AuthCodeURL("s2")) // signed in and consented: a code at once
	if landed == nil || landed.Query().Get("code") == "" {
		t.Fatalf("second authorization landed %v, want a code", landed)
	}
	b.logout(p)
	if _, err := conf.Exchange(t.Context(), landed.Query().Get("code")); !isOAuthError(err, "invalid_grant") {
		t.Errorf("Exchange(code issued before the logout) = %v, want invalid_grant", err)
	}
}

// logout signs the browser out at inkan.
func (b *browser) logout(p *provider) {
	b.t.Helper()
	if code, page, _ := b.get(p.url + "/oauth2/logout"); code != 200 {
		b.t.Fatalf("GET /oauth2/logout = %d:\n%.500s", code, page)
	}
}
