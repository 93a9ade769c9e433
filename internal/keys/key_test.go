package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"math/big"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/inkan-dev/inkan/verify"
)

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
			s, err := newSigner("k", alg, priv) // as a Set makes the active key's
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
