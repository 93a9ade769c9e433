// Package config holds inkan's settings: defaults, then INKAN_* environment
// variables, then command-line flags (a flag wins). It is the only package
// that reads the environment for settings.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/inkan-dev/inkan/internal/mail"
	"github.com/inkan-dev/inkan/verify"
)

// Config is every setting of inkan. Commands register the subset they use.
type Config struct {
	Addr      string        // listen address of the HTTP server
	DataDir   string        // where the SQLite database lives
	Database  string        // empty: SQLite in DataDir; postgres://…: PostgreSQL
	Issuer    string        // the iss of every token; empty: http://<bound address>
	TokenTTL  time.Duration // lifetime of access tokens
	Signup    bool          // whether POST /user is open
	LogLevel  string        // debug, info, warn, error
	LogFormat string        // text or json

	TrustedProxies Prefixes // proxies whose X-Forwarded-For/-Proto count
	MetricsAddr    string   // a separate listener for /metrics; empty: on Addr
	TLSCert        string   // PEM certificate chain; with TLSKey, serve HTTPS
	TLSKey         string   // PEM private key

	HashConcurrency int           // password hashes run at once
	HashQueueWait   time.Duration // how long a login may wait for a hash slot

	LoginAttempts        int           // free failed logins per (account, address)
	LoginAccountAttempts int           // free failed logins per account, from anywhere
	LoginBackoff         time.Duration // the first delay once the free attempts are spent
	LoginBackoffMax      time.Duration // the longest delay
	SignupAttempts       int           // free registrations per address an hour

	MasterKeyFile string        // the key-encryption key of the private keys; see LoadMasterKey
	JWKSMaxAge    time.Duration // the JWKS cache lifetime; keys are published this long before they sign
	KeyRotation   time.Duration // how often the signing key rotates; 0 turns rotation off
	SigningAlg    string        // the algorithm of new keys

	SessionTTL         time.Duration // login session lifetime
	RefreshTokenTTL    time.Duration // refresh token lifetime
	RefreshReuseWindow time.Duration // a used refresh token presented again within it gets the same successor
	AllowedOrigins     Strings       // browser origins given CORS on the token, userinfo and revocation endpoints

	SMTPURL              string        // smtp://user:password@host:587 or smtps://…; empty: mail is off. Holds a password: never print it
	SMTPFrom             string        // the From of every email; required with SMTPURL
	TemplatesDir         string        // overrides of the email templates, file by file
	EventsRetention      time.Duration // how long the audit trail keeps an event; 0 keeps them forever
	RequireVerifiedEmail bool          // sign-in refused until the email is verified (after the password checks out)
	RequireMFA           bool          // every user passes a second factor, enrolling one at their next sign-in
	RecoveryTTL          time.Duration // lifetime of a password recovery link and code
}

// Default returns the zero-configuration settings.
func Default() Config {
	return Config{
		Addr:      "localhost:8000",
		DataDir:   "./inkan-data",
		TokenTTL:  60 * time.Minute,
		Signup:    true,
		LogLevel:  "info",
		LogFormat: "text",

		HashConcurrency: max(1, runtime.NumCPU()-1),
		HashQueueWait:   5 * time.Second,

		LoginAttempts:        5,
		LoginAccountAttempts: 20,
		LoginBackoff:         time.Second,
		LoginBackoffMax:      15 * time.Minute,
		SignupAttempts:       200,

		JWKSMaxAge:  5 * time.Minute,
		KeyRotation: 720 * time.Hour,
		SigningAlg:  "RS256",

		SessionTTL:         24 * time.Hour,
		RefreshTokenTTL:    720 * time.Hour,
		RefreshReuseWindow: 10 * time.Second,

		EventsRetention: 90 * day,
		RecoveryTTL:     time.Hour,
	}
}

const day = 24 * time.Hour

// Flag names, shared by the commands that register them.
const (
	FlagAddr      = "addr"
	FlagDataDir   = "data-dir"
	FlagIssuer    = "issuer"
	FlagTokenTTL  = "token-ttl"
	FlagSignup    = "signup"
	FlagLogLevel  = "log-level"
	FlagLogFormat = "log-format"
	FlagDatabase  = "database"

	FlagTrustedProxies = "trusted-proxies"
	FlagMetricsAddr    = "metrics-addr"
	FlagTLSCert        = "tls-cert"
	FlagTLSKey         = "tls-key"

	FlagHashConcurrency = "hash-concurrency"
	FlagHashQueueWait   = "hash-queue-wait"

	FlagLoginAttempts        = "login-attempts"
	FlagLoginAccountAttempts = "login-account-attempts"
	FlagLoginBackoff         = "login-backoff"
	FlagLoginBackoffMax      = "login-backoff-max"
	FlagSignupAttempts       = "signup-attempts"

	FlagMasterKeyFile = "master-key-file"
	FlagJWKSMaxAge    = "jwks-max-age"
	FlagKeyRotation   = "key-rotation"
	FlagSigningAlg    = "signing-alg"

	FlagSessionTTL         = "session-ttl"
	FlagRefreshTokenTTL    = "refresh-token-ttl"
	FlagRefreshReuseWindow = "refresh-reuse-window"
	FlagAllowedOrigin      = "allowed-origin"

	FlagSMTPURL              = "smtp-url"
	FlagSMTPFrom             = "smtp-from"
	FlagTemplatesDir         = "templates-dir"
	FlagEventsRetention      = "events-retention"
	FlagRequireVerifiedEmail = "require-verified-email"
	FlagRecoveryTTL          = "recovery-ttl"
	FlagRequireMFA           = "require-mfa"
)

// ServeSettings are the settings of inkan serve.
var ServeSettings = []string{
	FlagAddr, FlagDataDir, FlagDatabase, FlagIssuer, FlagTokenTTL, FlagSignup, FlagLogLevel, FlagLogFormat,
	FlagTrustedProxies, FlagMetricsAddr, FlagTLSCert, FlagTLSKey, FlagHashConcurrency, FlagHashQueueWait,
	FlagLoginAttempts, FlagLoginAccountAttempts, FlagLoginBackoff, FlagLoginBackoffMax, FlagSignupAttempts,
	FlagMasterKeyFile, FlagJWKSMaxAge, FlagKeyRotation, FlagSigningAlg,
	FlagSessionTTL, FlagRefreshTokenTTL, FlagRefreshReuseWindow, FlagAllowedOrigin,
	FlagSMTPURL, FlagSMTPFrom, FlagTemplatesDir,
	FlagEventsRetention,
	FlagRequireVerifiedEmail, FlagRecoveryTTL, FlagRequireMFA,
}

var settings = ServeSettings

// KeySettings are the settings of the commands that handle signing keys.
var KeySettings = []string{FlagDataDir, FlagDatabase, FlagMasterKeyFile, FlagJWKSMaxAge, FlagTokenTTL, FlagSigningAlg}

// StoreSettings are the settings of every command that opens the store.
var StoreSettings = []string{FlagDataDir, FlagDatabase}

// secret settings may also come from a file named by INKAN_*_FILE.
var secret = []string{FlagDatabase, FlagSMTPURL}

// EnvNames returns every environment variable inkan reads: each setting's
// INKAN_* variable, the *_FILE variants of the secret ones, and
// MasterKeyEnv.
func EnvNames() []string {
	names := []string{MasterKeyEnv}
	for _, name := range settings {
		names = append(names, EnvName(name))
		if slices.Contains(secret, name) {
			names = append(names, EnvName(name)+"_FILE")
		}
	}
	return names
}

// IsSetting reports whether a flag name is a Config setting, which has an
// INKAN_* variable. Other flags of a command (--email, --out) have none.
func IsSetting(name string) bool { return slices.Contains(settings, name) }

// registered are the settings Register added to each flag set: only those
// take their INKAN_* variable (Parse), so that a command's own flag of a
// setting's name (clients add --require-mfa, which is the client's, not
// the server's) never takes the server's variable.
var registered sync.Map // *flag.FlagSet → map[string]bool

// IsRegistered reports whether fs's flag name was added by Register: a
// setting, which takes its INKAN_* variable.
func IsRegistered(fs *flag.FlagSet, name string) bool {
	m, ok := registered.Load(fs)
	return ok && m.(map[string]bool)[name]
}

// Register adds the named settings to fs as flags, with c's values as
// defaults. Unknown names panic: they are programming errors.
func (c *Config) Register(fs *flag.FlagSet, names ...string) {
	m := map[string]bool{}
	if old, ok := registered.Load(fs); ok {
		m = old.(map[string]bool)
	}
	for _, name := range names {
		m[name] = true
	}
	registered.Store(fs, m)
	for _, name := range names {
		switch name {
		case FlagAddr:
			fs.StringVar(&c.Addr, name, c.Addr, "listen address (host:port)")
		case FlagDataDir:
			fs.StringVar(&c.DataDir, name, c.DataDir, "directory of the SQLite database (created mode 0700)")
		case FlagIssuer:
			fs.StringVar(&c.Issuer, name, c.Issuer, "issuer URL put in every token (default http:// + the bound address)")
		case FlagTokenTTL:
			fs.DurationVar(&c.TokenTTL, name, c.TokenTTL, "lifetime of access tokens (1s to 24h)")
		case FlagSignup:
			fs.BoolVar(&c.Signup, name, c.Signup, "allow self-registration through POST /user (true or false)")
		case FlagLogLevel:
			fs.StringVar(&c.LogLevel, name, c.LogLevel, "log level: debug, info, warn or error")
		case FlagLogFormat:
			fs.StringVar(&c.LogFormat, name, c.LogFormat, "log format: text or json")
		case FlagDatabase:
			fs.StringVar(&c.Database, name, c.Database, "database: empty for SQLite in --data-dir, or postgres://user@host/db for PostgreSQL")
		case FlagTrustedProxies:
			fs.Var(&c.TrustedProxies, name, "`CIDR`s (or addresses) of proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: a list; repeat the flag or separate with commas")
		case FlagMetricsAddr:
			fs.StringVar(&c.MetricsAddr, name, c.MetricsAddr, "serve /metrics on this address instead of the public one")
		case FlagTLSCert:
			fs.StringVar(&c.TLSCert, name, c.TLSCert, "TLS certificate chain (PEM); with --tls-key, serve HTTPS")
		case FlagTLSKey:
			fs.StringVar(&c.TLSKey, name, c.TLSKey, "TLS private key (PEM)")
		case FlagHashConcurrency:
			fs.IntVar(&c.HashConcurrency, name, c.HashConcurrency, "password hashes computed at once (default: cores - 1, at least 1)")
		case FlagHashQueueWait:
			fs.DurationVar(&c.HashQueueWait, name, c.HashQueueWait, "longest wait for a free hash slot before answering 503")
		case FlagLoginAttempts:
			fs.IntVar(&c.LoginAttempts, name, c.LoginAttempts, "failed logins allowed per account and client address before delays")
		case FlagLoginAccountAttempts:
			fs.IntVar(&c.LoginAccountAttempts, name, c.LoginAccountAttempts, "failed logins allowed per account from all addresses before delays")
		case FlagLoginBackoff:
			fs.DurationVar(&c.LoginBackoff, name, c.LoginBackoff, "first delay once the free attempts are spent, doubled after each further failure")
		case FlagLoginBackoffMax:
			fs.DurationVar(&c.LoginBackoffMax, name, c.LoginBackoffMax, "longest delay between login attempts")
		case FlagSignupAttempts:
			fs.IntVar(&c.SignupAttempts, name, c.SignupAttempts, "registrations allowed per client address an hour before delays")
		case FlagMasterKeyFile:
			fs.StringVar(&c.MasterKeyFile, name, c.MasterKeyFile, "file holding the master key that seals private keys (32 bytes, base64); INKAN_MASTER_KEY holds it directly; default: <data-dir>/master.key, made on first start")
		case FlagJWKSMaxAge:
			fs.DurationVar(&c.JWKSMaxAge, name, c.JWKSMaxAge, "JWKS cache lifetime (Cache-Control max-age); new keys are published this long before they sign")
		case FlagKeyRotation:
			fs.DurationVar(&c.KeyRotation, name, c.KeyRotation, "rotate the signing key this often (0 turns rotation off)")
		case FlagSessionTTL:
			fs.DurationVar(&c.SessionTTL, name, c.SessionTTL, "lifetime of a browser login session")
		case FlagRefreshTokenTTL:
			fs.DurationVar(&c.RefreshTokenTTL, name, c.RefreshTokenTTL, "lifetime of a refresh token")
		case FlagRefreshReuseWindow:
			fs.DurationVar(&c.RefreshReuseWindow, name, c.RefreshReuseWindow, "a used refresh token presented again within this gets the same successor; later, its family is revoked")
		case FlagAllowedOrigin:
			fs.Var(&c.AllowedOrigins, name, "browser `origin`s (such as https://app.example.com) given CORS on the token, introspection, revocation and userinfo endpoints: a list; repeat the flag or separate with commas")
		case FlagSMTPURL:
			fs.StringVar(&c.SMTPURL, name, c.SMTPURL, "SMTP server that sends email: smtp://user:password@host:587 (STARTTLS, required unless the host is loopback) or smtps://user:password@host:465 (TLS); empty turns email off; prefer INKAN_SMTP_URL_FILE, since it holds a password")
		case FlagSMTPFrom:
			fs.StringVar(&c.SMTPFrom, name, c.SMTPFrom, "From address of every email, such as \"Example ID <no-reply@id.example.com>\"; required with --smtp-url")
		case FlagTemplatesDir:
			fs.StringVar(&c.TemplatesDir, name, c.TemplatesDir, "directory of email templates that replace the embedded ones file by file (DIR/NAME, or DIR/en|ja/NAME for one language)")
		case FlagEventsRetention:
			fs.Var((*days)(&c.EventsRetention), name, "how long the audit trail keeps an event (inkan events): a `duration` such as 90d or 720h; 0 keeps them forever")
		case FlagRequireVerifiedEmail:
			fs.BoolVar(&c.RequireVerifiedEmail, name, c.RequireVerifiedEmail, "refuse sign-in (POST /user/_authenticate, the login page, the password grant) until the user's email is verified; checked only once the password is right (true or false)")
		case FlagRequireMFA:
			fs.BoolVar(&c.RequireMFA, name, c.RequireMFA, "every user must pass a second factor (TOTP or a passkey): those without one set up a TOTP at their next sign-in on the login page; the password grant and POST /user/_authenticate then refuse users without one (true or false)")
		case FlagRecoveryTTL:
			fs.DurationVar(&c.RecoveryTTL, name, c.RecoveryTTL, "lifetime of a password recovery link and code (1m to 24h)")
		case FlagSigningAlg:
			fs.StringVar(&c.SigningAlg, name, c.SigningAlg, "algorithm of new signing keys: "+strings.Join(verify.Algorithms(), ", "))
		default:
			panic("config: unknown setting " + name)
		}
	}
}

// EnvName is the environment variable of a flag: --token-ttl ↔ INKAN_TOKEN_TTL.
func EnvName(flagName string) string {
	return "INKAN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, allowing flags after positional arguments
// ("inkan jwk key.pem --kid k1"; a lone "--" ends the flags), and returns the
// positional arguments. A boolean flag takes its value in either form,
// "--signup=false" or "--signup false": a boolean flag followed by true or
// false (in any case) takes it as its value, and alone it means true. Then,
// for every flag that args did not set, it applies the flag's INKAN_*
// variable from getenv when that is non-empty. Errors name the flag or
// variable at fault.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	args = joinBoolValues(fs, args)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if strings.HasPrefix(err.Error(), "flag provided but not defined") {
				// An argument such as a key's thumbprint may begin with "-".
				return nil, fmt.Errorf(`%w (an argument that begins with "-" goes after "--")`, err)
			}
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || !IsRegistered(fs, f.Name) {
			return
		}
		env := EnvName(f.Name)
		v := getenv(env)
		if v == "" && slices.Contains(secret, f.Name) && getenv(env+"_FILE") != "" {
			b, err := os.ReadFile(getenv(env + "_FILE"))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", env, err))
				return
			}
			v, env = strings.TrimSpace(string(b)), env+"_FILE"
		}
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("invalid value %q for %s: %w", v, env, err))
		}
	})
	return positional, errors.Join(errs...)
}

// joinBoolValues rewrites "--flag true|false" as "--flag=true|false" for the
// boolean flags of fs, which the flag package would otherwise read as a bare
// flag followed by a positional argument. It walks the arguments as the flag
// package does: a non-boolean flag without "=" consumes the next argument
// as its value (so "--name --signup" keeps "--signup" as --name's value),
// and a lone "--" ends the flags.
func joinBoolValues(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		out = append(out, a)
		if a == "--" {
			return append(out, args[i+1:]...)
		}
		name, ok := strings.CutPrefix(a, "-")
		if !ok || name == "" {
			continue // a positional argument, or "-"
		}
		name = strings.TrimPrefix(name, "-")
		if name == "" || name[0] == '-' || name[0] == '=' || strings.Contains(name, "=") {
			continue // bad syntax (the flag package reports it), or the value is attached
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // unknown, or -h: the flag package answers
		}
		if b, isBool := f.Value.(interface{ IsBoolFlag() bool }); isBool && b.IsBoolFlag() {
			if i+1 < len(args) && (strings.EqualFold(args[i+1], "true") || strings.EqualFold(args[i+1], "false")) {
				out[len(out)-1] = a + "=" + args[i+1]
				i++
			}
			continue
		}
		if i+1 < len(args) { // the value of a non-boolean flag
			out = append(out, args[i+1])
			i++
		}
	}
	return out
}

// Validate reports every problem of the settings at once, naming the flag.
func (c *Config) Validate() error {
	var errs []error
	bad := func(flag, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, a...)))
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		bad(FlagAddr, "%q is not host:port", c.Addr)
	}
	if c.DataDir == "" {
		bad(FlagDataDir, "must not be empty")
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		bad(FlagDatabase, "must be empty (SQLite) or a postgres:// URL")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad(FlagTLSCert, "--tls-cert and --tls-key go together")
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad(FlagMetricsAddr, "%q is not host:port", c.MetricsAddr)
		}
	}
	if c.HashConcurrency < 1 || c.HashConcurrency > 256 {
		bad(FlagHashConcurrency, "%d is outside 1 to 256", c.HashConcurrency)
	}
	if c.HashQueueWait < 0 || c.HashQueueWait > time.Minute {
		bad(FlagHashQueueWait, "%v is outside 0 to 1m", c.HashQueueWait)
	}
	for _, a := range []struct {
		flag string
		n    int
	}{{FlagLoginAttempts, c.LoginAttempts}, {FlagLoginAccountAttempts, c.LoginAccountAttempts}, {FlagSignupAttempts, c.SignupAttempts}} {
		if a.n < 1 || a.n > 100000 {
			bad(a.flag, "%d is outside 1 to 100000", a.n)
		}
	}
	if c.LoginBackoff < time.Millisecond || c.LoginBackoff > time.Hour {
		bad(FlagLoginBackoff, "%v is outside 1ms to 1h", c.LoginBackoff)
	}
	if c.LoginBackoffMax < c.LoginBackoff || c.LoginBackoffMax > 24*time.Hour {
		bad(FlagLoginBackoffMax, "%v is outside --login-backoff to 24h", c.LoginBackoffMax)
	}
	if c.JWKSMaxAge < time.Second || c.JWKSMaxAge > 24*time.Hour {
		bad(FlagJWKSMaxAge, "%v is outside 1s to 24h", c.JWKSMaxAge)
	}
	if c.KeyRotation != 0 && (c.KeyRotation < time.Second || c.KeyRotation > 100*365*24*time.Hour) {
		bad(FlagKeyRotation, "%v must be 0 (off) or at least 1s", c.KeyRotation)
	}
	if c.SessionTTL < time.Minute || c.SessionTTL > 90*24*time.Hour {
		bad(FlagSessionTTL, "%v is outside 1m to 90 days", c.SessionTTL)
	}
	if c.RefreshTokenTTL < time.Minute || c.RefreshTokenTTL > 365*24*time.Hour {
		bad(FlagRefreshTokenTTL, "%v is outside 1m to 365 days", c.RefreshTokenTTL)
	}
	if c.RecoveryTTL < time.Minute || c.RecoveryTTL > 24*time.Hour {
		bad(FlagRecoveryTTL, "%v is outside 1m to 24h", c.RecoveryTTL)
	}
	if c.RefreshReuseWindow < 0 || c.RefreshReuseWindow > 5*time.Minute {
		bad(FlagRefreshReuseWindow, "%v is outside 0 to 5m", c.RefreshReuseWindow)
	}
	for _, o := range c.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			bad(FlagAllowedOrigin, "%q is not an origin such as https://app.example.com", o)
		}
	}
	if c.EventsRetention != 0 && (c.EventsRetention < time.Hour || c.EventsRetention > 100*365*day) {
		bad(FlagEventsRetention, "%v must be 0 (keep forever) or from 1h to 100 years", days(c.EventsRetention))
	}
	if !slices.Contains(verify.Algorithms(), c.SigningAlg) {
		bad(FlagSigningAlg, "%q is not one of %s", c.SigningAlg, strings.Join(verify.Algorithms(), ", "))
	}
	if c.Issuer != "" {
		if err := CheckIssuer(c.Issuer); err != nil {
			bad(FlagIssuer, "%v", err)
		}
	}
	if c.TokenTTL < time.Second || c.TokenTTL > 24*time.Hour {
		bad(FlagTokenTTL, "%v is outside 1s to 24h", c.TokenTTL)
	}
	if c.SMTPURL != "" {
		if _, err := mail.ParseURL(c.SMTPURL); err != nil { // its errors never hold the password
			bad(FlagSMTPURL, "%v", err)
		}
		if c.SMTPFrom == "" {
			bad(FlagSMTPFrom, "required when --smtp-url is set")
		}
	}
	if c.SMTPFrom != "" {
		if _, err := mail.CheckFrom(c.SMTPFrom); err != nil {
			bad(FlagSMTPFrom, "%q %v", c.SMTPFrom, err)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad(FlagLogLevel, "%q is not debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad(FlagLogFormat, "%q is not text or json", c.LogFormat)
	}
	return errors.Join(errs...)
}

// CheckIssuer accepts an absolute http or https URL with a host and no query,
// fragment or user info (OpenID Connect Discovery §3).
func CheckIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("%q is not a URL", issuer)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q must start with https:// or http://", issuer)
	case u.Host == "":
		return fmt.Errorf("%q has no host", issuer)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%q must not have a query, fragment or user info", issuer)
	}
	return nil
}

// IssuerFor returns the issuer: the configured one without a trailing slash,
// or http:// (https:// when tls) + the configured host (localhost for a
// wildcard or empty host) and the port actually bound (which differs when
// --addr asks for port 0).
func (c *Config) IssuerFor(bound net.Addr, tls bool) string {
	if c.Issuer != "" {
		return strings.TrimRight(c.Issuer, "/")
	}
	host, _, _ := net.SplitHostPort(c.Addr)
	_, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return "http://" + bound.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port)
}

// Prefixes is a list flag of CIDRs ("10.0.0.0/8,127.0.0.1"): repeats add,
// commas separate, and a bare address means that one address.
type Prefixes []netip.Prefix

// String implements flag.Value.
func (p *Prefixes) String() string {
	var out []string
	for _, x := range *p {
		out = append(out, x.String())
	}
	return strings.Join(out, ",")
}

// Set implements flag.Value.
func (p *Prefixes) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return fmt.Errorf("%q is not an IP address or CIDR", f)
			}
			*p = append(*p, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		x, err := netip.ParsePrefix(f)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR", f)
		}
		*p = append(*p, x.Masked())
	}
	return nil
}

// Contains reports whether addr is in one of the prefixes.
func (p Prefixes) Contains(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, x := range p {
		if x.Contains(addr) {
			return true
		}
	}
	return false
}

// MasterKeyEnv holds the master key itself (standard base64), for
// deployments that pass secrets in the environment.
const MasterKeyEnv = "INKAN_MASTER_KEY"

// masterKeyFile is the master key made on a zero-config first start.
const masterKeyFile = "master.key"

// MasterKeySource says where LoadMasterKey takes the master key from:
// MasterKeyEnv when it is set, else the --master-key-file path, else
// <data-dir>/master.key, the default, with inDataDir set: a key found (or
// made) there was not chosen by the operator.
func (c *Config) MasterKeySource(getenv func(string) string) (source string, inDataDir bool) {
	switch {
	case getenv(MasterKeyEnv) != "":
		return MasterKeyEnv, false
	case c.MasterKeyFile != "":
		return c.MasterKeyFile, false
	}
	return filepath.Join(c.DataDir, masterKeyFile), true
}

// LoadMasterKey returns the master key's text and where it came from:
// INKAN_MASTER_KEY, else --master-key-file (or INKAN_MASTER_KEY_FILE), else
// <data-dir>/master.key, which is made (mode 0600) with newKey's output when
// missing; generated then reports that.
func (c *Config) LoadMasterKey(getenv func(string) string, newKey func() string) (key, source string, generated bool, err error) {
	path, inDataDir := c.MasterKeySource(getenv)
	switch {
	case path == MasterKeyEnv:
		return getenv(MasterKeyEnv), MasterKeyEnv, false, nil
	case !inDataDir:
		b, err := os.ReadFile(path)
		if err != nil {
			return "", "", false, fmt.Errorf("--%s: %w", FlagMasterKeyFile, err)
		}
		return string(b), path, false, nil
	}
	b, err := os.ReadFile(path)
	if err == nil {
		return string(b), path, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", "", false, err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return "", "", false, fmt.Errorf("create data dir: %w", err)
	}
	key = newKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		b, err := os.ReadFile(path)
		return string(b), path, false, err
	}
	if err != nil {
		return "", "", false, err
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return "", "", false, err
	}
	if err := f.Close(); err != nil {
		return "", "", false, err
	}
	return key, path, true, nil
}

// Strings is a list flag: repeats add, commas separate.
type Strings []string

// String implements flag.Value.
func (s *Strings) String() string { return strings.Join(*s, ",") }

// Set implements flag.Value.
func (s *Strings) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*s = append(*s, f)
		}
	}
	return nil
}

// days is a duration flag that also takes whole days ("90d"), and shows
// one that is whole days so.
type days time.Duration

// String implements flag.Value.
func (d days) String() string {
	v := time.Duration(d)
	if v != 0 && v%day == 0 {
		return strconv.FormatInt(int64(v/day), 10) + "d"
	}
	return v.String()
}

// Set implements flag.Value: a Go duration (720h, 30m) or a count of
// days (90d).
func (d *days) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil || v < 0 || v > int64(math.MaxInt64/day) {
			return fmt.Errorf("%q is not a count of days such as 90d", s)
		}
		*d = days(time.Duration(v) * day)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 90d or 720h", s)
	}
	*d = days(v)
	return nil
}
