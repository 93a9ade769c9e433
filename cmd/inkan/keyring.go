package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/server"
	"github.com/inkan-dev/inkan/internal/store"
)

// reloadInterval is how often a server looks for key and user changes made
// by other processes (the CLI, other replicas): a revoked key or a disabled
// user is refused within it. Each look is one small query.
const reloadInterval = 250 * time.Millisecond

// openKeys returns the key manager of st under the configured master key.
// It seals any key a release before sealing left in plaintext (and compacts
// a SQLite file so that none remains on disk), and fails, saying so, when
// the master key cannot open the stored keys.
func openKeys(ctx context.Context, std stdio, cfg config.Config, st store.Store, logger *slog.Logger) (*keys.Manager, error) {
	sealer, source, generated, err := loadSealer(std, cfg)
	if err != nil {
		return nil, err
	}
	if generated {
		logger.WarnContext(ctx, "generated a master key for the signing keys; production should supply its own through "+
			config.MasterKeyEnv+" or --master-key-file, and every replica must share it", "file", source)
	}
	m := &keys.Manager{
		Store:  st,
		Sealer: sealer,
		Schedule: keys.Schedule{
			MaxAge:       cfg.JWKSMaxAge,
			TokenTTL:     cfg.TokenTTL,
			Leeway:       server.Leeway,
			PublishDelay: reloadInterval,
		},
		Algorithm: cfg.SigningAlg,
		Logger:    logger,
	}
	if err := m.CheckOpen(ctx); err != nil {
		return nil, fmt.Errorf("%w (master key from %s)", err, source)
	}
	n, err := m.SealPlaintext(ctx)
	if err != nil {
		return nil, fmt.Errorf("seal plaintext keys: %w", err)
	}
	if n > 0 {
		if c, ok := st.(interface{ Compact(context.Context) error }); ok {
			if err := c.Compact(ctx); err != nil {
				return nil, err
			}
		}
		logger.InfoContext(ctx, "sealed signing keys stored in plaintext by an earlier release", "keys", n)
	}
	return m, nil
}

// loadSealer returns the Sealer of the configured master key and where the
// key came from (see config.LoadMasterKey, which may make one).
func loadSealer(std stdio, cfg config.Config) (s *keys.Sealer, source string, generated bool, err error) {
	text, source, generated, err := cfg.LoadMasterKey(std.getenv, keys.NewMasterKey)
	if err != nil {
		return nil, "", false, err
	}
	master, err := keys.ParseMasterKey(text)
	if err != nil {
		return nil, "", false, fmt.Errorf("master key from %s: %w", source, err)
	}
	s, err = keys.NewSealer(master)
	return s, source, generated, err
}

// cliLogger logs the CLI's few messages (a generated master key, sealing)
// to stderr.
func cliLogger(std stdio) *slog.Logger {
	return slog.New(slog.NewTextHandler(std.errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
