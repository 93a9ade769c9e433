package token

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/inkan-dev/inkan/internal/keys"
)

// LogoutEvent is the events member of a logout token (OpenID Connect
// Back-Channel Logout 1.0 §2.4).
const LogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutTTL is a logout token's lifetime: §2.4 recommends at most two
// minutes.
const LogoutTTL = 2 * time.Minute

// LogoutClaims are the claims of a logout token (Back-Channel Logout 1.0
// §2.4). It never holds a nonce, so that it cannot pass for an ID token.
type LogoutClaims struct {
	Issuer    string              `json:"iss"`
	Subject   string              `json:"sub"`
	Audience  string              `json:"aud"`
	IssuedAt  int64               `json:"iat"`
	Expiry    int64               `json:"exp"`
	ID        string              `json:"jti"`
	SessionID string              `json:"sid,omitempty"`
	Events    map[string]struct{} `json:"events"`
}

// IssueLogout mints a logout token for the client c.Audience: typ
// logout+jwt (§2.4, against cross-JWT confusion), a fresh jti, exp
// LogoutTTL after iat.
func (i *Issuer) IssueLogout(c LogoutClaims) (string, error) {
	now := time.Now
	if i.Now != nil {
		now = i.Now
	}
	c.Issuer = i.Issuer
	c.IssuedAt = now().Unix()
	c.Expiry = c.IssuedAt + int64(LogoutTTL/time.Second)
	c.ID = rand.Text()
	c.Events = map[string]struct{}{LogoutEvent: {}}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("issue logout token: %w", err)
	}
	return i.Keys.Active().Sign(payload, keys.TypeLogout)
}
