// Package server is inkan's HTTP API: the tutorial-compatible routes, the
// JWKS, health checks, and the middleware around them.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
	"github.com/inkan-dev/inkan/verify"
)

// PasswordHasher hashes and verifies passwords (package password); the
// account service bounds the wait for its hash slots (HashQueueWait).
type PasswordHasher = account.PasswordHasher

// KeySet is what the server needs of the signing keys.
type KeySet interface {
	verify.KeySet
	token.SignerSource
	JWKS() []byte
}

// Options configure a Server. Store, Keys, Passwords and Logger are
// required; the zero value of the others turns their feature off.
type Options struct {
	Issuer    string
	TokenTTL  time.Duration
	Signup    bool
	Store     store.Store
	Keys      KeySet
	Passwords PasswordHasher
	Logger    *slog.Logger
	Now       func() time.Time // nil means time.Now

	// TrustedProxies are the peers whose X-Forwarded-For and
	// X-Forwarded-Proto are believed; from anyone else they are ignored.
	TrustedProxies []netip.Prefix
	// HashQueueWait bounds how long a request waits for a password-hash
	// slot before it is answered 503; zero waits as long as the request lives.
	HashQueueWait time.Duration
	// LoginPolicy budgets failed logins per (account, client address);
	// AccountPolicy per account from every address, more loosely;
	// SignupPolicy registrations per client address. A policy with Free 0
	// is off.
	LoginPolicy, AccountPolicy, SignupPolicy store.ThrottlePolicy
	// HSTS sends Strict-Transport-Security: set it when serving HTTPS.
	HSTS bool
	// Metrics, when set, counts requests, logins and tokens; ServeMetrics
	// puts GET /metrics on the API's own listener too.
	Metrics      *Metrics
	ServeMetrics bool
	// JWKSMaxAge is the JWKS's Cache-Control max-age; zero means 5 minutes.
	JWKSMaxAge time.Duration

	// OAuth 2.0 / OpenID Connect. TokenSecret keys the HMACs of refresh-token
	// successors, consent CSRF tokens and throttle keys (32 bytes; replicas
	// share it).
	TokenSecret        []byte
	SessionTTL         time.Duration // login session lifetime; zero means 24h
	RefreshTokenTTL    time.Duration // zero means 720h
	RefreshReuseWindow time.Duration // a used refresh token presented again within it gets the same successor; zero: never
	AllowedOrigins     []string      // browser origins given CORS on token, userinfo, revocation

	// BackchannelClient sends back-channel logout tokens (RunBackchannel);
	// nil means http.DefaultTransport. Redirects are never followed.
	BackchannelClient *http.Client
	// BackchannelTimeout bounds one delivery; zero means
	// DefaultBackchannelTimeout.
	BackchannelTimeout time.Duration
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
	opts     Options
	tokens   *token.Issuer
	verifier *verify.Verifier
	ids      *oidc.Issuer
	authz    *oauth2.Authorizer
	hints    *oidc.HintVerifier // of id_token_hint at logout: expired ID tokens too
	accounts *account.Service   // the rules about users: logins, registration, liveness
	handler  http.Handler

	backchannel *http.Client  // delivers logout tokens
	kick        chan struct{} // wakes RunBackchannel after a logout

	revocations *oauth2.Revocations // checked by checkAccessToken
	oauth       oauthProtocol
	jwks        *jwksCache
}

// New builds the server, and over its store and hasher the account
// service (account.New, which takes the dummy hash a login for an unknown
// email is verified against).
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Store == nil || opts.Keys == nil || opts.Passwords == nil || opts.Logger == nil {
		return nil, errors.New("server: Store, Keys, Passwords and Logger are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.JWKSMaxAge <= 0 {
		opts.JWKSMaxAge = 5 * time.Minute
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 24 * time.Hour
	}
	if opts.RefreshTokenTTL <= 0 {
		opts.RefreshTokenTTL = 720 * time.Hour
	}
	if opts.BackchannelTimeout <= 0 {
		opts.BackchannelTimeout = DefaultBackchannelTimeout
	}
	if len(opts.TokenSecret) < 32 {
		return nil, errors.New("server: TokenSecret must have 32 bytes")
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
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	logins := opts.Metrics.logins
	accounts, err := account.New(ctx, account.Options{
		Store:          opts.Store,
		Passwords:      opts.Passwords,
		Logger:         opts.Logger,
		Now:            opts.Now,
		HashQueueWait:  opts.HashQueueWait,
		LoginPolicy:    opts.LoginPolicy,
		AccountPolicy:  opts.AccountPolicy,
		SignupPolicy:   opts.SignupPolicy,
		ThrottleSecret: opts.TokenSecret,
		OnLogin:        func(result string) { logins.WithLabelValues(result).Inc() },
	})
	if err != nil {
		return nil, err
	}
	hints, err := newHintVerifier(ctx, opts)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:     opts,
		tokens:   &token.Issuer{Issuer: opts.Issuer, TTL: opts.TokenTTL, Keys: opts.Keys, Now: opts.Now},
		ids:      &oidc.Issuer{Issuer: opts.Issuer, TTL: opts.TokenTTL, Keys: opts.Keys, Now: opts.Now},
		authz:    &oauth2.Authorizer{Store: opts.Store, Now: opts.Now},
		verifier: v,
		hints:    hints,
		accounts: accounts,
		jwks:     newJWKSCache(opts.JWKSMaxAge),

		backchannel: backchannelClient(opts.BackchannelClient),
		kick:        make(chan struct{}, 1),
	}
	s.wireOAuth()
	s.handler = s.routes()
	if err := s.revocations.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("load revocations: %w", err)
	}
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

	mux.HandleFunc("GET /.well-known/openid-configuration", s.handleDiscovery)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.handleDiscovery)
	mux.HandleFunc("GET /oauth2/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /oauth2/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /oauth2/login", s.handleLogin)
	mux.HandleFunc("POST /oauth2/consent", s.handleConsent)
	mux.HandleFunc("GET /oauth2/logout", s.handleLogout)
	mux.HandleFunc("POST /oauth2/logout", s.handleLogout)
	mux.HandleFunc("GET /oauth2/static/style.css", s.handleStyle)
	for _, p := range []string{"/oauth2/token", "/oauth2/revoke", "/oauth2/introspect", "/userinfo"} {
		mux.Handle("OPTIONS "+p, s.cors(http.NotFoundHandler()))
	}
	mux.Handle("POST /oauth2/token", s.cors(s.oauthHandler(s.handleToken)))
	mux.Handle("POST /oauth2/revoke", s.cors(s.oauthHandler(s.handleRevoke)))
	mux.Handle("POST /oauth2/introspect", s.cors(s.oauthHandler(s.handleIntrospect)))
	mux.Handle("GET /userinfo", s.cors(http.HandlerFunc(s.handleUserinfo)))
	mux.Handle("POST /userinfo", s.cors(http.HandlerFunc(s.handleUserinfo)))
	if s.opts.Metrics != nil && s.opts.ServeMetrics {
		mux.Handle("GET /metrics", s.opts.Metrics.Handler())
	}
	return s.middleware(jsonFallbacks(mux))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// errBusy is the tutorial routes' answer to account.ErrBusy.
var errBusy = &detailError{
	status: http.StatusServiceUnavailable,
	detail: "Server busy, retry shortly",
	header: [2]string{"Retry-After", "1"},
}

// Sync reloads what the server keeps in memory of other processes' writes,
// the revoked tokens, if their counter in v moved (package watch calls it on
// every poll).
func (s *Server) Sync(ctx context.Context, v store.Versions) error {
	return s.revocations.Sync(ctx, v.Revocations)
}
