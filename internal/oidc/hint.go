package oidc

import (
	"context"
	"errors"
	"time"

	"github.com/inkan-dev/inkan/verify"
)

// Hint is what a valid id_token_hint says (RP-Initiated Logout 1.0 §2):
// the client it was issued to, its user, and the sid of its login session
// (none for the password grant).
type Hint struct {
	ClientID, Subject, SessionID string
}

// ErrNotIDToken refuses a hint that verifies but is no ID token of ours.
var ErrNotIDToken = errors.New("not an ID token: want one aud and a sub")

// HintConfig configures a HintVerifier: the provider's issuer and keys, and
// the bounds every token check of the provider has.
type HintConfig struct {
	Issuer       string
	KeySet       verify.KeySet
	Leeway       time.Duration    // the clock skew tolerated on nbf and iat
	Now          func() time.Time // nil means time.Now
	MaxTokenSize int              // zero means verify.DefaultMaxTokenSize
}

// HintVerifier checks the id_token_hint of a logout request with package
// verify: the provider's signature with a published key, its issuer, typ
// JWT, one aud and a sub. An expired ID token will do (RP-Initiated Logout
// §2): what it can end is bounded by the session it names, which the caller
// ends only if it is still the token's user's.
type HintVerifier struct {
	v *verify.Verifier
}

// NewHintVerifier returns the verifier of id_token_hint: the provider's
// keys and issuer, ID tokens only (typ JWT), and expired ones too.
func NewHintVerifier(ctx context.Context, cfg HintConfig) (*HintVerifier, error) {
	v, err := verify.New(ctx, verify.Config{
		Issuer:          cfg.Issuer,
		KeySet:          cfg.KeySet,
		Leeway:          cfg.Leeway,
		Now:             cfg.Now,
		MaxTokenSize:    cfg.MaxTokenSize,
		Types:           []string{"JWT"},
		AllowIDTokens:   true, // the hint is an ID token
		SkipExpiryCheck: true,
	})
	if err != nil {
		return nil, err
	}
	return &HintVerifier{v: v}, nil
}

// Verify checks raw as an id_token_hint and returns what it says. Its
// errors are verify's, or ErrNotIDToken.
func (h *HintVerifier) Verify(ctx context.Context, raw string) (Hint, error) {
	c, err := h.v.Verify(ctx, raw)
	if err != nil {
		return Hint{}, err
	}
	var extra struct {
		SessionID string `json:"sid"`
	}
	if err := c.Decode(&extra); err != nil {
		return Hint{}, err
	}
	if len(c.Audience) != 1 || c.Subject == "" {
		return Hint{}, ErrNotIDToken
	}
	return Hint{ClientID: c.Audience[0], Subject: c.Subject, SessionID: extra.SessionID}, nil
}
