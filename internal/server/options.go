package server

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/mail"
	"github.com/inkan-dev/inkan/internal/store"
)

// Options configure a Server. Store, Keys, Passwords, Logger and
// Tokens.Secret are required; the zero value of the others means the
// default written next to each, or turns its feature off.
type Options struct {
	Issuer    string // the issuer URL: iss of every token, base of the discovery document
	Store     store.Store
	Keys      KeySet
	Passwords PasswordHasher
	Logger    *slog.Logger
	Now       func() time.Time // nil means time.Now
	// Metrics counts requests, logins and tokens; nil means metrics of the
	// server's own, served nowhere unless HTTP.ServeMetrics.
	Metrics *Metrics
	// Mail queues the email of the features that send it (verification,
	// recovery, notices); nil (treat it as mail.Off) or mail.Off means no
	// SMTP server: those features are off and say so (mail.ErrDisabled).
	Mail mail.Mailer
	// Events records the audit trail's events; nil means an events.Trail
	// over Store, counted in Metrics (inkan_events_total).
	Events events.Recorder

	HTTP        HTTPOptions        // what the server believes of, and sends to, the network
	Accounts    AccountOptions     // registration, and the budgets of password logins
	Tokens      TokenOptions       // lifetimes of what is issued, and the secret of its HMACs
	Backchannel BackchannelOptions // delivery of back-channel logout tokens
}

// HTTPOptions are the edge: proxies, transport security, browser origins
// and what the API's listener serves besides the API.
type HTTPOptions struct {
	// TrustedProxies are the peers whose X-Forwarded-For and
	// X-Forwarded-Proto are believed; from anyone else they are ignored.
	// None: every peer is the client.
	TrustedProxies []netip.Prefix
	// HSTS sends Strict-Transport-Security on every answer: set it when
	// serving HTTPS. Off, it is still sent to a client whose connection is
	// HTTPS (TLS to us, or X-Forwarded-Proto: https from a trusted proxy).
	HSTS bool
	// AllowedOrigins are the browser origins given CORS on the token,
	// revocation, introspection and userinfo endpoints; none: no origin.
	AllowedOrigins []string
	// JWKSMaxAge is the JWKS's Cache-Control max-age; zero means 5 minutes.
	JWKSMaxAge time.Duration
	// ServeMetrics puts GET /metrics (Options.Metrics) on the API's own
	// listener too; off when the metrics have a listener of their own.
	ServeMetrics bool
}

// AccountOptions are the rules of registration and password login that
// the account service enforces (account.Options).
type AccountOptions struct {
	// Signup opens POST /user to anyone; off, it answers 403.
	Signup bool
	// HashQueueWait bounds how long a request waits for a password-hash
	// slot before it is answered 503; zero waits as long as the request lives.
	HashQueueWait time.Duration
	// LoginPolicy budgets failed logins per (account, client address);
	// AccountPolicy per account from every address, more loosely;
	// SignupPolicy registrations per client address. A policy with Free 0
	// is off.
	LoginPolicy, AccountPolicy, SignupPolicy store.ThrottlePolicy

	// RequireVerifiedEmail refuses sign-in (the tutorial's login, the
	// login page, the password grant) to users whose email is not
	// verified, once their password has checked out.
	RequireVerifiedEmail bool
	// VerifyTTL, RecoveryTTL and EmailChangeTTL are the lifetimes of the
	// links and codes mailed; zero means 24h, 1h and 24h.
	VerifyTTL, RecoveryTTL, EmailChangeTTL time.Duration
	// MailAddressPolicy budgets the requests for a recovery or
	// verification mail per client address, MailEmailPolicy per email;
	// CodePolicy the one-time codes tried per account. A policy with Free
	// 0 is off.
	MailAddressPolicy, MailEmailPolicy, CodePolicy store.ThrottlePolicy

	// RequireMFA makes every user pass a second factor, enrolling one at
	// their next sign-in when they have none (--require-mfa).
	RequireMFA bool
	// MFAPolicy budgets the failed second-factor codes per account; Free
	// 0 is off.
	MFAPolicy store.ThrottlePolicy
}

// TokenOptions are the lifetimes of the tokens and sessions the server
// issues, and the secret that keys its HMACs.
type TokenOptions struct {
	// TTL is the lifetime of every access token and ID token, the
	// tutorial's too (exp = iat + TTL).
	TTL time.Duration
	// RefreshTTL is a refresh token's lifetime; zero means 720h.
	RefreshTTL time.Duration
	// RefreshReuseWindow: a used refresh token presented again within it
	// gets the same successor; zero: never.
	RefreshReuseWindow time.Duration
	// SessionTTL is a browser login session's lifetime; zero means 24h.
	SessionTTL time.Duration
	// Secret keys the HMACs of refresh-token successors, consent and logout
	// CSRF tokens and throttle keys: 32 bytes at least, the same on every
	// replica. Required.
	Secret []byte
}

// BackchannelOptions are how back-channel logout tokens are delivered
// (RunBackchannel).
type BackchannelOptions struct {
	// Client sends them; nil means http.DefaultTransport. Redirects are
	// never followed.
	Client *http.Client
	// Timeout bounds one delivery; zero means DefaultBackchannelTimeout.
	Timeout time.Duration
}

// withDefaults checks what New requires and fills in the defaults of the
// zero values.
func (o Options) withDefaults() (Options, error) {
	if o.Store == nil || o.Keys == nil || o.Passwords == nil || o.Logger == nil {
		return o, errors.New("server: Store, Keys, Passwords and Logger are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTP.JWKSMaxAge <= 0 {
		o.HTTP.JWKSMaxAge = 5 * time.Minute
	}
	if o.Tokens.SessionTTL <= 0 {
		o.Tokens.SessionTTL = 24 * time.Hour
	}
	if o.Tokens.RefreshTTL <= 0 {
		o.Tokens.RefreshTTL = 720 * time.Hour
	}
	if o.Backchannel.Timeout <= 0 {
		o.Backchannel.Timeout = DefaultBackchannelTimeout
	}
	if len(o.Tokens.Secret) < 32 {
		return o, errors.New("server: TokenSecret must have 32 bytes")
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Events == nil {
		o.Events = events.New(events.Options{Store: o.Store, Logger: o.Logger, Now: o.Now, Count: o.Metrics.countEvent})
	}
	return o, nil
}
