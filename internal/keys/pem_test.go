package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pemFixture describes one file in testdata/ (see testdata/README.md).
type pemFixture struct {
	name    string
	private bool   // ParsePEM returns a crypto.Signer
	kty     string // JWK key type; "" when parsing must fail
	alg     string // DefaultAlgorithm
	same    string // fixture holding the same key, so the same thumbprint
	wantErr error  // sentinel the parse error wraps
	errText string // text the parse error contains
}

var pemFixtures = []pemFixture{
	{name: "rsa2048_pkcs1.pem", private: true, kty: "RSA", alg: RS256, same: "rsa2048_pkcs8.pem"},
	{name: "rsa2048_pkcs8.pem", private: true, kty: "RSA", alg: RS256, same: "rsa2048_pkcs8.pem"},
	{name: "rsa2048_spki.pem", kty: "RSA", alg: RS256, same: "rsa2048_pkcs8.pem"},
	{name: "rsa2048_pkcs1_public.pem", kty: "RSA", alg: RS256, same: "rsa2048_pkcs8.pem"},
	{name: "rsa2048_cert.pem", kty: "RSA", alg: RS256, same: "rsa2048_pkcs8.pem"},
	{name: "rsa2048_encrypted_pkcs8.pem", errText: "encrypted keys are not supported"},
	{name: "rsa2048_encrypted_pkcs1.pem", errText: "encrypted keys are not supported"},
	{name: "rsa1024.pem", wantErr: ErrUnsupportedKey, errText: "1024 bits"},
	{name: "ec_p256_ecparam.pem", private: true, kty: "EC", alg: ES256, same: "ec_p256_ecparam.pem"},
	{name: "ec_p256_spki.pem", kty: "EC", alg: ES256, same: "ec_p256_ecparam.pem"},
	{name: "ec_p256_cert.pem", kty: "EC", alg: ES256, same: "ec_p256_ecparam.pem"},
	{name: "ec_p384_sec1.pem", private: true, kty: "EC", alg: ES384, same: "ec_p384_sec1.pem"},
	{name: "ec_p384_pkcs8.pem", private: true, kty: "EC", alg: ES384, same: "ec_p384_sec1.pem"},
	{name: "ec_p384_spki.pem", kty: "EC", alg: ES384, same: "ec_p384_sec1.pem"},
	{name: "ec_secp256k1_sec1.pem", wantErr: ErrUnsupportedKey, errText: "secp256k1"},
	{name: "ec_secp256k1_spki.pem", wantErr: ErrUnsupportedKey, errText: "secp256k1"},
	{name: "ec_secp256k1_cert.pem", wantErr: ErrUnsupportedKey, errText: "secp256k1"},
	{name: "ec_p521_pkcs8.pem", private: true, kty: "EC", alg: ES512, same: "ec_p521_pkcs8.pem"},
	{name: "ed25519_pkcs8.pem", private: true, kty: "OKP", alg: EdDSA, same: "ed25519_pkcs8.pem"},
	{name: "ed25519_spki.pem", kty: "OKP", alg: EdDSA, same: "ed25519_pkcs8.pem"},
	{name: "ed448_pkcs8.pem", wantErr: ErrUnsupportedKey, errText: "Ed448"},
}

func mustReadPEMFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func mustParsePEM(tb testing.TB, name string) any {
	tb.Helper()
	key, err := ParsePEM(mustReadPEMFixture(tb, name))
	if err != nil {
		tb.Fatalf("ParsePEM(%s) error = %v, want nil", name, err)
	}
	return key
}

// checkParseError reports whether err matches a failing fixture.
func checkParseError(t *testing.T, call string, err error, tc pemFixture) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s error = nil, want %q", call, tc.errText)
	}
	if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
		t.Errorf("%s error = %v, want %v", call, err, tc.wantErr)
	}
	if !strings.Contains(err.Error(), tc.errText) {
		t.Errorf("%s error = %v, want it to contain %q", call, err, tc.errText)
	}
}

func TestParsePEM(t *testing.T) {
	for _, tc := range pemFixtures {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParsePEM(mustReadPEMFixture(t, tc.name))
			if tc.kty == "" {
				checkParseError(t, "ParsePEM("+tc.name+")", err, tc)
				return
			}
			if err != nil {
				t.Fatalf("ParsePEM(%s) error = %v, want nil", tc.name, err)
			}
			if _, isSigner := key.(crypto.Signer); isSigner != tc.private {
				t.Errorf("ParsePEM(%s) = %T, crypto.Signer = %v, want %v", tc.name, key, isSigner, tc.private)
			}
			switch key.(type) {
			case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey,
				*rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			default:
				t.Errorf("ParsePEM(%s) = %T, want a key type from the doc comment", tc.name, key)
			}
			alg, err := DefaultAlgorithm(key)
			if err != nil || alg != tc.alg {
				t.Errorf("DefaultAlgorithm(%s) = %q, %v, want %q, nil", tc.name, alg, err, tc.alg)
			}
		})
	}
}

func TestParsePEM_blocks(t *testing.T) {
	ed := mustReadPEMFixture(t, "ed25519_pkcs8.pem")
	ecParams := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}})
	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{name: "empty", data: nil, wantErr: ErrNoPEM},
		{name: "not pem", data: []byte("hello"), wantErr: ErrNoPEM},
		{name: "params only", data: ecParams, wantErr: ErrNoPEM},
		{name: "csr only", data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0}}), wantErr: ErrNoPEM},
		{name: "openssh", data: pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte{0}}), wantErr: ErrUnsupportedKey},
		{name: "dsa", data: pem.EncodeToMemory(&pem.Block{Type: "DSA PRIVATE KEY", Bytes: []byte{0}}), wantErr: ErrUnsupportedKey},
		{name: "skips params", data: append(ecParams, ed...)},
		{name: "text around", data: append(append([]byte("comment\n"), ed...), "trailer\n"...)},
		{name: "first key wins", data: append(slices.Clone(ed), mustReadPEMFixture(t, "rsa1024.pem")...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePEM(tc.data)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("ParsePEM(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
		})
	}
}

func TestParsePrivatePEM(t *testing.T) {
	for _, tc := range pemFixtures {
		if tc.kty == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParsePrivatePEM(mustReadPEMFixture(t, tc.name))
			if (err == nil) != tc.private {
				t.Fatalf("ParsePrivatePEM(%s) = %T, error = %v, want private %v", tc.name, key, err, tc.private)
			}
			if !tc.private && !strings.Contains(err.Error(), "need a private key") {
				t.Errorf("ParsePrivatePEM(%s) error = %v, want it to say a private key is needed", tc.name, err)
			}
		})
	}
}
