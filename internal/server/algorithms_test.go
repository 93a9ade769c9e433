package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/verify"
)

// Every signing algorithm (verify.Algorithms, the one list): tokens issued
// with it verify with go-jose against the JWKS and through GET /user, it is
// advertised in discovery, and its tokens are refused under any other alg
// header.
func TestAlgorithms(t *testing.T) {
	all := verify.Algorithms()
	for _, alg := range all {
		t.Run(alg, func(t *testing.T) {
			priv, err := keys.Generate(alg, 0)
			if err != nil {
				t.Fatal(err)
			}
			h := newHarnessKey(t, priv, alg)
			h.signup(t, "Alice", "alice@example.com", "correct horse")
			tok := h.login(t, "alice@example.com", "correct horse")
			hdr, _ := splitToken(t, tok)
			if hdr["alg"] != alg {
				t.Fatalf("token alg = %v, want %s", hdr["alg"], alg)
			}

			var set jose.JSONWebKeySet
			if err := json.Unmarshal(h.do(t, "GET", "/.well-known/jwks.json", "").Body.Bytes(), &set); err != nil {
				t.Fatal(err)
			}
			parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatalf("go-jose ParseSigned = %v", err)
			}
			jwk := set.Key(parsed.Headers[0].KeyID)
			if len(jwk) != 1 || jwk[0].Algorithm != alg {
				t.Fatalf("JWKS key for the token = %+v, want one with alg %s", jwk, alg)
			}
			var c jwt.Claims
			if err := parsed.Claims(jwk[0].Key, &c); err != nil || c.Issuer != testIssuer {
				t.Errorf("go-jose Claims() = %+v, %v", c, err)
			}
			if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok); rec.Code != 200 {
				t.Errorf("GET /user = %d, want 200", rec.Code)
			}
			// Discovery advertises it, so that a relying party that reads
			// id_token_signing_alg_values_supported accepts its ID tokens.
			var disc struct {
				Algs []string `json:"id_token_signing_alg_values_supported"`
			}
			if err := json.Unmarshal(h.do(t, "GET", "/.well-known/openid-configuration", "").Body.Bytes(), &disc); err != nil || !slices.Contains(disc.Algs, alg) {
				t.Errorf("discovery id_token_signing_alg_values_supported = %v (%v), want it to hold %s", disc.Algs, err, alg)
			}

			parts := strings.Split(tok, ".")
			for _, other := range append(all, "HS256", "none") {
				if other == alg {
					continue
				}
				hdr["alg"] = other
				b, _ := json.Marshal(hdr)
				forged := base64.RawURLEncoding.EncodeToString(b) + "." + parts[1] + "." + parts[2]
				if _, err := h.srv.verifier.Verify(t.Context(), forged); !errors.Is(err, verify.ErrAlgorithm) {
					t.Errorf("%s token relabelled %s: Verify() = %v, want %v", alg, other, err, verify.ErrAlgorithm)
				}
				if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+forged); rec.Code != 401 {
					t.Errorf("%s token relabelled %s: GET /user = %d, want 401", alg, other, rec.Code)
				}
			}
			if alg == keys.RS256 || alg == keys.PS256 {
				other := map[string]jose.SignatureAlgorithm{keys.RS256: jose.PS256, keys.PS256: jose.RS256}[alg]
				var claims map[string]any
				if err := parsed.UnsafeClaimsWithoutVerification(&claims); err != nil {
					t.Fatal(err)
				}
				resigned := forge(t, other, priv, h.kid, claims)
				if _, err := h.srv.verifier.Verify(t.Context(), resigned); !errors.Is(err, verify.ErrAlgorithm) {
					t.Errorf("same RSA key re-signed under %s: Verify() = %v, want %v", other, err, verify.ErrAlgorithm)
				}
			}
		})
	}
}
