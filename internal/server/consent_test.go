package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// mustSession signs userID in directly in the store and returns the session
// cookie's raw value.
func (h *harness) mustSession(t *testing.T, userID string) string {
	t.Helper()
	raw := randomToken()
	now := h.clock.Now().UTC().Truncate(time.Microsecond)
	err := h.store.CreateSession(t.Context(), store.Session{
		Hash: hashToken(raw), UserID: userID, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatalf("CreateSession() = %v", err)
	}
	return raw
}

// RFC 8252 §8.6: a public client is never authorised silently, neither by
// remembered consent nor by prompt=none, unless it is trusted and redirects
// to an https URI; confidential clients keep remembered consent and
// --trusted.
func TestAuthorize_publicClientConsent(t *testing.T) {
	const (
		loopback   = "http://127.0.0.1/cb"
		privateUse = "com.example.app:/cb"
		claimed    = "https://app.example.com/cb"
	)
	tests := []struct {
		name       string
		public     bool
		trusted    bool
		redirect   string
		remembered bool   // the user consented to the scopes before
		prompt     string // "" or "none"
		want       string // "consent" (the page), "code", or an error code
	}{
		{name: "public loopback remembered", public: true, redirect: loopback, remembered: true, want: "consent"},
		{name: "public loopback remembered none", public: true, redirect: loopback, remembered: true, prompt: "none", want: "consent_required"},
		{name: "public private-use remembered", public: true, redirect: privateUse, remembered: true, want: "consent"},
		{name: "public https remembered", public: true, redirect: claimed, remembered: true, want: "consent"},
		{name: "public https remembered none", public: true, redirect: claimed, remembered: true, prompt: "none", want: "consent_required"},
		{name: "public trusted loopback", public: true, trusted: true, redirect: loopback, want: "consent"},
		{name: "public trusted loopback none", public: true, trusted: true, redirect: loopback, prompt: "none", want: "consent_required"},
		{name: "public trusted private-use", public: true, trusted: true, redirect: privateUse, want: "consent"},
		{name: "public trusted https", public: true, trusted: true, redirect: claimed, want: "code"},
		{name: "public trusted https none", public: true, trusted: true, redirect: claimed, prompt: "none", want: "code"},
		{name: "public never consented", public: true, redirect: claimed, want: "consent"},
		{name: "confidential remembered", redirect: loopback, remembered: true, want: "code"},
		{name: "confidential remembered none", redirect: loopback, remembered: true, prompt: "none", want: "code"},
		{name: "confidential never consented none", redirect: claimed, prompt: "none", want: "consent_required"},
		{name: "confidential trusted loopback", trusted: true, redirect: loopback, want: "code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			user := h.signup(t, "Alice", "alice@example.com", "correct horse")
			now := h.clock.Now().UTC().Truncate(time.Microsecond)
			c := store.Client{
				ID: "app", Name: "App", Public: tc.public, Trusted: tc.trusted, RedirectURIs: []string{tc.redirect},
				Grants: []string{"authorization_code"}, Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now,
			}
			if !tc.public {
				c.SecretHash = make([]byte, 32)
			}
			if err := h.store.CreateClient(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			if tc.remembered {
				if err := h.store.PutConsent(t.Context(), store.Consent{UserID: user["id"].(string), ClientID: c.ID, Scopes: []string{"openid"}, CreatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			cookie := h.mustSession(t, user["id"].(string))
			q := url.Values{
				"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {tc.redirect}, "scope": {"openid"}, "state": {"s"},
				"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
			}
			if tc.prompt != "" {
				q.Set("prompt", tc.prompt)
			}
			rec := h.do(t, "GET", "/oauth2/authorize?"+q.Encode(), "", "Cookie", h.srv.cookies.name(sessionCookie)+"="+cookie)
			var got string
			switch rec.Code {
			case http.StatusOK:
				if !strings.Contains(rec.Body.String(), `action="/oauth2/consent"`) {
					t.Fatalf("GET /oauth2/authorize = 200 without the consent form:\n%.400s", rec.Body)
				}
				got = "consent"
			case http.StatusFound:
				loc, err := url.Parse(rec.Header().Get("Location"))
				if err != nil || !strings.HasPrefix(loc.String(), tc.redirect) {
					t.Fatalf("redirected to %q, want %s", rec.Header().Get("Location"), tc.redirect)
				}
				got = loc.Query().Get("error")
				if got == "" && loc.Query().Get("code") != "" {
					got = "code"
				}
			default:
				t.Fatalf("GET /oauth2/authorize = %d %s", rec.Code, rec.Body)
			}
			if got != tc.want {
				t.Errorf("authorize(%s) = %s, want %s", tc.name, got, tc.want)
			}
		})
	}
}
