package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/inkan-dev/inkan/verify"
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

// jwkMembers is the exact member set of a public JWK inkan emits, per kty.
var jwkMembers = map[string][]string{
	"RSA": {"alg", "e", "kid", "kty", "n", "use"},
	"EC":  {"alg", "crv", "kid", "kty", "use", "x", "y"},
	"OKP": {"alg", "crv", "kid", "kty", "use", "x"},
}

// privateJWKMembers are JWK members that carry private key material
// (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

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

func TestPublicKey(t *testing.T) {
	rsaKey := mustParsePEM(t, "rsa2048_pkcs8.pem").(*rsa.PrivateKey)
	ecKey := mustParsePEM(t, "ec_p256_ecparam.pem").(*ecdsa.PrivateKey)
	edKey := mustParsePEM(t, "ed25519_pkcs8.pem").(ed25519.PrivateKey)
	edPub := edKey.Public().(ed25519.PublicKey)
	tests := []struct {
		name    string
		key     any
		want    crypto.PublicKey
		wantErr error
	}{
		{name: "rsa private", key: rsaKey, want: &rsaKey.PublicKey},
		{name: "rsa public", key: &rsaKey.PublicKey, want: &rsaKey.PublicKey},
		{name: "ec private", key: ecKey, want: &ecKey.PublicKey},
		{name: "ec public", key: &ecKey.PublicKey, want: &ecKey.PublicKey},
		{name: "ed private", key: edKey, want: edPub},
		{name: "ed private pointer", key: &edKey, want: edPub},
		{name: "ed public", key: edPub, want: edPub},
		{name: "ed public pointer", key: &edPub, want: edPub},
		{name: "nil", key: nil, wantErr: ErrUnsupportedKey},
		{name: "nil rsa", key: (*rsa.PrivateKey)(nil), wantErr: ErrUnsupportedKey},
		{name: "nil ed pointer", key: (*ed25519.PrivateKey)(nil), wantErr: ErrUnsupportedKey},
		{name: "short ed private", key: ed25519.PrivateKey(edKey[:10]), wantErr: ErrUnsupportedKey},
		{name: "short ed public", key: edPub[:10], wantErr: ErrUnsupportedKey},
		{name: "hmac secret", key: []byte("secret"), wantErr: ErrUnsupportedKey},
		{name: "ec off curve", key: &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}, wantErr: ErrUnsupportedKey}, //nolint:staticcheck // SA1019: only raw coordinates make an off-curve key
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PublicKey(tc.key)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("PublicKey(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if tc.want == nil {
				return
			}
			if eq, ok := got.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(tc.want) {
				t.Errorf("PublicKey(%s) = %T %v, want %T %v", tc.name, got, got, tc.want, tc.want)
			}
		})
	}
}

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

// TestThumbprint_rfc7638 checks the example of RFC 7638 §3.1.
func TestThumbprint_rfc7638(t *testing.T) {
	const (
		n    = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
		e    = "AQAB"
		want = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	)
	nBytes, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil {
		t.Fatal(err)
	}
	eBytes, err := base64.RawURLEncoding.DecodeString(e)
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nBytes), E: int(new(big.Int).SetBytes(eBytes).Int64())}
	got, err := Thumbprint(pub)
	if err != nil || got != want {
		t.Errorf("Thumbprint(RFC 7638 key) = %q, %v, want %q, nil", got, err, want)
	}
	jwks, err := JWKSFromPEM(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)}), "", "")
	if err != nil || !strings.Contains(string(jwks), `"kid": "`+want+`"`) || !strings.Contains(string(jwks), `"n": "`+n+`"`) {
		t.Errorf("JWKSFromPEM(RFC 7638 key) = %s, %v, want kid %q and n %q", jwks, err, want, n)
	}
}

func TestThumbprint_sameKey(t *testing.T) {
	for _, tc := range pemFixtures {
		if tc.kty == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			got, err := Thumbprint(mustParsePEM(t, tc.name))
			if err != nil {
				t.Fatalf("Thumbprint(%s) error = %v, want nil", tc.name, err)
			}
			want, err := Thumbprint(mustParsePEM(t, tc.same))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("Thumbprint(%s) = %q, want %q (the thumbprint of %s)", tc.name, got, want, tc.same)
			}
		})
	}
}

// decodeJWKS decodes JWKSFromPEM output generically, so that unexpected
// members are visible.
func decodeJWKS(data []byte) ([]map[string]any, error) {
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&set); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after JWKS")
	}
	return set.Keys, nil
}

func memberNames(m map[string]any) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// checkPublicJWKS checks the properties every JWKSFromPEM output has: valid
// JSON holding one key, no private members, and a key go-jose reads as public.
func checkPublicJWKS(tb testing.TB, out []byte) map[string]any {
	tb.Helper()
	keys, err := decodeJWKS(out)
	if err != nil {
		tb.Fatalf("JWKSFromPEM output %s: decode error = %v", out, err)
	}
	if len(keys) != 1 {
		tb.Fatalf("JWKSFromPEM output has %d keys, want 1:\n%s", len(keys), out)
	}
	for _, name := range privateJWKMembers {
		if _, ok := keys[0][name]; ok {
			tb.Fatalf("JWKSFromPEM output has private member %q:\n%s", name, out)
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(out, &set); err != nil {
		tb.Fatalf("JWKSFromPEM output %s: go-jose decode error = %v", out, err)
	}
	if len(set.Keys) != 1 || !set.Keys[0].IsPublic() || !set.Keys[0].Valid() {
		tb.Fatalf("JWKSFromPEM output %s: go-jose reads %+v, want one valid public key", out, set.Keys)
	}
	return keys[0]
}

func TestJWKSFromPEM(t *testing.T) {
	for _, tc := range pemFixtures {
		t.Run(tc.name, func(t *testing.T) {
			data := mustReadPEMFixture(t, tc.name)
			out, err := JWKSFromPEM(data, "", "")
			if tc.kty == "" {
				checkParseError(t, "JWKSFromPEM("+tc.name+")", err, tc)
				return
			}
			if err != nil {
				t.Fatalf("JWKSFromPEM(%s) error = %v, want nil", tc.name, err)
			}
			if !strings.HasPrefix(string(out), "{\n  \"keys\": [\n") || !strings.HasSuffix(string(out), "}\n") {
				t.Errorf("JWKSFromPEM(%s) = %s, want indented JSON ending in a newline", tc.name, out)
			}
			jwk := checkPublicJWKS(t, out)
			if got, want := memberNames(jwk), jwkMembers[tc.kty]; !slices.Equal(got, want) {
				t.Errorf("JWKSFromPEM(%s) members = %v, want %v", tc.name, got, want)
			}
			thumb, err := Thumbprint(mustParsePEM(t, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"kty": tc.kty, "use": "sig", "alg": tc.alg, "kid": thumb}
			for name, w := range want {
				if jwk[name] != w {
					t.Errorf("JWKSFromPEM(%s) %s = %v, want %v", tc.name, name, jwk[name], w)
				}
			}
		})
	}
}

func TestJWKSFromPEM_overrides(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		kid     string
		alg     string
		wantKid string // "" means the thumbprint
		wantAlg string
		wantErr bool
	}{
		{name: "kid", file: "rsa2048_pkcs8.pem", kid: "2026-01", wantKid: "2026-01", wantAlg: RS256},
		{name: "rsa ps256", file: "rsa2048_pkcs1.pem", alg: PS256, wantAlg: PS256},
		{name: "rsa rs256", file: "rsa2048_spki.pem", alg: RS256, wantAlg: RS256},
		{name: "rsa es256", file: "rsa2048_pkcs8.pem", alg: ES256, wantErr: true},
		{name: "rsa hs256", file: "rsa2048_pkcs8.pem", alg: "HS256", wantErr: true},
		{name: "p256 es256 kid", file: "ec_p256_ecparam.pem", kid: "k1", alg: ES256, wantKid: "k1", wantAlg: ES256},
		{name: "p256 es384", file: "ec_p256_ecparam.pem", alg: ES384, wantErr: true},
		{name: "p384 es256", file: "ec_p384_pkcs8.pem", alg: ES256, wantErr: true},
		{name: "ed25519 rs256", file: "ed25519_pkcs8.pem", alg: RS256, wantErr: true},
		{name: "ed25519 eddsa", file: "ed25519_spki.pem", alg: EdDSA, wantAlg: EdDSA},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := JWKSFromPEM(mustReadPEMFixture(t, tc.file), tc.kid, tc.alg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("JWKSFromPEM(%s, %q, %q) error = %v, want error %v", tc.file, tc.kid, tc.alg, err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.alg) {
					t.Errorf("JWKSFromPEM(%s, %q, %q) error = %v, want it to name %q", tc.file, tc.kid, tc.alg, err, tc.alg)
				}
				return
			}
			jwk := checkPublicJWKS(t, out)
			wantKid := tc.wantKid
			if wantKid == "" {
				if wantKid, err = Thumbprint(mustParsePEM(t, tc.file)); err != nil {
					t.Fatal(err)
				}
			}
			if jwk["kid"] != wantKid || jwk["alg"] != tc.wantAlg {
				t.Errorf("JWKSFromPEM(%s, %q, %q) kid, alg = %v, %v, want %v, %v", tc.file, tc.kid, tc.alg, jwk["kid"], jwk["alg"], wantKid, tc.wantAlg)
			}
		})
	}
}

func TestPublicJWK_privateInput(t *testing.T) {
	for _, name := range []string{"rsa2048_pkcs1.pem", "ec_p384_sec1.pem", "ed25519_pkcs8.pem"} {
		t.Run(name, func(t *testing.T) {
			jwk, err := PublicJWK(mustParsePEM(t, name), "", "")
			if err != nil {
				t.Fatalf("PublicJWK(%s) error = %v, want nil", name, err)
			}
			if !jwk.IsPublic() {
				t.Errorf("PublicJWK(%s).Key = %T, want a public key", name, jwk.Key)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name     string
		alg      string
		bits     int
		wantBits int // RSA modulus size
		wantErr  bool
	}{
		{name: "rs256", alg: RS256, wantBits: 2048},
		{name: "ps256 3072", alg: PS256, bits: 3072, wantBits: 3072},
		{name: "es256", alg: ES256},
		{name: "es384", alg: ES384},
		{name: "eddsa", alg: EdDSA},
		{name: "rs256 1024", alg: RS256, bits: 1024, wantErr: true},
		{name: "rs256 2047", alg: RS256, bits: 2047, wantErr: true},
		{name: "es256 bits", alg: ES256, bits: 256, wantErr: true},
		{name: "eddsa bits", alg: EdDSA, bits: 256, wantErr: true},
		{name: "hs256", alg: "HS256", wantErr: true},
		{name: "empty", alg: "", wantErr: true},
		{name: "lowercase", alg: "es256", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := Generate(tc.alg, tc.bits)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Generate(%q, %d) = %T, want error", tc.alg, tc.bits, key)
				}
				return
			}
			if err != nil {
				t.Fatalf("Generate(%q, %d) error = %v, want nil", tc.alg, tc.bits, err)
			}
			if k, ok := key.(*rsa.PrivateKey); ok && k.N.BitLen() != tc.wantBits {
				t.Errorf("Generate(%q, %d) made %d bits, want %d", tc.alg, tc.bits, k.N.BitLen(), tc.wantBits)
			}
			if err := CheckAlgorithm(key.Public(), tc.alg); err != nil {
				t.Errorf("CheckAlgorithm(Generate(%q)) error = %v, want nil", tc.alg, err)
			}
			checkSignVerify(t, key, tc.alg)

			pemBytes, err := MarshalPrivatePEM(key)
			if err != nil {
				t.Fatalf("MarshalPrivatePEM(%s) error = %v, want nil", tc.alg, err)
			}
			if !strings.HasPrefix(string(pemBytes), "-----BEGIN PRIVATE KEY-----\n") {
				t.Errorf("MarshalPrivatePEM(%s) = %s, want a PRIVATE KEY block", tc.alg, pemBytes)
			}
			fromPEM, err := ParsePrivatePEM(pemBytes)
			if err != nil {
				t.Fatalf("ParsePrivatePEM(MarshalPrivatePEM(%s)) error = %v, want nil", tc.alg, err)
			}
			checkSameKey(t, "ParsePrivatePEM(MarshalPrivatePEM("+tc.alg+"))", fromPEM, key)

			der, err := MarshalPKCS8(key)
			if err != nil {
				t.Fatalf("MarshalPKCS8(%s) error = %v, want nil", tc.alg, err)
			}
			fromDER, err := ParsePKCS8(der)
			if err != nil {
				t.Fatalf("ParsePKCS8(MarshalPKCS8(%s)) error = %v, want nil", tc.alg, err)
			}
			checkSameKey(t, "ParsePKCS8(MarshalPKCS8("+tc.alg+"))", fromDER, key)
		})
	}
}

// checkSignVerify signs with key through go-jose and verifies with its
// public half.
func checkSignVerify(t *testing.T, key crypto.Signer, alg string) {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: key}, nil)
	if err != nil {
		t.Fatalf("jose.NewSigner(%s) error = %v", alg, err)
	}
	jws, err := signer.Sign([]byte("inkan"))
	if err != nil {
		t.Fatalf("Sign(%s) error = %v", alg, err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatalf("jose.ParseSignedCompact(%s) error = %v", alg, err)
	}
	pub, err := PublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := parsed.Verify(pub)
	if err != nil || string(payload) != "inkan" {
		t.Errorf("Verify(%s) = %q, %v, want %q, nil", alg, payload, err, "inkan")
	}
}

func checkSameKey(t *testing.T, call string, got, want crypto.Signer) {
	t.Helper()
	eq, ok := got.(interface{ Equal(crypto.PrivateKey) bool })
	if !ok || !eq.Equal(want) {
		t.Errorf("%s = %T, want a key equal to the original %T", call, got, want)
	}
}

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

func FuzzJWKSFromPEM(f *testing.F) {
	for _, tc := range pemFixtures {
		f.Add(mustReadPEMFixture(f, tc.name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := JWKSFromPEM(data, "", "")
		if err != nil {
			if out != nil {
				t.Fatalf("JWKSFromPEM error = %v with output %q, want no output", err, out)
			}
			return
		}
		checkPublicJWKS(t, out)
	})
}

// Every algorithm of the shared list (verify.Algorithms) can be generated,
// signs, and its token verifies with package verify under that algorithm.
func TestGenerate_everyAlgorithm(t *testing.T) {
	for _, alg := range verify.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			priv, err := Generate(alg, 0)
			if err != nil {
				t.Fatalf("Generate(%q, 0) = %v", alg, err)
			}
			if err := CheckAlgorithm(priv.Public(), alg); err != nil {
				t.Fatalf("CheckAlgorithm(Generate(%q)) = %v", alg, err)
			}
			s, err := NewSigner("k", alg, priv)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := s.Sign([]byte(`{"iss":"https://i.example","sub":"a","exp":4102444800}`), TypeJWT)
			if err != nil {
				t.Fatal(err)
			}
			v, err := verify.New(t.Context(), verify.Config{Issuer: "https://i.example",
				KeySet: verify.StaticKeySet{{ID: "k", Algorithm: alg, Public: priv.Public()}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(t.Context(), tok); err != nil {
				t.Errorf("Verify(%s token) = %v", alg, err)
			}
		})
	}
}
