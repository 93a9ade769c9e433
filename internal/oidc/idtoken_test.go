package oidc

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
)

func TestIssuer_sign_atHash(t *testing.T) {
	for _, tc := range []struct {
		alg  string
		half func(string) []byte
	}{
		{keys.RS256, func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:16] }},
		{keys.ES256, func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:16] }},
		{keys.EdDSA, func(s string) []byte { h := sha512.Sum512([]byte(s)); return h[:32] }},
		{keys.RS384, func(s string) []byte { h := sha512.Sum384([]byte(s)); return h[:24] }},
		{keys.PS384, func(s string) []byte { h := sha512.Sum384([]byte(s)); return h[:24] }},
		{keys.ES384, func(s string) []byte { h := sha512.Sum384([]byte(s)); return h[:24] }},
		{keys.RS512, func(s string) []byte { h := sha512.Sum512([]byte(s)); return h[:32] }},
		{keys.PS512, func(s string) []byte { h := sha512.Sum512([]byte(s)); return h[:32] }},
		{keys.ES512, func(s string) []byte { h := sha512.Sum512([]byte(s)); return h[:32] }},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			s, pub := mustSigner(t, tc.alg)
			iss := &Issuer{Issuer: "https://id.test", TTL: time.Hour, Keys: staticSource{s}}
			raw, err := iss.sign(IDClaims{Subject: "u1", Audience: "c1", Nonce: "n-1"}, "the.access.token")
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tc.alg)})
			var c IDClaims
			if err := tok.Claims(pub, &c); err != nil {
				t.Fatal(err)
			}
			want := base64.RawURLEncoding.EncodeToString(tc.half("the.access.token"))
			if c.AccessHash != want || c.Nonce != "n-1" || c.Audience != "c1" {
				t.Errorf("claims = %+v, want at_hash %s", c, want)
			}
		})
	}
}

// An ID token names its user and client, carries the request's nonce, the
// sign-in time and session, the user's claims as scoped, and lasts TTL.
func TestIssuer_IDToken(t *testing.T) {
	s, pub := mustSigner(t, keys.ES256)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	authTime := now.Add(-5 * time.Minute)
	iss := &Issuer{Issuer: "https://id.test", TTL: time.Hour, Keys: staticSource{s}, Now: func() time.Time { return now }}
	u := store.User{ID: "u1", Name: "Alice", Email: "alice@example.com", EmailVerified: true}
	c := store.Client{ID: "c1", Audience: []string{"https://api.example.com"}}
	for _, tc := range []struct {
		name               string
		scope              []string
		amr                []string
		nonce, sid, access string
		want               map[string]any
	}{
		{"openid", []string{"openid"}, nil, "", "", "",
			map[string]any{"iss": "https://id.test", "sub": "u1", "aud": "c1", "iat": float64(now.Unix()), "exp": float64(now.Add(time.Hour).Unix()), "auth_time": float64(authTime.Unix())}},
		{"a password", []string{"openid"}, []string{"pwd"}, "", "", "",
			map[string]any{"iss": "https://id.test", "sub": "u1", "aud": "c1", "iat": float64(now.Unix()), "exp": float64(now.Add(time.Hour).Unix()), "auth_time": float64(authTime.Unix()),
				"acr": ACRSingleFactor, "amr": []any{"pwd"}}},
		{"every scope, two factors", []string{"openid", "profile", "email"}, []string{"mfa", "otp", "pwd"}, "n-1", "sid-1", "the.access.token",
			map[string]any{"iss": "https://id.test", "sub": "u1", "aud": "c1", "iat": float64(now.Unix()), "exp": float64(now.Add(time.Hour).Unix()), "auth_time": float64(authTime.Unix()),
				"acr": ACRMultiFactor, "amr": []any{"mfa", "otp", "pwd"},
				"nonce": "n-1", "sid": "sid-1", "at_hash": halfHash(keys.ES256, "the.access.token"), "email": "alice@example.com", "email_verified": true, "name": "Alice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := iss.IDToken(c, u, tc.scope, authTime, tc.amr, tc.nonce, tc.sid, tc.access)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatal(err)
			}
			if typ := tok.Headers[0].ExtraHeaders[jose.HeaderType]; typ != "JWT" {
				t.Errorf("typ = %v, want JWT", typ)
			}
			var got map[string]any
			if err := tok.Claims(pub, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("IDToken(scope %q) claims = %v, want %v", tc.scope, got, tc.want)
			}
		})
	}
}

// Claims, which discovery lists, are the claims IDClaims can carry, each
// once.
func TestClaims(t *testing.T) {
	var tags []string
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for f := range typ.Fields() {
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			tags = append(tags, name)
		}
	}
	walk(reflect.TypeFor[IDClaims]())
	if got := slices.Sorted(slices.Values(Claims)); !slices.Equal(got, slices.Sorted(slices.Values(tags))) || len(slices.Compact(got)) != len(Claims) {
		t.Errorf("Claims = %q, want the JSON names of IDClaims, %q, each once", Claims, tags)
	}
	b, err := json.Marshal(IDClaims{})
	if err != nil || !strings.HasPrefix(string(b), `{"iss":"","sub":"","aud":"","iat":0,"exp":0}`) {
		t.Errorf("json.Marshal(IDClaims{}) = %s, %v", b, err)
	}
}

func TestACRFor(t *testing.T) {
	for _, tc := range []struct {
		amr  []string
		want string
	}{
		{nil, ""},
		{[]string{"pwd"}, ACRSingleFactor},
		{[]string{"hwk", "user"}, ACRSingleFactor},
		{[]string{"mfa", "otp", "pwd"}, ACRMultiFactor},
		{[]string{"hwk", "mfa", "user"}, ACRMultiFactor},
	} {
		if got := ACRFor(tc.amr); got != tc.want {
			t.Errorf("ACRFor(%q) = %q, want %q", tc.amr, got, tc.want)
		}
	}
}
