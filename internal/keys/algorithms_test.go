package keys

import (
	"strings"
	"testing"
)

func TestCheckAlgorithm(t *testing.T) {
	rsaKey := mustParsePEM(t, "rsa2048_spki.pem")
	p256 := mustParsePEM(t, "ec_p256_spki.pem")
	p384 := mustParsePEM(t, "ec_p384_spki.pem")
	p521 := mustParsePEM(t, "ec_p521_pkcs8.pem")
	ed := mustParsePEM(t, "ed25519_spki.pem")
	tests := []struct {
		name    string
		key     any
		alg     string
		wantErr bool
	}{
		{name: "rsa rs256", key: rsaKey, alg: RS256},
		{name: "rsa ps256", key: rsaKey, alg: PS256},
		{name: "rsa es256", key: rsaKey, alg: ES256, wantErr: true},
		{name: "rsa rs384", key: rsaKey, alg: RS384},
		{name: "rsa rs512", key: rsaKey, alg: RS512},
		{name: "rsa ps384", key: rsaKey, alg: PS384},
		{name: "rsa ps512", key: rsaKey, alg: PS512},
		{name: "rsa rs1", key: rsaKey, alg: "RS1", wantErr: true},
		{name: "rsa eddsa", key: rsaKey, alg: EdDSA, wantErr: true},
		{name: "rsa none", key: rsaKey, alg: "none", wantErr: true},
		{name: "p256 es256", key: p256, alg: ES256},
		{name: "p256 es384", key: p256, alg: ES384, wantErr: true},
		{name: "p384 es384", key: p384, alg: ES384},
		{name: "p384 es256", key: p384, alg: ES256, wantErr: true},
		{name: "p384 es512", key: p384, alg: ES512, wantErr: true},
		{name: "p521 es512", key: p521, alg: ES512},
		{name: "p521 es384", key: p521, alg: ES384, wantErr: true},
		{name: "ed eddsa", key: ed, alg: EdDSA},
		{name: "ed rs256", key: ed, alg: RS256, wantErr: true},
		{name: "ed empty", key: ed, alg: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckAlgorithm(tc.key, tc.alg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("CheckAlgorithm(%s, %q) error = %v, want error %v", tc.name, tc.alg, err, tc.wantErr)
			}
			if err != nil && (!strings.Contains(err.Error(), tc.alg) || !strings.Contains(err.Error(), keyTypeName(tc.key))) {
				t.Errorf("CheckAlgorithm(%s, %q) error = %v, want it to name %q and %q", tc.name, tc.alg, err, tc.alg, keyTypeName(tc.key))
			}
		})
	}
}
