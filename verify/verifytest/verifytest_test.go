package verifytest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/verify"
	"github.com/inkan-dev/inkan/verify/verifytest"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func mustIssuer(tb testing.TB, opts *verifytest.Options) *verifytest.Issuer {
	tb.Helper()
	is := verifytest.NewIssuer(opts)
	tb.Cleanup(is.Close)
	is.Now = func() time.Time { return now }
	return is
}

func mustVerifier(tb testing.TB, cfg verify.Config) *verify.Verifier {
	tb.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	v, err := verify.New(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("verify.New() error = %v", err)
	}
	return v
}

// header decodes the JOSE header of a compact JWS.
func header(tb testing.TB, raw string) map[string]any {
	tb.Helper()
	seg, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		tb.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		tb.Fatal(err)
	}
	return h
}

// Every algorithm verify accepts: the issuer's JWKS, fetched by a Verifier
// with no KeySet, and its KeySet both verify its tokens.
func TestIssuer_algorithms(t *testing.T) {
	for _, alg := range verify.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			is := mustIssuer(t, &verifytest.Options{Algorithm: alg, KeyID: "k-" + alg})
			raw := is.Token(nil, map[string]any{"sub": "alice"})
			for name, v := range map[string]*verify.Verifier{
				"remote": mustVerifier(t, verify.Config{Issuer: is.URL}),
				"static": mustVerifier(t, verify.Config{Issuer: is.URL, KeySet: is.KeySet()}),
			} {
				c, err := v.Verify(t.Context(), raw)
				if err != nil {
					t.Fatalf("%s: Verify(%.40q) error = %v, want nil", name, raw, err)
				}
				if c.Subject != "alice" || c.KeyID != "k-"+alg || c.Type != "at+jwt" || !c.Expiry.Equal(now.Add(time.Hour)) || !c.IssuedAt.Equal(now) {
					t.Errorf("%s: Verify(%.40q) = %+v, want sub alice, kid k-%s, typ at+jwt, iat now, exp in an hour", name, raw, c, alg)
				}
			}
			keys, err := verify.ParseJWKS(is.JWKS())
			if err != nil || len(keys) != 1 || keys[0].ID != "k-"+alg || keys[0].Algorithm != alg {
				t.Errorf("ParseJWKS(JWKS()) = %+v, %v; want the one key k-%s for %s", keys, err, alg, alg)
			}
		})
	}
}

func TestNewIssuer_defaults(t *testing.T) {
	is := mustIssuer(t, nil)
	if is.Algorithm != verifytest.DefaultAlgorithm || is.KeyID != verifytest.DefaultKeyID {
		t.Errorf("NewIssuer(nil) = alg %q kid %q, want %q %q", is.Algorithm, is.KeyID, verifytest.DefaultAlgorithm, verifytest.DefaultKeyID)
	}
	if want := is.URL + "/.well-known/jwks.json"; is.JWKSURL() != want {
		t.Errorf("JWKSURL() = %q, want %q", is.JWKSURL(), want)
	}
}

func TestNewIssuer_badAlgorithm(t *testing.T) {
	for _, alg := range []string{"HS256", "none", "rs256"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewIssuer(Algorithm: %q) did not panic", alg)
				}
			}()
			verifytest.NewIssuer(&verifytest.Options{Algorithm: alg}).Close()
		}()
	}
}

// Token's header and claims entries replace, add or drop what it writes by
// default, and a Verifier sees the result.
func TestIssuer_Token(t *testing.T) {
	is := mustIssuer(t, nil)
	v := mustVerifier(t, verify.Config{Issuer: is.URL, KeySet: is.KeySet(), Audience: "api"})
	tests := []struct {
		name           string
		header, claims map[string]any
		wantErr        error
		wantHeader     map[string]any // entries the header must have; nil values must be absent
	}{
		{name: "defaults", claims: map[string]any{"aud": "api"}, wantHeader: map[string]any{"alg": "ES256", "kid": "test-key", "typ": "at+jwt"}},
		{name: "no aud", wantErr: verify.ErrAudience},
		{name: "expired", claims: map[string]any{"aud": "api", "exp": now.Add(-time.Minute)}, wantErr: verify.ErrExpired},
		{name: "no exp", claims: map[string]any{"aud": "api", "exp": nil}, wantErr: verify.ErrMalformed},
		{name: "other issuer", claims: map[string]any{"aud": "api", "iss": "https://evil.example"}, wantErr: verify.ErrIssuer},
		{name: "not yet valid", claims: map[string]any{"aud": "api", "nbf": now.Add(time.Hour).Unix()}, wantErr: verify.ErrNotYetValid},
		{name: "other kid", header: map[string]any{"kid": "other"}, claims: map[string]any{"aud": "api"}, wantErr: verify.ErrUnknownKey, wantHeader: map[string]any{"kid": "other"}},
		{name: "no kid", header: map[string]any{"kid": ""}, claims: map[string]any{"aud": "api"}, wantErr: verify.ErrUnknownKey, wantHeader: map[string]any{"kid": nil}},
		{name: "id token", header: map[string]any{"typ": "JWT"}, claims: map[string]any{"aud": "api"}, wantErr: verify.ErrType, wantHeader: map[string]any{"typ": "JWT"}},
		{name: "no typ", header: map[string]any{"typ": nil}, claims: map[string]any{"aud": "api"}, wantErr: verify.ErrType, wantHeader: map[string]any{"typ": nil}},
		{name: "extra header", header: map[string]any{"x5u": "https://example.com/x"}, claims: map[string]any{"aud": "api"}, wantHeader: map[string]any{"x5u": "https://example.com/x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := is.Token(tc.header, tc.claims)
			if _, err := v.Verify(t.Context(), raw); !errors.Is(err, tc.wantErr) {
				t.Errorf("Verify(Token(%v, %v)) error = %v, want %v", tc.header, tc.claims, err, tc.wantErr)
			}
			h := header(t, raw)
			for k, want := range tc.wantHeader {
				got, ok := h[k]
				if want == nil && ok || want != nil && got != want {
					t.Errorf("Token(%v, %v) header %q = %v, want %v", tc.header, tc.claims, k, got, want)
				}
			}
		})
	}
}

func TestIssuer_Token_alg(t *testing.T) {
	is := mustIssuer(t, nil)
	defer func() {
		if recover() == nil {
			t.Error(`Token({"alg": "none"}, nil) did not panic`)
		}
	}()
	is.Token(map[string]any{"alg": "none"}, nil)
}

func Example() {
	is := verifytest.NewIssuer(nil)
	defer is.Close()
	clock := func() time.Time { return now } // omit both for time.Now
	is.Now = clock
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The Verifier fetches the issuer's JWKS, as it would inkan's.
	v, err := verify.New(ctx, verify.Config{Issuer: is.URL, Audience: "api", Now: clock})
	if err != nil {
		log.Fatal(err)
	}
	for _, raw := range []string{
		is.Token(nil, map[string]any{"sub": "alice", "aud": "api"}),
		is.Token(nil, map[string]any{"sub": "alice", "aud": "other"}),
		is.Token(map[string]any{"typ": "JWT"}, map[string]any{"sub": "alice", "aud": "api"}),
		is.Token(nil, map[string]any{"sub": "alice", "aud": "api", "exp": now.Add(-time.Hour)}),
	} {
		c, err := v.Verify(ctx, raw)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println("sub", c.Subject)
	}
	// Output:
	// sub alice
	// verify: wrong audience: "api" not in ["other"]
	// verify: wrong token type: an ID token (typ "JWT" with an aud), not an access token
	// verify: token expired: at 2026-01-02T02:04:05Z
}
