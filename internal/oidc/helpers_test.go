package oidc

import (
	"crypto"
	"testing"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/keys/keystest"
)

// staticSource is a token.SignerSource with one fixed signer.
type staticSource struct{ s *keys.Signer }

func (s staticSource) Active() *keys.Signer { return s.s }

// mustSigner returns a signer of a new key for alg, its kid being the key's
// thumbprint, and the key's public half.
func mustSigner(tb testing.TB, alg string) (*keys.Signer, crypto.PublicKey) {
	tb.Helper()
	priv, err := keys.Generate(alg, 0)
	if err != nil {
		tb.Fatalf("key for %s: %v", alg, err)
	}
	s, err := keystest.Signer(priv, alg) // kid: the key's thumbprint
	if err != nil {
		tb.Fatalf("signer for %s: %v", alg, err)
	}
	return s, priv.Public()
}
