package oidc

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
	"github.com/inkan-dev/inkan/verify"
)

// An id_token_hint is one of our ID tokens, expired or not; anything else
// (another issuer's, an access token, a token without sub) is refused.
func TestHintVerifier_Verify(t *testing.T) {
	s, pub := mustSigner(t, keys.ES256)
	other, _ := mustSigner(t, keys.ES256)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	hv, err := NewHintVerifier(t.Context(), HintConfig{
		Issuer: "https://id.test", KeySet: verify.StaticKeySet{{ID: s.KeyID, Algorithm: keys.ES256, Public: pub}},
		Leeway: time.Minute, Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := &Issuer{Issuer: "https://id.test", TTL: time.Hour, Keys: staticSource{s}, Now: clock}
	mustID := func(iss *Issuer, c IDClaims) string {
		t.Helper()
		raw, err := iss.sign(c, "")
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	mustSign := func(claims any, typ string) string {
		t.Helper()
		b, err := json.Marshal(claims)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := s.Sign(b, typ)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	fresh, err := ids.IDToken(store.Client{ID: "c1"}, store.User{ID: "u1"}, []string{"openid"}, now, nil, "n", "sid-1", "")
	if err != nil {
		t.Fatal(err)
	}
	expired := &Issuer{Issuer: "https://id.test", TTL: time.Hour, Keys: staticSource{s}, Now: func() time.Time { return now.Add(-48 * time.Hour) }}
	access, err := (&token.Issuer{Issuer: "https://id.test", TTL: time.Hour, Keys: staticSource{s}, Now: clock}).
		IssueAccess(token.AccessClaims{Subject: "u1", Audience: []string{"c1"}, ClientID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		raw     string
		want    Hint
		wantErr error
	}{
		{"fresh", fresh, Hint{ClientID: "c1", Subject: "u1", SessionID: "sid-1"}, nil},
		{"expired", mustID(expired, IDClaims{Subject: "u1", Audience: "c1"}), Hint{ClientID: "c1", Subject: "u1"}, nil},
		{"another issuer", mustID(&Issuer{Issuer: "https://evil.test", TTL: time.Hour, Keys: staticSource{s}, Now: clock}, IDClaims{Subject: "u1", Audience: "c1"}), Hint{}, verify.ErrIssuer},
		{"another key", mustID(&Issuer{Issuer: "https://id.test", TTL: time.Hour, Keys: staticSource{other}, Now: clock}, IDClaims{Subject: "u1", Audience: "c1"}), Hint{}, verify.ErrUnknownKey},
		{"an access token", access.Raw, Hint{}, verify.ErrType},
		{"no sub", mustID(ids, IDClaims{Audience: "c1"}), Hint{}, ErrNotIDToken},
		{"two audiences", mustSign(map[string]any{"iss": "https://id.test", "sub": "u1", "aud": []string{"c1", "c2"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}, keys.TypeJWT), Hint{}, ErrNotIDToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hv.Verify(t.Context(), tc.raw)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("Verify() = %+v, %v; want %+v, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
