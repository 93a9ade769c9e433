package server

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/inkan-dev/inkan/internal/store"
)

const (
	elodieNFC = "\u00e9lodie@example.com"  // é precomposed
	elodieNFD = "e\u0301lodie@example.com" // e and a combining acute accent
)

// An email typed decomposed is the same account as the precomposed one:
// registration answers 409, and every login finds the account.
func TestEmail_NFC(t *testing.T) {
	backends(t, func(t *testing.T, backend harnessOption) {
		p := newProvider(t, backend)
		u := p.signup(t, "Élodie", elodieNFD, "correct horse")
		if u["email"] != elodieNFC {
			t.Errorf("registered email = %q, want %q (NFC)", u["email"], elodieNFC)
		}
		if got, err := p.store.GetUserByEmail(t.Context(), elodieNFC); err != nil || got.ID != u["id"] {
			t.Errorf("GetUserByEmail(NFC) = %v, %v; want the user stored in NFC", got, err)
		}
		rec := p.do(t, "POST", "/user", `{"name":"Other","email":"`+elodieNFC+`","password":"correct horse"}`, "Content-Type", "application/json")
		if rec.Code != 409 {
			t.Errorf("registering %q after %q = %d, want 409", elodieNFC, elodieNFD, rec.Code)
		}
		c, secret := p.client(t, store.Client{Trusted: true})
		for _, email := range []string{elodieNFC, elodieNFD, strings.ToUpper(elodieNFD)} {
			if rec := p.do(t, "POST", "/user/_authenticate", "", "Authorization", basic(email, "correct horse")); rec.Code != 200 {
				t.Errorf("tutorial login as %q = %d, want 200", email, rec.Code)
			}
			if rec := p.passwordGrant(t, c, secret, email, "correct horse"); rec.Code != 200 {
				t.Errorf("password grant as %q = %d %s, want 200", email, rec.Code, rec.Body)
			}
			if rec := p.loginPage(t, c, email, "correct horse"); rec.Code != 303 {
				t.Errorf("login page as %q = %d, want 303", email, rec.Code)
			}
		}
	})
}

// NUL, other control bytes and invalid UTF-8 in any identifier get the
// endpoint's usual 4xx, on PostgreSQL (whose text type refuses NUL and
// invalid UTF-8) as on SQLite: never a 500 or a server_error.
func TestControlBytes(t *testing.T) { backends(t, testControlBytes) }

func testControlBytes(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend, withOptions(withThrottle))
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	c, secret := p.client(t, store.Client{Trusted: true})
	b := newBrowser(t) // signed in, so that an authorization request reaches the code
	authURL := func(q url.Values) string {
		base := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {redirectURI}, "scope": {"openid"}, "state": {"st"}}
		for k, v := range q {
			base[k] = v
		}
		return p.url + "/oauth2/authorize?" + base.Encode()
	}
	if landed := b.signIn(authURL(nil), "alice@example.com", "correct horse", false); landed.Query().Get("code") == "" {
		t.Fatalf("sign-in landed on %s, want a code", landed)
	}
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	const formType = "application/x-www-form-urlencoded"
	auth := basicClient(c.ID, secret)

	for _, bad := range []struct{ name, s string }{{"nul", "\x00"}, {"control", "\x01"}, {"invalid utf-8", "\xff"}} {
		x := "x" + bad.s + "y"
		t.Run(bad.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				do   func() (status int, answer string)
				want int
				utf8 int // the answer to invalid UTF-8, if not want
			}{
				{"signup email", func() (int, string) {
					return recorded(p.do(t, "POST", "/user", `{"name":"A","email":"`+jsonEscape(x)+`@example.com","password":"correct horse"}`, "Content-Type", "application/json"))
				}, 422, 400},
				{"signup name", func() (int, string) {
					return recorded(p.do(t, "POST", "/user", `{"name":"`+jsonEscape(x)+`","email":"n@example.com","password":"correct horse"}`, "Content-Type", "application/json"))
				}, 422, 400},
				{"tutorial login", func() (int, string) {
					return recorded(p.do(t, "POST", "/user/_authenticate", "", "Authorization", basic(x+"@example.com", "correct horse")))
				}, 401, 0},
				{"login page email", func() (int, string) { return recorded(p.loginPage(t, c, x+"@example.com", "correct horse")) }, 401, 0},
				{"password grant username", func() (int, string) {
					return recorded(p.passwordGrant(t, c, secret, x+"@example.com", "correct horse"))
				}, 400, 0},
				{"token client_id", func() (int, string) {
					return recorded(p.do(t, "POST", "/oauth2/token", form("grant_type", "client_credentials", "client_id", x, "client_secret", "s"), "Content-Type", formType))
				}, 400, 0},
				{"token basic client_id", func() (int, string) {
					return recorded(p.do(t, "POST", "/oauth2/token", form("grant_type", "client_credentials"), "Content-Type", formType, "Authorization", basicClient(x, "s")))
				}, 401, 0},
				{"token scope", func() (int, string) {
					return recorded(p.do(t, "POST", "/oauth2/token", form("grant_type", "client_credentials", "scope", x), "Content-Type", formType, "Authorization", auth))
				}, 400, 0},
				{"token code", func() (int, string) {
					return recorded(p.do(t, "POST", "/oauth2/token", form("grant_type", "authorization_code", "code", x, "redirect_uri", redirectURI), "Content-Type", formType, "Authorization", auth))
				}, 400, 0},
				{"token redirect_uri", func() (int, string) {
					return recorded(p.do(t, "POST", "/oauth2/token", form("grant_type", "authorization_code", "code", "c", "redirect_uri", x), "Content-Type", formType, "Authorization", auth))
				}, 400, 0},
				{"refresh token", func() (int, string) {
					return recorded(p.do(t, "POST", "/oauth2/token", form("grant_type", "refresh_token", "refresh_token", x), "Content-Type", formType, "Authorization", auth))
				}, 400, 0},
				{"introspect token", func() (int, string) {
					return recorded(p.do(t, "POST", "/oauth2/introspect", form("token", x), "Content-Type", formType, "Authorization", auth))
				}, 400, 0},
				{"revoke token", func() (int, string) {
					return recorded(p.do(t, "POST", "/oauth2/revoke", form("token", x), "Content-Type", formType, "Authorization", auth))
				}, 400, 0},
				{"authorize client_id", func() (int, string) { return browsed(b.get(authURL(url.Values{"client_id": {x}}))) }, 400, 0},
				{"authorize redirect_uri", func() (int, string) { return browsed(b.get(authURL(url.Values{"redirect_uri": {redirectURI + x}}))) }, 400, 0},
				{"authorize scope", func() (int, string) { return browsed(b.get(authURL(url.Values{"scope": {x}}))) }, 302, 0},
				{"authorize state", func() (int, string) { return browsed(b.get(authURL(url.Values{"state": {x}}))) }, 302, 0},
				{"authorize nonce", func() (int, string) { return browsed(b.get(authURL(url.Values{"nonce": {x}}))) }, 302, 0},
				{"logout client_id", func() (int, string) {
					return browsed(b.get(p.url + "/oauth2/logout?" + url.Values{"client_id": {x}, "post_logout_redirect_uri": {"https://app.example.com/bye"}}.Encode()))
				}, 200, 0},
				{"userinfo token", func() (int, string) {
					return recorded(p.do(t, "POST", "/userinfo", form("access_token", x), "Content-Type", formType))
				}, 401, 0},
			} {
				want := tc.want
				if bad.s == "\xff" && tc.utf8 != 0 {
					want = tc.utf8
				}
				status, answer := tc.do()
				if status != want || strings.Contains(answer, "server_error") {
					t.Errorf("%s with %q = %d %.200s, want %d and no server_error", tc.name, x, status, answer, want)
				}
			}
		})
	}
}

func recorded(rec *httptest.ResponseRecorder) (int, string) {
	return rec.Code, rec.Header().Get("Location") + " " + rec.Body.String()
}

func browsed(status int, page string, landed *url.URL) (int, string) {
	if landed != nil {
		if landed.Query().Get("code") != "" {
			return status, "a code: " + landed.String()
		}
		return status, landed.String()
	}
	return status, page
}

// jsonEscape writes s as the inside of a JSON string, invalid UTF-8 kept
// as raw bytes (which the JSON decoder turns into U+FFFD).
func jsonEscape(s string) string {
	return strings.NewReplacer("\x00", `\u0000`, "\x01", `\u0001`).Replace(s)
}
