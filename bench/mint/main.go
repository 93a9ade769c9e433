// Command mint signs tokens in the shape of inkan's tutorial access token
// (header {alg, kid, typ: JWT}; claims iss, sub, iat, exp, jti, email, user)
// with a PEM private key, one a line on stdout, for load tests that need
// more distinct tokens than a server caches: minting them through
// POST /user/_authenticate would cost one password hash each.
//
//	mint -key key.pem -kid KID -alg RS256 -iss http://inkan.bench -sub USER_ID \
//		-email bench@example.com -name Bench -n 20000 -ttl 1h >tokens.txt
//
// The key must be one that inkan serves (inkan keys import key.pem --now).
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"flag"
	"log"
	"os"
	"runtime"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/inkan-dev/inkan/internal/keys"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("mint: ")
	keyFile := flag.String("key", "", "PEM private key (required)")
	kid := flag.String("kid", "", "key id (required)")
	alg := flag.String("alg", "RS256", "JOSE algorithm of the key")
	iss := flag.String("iss", "", "issuer (required)")
	sub := flag.String("sub", "", "subject: the user's id (required)")
	email := flag.String("email", "", "email claim")
	name := flag.String("name", "", "user claim (the name)")
	n := flag.Int("n", 1000, "how many tokens, at most 1,000,000")
	ttl := flag.Duration("ttl", time.Hour, "lifetime")
	flag.Parse()
	if *keyFile == "" || *kid == "" || *iss == "" || *sub == "" || *n < 1 || *n > 1_000_000 {
		flag.Usage()
		os.Exit(2)
	}
	pem, err := os.ReadFile(*keyFile)
	if err != nil {
		log.Fatal(err)
	}
	priv, err := keys.ParsePrivatePEM(pem)
	if err != nil {
		log.Fatal(err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", *kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(*alg), Key: priv}, opts)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(os.Stdout)
	now := time.Now().Unix()
	// One signer a core: RSA signing dominates.
	out := make(chan string, 256)
	var wg sync.WaitGroup
	per := (*n + runtime.NumCPU() - 1) / runtime.NumCPU()
	for start := 0; start < *n; start += per {
		count := min(per, *n-start)
		wg.Go(func() {
			for range count {
				payload, _ := json.Marshal(map[string]any{
					"iss": *iss, "sub": *sub, "iat": now, "exp": now + int64(*ttl/time.Second),
					"jti": rand.Text(), "email": *email, "user": *name,
				})
				obj, err := signer.Sign(payload)
				if err != nil {
					log.Fatal(err)
				}
				raw, err := obj.CompactSerialize()
				if err != nil {
					log.Fatal(err)
				}
				out <- raw
			}
		})
	}
	go func() { wg.Wait(); close(out) }()
	for raw := range out {
		// A bufio.Writer keeps its first error, and Flush reports it.
		_, _ = w.WriteString(raw + "\n")
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
}
