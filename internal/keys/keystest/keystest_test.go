package keystest_test

import (
	"testing"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/keys/keystest"
	"github.com/inkan-dev/inkan/verify"
)

// The signer signs tokens that verify with the key's public half, under the
// key's thumbprint and the algorithm asked for; an algorithm that does not
// suit the key is refused.
func TestSigner(t *testing.T) {
	priv, err := keys.Generate(keys.ES256, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := keystest.Signer(priv, keys.ES256)
	if err != nil {
		t.Fatalf("Signer(ES256 key, ES256) error = %v", err)
	}
	kid, err := keys.Thumbprint(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID != kid || s.Algorithm != keys.ES256 {
		t.Errorf("Signer() = kid %q alg %q, want %q %q", s.KeyID, s.Algorithm, kid, keys.ES256)
	}
	raw, err := s.Sign([]byte(`{"iss":"https://i.example","sub":"a","exp":4102444800}`), keys.TypeJWT)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(t.Context(), verify.Config{Issuer: "https://i.example",
		KeySet: verify.StaticKeySet{{ID: kid, Algorithm: keys.ES256, Public: priv.Public()}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), raw); err != nil {
		t.Errorf("Verify(Sign()) error = %v, want nil", err)
	}
	if _, err := keystest.Signer(priv, keys.RS256); err == nil {
		t.Error("Signer(ES256 key, RS256) error = nil, want an error")
	}
}
