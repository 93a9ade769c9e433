package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/inkan-dev/inkan/verify"
	"github.com/inkan-dev/inkan/verify/verifytest"
)

func TestRoutes(t *testing.T) {
	is := verifytest.NewIssuer(nil)
	defer is.Close()
	v, err := verify.New(t.Context(), config(is.URL, "https://hello.example"))
	if err != nil {
		t.Fatal(err)
	}
	// sign returns a token of the given typ with sub u1, an hour to live, and claims.
	sign := func(typ string, claims map[string]any) string {
		claims["sub"] = "u1"
		return is.Token(map[string]any{"typ": typ}, claims)
	}
	access := sign("at+jwt", map[string]any{"aud": []string{"https://hello.example"}, "client_id": "c1", "scope": "profile email", "name": "Alice", "email": "alice@example.com"})

	for _, tc := range []struct {
		name, auth string
		want       int
		body       string
	}{
		{"token", "Bearer " + access, 200, "hello Alice <alice@example.com>, your token expires"},
		{"no scope", "Bearer " + sign("at+jwt", map[string]any{"aud": "https://hello.example", "client_id": "c1"}), 200, "hello u1, your token expires"},
		{"another audience", "Bearer " + sign("at+jwt", map[string]any{"aud": "https://other.example", "name": "Alice"}), 401, "not meant for this audience"},
		{"tutorial token", "Bearer " + sign("JWT", map[string]any{"user": "Alice", "email": "alice@example.com"}), 401, "not meant for this audience"},
		{"ID token", "Bearer " + sign("JWT", map[string]any{"aud": "https://hello.example", "name": "Alice", "nonce": "n"}), 401, "not an access token"},
		{"none", "", 401, ""},
		{"bad", "Bearer " + access + "x", 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/hello", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			routes(v).ServeHTTP(rec, req)
			if rec.Code != tc.want || !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("GET /hello = %d %q, want %d %q", rec.Code, rec.Body, tc.want, tc.body)
			}
		})
	}
}
