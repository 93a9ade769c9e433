package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/footprint"
	"github.com/inkan-dev/inkan/internal/janitor"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/logsink"
	"github.com/inkan-dev/inkan/internal/mail"
	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/server"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/cache"
	"github.com/inkan-dev/inkan/internal/watch"
)

// throttleWindow is how long a login or signup counter lives after its
// first attempt (or until its block ends, if later).
const throttleWindow = time.Hour

// The budgets of the requests for a mail (recovery, a new verification):
// per client address, and per email, known or not.
var (
	mailAddressPolicy = store.ThrottlePolicy{Free: 20, Base: time.Minute, Max: time.Hour, Window: throttleWindow}
	mailEmailPolicy   = store.ThrottlePolicy{Free: 3, Base: time.Minute, Max: time.Hour, Window: throttleWindow}
)

// hashIdleRelease is how long the hash pool stays idle before the memory of
// its argon2id computations (m KiB each) goes back to the operating system
// (docs/performance.md has the measurements).
const hashIdleRelease = time.Second

// shutdownTimeout bounds how long in-flight requests may take to finish.
const shutdownTimeout = 30 * time.Second

// mailInterval is how often a server looks for mail to send besides its
// own (other replicas', retries); its own it sends at once.
const mailInterval = 2 * time.Second

// backchannelInterval is how often a server looks for back-channel logouts
// to deliver besides its own (other replicas', retries); its own it sends
// at once.
const backchannelInterval = time.Second

// settleRelease is how long after the first request can arrive a server
// releases memory a second time (footprint.Release): by then the loops
// started with it have run their first rounds (the change counters every
// 250 ms, back-channel logouts every second, the outbox every 2 s), and a
// first round runs code that later rounds do not, SQLite parsing and
// planning each statement that the pool then keeps prepared. Measured in
// bench/memory.sh (the "settled" column): about 4 MiB of the executable's
// pages that would otherwise stay mapped while the server idles.
const settleRelease = 5 * time.Second

func serve(ctx context.Context, std stdio, args []string) error {
	cfg := config.Default()
	fs := newFlags(std, "serve", "serve [flags]")
	cfg.Register(fs, config.ServeSettings...)
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: serve takes no arguments", errUsage)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	// Log lines go through a buffered asynchronous sink, so that a request's
	// access-log line costs a copy, not a write to stderr; it is flushed
	// when serve returns, so the last lines are never lost.
	sink := logsink.New(std.errOut, 0)
	defer sink.Close()
	logger := newLogger(sink, cfg)

	// Bind first: a start that fails for a port in use, or a bad TLS pair,
	// must leave no data dir, database, key or master key behind.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close() // after Shutdown, a no-op
	tlsOn := cfg.TLSCert != ""
	if tlsOn {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	var mln net.Listener
	if cfg.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer mln.Close()
	}

	// A first start makes the data dir; if it fails before serving, it
	// removes the dir with what it put there.
	first, err := makeDataDir(cfg, std)
	if err != nil {
		return err
	}
	serving := false
	defer func() {
		if !serving {
			first.undo()
		}
	}()
	mk, err := loadMasterKey(std, cfg)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	emails, err := account.NormalizeStoredEmails(ctx, db, time.Now)
	if err != nil {
		return err
	}
	emails.Log(ctx, logger)
	st := cache.New(db, logger)
	if err := st.Refresh(ctx); err != nil {
		return err
	}
	km, err := newManager(ctx, cfg, st, mk, logger)
	if err != nil {
		return err
	}
	if kid, err := km.EnsureKey(ctx); err != nil {
		return fmt.Errorf("create signing key: %w", err)
	} else if kid != "" {
		logger.InfoContext(ctx, "created signing key", "kid", kid, "alg", cfg.SigningAlg)
		if cfg.Database != "" {
			first.keep() // the key in PostgreSQL is sealed under the master key in the dir
		}
	}
	keySet, err := keys.NewSet(ctx, km)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	// Record this server's --jwks-max-age and --token-ttl, by which the CLI
	// schedules the keys it adds; a replica with larger ones wins there.
	if stored, err := km.ReportServing(ctx); err != nil {
		return fmt.Errorf("record serving settings: %w", err)
	} else if stored.JWKSMaxAge != cfg.JWKSMaxAge || stored.TokenTTL != cfg.TokenTTL {
		logger.WarnContext(ctx, "another running replica has a larger --jwks-max-age or --token-ttl; replicas should share them, and keys added by the CLI follow the larger",
			"jwks_max_age", stored.JWKSMaxAge.String(), "token_ttl", stored.TokenTTL.String(),
			"own_jwks_max_age", cfg.JWKSMaxAge.String(), "own_token_ttl", cfg.TokenTTL.String())
	}

	issuer := cfg.IssuerFor(ln.Addr(), tlsOn)
	metrics := server.NewMetrics(func() time.Duration { return time.Since(keySet.Active().ActivatedAt) })
	login := store.ThrottlePolicy{Free: cfg.LoginAttempts, Base: cfg.LoginBackoff, Max: cfg.LoginBackoffMax, Window: throttleWindow}
	perAccount := login
	perAccount.Free = cfg.LoginAccountAttempts
	mailer, outbox, err := newMailer(ctx, cfg, st, issuer, metrics, logger)
	if err != nil {
		return err
	}
	hasher := password.New(password.Default, cfg.HashConcurrency)
	hasher.SetIdleRelease(hashIdleRelease)
	srv, err := server.New(ctx, server.Options{
		Issuer:    issuer,
		Store:     st,
		Keys:      keySet,
		Passwords: hasher,
		Logger:    logger,
		Metrics:   metrics,
		Mail:      mailer,
		HTTP: server.HTTPOptions{
			TrustedProxies: cfg.TrustedProxies,
			HSTS:           tlsOn,
			AllowedOrigins: cfg.AllowedOrigins,
			JWKSMaxAge:     cfg.JWKSMaxAge,
			ServeMetrics:   cfg.MetricsAddr == "",
		},
		Accounts: server.AccountOptions{
			Signup:        cfg.Signup,
			HashQueueWait: cfg.HashQueueWait,
			LoginPolicy:   login,
			AccountPolicy: perAccount,
			SignupPolicy:  store.ThrottlePolicy{Free: cfg.SignupAttempts, Base: time.Second, Max: time.Hour, Window: throttleWindow},

			RequireVerifiedEmail: cfg.RequireVerifiedEmail,
			RecoveryTTL:          cfg.RecoveryTTL,
			MailAddressPolicy:    mailAddressPolicy,
			MailEmailPolicy:      mailEmailPolicy,
			CodePolicy:           perAccount, // one-time codes are guessed like passwords
			RequireMFA:           cfg.RequireMFA,
			MFAPolicy:            perAccount, // second-factor codes too
		},
		Tokens: server.TokenOptions{
			TTL:                cfg.TokenTTL,
			RefreshTTL:         cfg.RefreshTokenTTL,
			RefreshReuseWindow: cfg.RefreshReuseWindow,
			SessionTTL:         cfg.SessionTTL,
			Secret:             km.Sealer.TokenSecret(),
		},
	})
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	reloadCtx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	go watch.Run(reloadCtx, reloadInterval, logger, st,
		watch.View{Name: "reload signing keys", Sync: keySet.Sync},
		watch.View{Name: "refresh user cache", Sync: func(_ context.Context, v store.Versions) error { st.Sync(v); return nil }, Stale: st.Stale},
		watch.View{Name: "refresh revocations", Sync: srv.Sync})
	go srv.RunBackchannel(reloadCtx, backchannelInterval)
	go km.RunRotation(reloadCtx, cfg.KeyRotation, min(time.Minute, max(100*time.Millisecond, cfg.JWKSMaxAge/4)))
	go km.RunReport(reloadCtx)
	go newJanitor(cfg, st, logger).Run(reloadCtx, janitor.DefaultInterval)
	mailDone := make(chan struct{})
	go func() {
		defer close(mailDone)
		if outbox != nil {
			outbox.Run(reloadCtx, mailInterval)
		}
	}()

	// Start-up's garbage (migrations, the templates rendered once to check
	// them, the key set's parsing) is of no further use, nor are most of
	// the executable's pages that start-up read: collect the one and drop
	// the other before the first request, so an idle server holds only
	// what it uses.
	release := func(msg string) {
		if released, err := footprint.Release(); err != nil {
			logger.WarnContext(ctx, "could not release start-up memory", "err", err)
		} else {
			logger.DebugContext(ctx, msg, "image_bytes", released)
		}
	}
	release("released start-up memory")
	settled := time.AfterFunc(settleRelease, func() { release("released settled start-up memory") })
	defer settled.Stop()
	serving = true
	var metricsSrv *http.Server
	if mln != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			// A failing metrics listener does not stop inkan serving; say so.
			if err := metricsSrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				logger.ErrorContext(ctx, "metrics serving stopped", "err", err)
			}
		}()
		logger.InfoContext(ctx, "metrics serving", "addr", mln.Addr().String())
	}

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	logger.InfoContext(ctx, "inkan serving", "addr", ln.Addr().String(), "issuer", issuer, "kid", keySet.Active().KeyID)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if metricsSrv != nil {
		if err := metricsSrv.Shutdown(sctx); err != nil {
			logger.WarnContext(sctx, "metrics shutdown", "err", err)
		}
	}
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	srv.Wait() // the mails requested by answered requests reach the outbox
	stopReload()
	<-mailDone // a delivery under way finishes, and is recorded, first
	if err := st.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// newMailer loads the email templates and, when --smtp-url is set, makes
// the outbox that sends through it; without it, mail is off (mail.Off),
// and the outbox's metrics still count what waits in the table.
func newMailer(ctx context.Context, cfg config.Config, st store.Store, issuer string, metrics *server.Metrics, logger *slog.Logger) (mail.Mailer, *mail.Outbox, error) {
	templates, err := mail.LoadTemplates(cfg.TemplatesDir)
	if err != nil {
		return nil, nil, fmt.Errorf("--%s: %w", config.FlagTemplatesDir, err)
	}
	mailMetrics := mail.NewMetrics(st)
	if err := metrics.Register(mailMetrics); err != nil {
		return nil, nil, err
	}
	if cfg.SMTPURL == "" {
		logger.InfoContext(ctx, "email is off (no --smtp-url): the features that send it answer 503")
		return mail.Off, nil, nil
	}
	smtp, err := mail.ParseURL(cfg.SMTPURL)
	if err != nil {
		return nil, nil, fmt.Errorf("--%s: %w", config.FlagSMTPURL, err) // Validate checked it
	}
	site := issuer
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		site = u.Host
	}
	outbox, err := mail.New(mail.Options{
		Store: st, Templates: templates, SMTP: smtp, From: cfg.SMTPFrom, Site: site,
		Logger: logger, Metrics: mailMetrics,
	})
	if err != nil {
		return nil, nil, err
	}
	return outbox, outbox, nil
}

// newJanitor is serve's janitor: it deletes expired rows, and the events
// older than --events-retention.
func newJanitor(cfg config.Config, st store.Store, logger *slog.Logger) *janitor.Janitor {
	return &janitor.Janitor{Store: st, Logger: logger, EventsRetention: cfg.EventsRetention}
}

// createdDirs is what a first start made: the directories missing before,
// the deepest first, and whether the data dir is one of them.
type createdDirs struct {
	dirs    []string
	dataDir bool
}

// makeDataDir makes --data-dir (mode 0700) if this start needs it (for the
// SQLite database, or for the default master key file) and it is missing,
// and returns what it made. Each directory counts as made by this run only
// if its mkdir succeeded, so that undo never removes another process's.
func makeDataDir(cfg config.Config, std stdio) (*createdDirs, error) {
	c := &createdDirs{}
	if _, inDataDir := cfg.MasterKeySource(std.getenv); cfg.Database != "" && !inDataDir {
		return c, nil
	}
	var missing []string
	for d := filepath.Clean(cfg.DataDir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		err := os.Mkdir(missing[i], 0o700)
		if errors.Is(err, fs.ErrExist) {
			continue
		} else if err != nil {
			return c, fmt.Errorf("create data dir: %w", err)
		}
		c.dirs = append([]string{missing[i]}, c.dirs...)
		c.dataDir = i == 0
	}
	return c, nil
}

// keep forgets what the start made: it is in use (a key sealed under the
// master key in it was stored elsewhere).
func (c *createdDirs) keep() { *c = createdDirs{} }

// undo removes what a failed first start put in the data dir it made (the
// database, its WAL files, the master key), then the directories it made,
// each only if empty: never what another process put there.
func (c *createdDirs) undo() {
	if c.dataDir {
		for _, name := range []string{dbFile, dbFile + "-wal", dbFile + "-shm", dbFile + "-journal", defaultMasterKeyFile} {
			os.Remove(filepath.Join(c.dirs[0], name))
		}
	}
	for _, d := range c.dirs {
		os.Remove(d)
	}
}

func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // Validate checked it
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(server.LogHandler(h))
}
