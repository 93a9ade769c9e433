package token

import (
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/inkan-dev/inkan/internal/keys"
)

func TestIssuer_IssueLogout(t *testing.T) {
	s, pub := mustSigner(t, keys.ES256)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	iss := &Issuer{Issuer: "https://id.test", TTL: time.Hour, Keys: staticSource{s}, Now: func() time.Time { return now }}
	raw, err := iss.IssueLogout(LogoutClaims{Subject: "u1", Audience: "c1", SessionID: "sid-1"})
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if typ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType]; typ != "logout+jwt" {
		t.Errorf("typ = %v, want logout+jwt", typ)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	events, _ := c["events"].(map[string]any)
	ev, ok := events["http://schemas.openid.net/event/backchannel-logout"].(map[string]any)
	if c["iss"] != "https://id.test" || c["sub"] != "u1" || c["aud"] != "c1" || c["sid"] != "sid-1" ||
		c["iat"] != float64(now.Unix()) || c["exp"] != float64(now.Add(2*time.Minute).Unix()) ||
		len(c["jti"].(string)) < 26 || !ok || len(ev) != 0 || len(events) != 1 {
		t.Errorf("claims = %v", c)
	}
	if _, has := c["nonce"]; has {
		t.Error("a logout token holds a nonce (Back-Channel Logout 1.0 §2.4 forbids it)")
	}
}
