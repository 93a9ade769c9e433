package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/server"
	"github.com/inkan-dev/inkan/internal/store/cache"
)

// keyReloadInterval is how often the server looks for key and user changes
// made by other processes (the CLI, other replicas); they must show within 2 s.
const keyReloadInterval = time.Second

// shutdownTimeout bounds how long in-flight requests may take to finish.
const shutdownTimeout = 30 * time.Second

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
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	logger := newLogger(std.errOut, cfg)

	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	st := cache.New(db, logger)
	if err := st.Refresh(ctx); err != nil {
		return err
	}
	if kid, err := keys.EnsureKey(ctx, st, time.Now()); err != nil {
		return fmt.Errorf("create signing key: %w", err)
	} else if kid != "" {
		logger.InfoContext(ctx, "created signing key", "kid", kid, "alg", keys.RS256)
	}
	keySet, err := keys.NewSet(ctx, st, logger)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	issuer := cfg.IssuerFor(ln.Addr())
	srv, err := server.New(ctx, server.Options{
		Issuer:    issuer,
		TokenTTL:  cfg.TokenTTL,
		Signup:    cfg.Signup,
		Store:     st,
		Keys:      keySet,
		Passwords: password.New(password.Default, max(1, runtime.GOMAXPROCS(0))),
		Logger:    logger,
	})
	if err != nil {
		ln.Close()
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
	go keySet.Run(reloadCtx, keyReloadInterval)
	go st.Run(reloadCtx, keyReloadInterval)

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
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	stopReload()
	if err := st.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	logger.Info("stopped")
	return nil
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
