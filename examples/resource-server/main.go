// Command resource-server is a service that answers GET /hello only to
// requests carrying a valid access token from an inkan issuer for its own
// audience, checked with the verify package against the issuer's JWKS.
package main

import (
	"cmp"
	"context"
	"errors"
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
	audience := flag.String("audience", "http://localhost:9000", "this service's name: the aud its tokens must carry (inkan clients add --audience)")
	addr := flag.String("addr", "localhost:9000", "listen address")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// The JWKS is fetched from <issuer>/.well-known/jwks.json on first use,
	// cached for its max-age, and refetched when a token names a new key.
	v, err := verify.New(ctx, config(*issuer, *audience))
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: routes(v), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		if err := srv.Shutdown(context.Background()); err != nil {
			log.Print(err)
		}
	}()
	log.Printf("resource server on http://%s, for audience %s, trusting %s", *addr, *audience, *issuer)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// config accepts access tokens of issuer for audience only: a token minted
// for another service is refused (RFC 9068 §4), and so are ID tokens, which
// verify refuses by default.
func config(issuer, audience string) verify.Config {
	return verify.Config{Issuer: issuer, Audience: audience, Leeway: time.Minute}
}

// routes guards /hello with the verifier: no or bad token, 401 with an RFC
// 6750 WWW-Authenticate; a good one, its claims in the request context. The
// name comes with the profile scope and the email with the email scope.
func routes(v *verify.Verifier) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /hello", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s", cmp.Or(c.Name, c.Subject))
		if c.Email != "" {
			fmt.Fprintf(w, " <%s>", c.Email)
		}
		fmt.Fprintf(w, ", your token expires at %s\n", c.Expiry.Format(time.RFC3339))
	})))
	return mux
}
