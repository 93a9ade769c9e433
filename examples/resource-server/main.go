// Command resource-server is a service that answers GET /hello only to
// requests carrying a valid token from an inkan issuer, checked with the
// verify package against the issuer's JWKS.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/inkan-dev/inkan/verify"
)

func main() {
	issuer := flag.String("issuer", "http://localhost:8000", "the inkan issuer whose tokens count")
	addr := flag.String("addr", "localhost:9000", "listen address")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// The JWKS is fetched from <issuer>/.well-known/jwks.json on first use,
	// cached for its max-age, and refetched when a token names a new key.
	v, err := verify.New(ctx, verify.Config{Issuer: *issuer, Leeway: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: routes(v), ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); srv.Shutdown(context.Background()) }()
	log.Printf("resource server on http://%s, trusting %s", *addr, *issuer)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// routes guards /hello with the verifier: no or bad token, 401 with an RFC
// 6750 WWW-Authenticate; a good one, its claims in the request context.
func routes(v *verify.Verifier) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /hello", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s <%s>, your token expires at %s\n", c.Name, c.Email, c.Expiry.Format(time.RFC3339))
	})))
	return mux
}
