package token

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/inkan-dev/inkan/internal/keys"
)

func TestIssuer_IssueAccess(t *testing.T) {
	s, pub := mustSigner(t, keys.ES256)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	iss := &Issuer{Issuer: "https://id.test", TTL: 10 * time.Minute, Keys: staticSource{s}, Now: func() time.Time { return now }}
	a, err := iss.IssueAccess(AccessClaims{Subject: "u1", Audience: []string{"api"}, ClientID: "c1", Scope: "openid email"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(a.Raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if typ := tok.Headers[0].ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
		t.Errorf("typ = %v, want at+jwt (RFC 9068 §2.1)", typ)
	}
	var c AccessClaims
	if err := tok.Claims(pub, &c); err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "https://id.test" || c.Subject != "u1" || c.Audience[0] != "api" || c.ClientID != "c1" ||
		c.Scope != "openid email" || c.IssuedAt != now.Unix() || c.Expiry != now.Add(10*time.Minute).Unix() || len(c.ID) < 26 {
		t.Errorf("claims = %+v", c)
	}
}

func TestIssuer_IssueID_atHash(t *testing.T) {
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
			raw, err := iss.IssueID(IDClaims{Subject: "u1", Audience: "c1", Nonce: "n-1"}, "the.access.token")
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
