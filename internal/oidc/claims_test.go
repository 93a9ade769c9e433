package oidc

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
)

// What a scope reveals about a user, everywhere (OpenID Connect Core §5.4).
func TestProfileFor(t *testing.T) {
	u := store.User{ID: "u1", Name: "Alice", Email: "alice@example.com", EmailVerified: true}
	yes := true
	for _, tc := range []struct {
		scope []string
		want  token.Profile
	}{
		{nil, token.Profile{}},
		{[]string{"openid"}, token.Profile{}},
		{[]string{"email"}, token.Profile{Email: "alice@example.com", EmailVerified: &yes}},
		{[]string{"profile"}, token.Profile{Name: "Alice"}},
		{[]string{"openid", "profile", "email"}, token.Profile{Email: "alice@example.com", EmailVerified: &yes, Name: "Alice"}},
		{[]string{"emails", "profiles"}, token.Profile{}},
	} {
		if got := ProfileFor(u, tc.scope); !cmp.Equal(got, tc.want) {
			t.Errorf("ProfileFor(%q) = %+v, want %+v", tc.scope, got, tc.want)
		}
	}
}

// An access token carries the user's email and name only as scoped, and
// its iat never precedes the user's TokensValidAfter.
func TestProfileFor_accessToken(t *testing.T) {
	s, pub := mustSigner(t, keys.ES256)
	now := time.Date(2026, 11, 25, 12, 0, 0, 200_000_000, time.UTC)
	iss := &token.Issuer{Issuer: "https://id.test", TTL: 10 * time.Minute, Keys: staticSource{s}, Now: func() time.Time { return now }}
	u := store.User{ID: "u1", Name: "Alice", Email: "alice@example.com"}
	for _, tc := range []struct {
		scope string
		want  map[string]any
	}{
		{"openid", map[string]any{}},
		{"openid email", map[string]any{"email": "alice@example.com", "email_verified": false}},
		{"profile", map[string]any{"name": "Alice"}},
	} {
		a, err := iss.IssueAccess(token.AccessClaims{Subject: u.ID, Audience: []string{"api"}, ClientID: "c1", Scope: tc.scope,
			Profile: ProfileFor(u, strings.Fields(tc.scope)), ValidAfter: now.Add(300 * time.Millisecond)})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.ParseSigned(a.Raw, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := tok.Claims(pub, &got); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"email", "email_verified", "name", "user"} {
			if want, ok := tc.want[k]; got[k] != want || (!ok && got[k] != nil) {
				t.Errorf("scope %q: claim %s = %v, want %v", tc.scope, k, got[k], want)
			}
		}
		if _, ok := got["ValidAfter"]; ok || got["iat"] != float64(now.Unix()+1) {
			t.Errorf("scope %q: iat = %v (claims %v), want %d, the change's second rounded up", tc.scope, got["iat"], got, now.Unix()+1)
		}
	}
}

// Userinfo answers only a token granted openid, with the claims its scope
// reveals (Core §5.3).
func TestUserInfoFor(t *testing.T) {
	u := store.User{ID: "u1", Name: "Alice", Email: "alice@example.com"}
	for _, tc := range []struct {
		scope   []string
		want    string // the JSON of the response
		wantErr error
	}{
		{nil, "", ErrInsufficientScope},
		{[]string{"profile", "email"}, "", ErrInsufficientScope},
		{[]string{"openid"}, `{"sub":"u1"}`, nil},
		{[]string{"openid", "email"}, `{"sub":"u1","email":"alice@example.com","email_verified":false}`, nil},
		{[]string{"openid", "profile", "email"}, `{"sub":"u1","email":"alice@example.com","email_verified":false,"name":"Alice"}`, nil},
	} {
		got, err := UserInfoFor(u, tc.scope)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("UserInfoFor(%q) error = %v, want %v", tc.scope, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if b, _ := json.Marshal(got); string(b) != tc.want {
			t.Errorf("UserInfoFor(%q) = %s, want %s", tc.scope, b, tc.want)
		}
	}
}
