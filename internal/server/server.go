// Package server is inkan's HTTP API: a handler for each group of
// endpoints (the tutorial-compatible routes, the OAuth 2.0 endpoints, the
// browser's pages, the well-known documents, health checks), each with a
// Mount that registers its routes, on one mux inside the middleware.
package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
	"github.com/inkan-dev/inkan/verify"
)

// PasswordHasher hashes and verifies passwords (package password); the
// account service bounds the wait for its hash slots
// (AccountOptions.HashQueueWait).
type PasswordHasher = account.PasswordHasher

// KeySet is what the server needs of the signing keys.
type KeySet interface {
	verify.KeySet
	token.SignerSource
	JWKS() []byte
}

// Leeway is the clock skew tolerated on exp, nbf and iat.
const Leeway = 60 * time.Second

// tokenCacheSize bounds the verified tokens kept in memory (about 1 KiB
// each, and 32 bytes for a token verified only once so far: the cache keeps
// a token from its second verification), so that a client presenting its
// token again costs no RSA check.
const tokenCacheSize = 10_000

// Limits on request input.
const (
	maxBodyBytes = 64 << 10
	maxTokenSize = verify.DefaultMaxTokenSize
)

// Server serves inkan's HTTP API. New builds a handler for each group of
// endpoints, holding only what it uses: tutorial (the tutorial's routes),
// selfService (the user's own JSON routes beside them), oauth (token,
// revocation, introspection, userinfo), pages (the browser's authorize,
// login, consent and logout pages), accountPages (the account and sign-up
// pages), languages (the pages' language switcher), wellKnown (JWKS and
// discovery), health, and the metrics when the API's listener serves them;
// what several share (logs, proxies, cookies, accessTokens, the metrics
// and the clock) it builds once and hands to each. routes mounts them on one
// mux inside the middleware.
type Server struct {
	opts     Options // with New's defaults filled in
	handler  http.Handler
	handlers []mounter // in the order routes mounts them

	// What New built over opts and shares out; Sync, RunBackchannel and the
	// tests reach them here.
	tokens      *token.Issuer       // the tutorial's, access and logout tokens
	ids         *oidc.Issuer        // ID tokens
	verifier    *verify.Verifier    // of access tokens
	revocations *oauth2.Revocations // kept current by Sync
	oauthIssuer *oauth2.Issuer      // what the grants return
	proxies     proxies
	cookies     cookies
	backchannel *backchannel
	accounts    *account.Service
}

// mounter is a handler of a group of endpoints: Mount registers its routes.
type mounter interface{ Mount(mux *http.ServeMux) }

// New builds the server, and over its store and hasher the account
// service (account.New, which takes the dummy hash a login for an unknown
// email is verified against).
func New(ctx context.Context, opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
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
	logins := opts.Metrics.logins
	revocations := &oauth2.Revocations{Store: opts.Store, Logger: opts.Logger, Now: opts.Now, FamilyTTL: opts.Tokens.RefreshTTL + opts.Tokens.TTL}
	tokens := &token.Issuer{Issuer: opts.Issuer, TTL: opts.Tokens.TTL, Keys: opts.Keys, Now: opts.Now}
	bc := newBackchannel(opts, tokens)
	accounts, err := account.New(ctx, account.Options{
		Store:          opts.Store,
		Passwords:      opts.Passwords,
		Logger:         opts.Logger,
		Now:            opts.Now,
		HashQueueWait:  opts.Accounts.HashQueueWait,
		LoginPolicy:    opts.Accounts.LoginPolicy,
		AccountPolicy:  opts.Accounts.AccountPolicy,
		SignupPolicy:   opts.Accounts.SignupPolicy,
		ThrottleSecret: opts.Tokens.Secret,
		RevokeFamily:   revocations.RevokeFamily,
		OnLogin:        func(result string) { logins.WithLabelValues(result).Inc() },
		Events:         countingMFA{opts.Events, opts.Metrics},

		RequireVerifiedEmail: opts.Accounts.RequireVerifiedEmail,
		Mailer:               opts.Mail,
		LinkBase:             opts.Issuer,
		CodeSecret:           opts.Tokens.Secret,
		VerifyTTL:            opts.Accounts.VerifyTTL,
		RecoveryTTL:          opts.Accounts.RecoveryTTL,
		EmailChangeTTL:       opts.Accounts.EmailChangeTTL,
		MailAddressPolicy:    opts.Accounts.MailAddressPolicy,
		MailEmailPolicy:      opts.Accounts.MailEmailPolicy,
		CodePolicy:           opts.Accounts.CodePolicy,
		OnSessionsEnded:      bc.kick,
		MFA:                  mfaOptions(opts),
	})
	if err != nil {
		return nil, err
	}
	hints, err := newHintVerifier(ctx, opts)
	if err != nil {
		return nil, err
	}
	ids := &oidc.Issuer{Issuer: opts.Issuer, TTL: opts.Tokens.TTL, Keys: opts.Keys, Now: opts.Now}
	s := &Server{
		opts:        opts,
		tokens:      tokens,
		ids:         ids,
		verifier:    v,
		revocations: revocations,
		oauthIssuer: &oauth2.Issuer{Tokens: tokens, IDTokens: ids, Store: opts.Store, Secret: opts.Tokens.Secret, RefreshTTL: opts.Tokens.RefreshTTL, Now: opts.Now},
		proxies:     proxies(opts.HTTP.TrustedProxies),
		cookies:     newCookies(opts.Issuer),
		backchannel: bc,
		accounts:    accounts,
	}
	log := logs{opts.Logger}
	access := &accessTokens{verifier: v, revocations: s.revocations, clients: opts.Store, accounts: accounts}
	sessions := &browserSessions{
		store: opts.Store, ttl: opts.Tokens.SessionTTL, now: opts.Now, cookies: s.cookies, proxies: s.proxies, secret: opts.Tokens.Secret,
	}
	s.handlers = []mounter{
		&tutorial{
			signup: opts.Accounts.Signup, issuer: opts.Issuer, accounts: accounts, tokens: tokens, access: access,
			proxies: s.proxies, metrics: opts.Metrics, log: log,
		},
		&wellKnown{issuer: opts.Issuer, keys: opts.Keys, jwks: newJWKSCache(opts.HTTP.JWKSMaxAge)},
		health{db: opts.Store, log: log},
		&pages{
			store: opts.Store, authz: &oauth2.Authorizer{Store: opts.Store, Now: opts.Now}, accounts: accounts, hints: hints,
			issuer: opts.Issuer, now: opts.Now, cookies: s.cookies, proxies: s.proxies, sessions: sessions, signup: opts.Accounts.Signup,
			loggedOut: s.backchannel.kick, events: opts.Events, log: log,
		},
		&selfService{
			issuer: opts.Issuer, accounts: accounts, tokens: tokens, access: access, sessions: sessions, proxies: s.proxies,
			metrics: opts.Metrics, loggedOut: s.backchannel.kick, log: log,
		},
		&accountPages{
			accounts: accounts, sessions: sessions, proxies: s.proxies, signup: opts.Accounts.Signup, metrics: opts.Metrics,
			loggedOut: s.backchannel.kick, log: log,
		},
		&languages{cookies: s.cookies, log: log},
		newOAuth(opts, s.oauthIssuer, s.revocations, access, accounts, s.proxies, log),
	}
	if opts.HTTP.ServeMetrics {
		s.handlers = append(s.handlers, opts.Metrics)
	}
	s.handler = s.routes()
	if err := s.revocations.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("load revocations: %w", err)
	}
	return s, nil
}

// routes mounts every handler's routes on one mux, inside the middleware.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, h := range s.handlers {
		h.Mount(mux)
	}
	return s.middleware(jsonFallbacks(mux))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Sync reloads what the server keeps in memory of other processes' writes,
// the revoked tokens, if their counter in v moved (package watch calls it on
// every poll).
func (s *Server) Sync(ctx context.Context, v store.Versions) error {
	return s.revocations.Sync(ctx, v.Revocations)
}

// Wait waits for the mails requested so far (recovery, a new
// verification), which are prepared after their request was answered, to
// be committed to the outbox: call it after the HTTP server has shut down,
// before closing the store.
func (s *Server) Wait() { s.accounts.Wait() }

// RunBackchannel delivers queued back-channel logouts until ctx ends: right
// after this server ends a session, and every interval otherwise.
func (s *Server) RunBackchannel(ctx context.Context, interval time.Duration) {
	s.backchannel.run(ctx, interval)
}
