// Package server is inkan's HTTP API: the tutorial-compatible routes, the
// JWKS, health checks, and the middleware around them.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
	"github.com/inkan-dev/inkan/verify"
)

// PasswordHasher hashes and verifies passwords (package password).
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error)
}

// KeySet is what the server needs of the signing keys.
type KeySet interface {
	verify.KeySet
	token.SignerSource
	JWKS() []byte
}

// Options configure a Server. Every field but Now is required.
type Options struct {
	Issuer    string
	TokenTTL  time.Duration
	Signup    bool
	Store     store.Store
	Keys      KeySet
	Passwords PasswordHasher
	Logger    *slog.Logger
	Now       func() time.Time // nil means time.Now
}

// Leeway is the clock skew tolerated on exp, nbf and iat.
const Leeway = 60 * time.Second

// tokenCacheSize bounds the verified tokens kept in memory (about 1 KiB
// each), so that a client presenting its token again costs no RSA check.
const tokenCacheSize = 10_000

// Limits on request input.
const (
	maxBodyBytes = 64 << 10
	maxTokenSize = verify.DefaultMaxTokenSize
)

// Server serves inkan's HTTP API.
type Server struct {
	opts      Options
	tokens    *token.Issuer
	verifier  *verify.Verifier
	dummyHash string // verified against when the email is unknown
	handler   http.Handler
}

// New builds the server. It hashes one random password to get a dummy hash
// with the hasher's own parameters, so that a login for an unknown email costs
// what a real one does.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Store == nil || opts.Keys == nil || opts.Passwords == nil || opts.Logger == nil {
		return nil, errors.New("server: Store, Keys, Passwords and Logger are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v, err := verify.New(ctx, verify.Config{
		Issuer:       opts.Issuer,
		KeySet:       opts.Keys,
		Leeway:       Leeway,
		Now:          opts.Now,
		MaxTokenSize: maxTokenSize,
		CacheSize:    tokenCacheSize,
	})
	if err != nil {
		return nil, err
	}
	dummy, err := opts.Passwords.Hash(ctx, rand.Text())
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:      opts,
		tokens:    &token.Issuer{Issuer: opts.Issuer, TTL: opts.TokenTTL, Keys: opts.Keys, Now: opts.Now},
		verifier:  v,
		dummyHash: dummy,
	}
	s.handler = s.routes()
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /user", s.tutorial(s.handleSignup))
	mux.Handle("GET /user", s.tutorial(s.handleMe))
	mux.Handle("POST /user/_authenticate", s.tutorial(s.handleAuthenticate))
	mux.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	return s.middleware(jsonFallbacks(mux))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
