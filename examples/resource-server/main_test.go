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
	v, err := verify.New(context.Background(), verify.Config{
		Issuer: "https://inkan.test",
		KeySet: verify.StaticKeySet{{ID: "k1", Algorithm: "RS256", Public: &key.PublicKey}},
	})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	payload, _ := json.Marshal(map[string]any{"iss": "https://inkan.test", "sub": "u1", "user": "Alice", "email": "alice@example.com", "exp": time.Now().Add(time.Hour).Unix()})
	obj, _ := signer.Sign(payload)
	tok, _ := obj.CompactSerialize()

	for _, tc := range []struct {
		name, auth string
		want       int
		body       string
	}{
		{"token", "Bearer " + tok, 200, "hello Alice <alice@example.com>"},
		{"none", "", 401, ""},
		{"bad", "Bearer " + tok + "x", 401, ""},
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
