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

// masterKey is the configured master key and where it came from.
type masterKey struct {
	sealer    *keys.Sealer
	source    string // config.MasterKeyEnv, or the path of the key's file
	inDataDir bool   // the default <data-dir>/master.key, not chosen by the operator
	generated bool   // made by this run
}

// String names the key and where it came from, for the operator.
func (k masterKey) String() string {
	switch {
	case k.generated:
		return "a new master key, generated at " + k.source
	case k.source == config.MasterKeyEnv:
		return "the master key in " + config.MasterKeyEnv
	case k.inDataDir:
		return "the master key in " + k.source + " (the default, in --data-dir)"
	}
	return "the master key in " + k.source
}

// loadMasterKey loads the configured master key (see
// config.LoadMasterKey, which makes <data-dir>/master.key when no key is
// configured and that file is missing).
func loadMasterKey(std stdio, cfg config.Config) (masterKey, error) {
	text, source, generated, err := cfg.LoadMasterKey(std.getenv, keys.NewMasterKey)
	if err != nil {
		return masterKey{}, err
	}
	_, inDataDir := cfg.MasterKeySource(std.getenv)
	mk := masterKey{source: source, inDataDir: inDataDir, generated: generated}
	master, err := keys.ParseMasterKey(text)
	if err != nil {
		return mk, fmt.Errorf("master key from %s: %w", source, err)
	}
	mk.sealer, err = keys.NewSealer(master)
	return mk, err
}

// openKeys returns the key manager of st under the configured master key
// (see newManager).
func openKeys(ctx context.Context, std stdio, cfg config.Config, st store.Store, logger *slog.Logger) (*keys.Manager, error) {
	mk, err := loadMasterKey(std, cfg)
	if err != nil {
		return nil, err
	}
	return newManager(ctx, cfg, st, mk, logger)
}

// newManager returns the key manager of st under mk. It seals any key a
// release before sealing left in plaintext (and compacts a SQLite file so
// that none remains on disk), and fails, saying so, when the master key
// cannot open the stored keys.
func newManager(ctx context.Context, cfg config.Config, st store.Store, mk masterKey, logger *slog.Logger) (*keys.Manager, error) {
	if mk.generated {
		logger.WarnContext(ctx, "generated a master key for the signing keys; production should supply its own through "+
			config.MasterKeyEnv+" or --master-key-file, and every replica must share it", "file", mk.source)
	}
	m := &keys.Manager{
		Store:  st,
		Sealer: mk.sealer,
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
		return nil, fmt.Errorf("%w (master key from %s)", err, mk.source)
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

// cliLogger logs the CLI's few messages (a generated master key, sealing)
// to stderr.
func cliLogger(std stdio) *slog.Logger {
	return slog.New(slog.NewTextHandler(std.errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
