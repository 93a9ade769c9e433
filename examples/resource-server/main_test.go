package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/inkan-dev/inkan/verify"
)

func TestRoutes(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	cfg := config("https://inkan.test", "https://hello.example")
	cfg.KeySet = verify.StaticKeySet{{ID: "k1", Algorithm: "RS256", Public: &key.PublicKey}}
	v, err := verify.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(typ string, claims map[string]any) string {
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
		c := map[string]any{"iss": "https://inkan.test", "sub": "u1", "exp": time.Now().Add(time.Hour).Unix()}
		for k, v := range claims {
			c[k] = v
		}
		payload, _ := json.Marshal(c)
		obj, _ := signer.Sign(payload)
		tok, _ := obj.CompactSerialize()
		return tok
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
