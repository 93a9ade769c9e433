package config

import (
	"errors"
	"flag"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testFlags is a command's flag set: every setting, plus --kid, a flag that
// is not a setting.
type testFlags struct {
	fs  *flag.FlagSet
	cfg *Config
	kid *string
}

func newTestFlags() testFlags {
	cfg := Default()
	fs := flag.NewFlagSet("inkan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.Register(fs, settings...)
	return testFlags{fs: fs, cfg: &cfg, kid: fs.String("kid", "", "key ID")}
}

// env is a getenv over a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParse(t *testing.T) {
	def := Default()
	with := func(edit func(*Config)) Config {
		c := Default()
		edit(&c)
		return c
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    Config
		wantPos []string
		wantKid string
	}{
		{name: "defaults", want: def},
		{name: "retention in days", args: []string{"--events-retention", "30d"}, want: with(func(c *Config) { c.EventsRetention = 30 * 24 * time.Hour })},
		{name: "retention as a duration", env: map[string]string{"INKAN_EVENTS_RETENTION": "36h"}, want: with(func(c *Config) { c.EventsRetention = 36 * time.Hour })},
		{name: "retention off", args: []string{"--events-retention=0"}, want: with(func(c *Config) { c.EventsRetention = 0 })},
		{name: "retention 0d", env: map[string]string{"INKAN_EVENTS_RETENTION": "0d"}, want: with(func(c *Config) { c.EventsRetention = 0 })},
		{name: "flags", args: []string{"--addr", ":9000", "--token-ttl=5m", "-log-level", "debug"}, want: with(func(c *Config) {
			c.Addr, c.TokenTTL, c.LogLevel = ":9000", 5*time.Minute, "debug"
		})},
		{
			name: "env applies when flag absent",
			env:  map[string]string{"INKAN_ADDR": ":9000", "INKAN_DATA_DIR": "/var/lib/inkan", "INKAN_ISSUER": "https://id.example.com", "INKAN_TOKEN_TTL": "90s", "INKAN_LOG_LEVEL": "warn", "INKAN_LOG_FORMAT": "json"},
			want: with(func(c *Config) {
				c.Addr, c.DataDir, c.Issuer, c.TokenTTL, c.LogLevel, c.LogFormat = ":9000", "/var/lib/inkan", "https://id.example.com", 90*time.Second, "warn", "json"
			}),
		},
		{
			name: "flag wins over env",
			args: []string{"--addr", ":1111", "--token-ttl", "2m"},
			env:  map[string]string{"INKAN_ADDR": ":2222", "INKAN_TOKEN_TTL": "3m", "INKAN_LOG_LEVEL": "error"},
			want: with(func(c *Config) { c.Addr, c.TokenTTL, c.LogLevel = ":1111", 2*time.Minute, "error" }),
		},
		{
			name: "flag equal to default wins over env",
			args: []string{"--signup=true", "--addr", def.Addr},
			env:  map[string]string{"INKAN_SIGNUP": "false", "INKAN_ADDR": ":2222"},
			want: def,
		},
		{name: "empty env ignored", env: map[string]string{"INKAN_ADDR": "", "INKAN_DATA_DIR": ""}, want: def},
		{name: "env of non-setting flag ignored", env: map[string]string{"INKAN_KID": "from-env"}, want: def, wantKid: ""},
		{name: "env of unknown name ignored", env: map[string]string{"INKAN_NOPE": "x"}, want: def},
		{name: "bool env false", env: map[string]string{"INKAN_SIGNUP": "false"}, want: with(func(c *Config) { c.Signup = false })},
		{name: "bool env true", args: nil, env: map[string]string{"INKAN_SIGNUP": "true"}, want: def},
		{name: "bool env 0", env: map[string]string{"INKAN_SIGNUP": "0"}, want: with(func(c *Config) { c.Signup = false })},
		{name: "bool flag false", args: []string{"--signup=false"}, want: with(func(c *Config) { c.Signup = false })},
		{name: "require verified email", args: []string{"--require-verified-email"}, want: with(func(c *Config) { c.RequireVerifiedEmail = true })},
		{name: "require verified email by env", env: map[string]string{"INKAN_REQUIRE_VERIFIED_EMAIL": "true", "INKAN_RECOVERY_TTL": "15m"},
			want: with(func(c *Config) { c.RequireVerifiedEmail, c.RecoveryTTL = true, 15*time.Minute })},
		{name: "bool flag bare", args: []string{"--signup"}, env: map[string]string{"INKAN_SIGNUP": "false"}, want: def},
		{name: "bool flag space false", args: []string{"--signup", "false"}, want: with(func(c *Config) { c.Signup = false })},
		{name: "bool flag space true", args: []string{"--signup", "true"}, env: map[string]string{"INKAN_SIGNUP": "false"}, want: def},
		{name: "bool flag space FALSE", args: []string{"-signup", "FALSE"}, want: with(func(c *Config) { c.Signup = false })},
		{name: "bool flag space then flag", args: []string{"--signup", "false", "--addr", ":1"}, want: with(func(c *Config) { c.Signup, c.Addr = false, ":1" })},
		{name: "bool flag then flag", args: []string{"--signup", "--addr", ":1"}, env: map[string]string{"INKAN_SIGNUP": "false"}, want: with(func(c *Config) { c.Addr = ":1" })},
		{name: "bool flag then positional", args: []string{"--signup", "key.pem"}, env: map[string]string{"INKAN_SIGNUP": "false"}, want: def, wantPos: []string{"key.pem"}},
		{name: "bool flag then 0 is positional", args: []string{"--signup", "0"}, env: map[string]string{"INKAN_SIGNUP": "false"}, want: def, wantPos: []string{"0"}},
		{name: "bool flag last", args: []string{"key.pem", "--signup"}, env: map[string]string{"INKAN_SIGNUP": "false"}, want: def, wantPos: []string{"key.pem"}},
		{name: "bool after positional", args: []string{"key.pem", "--signup", "false", "x"}, want: with(func(c *Config) { c.Signup = false }), wantPos: []string{"key.pem", "x"}},
		{name: "value that looks like a bool flag", args: []string{"--kid", "--signup", "false"}, want: def, wantPos: []string{"false"}, wantKid: "--signup"},
		{name: "value false of a string flag", args: []string{"--kid", "false", "--signup"}, want: def, wantKid: "false"},
		{name: "double dash keeps false positional", args: []string{"--signup", "--", "false"}, want: def, wantPos: []string{"false"}},
		{name: "bool flag equals wins", args: []string{"--signup=true", "false"}, env: map[string]string{"INKAN_SIGNUP": "false"}, want: def, wantPos: []string{"false"}},
		{
			name:    "interspersed positional",
			args:    []string{"jwk", "key.pem", "--kid", "k"},
			want:    def,
			wantPos: []string{"jwk", "key.pem"},
			wantKid: "k",
		},
		{
			name:    "flags between positional",
			args:    []string{"a", "--kid=k", "b", "--addr", ":1", "c"},
			want:    with(func(c *Config) { c.Addr = ":1" }),
			wantPos: []string{"a", "b", "c"},
			wantKid: "k",
		},
		{
			name:    "double dash ends flags",
			args:    []string{"--kid", "k", "--", "--addr", ":1"},
			want:    def,
			wantPos: []string{"--addr", ":1"},
			wantKid: "k",
		},
		{
			name:    "double dash after positional",
			args:    []string{"key.pem", "--", "-x", "--", "y"},
			want:    def,
			wantPos: []string{"key.pem", "-x", "--", "y"},
		},
		{name: "double dash last", args: []string{"key.pem", "--"}, want: def, wantPos: []string{"key.pem"}},
		{name: "single dash is positional", args: []string{"-", "--kid", "k"}, want: def, wantPos: []string{"-"}, wantKid: "k"},
		{
			name:    "env applies with positional",
			args:    []string{"key.pem"},
			env:     map[string]string{"INKAN_LOG_FORMAT": "json", "INKAN_KID": "no"},
			want:    with(func(c *Config) { c.LogFormat = "json" }),
			wantPos: []string{"key.pem"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFlags()
			pos, err := Parse(f.fs, tc.args, env(tc.env))
			if err != nil {
				t.Fatalf("Parse(%q) error = %v, want nil", tc.args, err)
			}
			if diff := cmp.Diff(tc.want, *f.cfg); diff != "" {
				t.Errorf("Parse(%q) config mismatch (-want +got):\n%s", tc.args, diff)
			}
			if diff := cmp.Diff(tc.wantPos, pos); diff != "" {
				t.Errorf("Parse(%q) positional mismatch (-want +got):\n%s", tc.args, diff)
			}
			if *f.kid != tc.wantKid {
				t.Errorf("Parse(%q) --kid = %q, want %q", tc.args, *f.kid, tc.wantKid)
			}
		})
	}
}

func TestParse_errors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantErr  error    // checked with errors.Is when not nil
		wantText []string // each must appear in the error
	}{
		{name: "bad env duration", env: map[string]string{"INKAN_TOKEN_TTL": "forever"}, wantText: []string{"INKAN_TOKEN_TTL", `"forever"`}},
		{name: "bad env bool", env: map[string]string{"INKAN_SIGNUP": "maybe"}, wantText: []string{"INKAN_SIGNUP", `"maybe"`}},
		{
			name:     "every bad env",
			env:      map[string]string{"INKAN_SIGNUP": "maybe", "INKAN_TOKEN_TTL": "forever"},
			wantText: []string{"INKAN_SIGNUP", "INKAN_TOKEN_TTL"},
		},
		{name: "bad flag value", args: []string{"--token-ttl", "forever"}, wantText: []string{"token-ttl"}},
		{name: "bad flag bool", args: []string{"--signup=maybe"}, wantText: []string{"signup"}},
		{name: "unknown flag", args: []string{"--nope"}, wantText: []string{"nope"}},
		{name: "unknown flag after positional", args: []string{"key.pem", "--nope"}, wantText: []string{"nope"}},
		{name: "argument that looks like a flag", args: []string{"-VUeCK03skAKsLrfp6vq"}, wantText: []string{"-VUeCK03skAKsLrfp6vq", `goes after "--"`}},
		{name: "missing value", args: []string{"--addr"}, wantText: []string{"addr"}},
		{name: "help", args: []string{"-h"}, wantErr: flag.ErrHelp},
		{name: "bad retention", args: []string{"--events-retention", "3 months"}, wantText: []string{"events-retention", `"3 months"`}},
		{name: "bad retention days", env: map[string]string{"INKAN_EVENTS_RETENTION": "1.5d"}, wantText: []string{"INKAN_EVENTS_RETENTION", "days"}},
		{name: "negative retention days", args: []string{"--events-retention=-1d"}, wantText: []string{"events-retention"}},
		{name: "retention days overflow", args: []string{"--events-retention=99999999999d"}, wantText: []string{"events-retention"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFlags()
			_, err := Parse(f.fs, tc.args, env(tc.env))
			if err == nil {
				t.Fatalf("Parse(%q) error = nil, want an error naming %q", tc.args, tc.wantText)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Parse(%q) error = %v, want %v", tc.args, err, tc.wantErr)
			}
			for _, s := range tc.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Parse(%q) error = %v, want it to name %q", tc.args, err, s)
				}
			}
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*Config)
		wantFlags []string // the flags the error names; none: valid
	}{
		{name: "defaults", edit: func(*Config) {}},
		{name: "port 0", edit: func(c *Config) { c.Addr = ":0" }},
		{name: "ipv6", edit: func(c *Config) { c.Addr = "[::1]:8000" }},
		{name: "issuer", edit: func(c *Config) { c.Issuer = "https://id.example.com/tenant" }},
		{name: "ttl bounds", edit: func(c *Config) { c.TokenTTL = time.Second }},
		{name: "ttl upper bound", edit: func(c *Config) { c.TokenTTL = 24 * time.Hour }},
		{name: "json debug", edit: func(c *Config) { c.LogFormat, c.LogLevel = "json", "debug" }},
		{name: "addr no port", edit: func(c *Config) { c.Addr = "localhost" }, wantFlags: []string{FlagAddr}},
		{name: "addr empty port", edit: func(c *Config) { c.Addr = "localhost:" }, wantFlags: []string{FlagAddr}},
		{name: "addr empty", edit: func(c *Config) { c.Addr = "" }, wantFlags: []string{FlagAddr}},
		{name: "data dir empty", edit: func(c *Config) { c.DataDir = "" }, wantFlags: []string{FlagDataDir}},
		{name: "issuer scheme", edit: func(c *Config) { c.Issuer = "ftp://id.example.com" }, wantFlags: []string{FlagIssuer}},
		{name: "issuer query", edit: func(c *Config) { c.Issuer = "https://id.example.com?x=1" }, wantFlags: []string{FlagIssuer}},
		{name: "ttl zero", edit: func(c *Config) { c.TokenTTL = 0 }, wantFlags: []string{FlagTokenTTL}},
		{name: "ttl under a second", edit: func(c *Config) { c.TokenTTL = 999 * time.Millisecond }, wantFlags: []string{FlagTokenTTL}},
		{name: "ttl over a day", edit: func(c *Config) { c.TokenTTL = 24*time.Hour + time.Second }, wantFlags: []string{FlagTokenTTL}},
		{name: "ttl negative", edit: func(c *Config) { c.TokenTTL = -time.Minute }, wantFlags: []string{FlagTokenTTL}},
		{name: "log level", edit: func(c *Config) { c.LogLevel = "verbose" }, wantFlags: []string{FlagLogLevel}},
		{name: "log level case", edit: func(c *Config) { c.LogLevel = "INFO" }, wantFlags: []string{FlagLogLevel}},
		{name: "log format", edit: func(c *Config) { c.LogFormat = "xml" }, wantFlags: []string{FlagLogFormat}},
		{
			name: "everything wrong",
			edit: func(c *Config) {
				*c = Config{Addr: "nope", Issuer: "nope", LogLevel: "loud", LogFormat: "yaml"}
			},
			wantFlags: []string{FlagAddr, FlagDataDir, FlagIssuer, FlagTokenTTL, FlagLogLevel, FlagLogFormat,
				FlagHashConcurrency, FlagLoginAttempts, FlagLoginAccountAttempts, FlagSignupAttempts, FlagLoginBackoff,
				FlagJWKSMaxAge, FlagSigningAlg, FlagSessionTTL, FlagRefreshTokenTTL, FlagRecoveryTTL},
		},
		{name: "postgres", edit: func(c *Config) { c.Database = "postgres://u@h/db" }},
		{name: "fast keys for tests", edit: func(c *Config) { c.JWKSMaxAge, c.KeyRotation = time.Second, 2*time.Second }},
		{name: "rotation off", edit: func(c *Config) { c.KeyRotation = 0 }},
		{name: "rotation as short as max-age", edit: func(c *Config) { c.KeyRotation, c.JWKSMaxAge = time.Second, time.Second }},
		{name: "rotation under a second", edit: func(c *Config) { c.KeyRotation = time.Millisecond }, wantFlags: []string{FlagKeyRotation}},
		{name: "jwks max-age under a second", edit: func(c *Config) { c.JWKSMaxAge = time.Millisecond }, wantFlags: []string{FlagJWKSMaxAge}},
		{name: "signing alg", edit: func(c *Config) { c.SigningAlg = "HS256" }, wantFlags: []string{FlagSigningAlg}},
		{name: "eddsa", edit: func(c *Config) { c.SigningAlg = "EdDSA" }},
		{name: "es384", edit: func(c *Config) { c.SigningAlg = "ES384" }},
		{name: "es512", edit: func(c *Config) { c.SigningAlg = "ES512" }},
		{name: "rs384", edit: func(c *Config) { c.SigningAlg = "RS384" }},
		{name: "ps512", edit: func(c *Config) { c.SigningAlg = "PS512" }},
		{name: "signing alg none", edit: func(c *Config) { c.SigningAlg = "none" }, wantFlags: []string{FlagSigningAlg}},
		{name: "origins", edit: func(c *Config) { c.AllowedOrigins = Strings{"https://app.example.com", "http://localhost:3000"} }},
		{name: "origin with a path", edit: func(c *Config) { c.AllowedOrigins = Strings{"https://app.example.com/x"} }, wantFlags: []string{FlagAllowedOrigin}},
		{name: "reuse window", edit: func(c *Config) { c.RefreshReuseWindow = time.Hour }, wantFlags: []string{FlagRefreshReuseWindow}},
		{name: "retention forever", edit: func(c *Config) { c.EventsRetention = 0 }},
		{name: "retention of an hour", edit: func(c *Config) { c.EventsRetention = time.Hour }},
		{name: "retention too short", edit: func(c *Config) { c.EventsRetention = time.Minute }, wantFlags: []string{FlagEventsRetention}},
		{name: "retention negative", edit: func(c *Config) { c.EventsRetention = -time.Hour }, wantFlags: []string{FlagEventsRetention}},
		{name: "recovery ttl", edit: func(c *Config) { c.RecoveryTTL = 15 * time.Minute }},
		{name: "recovery ttl too short", edit: func(c *Config) { c.RecoveryTTL = time.Second }, wantFlags: []string{FlagRecoveryTTL}},
		{name: "recovery ttl too long", edit: func(c *Config) { c.RecoveryTTL = 48 * time.Hour }, wantFlags: []string{FlagRecoveryTTL}},
		{name: "database not postgres", edit: func(c *Config) { c.Database = "mysql://u@h/db" }, wantFlags: []string{FlagDatabase}},
		{name: "tls half", edit: func(c *Config) { c.TLSCert = "c.pem" }, wantFlags: []string{FlagTLSCert}},
		{name: "tls both", edit: func(c *Config) { c.TLSCert, c.TLSKey = "c.pem", "k.pem" }},
		{name: "metrics addr", edit: func(c *Config) { c.MetricsAddr = "metrics" }, wantFlags: []string{FlagMetricsAddr}},
		{name: "hash concurrency", edit: func(c *Config) { c.HashConcurrency = 0 }, wantFlags: []string{FlagHashConcurrency}},
		{name: "hash queue wait", edit: func(c *Config) { c.HashQueueWait = time.Hour }, wantFlags: []string{FlagHashQueueWait}},
		{name: "backoff max below backoff", edit: func(c *Config) { c.LoginBackoffMax = time.Millisecond }, wantFlags: []string{FlagLoginBackoffMax}},
		{name: "smtp", edit: func(c *Config) {
			c.SMTPURL, c.SMTPFrom = "smtp://u:p@mail.example.com:587", "ID <no-reply@id.example.com>"
		}},
		{name: "smtps", edit: func(c *Config) { c.SMTPURL, c.SMTPFrom = "smtps://mail.example.com", "no-reply@id.example.com" }},
		{name: "smtp without from", edit: func(c *Config) { c.SMTPURL = "smtp://mail.example.com" }, wantFlags: []string{FlagSMTPFrom}},
		{name: "smtp bad from", edit: func(c *Config) { c.SMTPURL, c.SMTPFrom = "smtp://mail.example.com", "nobody" }, wantFlags: []string{FlagSMTPFrom}},
		{name: "smtp scheme", edit: func(c *Config) { c.SMTPURL, c.SMTPFrom = "http://mail.example.com", "a@example.com" }, wantFlags: []string{FlagSMTPURL}},
		{name: "smtp port", edit: func(c *Config) { c.SMTPURL, c.SMTPFrom = "smtp://u:p@mail.example.com:0", "a@example.com" }, wantFlags: []string{FlagSMTPURL}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			err := c.Validate()
			if len(tc.wantFlags) == 0 {
				if err != nil {
					t.Fatalf("Validate(%+v) error = %v, want nil", c, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%+v) error = nil, want errors naming %q", c, tc.wantFlags)
			}
			for _, name := range settings {
				named := strings.Contains(err.Error(), "--"+name+":")
				if want := slices.Contains(tc.wantFlags, name); named != want {
					t.Errorf("Validate(%+v) error = %v, names --%s: %t, want %t", c, err, name, named, want)
				}
			}
		})
	}
}

func TestPrefixes(t *testing.T) {
	var p Prefixes
	if err := p.Set("10.0.0.0/8, 127.0.0.1,::1"); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	if err := p.Set("192.168.1.7/16"); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	if got, want := p.String(), "10.0.0.0/8,127.0.0.1/32,::1/128,192.168.0.0/16"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for addr, want := range map[string]bool{
		"10.1.2.3": true, "127.0.0.1": true, "127.0.0.2": false, "::1": true,
		"::ffff:10.0.0.1": true, "192.168.200.1": true, "8.8.8.8": false,
	} {
		if got := p.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", addr, got, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "nope", "1.2.3"} {
		var q Prefixes
		if err := q.Set(bad); err == nil {
			t.Errorf("Set(%q) = nil, want an error", bad)
		}
	}
}

func TestParse_secretFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db-url")
	if err := os.WriteFile(path, []byte("postgres://u:secret@h/db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.Register(fs, FlagDatabase)
	env := map[string]string{"INKAN_DATABASE_FILE": path}
	if _, err := Parse(fs, nil, func(k string) string { return env[k] }); err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	if c.Database != "postgres://u:secret@h/db" {
		t.Errorf("Database = %q, want the file's trimmed content", c.Database)
	}
	env = map[string]string{"INKAN_DATABASE_FILE": filepath.Join(t.TempDir(), "missing")}
	if _, err := Parse(flag.NewFlagSet("t", flag.ContinueOnError), nil, func(k string) string { return env[k] }); err != nil {
		t.Errorf("Parse() without the flag registered = %v, want nil", err)
	}
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	c.Register(fs, FlagDatabase)
	if _, err := Parse(fs, nil, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "INKAN_DATABASE_FILE") {
		t.Errorf("Parse() with a missing file = %v, want an error naming INKAN_DATABASE_FILE", err)
	}
}

// A bad --smtp-url is reported without the password it holds.
func TestConfig_Validate_smtpPassword(t *testing.T) {
	const pw = "S3cret-smtp-password"
	for _, u := range []string{
		"smtp://user:" + pw + "@mail example.com:587", "smtp://user:" + pw + "@mail.example.com:port", "smtp://user:" + pw + "@mail.example.com/x",
		"smtpx://user:" + pw + "@mail.example.com", "smtp://user:" + pw + "%@mail.example.com", "smtp://:" + pw + "@mail.example.com",
	} {
		c := Default()
		c.SMTPURL, c.SMTPFrom = u, "a@example.com"
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "--"+FlagSMTPURL+":") {
			t.Errorf("Validate(--smtp-url with a bad URL) = %v, want an error naming --smtp-url", err)
		} else if strings.Contains(err.Error(), pw) {
			t.Errorf("Validate() = %v, which shows the password", err)
		}
	}
}

// INKAN_SMTP_URL_FILE reads the URL, password and all, from a file.
func TestParse_smtpURLFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smtp-url")
	if err := os.WriteFile(path, []byte("smtps://u:secret@mail.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.Register(fs, ServeSettings...)
	env := map[string]string{"INKAN_SMTP_URL_FILE": path, "INKAN_SMTP_FROM": "no-reply@id.example.com"}
	if _, err := Parse(fs, nil, func(k string) string { return env[k] }); err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	if c.SMTPURL != "smtps://u:secret@mail.example.com" || c.SMTPFrom != "no-reply@id.example.com" {
		t.Errorf("SMTPURL, SMTPFrom = %q, %q; want the file's and the variable's", c.SMTPURL, c.SMTPFrom)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct {
		flag string
		want string
	}{
		{flag: FlagAddr, want: "INKAN_ADDR"},
		{flag: FlagDataDir, want: "INKAN_DATA_DIR"},
		{flag: FlagIssuer, want: "INKAN_ISSUER"},
		{flag: FlagTokenTTL, want: "INKAN_TOKEN_TTL"},
		{flag: FlagSignup, want: "INKAN_SIGNUP"},
		{flag: FlagLogLevel, want: "INKAN_LOG_LEVEL"},
		{flag: FlagLogFormat, want: "INKAN_LOG_FORMAT"},
	}
	for _, tc := range tests {
		t.Run(tc.flag, func(t *testing.T) {
			if got := EnvName(tc.flag); got != tc.want {
				t.Errorf("EnvName(%q) = %q, want %q", tc.flag, got, tc.want)
			}
		})
	}
}

func TestEnvNames(t *testing.T) {
	names := EnvNames()
	for _, want := range []string{MasterKeyEnv, "INKAN_MASTER_KEY_FILE", "INKAN_DATABASE", "INKAN_DATABASE_FILE", "INKAN_TOKEN_TTL", "INKAN_TRUSTED_PROXIES", "INKAN_SMTP_URL", "INKAN_SMTP_URL_FILE", "INKAN_SMTP_FROM", "INKAN_TEMPLATES_DIR"} {
		if !slices.Contains(names, want) {
			t.Errorf("EnvNames() lacks %s: %v", want, names)
		}
	}
	for _, not := range []string{"INKAN_EMAIL", "INKAN_TOKEN_TTL_FILE", "INKAN_OUT", "INKAN_SMTP_FROM_FILE"} {
		if slices.Contains(names, not) {
			t.Errorf("EnvNames() has %s, which inkan does not read", not)
		}
	}
}

func TestIsSetting(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{name: FlagAddr, want: true},
		{name: FlagTokenTTL, want: true},
		{name: "kid", want: false},
		{name: "email", want: false},
		{name: "", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsSetting(tc.name); got != tc.want {
				t.Errorf("IsSetting(%q) = %t, want %t", tc.name, got, tc.want)
			}
		})
	}
}

func TestConfig_Register_unknown(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Register(%q) did not panic", "nope")
		}
	}()
	c := Default()
	c.Register(flag.NewFlagSet("x", flag.ContinueOnError), "nope")
}

func TestConfig_IssuerFor(t *testing.T) {
	// One real listener, to read the port the kernel picked.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	realPort := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	tcp := func(ip net.IP) net.Addr { return &net.TCPAddr{IP: ip, Port: 41234} }
	tests := []struct {
		name   string
		issuer string
		addr   string
		bound  net.Addr
		tls    bool
		want   string
	}{
		{name: "configured", issuer: "https://id.example.com", addr: ":0", bound: tcp(net.IPv6unspecified), want: "https://id.example.com"},
		{name: "configured trailing slash", issuer: "https://id.example.com/", addr: ":0", bound: tcp(net.IPv6unspecified), want: "https://id.example.com"},
		{name: "configured path", issuer: "https://example.com/id/", addr: "localhost:8000", bound: tcp(net.IPv4(127, 0, 0, 1)), want: "https://example.com/id"},
		{name: "empty host port 0", addr: ":0", bound: tcp(net.IPv6unspecified), want: "http://localhost:41234"},
		{name: "ipv4 wildcard port 0", addr: "0.0.0.0:0", bound: tcp(net.IPv4zero), want: "http://localhost:41234"},
		{name: "ipv6 wildcard port 0", addr: "[::]:0", bound: tcp(net.IPv6unspecified), want: "http://localhost:41234"},
		{name: "loopback port 0", addr: "127.0.0.1:0", bound: ln.Addr(), want: "http://127.0.0.1:" + realPort},
		{name: "ipv6 loopback", addr: "[::1]:0", bound: tcp(net.IPv6loopback), want: "http://[::1]:41234"},
		{name: "localhost", addr: "localhost:8000", bound: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8000}, want: "http://localhost:8000"},
		{name: "hostname", addr: "id.internal:0", bound: tcp(net.IPv4(10, 0, 0, 7)), want: "http://id.internal:41234"},
		{name: "tls", addr: "localhost:8443", bound: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8443}, tls: true, want: "https://localhost:8443"},
		{name: "tls configured", issuer: "https://id.example.com", addr: ":0", bound: tcp(net.IPv6unspecified), tls: true, want: "https://id.example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Issuer, c.Addr = tc.issuer, tc.addr
			if got := c.IssuerFor(tc.bound, tc.tls); got != tc.want {
				t.Errorf("IssuerFor(%v) with --addr %q --issuer %q = %q, want %q", tc.bound, tc.addr, tc.issuer, got, tc.want)
			}
		})
	}
}

func TestCheckIssuer(t *testing.T) {
	tests := []struct {
		issuer  string
		wantErr bool
	}{
		{issuer: "https://id.example.com"},
		{issuer: "https://id.example.com/"},
		{issuer: "https://id.example.com/tenant/a"},
		{issuer: "http://localhost:8000"},
		{issuer: "http://127.0.0.1:8000"},
		{issuer: "http://[::1]:8000"},
		{issuer: "", wantErr: true},
		{issuer: "id.example.com", wantErr: true},
		{issuer: "//id.example.com", wantErr: true},
		{issuer: "ftp://id.example.com", wantErr: true},
		{issuer: "javascript:alert(1)", wantErr: true},
		{issuer: "https://", wantErr: true},
		{issuer: "https:///path", wantErr: true},
		{issuer: "https://id.example.com?tenant=a", wantErr: true},
		{issuer: "https://id.example.com?", wantErr: true},
		{issuer: "https://id.example.com#frag", wantErr: true},
		{issuer: "https://user@id.example.com", wantErr: true},
		{issuer: "https://user:pw@id.example.com", wantErr: true},
		{issuer: "https://id.example.com:port", wantErr: true},
		{issuer: "https://id example.com", wantErr: true},
		{issuer: "://x", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.issuer, func(t *testing.T) {
			err := CheckIssuer(tc.issuer)
			if (err != nil) != tc.wantErr {
				t.Fatalf("CheckIssuer(%q) error = %v, want error %t", tc.issuer, err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), strconv.Quote(tc.issuer)) {
				t.Errorf("CheckIssuer(%q) error = %v, want it to quote the issuer", tc.issuer, err)
			}
		})
	}
}

// FuzzParse splits args on spaces and env on newlines (NAME=value lines).
// Properties: no panic, and on success the positional arguments are
// arguments that were given, in order.
func FuzzParse(f *testing.F) {
	f.Add("", "")
	f.Add("jwk key.pem --kid k", "INKAN_KID=x")
	f.Add("--addr :9000 --token-ttl=5m -- --signup", "INKAN_TOKEN_TTL=forever")
	f.Add("--signup=false serve -", "INKAN_SIGNUP=maybe\nINKAN_ADDR=:1")
	f.Add("--kid -- pos --addr :1", "INKAN_ISSUER=https://id.example.com/")
	f.Fuzz(func(t *testing.T, args, environ string) {
		argv := strings.Split(args, " ")
		m := map[string]string{}
		for line := range strings.SplitSeq(environ, "\n") {
			k, v, _ := strings.Cut(line, "=")
			m[k] = v
		}
		tf := newTestFlags()
		pos, err := Parse(tf.fs, argv, env(m))
		if err != nil {
			return
		}
		rest := argv
		for _, p := range pos {
			i := slices.Index(rest, p)
			if i < 0 {
				t.Fatalf("Parse(%q) positional = %q, %q not among the arguments in order", argv, pos, p)
			}
			rest = rest[i+1:]
		}
		_ = tf.cfg.Validate()
		_ = tf.cfg.IssuerFor(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8000}, false)
	})
}

func TestConfig_LoadMasterKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c := Default()
	c.DataDir = dir
	none := func(string) string { return "" }
	made := 0
	newKey := func() string { made++; return "bWFkZQ==" }
	key, src, generated, err := c.LoadMasterKey(none, newKey)
	if err != nil || key != "bWFkZQ==" || !generated || src != filepath.Join(dir, "master.key") {
		t.Fatalf("first LoadMasterKey() = %q, %q, %v, %v; want a generated key file", key, src, generated, err)
	}
	if info, err := os.Stat(src); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("master.key mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}
	key, _, generated, err = c.LoadMasterKey(none, newKey)
	if err != nil || strings.TrimSpace(key) != "bWFkZQ==" || generated || made != 1 {
		t.Errorf("second LoadMasterKey() = %q, %v, %v (made %d); want the same key read back", key, generated, err, made)
	}
	env := map[string]string{MasterKeyEnv: "ZW52"}
	if key, src, _, _ := c.LoadMasterKey(func(k string) string { return env[k] }, newKey); key != "ZW52" || src != MasterKeyEnv {
		t.Errorf("LoadMasterKey() with %s = %q from %q", MasterKeyEnv, key, src)
	}
	c.MasterKeyFile = filepath.Join(t.TempDir(), "missing")
	if _, _, _, err := c.LoadMasterKey(none, newKey); err == nil || !strings.Contains(err.Error(), "--master-key-file") {
		t.Errorf("LoadMasterKey() with a missing --master-key-file = %v, want an error naming it", err)
	}
}

func TestDays_String(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{90 * 24 * time.Hour, "90d"}, {36 * time.Hour, "36h0m0s"}, {0, "0s"}} {
		if got := days(tc.d).String(); got != tc.want {
			t.Errorf("days(%v).String() = %q, want %q", tc.d, got, tc.want)
		}
	}
}
