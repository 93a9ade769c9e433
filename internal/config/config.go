// Package config holds inkan's settings: defaults, then INKAN_* environment
// variables, then command-line flags (a flag wins). It is the only package
// that reads the environment for settings.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config is every setting of inkan. Commands register the subset they use.
type Config struct {
	Addr      string        // listen address of the HTTP server
	DataDir   string        // where the SQLite database lives
	Issuer    string        // the iss of every token; empty: http://<bound address>
	TokenTTL  time.Duration // lifetime of access tokens
	Signup    bool          // whether POST /user is open
	LogLevel  string        // debug, info, warn, error
	LogFormat string        // text or json
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
	}
}

// Flag names, shared by the commands that register them.
const (
	FlagAddr      = "addr"
	FlagDataDir   = "data-dir"
	FlagIssuer    = "issuer"
	FlagTokenTTL  = "token-ttl"
	FlagSignup    = "signup"
	FlagLogLevel  = "log-level"
	FlagLogFormat = "log-format"
)

var settings = []string{FlagAddr, FlagDataDir, FlagIssuer, FlagTokenTTL, FlagSignup, FlagLogLevel, FlagLogFormat}

// IsSetting reports whether a flag name is a Config setting, which has an
// INKAN_* variable. Other flags of a command (--email, --out) have none.
func IsSetting(name string) bool { return slices.Contains(settings, name) }

// Register adds the named settings to fs as flags, with c's values as
// defaults. Unknown names panic: they are programming errors.
func (c *Config) Register(fs *flag.FlagSet, names ...string) {
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
// positional arguments. Then, for every flag that args did not set, it
// applies the flag's INKAN_* variable from getenv when that is non-empty.
// Errors name the flag or variable at fault.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
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
		if set[f.Name] || !IsSetting(f.Name) {
			return
		}
		env := EnvName(f.Name)
		v := getenv(env)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("invalid value %q for %s: %v", v, env, err))
		}
	})
	return positional, errors.Join(errs...)
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
	if c.Issuer != "" {
		if err := CheckIssuer(c.Issuer); err != nil {
			bad(FlagIssuer, "%v", err)
		}
	}
	if c.TokenTTL < time.Second || c.TokenTTL > 24*time.Hour {
		bad(FlagTokenTTL, "%v is outside 1s to 24h", c.TokenTTL)
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
// or http:// + the configured host (localhost for a wildcard or empty host)
// and the port actually bound (which differs when --addr asks for port 0).
func (c *Config) IssuerFor(bound net.Addr) string {
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
	return "http://" + net.JoinHostPort(host, port)
}
