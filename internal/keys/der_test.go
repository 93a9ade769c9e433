package keys

import (
	"crypto"
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"testing"
)

func TestMarshalPKCS8(t *testing.T) {
	ed := mustParsePEM(t, "ed25519_pkcs8.pem").(ed25519.PrivateKey)
	tests := []struct {
		name    string
		key     crypto.Signer
		wantErr error
	}{
		{name: "ed25519 value", key: ed},
		{name: "ed25519 pointer", key: &ed},
		{name: "nil", key: nil, wantErr: ErrUnsupportedKey},
		{name: "nil ed25519 pointer", key: (*ed25519.PrivateKey)(nil), wantErr: ErrUnsupportedKey},
		{name: "short ed25519", key: ed[:40], wantErr: ErrUnsupportedKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := MarshalPKCS8(tc.key)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("MarshalPKCS8(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			got, err := ParsePKCS8(der)
			if err != nil {
				t.Fatalf("ParsePKCS8(MarshalPKCS8(%s)) error = %v, want nil", tc.name, err)
			}
			checkSameKey(t, "ParsePKCS8(MarshalPKCS8("+tc.name+"))", got, ed)
		})
	}
}

func TestParsePKCS8(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr error
	}{
		{name: "rsa", file: "rsa2048_pkcs8.pem"},
		{name: "p384", file: "ec_p384_pkcs8.pem"},
		{name: "ed25519", file: "ed25519_pkcs8.pem"},
		{name: "p521", file: "ec_p521_pkcs8.pem"},
		{name: "ed448", file: "ed448_pkcs8.pem", wantErr: ErrUnsupportedKey},
		{name: "rsa1024", file: "rsa1024.pem", wantErr: ErrUnsupportedKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			block, _ := pem.Decode(mustReadPEMFixture(t, tc.file))
			if block == nil || block.Type != "PRIVATE KEY" {
				t.Fatalf("testdata/%s: no PRIVATE KEY block", tc.file)
			}
			_, err := ParsePKCS8(block.Bytes)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("ParsePKCS8(%s) error = %v, want %v", tc.file, err, tc.wantErr)
			}
		})
	}
	if _, err := ParsePKCS8([]byte("garbage")); err == nil || errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("ParsePKCS8(garbage) error = %v, want a parse error", err)
	}
}
