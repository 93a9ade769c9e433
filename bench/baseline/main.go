// Command baseline serves the two floors that inkan's load test compares
// against, on one port:
//
//	GET /json    a bare net/http handler writing a small JSON body
//	GET /jwks    a bare net/http handler writing the JWKS document fetched
//	             at start, byte for byte: the JWKS's floor with its size
//	GET /verify  the Bearer token's RS256 signature checked with crypto/rsa
//	             against the key fetched at start from inkan's JWKS, then a
//	             small JSON body; 401 when the check fails
//
// /verify does nothing else: no claim, issuer, expiry or algorithm checks and
// no database. It is the cost of the cryptography alone, so that GET /user
// can be read as a ratio of it.
//
// Usage:
//
//	baseline -addr 127.0.0.1:8081 -jwks http://127.0.0.1:8080/.well-known/jwks.json
package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

var okBody = []byte(`{"status":"ok"}` + "\n")

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	jwksURL := flag.String("jwks", "", "URL of inkan's JWKS, fetched once at start (required)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("baseline: ")
	if *jwksURL == "" {
		log.Fatal("-jwks is required")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	keys, jwks, err := fetchKeys(ctx, *jwksURL)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, okBody)
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, jwks)
	})
	mux.HandleFunc("GET /verify", func(w http.ResponseWriter, r *http.Request) {
		if !keys.verify(r.Header.Get("Authorization")) {
			writeJSON(w, http.StatusUnauthorized, []byte(`{"detail":"invalid token"}`+"\n"))
			return
		}
		writeJSON(w, http.StatusOK, okBody)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Printf("serving on %s with %d key(s)", ln.Addr(), len(keys))

	select {
	case err := <-served:
		log.Fatal(err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Fatal(err)
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// keySet maps a key ID to its RSA public key.
type keySet map[string]*rsa.PublicKey

// verify reports whether header is "Bearer <JWS>" whose RS256 signature
// (RFC 7518 §3.3) verifies under the key named by the header's kid, or under
// the only key when there is one.
func (ks keySet) verify(header string) bool {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return false
	}
	dot := strings.LastIndexByte(tok, '.')
	if dot < 0 {
		return false
	}
	signingInput, sig64 := tok[:dot], tok[dot+1:]
	head64, _, ok := strings.Cut(signingInput, ".")
	if !ok {
		return false
	}
	key, ok := ks.pick(head64)
	if !ok {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(signingInput))
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) == nil
}

func (ks keySet) pick(head64 string) (*rsa.PublicKey, bool) {
	if len(ks) == 1 {
		for _, k := range ks {
			return k, true
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(head64)
	if err != nil {
		return nil, false
	}
	var h struct {
		KeyID string `json:"kid"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return nil, false
	}
	k, ok := ks[h.KeyID]
	return k, ok
}

// fetchKeys reads the RS256 keys of the JWKS at url (RFC 7517 §5, RFC 7518 §6.3.1).
func fetchKeys(ctx context.Context, url string) (keySet, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("fetch JWKS: status %s", resp.Status)
	}
	var doc struct {
		Keys []struct {
			KeyType string `json:"kty"`
			KeyID   string `json:"kid"`
			Alg     string `json:"alg"`
			N       string `json:"n"`
			E       string `json:"e"`
		} `json:"keys"`
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, nil, fmt.Errorf("decode JWKS: %w", err)
	}
	ks := keySet{}
	for _, k := range doc.Keys {
		if k.KeyType != "RSA" || (k.Alg != "" && k.Alg != "RS256") {
			continue
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		if err != nil {
			return nil, nil, fmt.Errorf("decode JWKS key %q: n: %w", k.KeyID, err)
		}
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		if err != nil {
			return nil, nil, fmt.Errorf("decode JWKS key %q: e: %w", k.KeyID, err)
		}
		exp := new(big.Int).SetBytes(e)
		if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 {
			return nil, nil, fmt.Errorf("decode JWKS key %q: exponent out of range", k.KeyID)
		}
		ks[k.KeyID] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}
	}
	if len(ks) == 0 {
		return nil, nil, errors.New("JWKS has no RS256 key")
	}
	return ks, raw, nil
}
