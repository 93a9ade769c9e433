package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"slices"
	"testing"
)

func TestAlgorithmFits(t *testing.T) {
	k := mustTestKeys(t)
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	keys := []struct {
		name string
		pub  crypto.PublicKey
		fits []string // every other algorithm must not fit
	}{
		{"rsa", &k.rsa.PublicKey, []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}},
		{"p256", &k.p256.PublicKey, []string{"ES256"}},
		{"p384", &k.p384.PublicKey, []string{"ES384"}},
		{"p521", &p521.PublicKey, []string{"ES512"}},
		{"ed25519", k.ed.Public(), []string{"EdDSA"}},
		{"rsa 1024", &small.PublicKey, nil},
		{"private rsa", k.rsa, nil},
		{"ed25519 short", ed25519.PublicKey(make([]byte, 31)), nil},
		{"nil", nil, nil},
	}
	for _, key := range keys {
		for _, alg := range append(Algorithms(), "HS256", "none", "ES256K", "") {
			want := slices.Contains(key.fits, alg)
			if got := AlgorithmFits(alg, key.pub); got != want {
				t.Errorf("AlgorithmFits(%q, %s) = %t, want %t", alg, key.name, got, want)
			}
		}
	}
}

// Algorithms hands out a copy: changing it changes nothing verify accepts.
func TestAlgorithms_copy(t *testing.T) {
	a := Algorithms()
	a[0] = "HS256"
	if Algorithms()[0] != "RS256" {
		t.Errorf("Algorithms()[0] = %q after a caller changed its copy, want RS256", Algorithms()[0])
	}
	if _, err := New(t.Context(), Config{Issuer: testIssuer, KeySet: StaticKeySet{}, Algorithms: a}); err == nil {
		t.Error("New(Algorithms: [HS256 ...]) succeeded, want an error")
	}
}
