package verify_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/inkan-dev/inkan/verify"
)

// now is the fixed clock of the examples.
var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// issuer stands in for inkan: it serves the public half of the fixed key of
// testdata/rsa2048.pem at /.well-known/jwks.json, as kid "2026-01", and
// signs tokens with it.
type issuer struct {
	*httptest.Server
	key crypto.Signer
}

func startIssuer() *issuer {
	data, err := os.ReadFile("testdata/rsa2048.pem")
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		log.Fatal("testdata/rsa2048.pem: no PEM block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		log.Fatal(err)
	}
	is := &issuer{key: key.(crypto.Signer)}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: is.key.Public(), KeyID: "2026-01", Algorithm: "RS256", Use: "sig"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(jwks)
	})
	is.Server = httptest.NewServer(mux)
	return is
}

// token returns an RFC 9068 access token (typ at+jwt) for alice, for the
// audience "api", that expires after ttl.
func (is *issuer) token(ttl time.Duration) string {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: is.key, KeyID: "2026-01"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		log.Fatal(err)
	}
	payload, err := json.Marshal(map[string]any{
		"iss": is.URL, "sub": "alice", "aud": "api",
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	})
	if err != nil {
		log.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		log.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		log.Fatal(err)
	}
	return raw
}

func ExampleNew() {
	is := startIssuer()
	defer is.Close()
	// The context bounds the background refresh of the issuer's keys.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// With no KeySet, the keys come from the issuer's
	// /.well-known/jwks.json, fetched on the first Verify.
	v, err := verify.New(ctx, verify.Config{
		Issuer:   is.URL, // such as "https://id.example.com"
		Audience: "api",
		Leeway:   time.Minute,
		Now:      func() time.Time { return now }, // omit in production
	})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := v.Verify(ctx, is.token(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sub=%s aud=%v\n", claims.Subject, claims.Audience)
	// Output: sub=alice aud=[api]
}

func ExampleVerifier_Verify() {
	is := startIssuer()
	defer is.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v, err := verify.New(ctx, verify.Config{
		Issuer:   is.URL,
		Audience: "api",
		Now:      func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}

	for _, raw := range []string{is.token(time.Hour), is.token(-time.Hour), "not a token"} {
		claims, err := v.Verify(ctx, raw)
		switch {
		case err == nil:
			fmt.Printf("sub=%s expires %s\n", claims.Subject, claims.Expiry.Format(time.RFC3339))
		case errors.Is(err, verify.ErrExpired):
			fmt.Println("expired")
		case errors.Is(err, verify.ErrMalformed):
			fmt.Println("malformed")
		default:
			fmt.Println("refused:", err)
		}
	}
	// Output:
	// sub=alice expires 2026-01-02T04:04:05Z
	// expired
	// malformed
}

func ExampleVerifier_Middleware() {
	is := startIssuer()
	defer is.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v, err := verify.New(ctx, verify.Config{
		Issuer:   is.URL,
		Audience: "api",
		Now:      func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := verify.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /hello", v.Middleware(hello))
	api := httptest.NewServer(mux)
	defer api.Close()

	for _, auth := range []string{"Bearer " + is.token(time.Hour), "", "Bearer " + is.token(-time.Hour)} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, api.URL+"/hello", nil)
		if err != nil {
			log.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
		if challenge := resp.Header.Get("WWW-Authenticate"); challenge != "" {
			fmt.Println("WWW-Authenticate:", challenge)
		}
	}
	// Output:
	// 200 hello alice
	// 401 {"error":"unauthorized","error_description":"a bearer access token is required"}
	// WWW-Authenticate: Bearer
	// 401 {"error":"invalid_token","error_description":"the access token expired"}
	// WWW-Authenticate: Bearer error="invalid_token", error_description="the access token expired"
}

func ExampleNewRemoteKeySet() {
	is := startIssuer()
	defer is.Close()
	// The key set refreshes itself in the background until ctx ends.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	keys, err := verify.NewRemoteKeySet(ctx, is.URL+"/.well-known/jwks.json", &verify.RemoteKeySetOptions{
		MinRefreshInterval: 30 * time.Second, // tokens with unknown kids fetch at most twice a minute
	})
	if err != nil {
		log.Fatal(err)
	}
	key, err := keys.Key(ctx, "2026-01")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("kid", key.ID, key.Algorithm)
	if _, err := keys.Key(ctx, "2025-12"); errors.Is(err, verify.ErrUnknownKey) {
		fmt.Println("kid 2025-12 unknown")
	}

	// One key set may serve several Verifiers, such as one per audience.
	v, err := verify.New(ctx, verify.Config{
		Issuer:   is.URL,
		KeySet:   keys,
		Audience: "api",
		Now:      func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := v.Verify(ctx, is.token(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sub=%s aud=%v\n", claims.Subject, claims.Audience)
	// Output:
	// kid 2026-01 RS256
	// kid 2025-12 unknown
	// sub=alice aud=[api]
}
