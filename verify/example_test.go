package verify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/verify"
	"github.com/inkan-dev/inkan/verify/verifytest"
)

// now is the fixed clock of the examples.
var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// startIssuer starts a stand-in for inkan (package verifytest): it serves
// the public half of a new RSA key at /.well-known/jwks.json, as kid
// "2026-01", and signs tokens with it.
func startIssuer() *verifytest.Issuer {
	is := verifytest.NewIssuer(&verifytest.Options{Algorithm: "RS256", KeyID: "2026-01"})
	is.Now = func() time.Time { return now }
	return is
}

// token returns an RFC 9068 access token (typ at+jwt) of is for alice, for
// the audience "api", that expires after ttl.
func token(is *verifytest.Issuer, ttl time.Duration) string {
	return is.Token(nil, map[string]any{"sub": "alice", "aud": "api", "exp": now.Add(ttl)})
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
	claims, err := v.Verify(ctx, token(is, time.Hour))
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

	for _, raw := range []string{token(is, time.Hour), token(is, -time.Hour), "not a token"} {
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

	for _, auth := range []string{"Bearer " + token(is, time.Hour), "", "Bearer " + token(is, -time.Hour)} {
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
	claims, err := v.Verify(ctx, token(is, time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sub=%s aud=%v\n", claims.Subject, claims.Audience)
	// Output:
	// kid 2026-01 RS256
	// kid 2025-12 unknown
	// sub=alice aud=[api]
}
