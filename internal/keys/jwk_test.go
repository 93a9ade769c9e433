package keys

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"sort"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// jwkMembers is the exact member set of a public JWK inkan emits, per kty.
var jwkMembers = map[string][]string{
	"RSA": {"alg", "e", "kid", "kty", "n", "use"},
	"EC":  {"alg", "crv", "kid", "kty", "use", "x", "y"},
	"OKP": {"alg", "crv", "kid", "kty", "use", "x"},
}

// privateJWKMembers are JWK members that carry private key material
// (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

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
