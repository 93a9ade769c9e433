package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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

// switchMasterKey puts the new master key, in the file next, where the
// servers look for it after keys rekey re-sealed the keys under it, or says
// exactly what to change. inkan replaces only the file it makes itself,
// <data-dir>/master.key: INKAN_MASTER_KEY and --master-key-file belong to
// the deployment (a secret store, a mounted file), and other replicas read
// their own copy.
func switchMasterKey(std stdio, cfg config.Config, next string) error {
	source, inDataDir := cfg.MasterKeySource(std.getenv)
	const restart = "then restart every server of the database: until then a server keeps serving the keys it loaded, adds none, and logs one error saying so"
	switch {
	case source == config.MasterKeyEnv:
		fmt.Fprintf(std.out, "the old master key came from %s: set %s to the content of %s wherever it is set (every server), %s\n",
			config.MasterKeyEnv, config.MasterKeyEnv, next, restart)
	case !inDataDir:
		fmt.Fprintf(std.out, "the old master key came from --master-key-file %s: put the content of %s in that file on every server "+
			"(or point --master-key-file or INKAN_MASTER_KEY_FILE at %s), %s\n", source, next, next, restart)
	default:
		if err := replaceFile(source, next); err != nil {
			return fmt.Errorf("the keys are re-sealed under the master key in %s, but putting it in %s failed: copy it there (mode 0600) yourself: %w", next, source, err)
		}
		fmt.Fprintf(std.out, "wrote the new master key to %s, where the servers of --data-dir %s find it; %s\n", source, cfg.DataDir, restart)
		if cfg.Database != "" {
			fmt.Fprintf(std.out, "servers of this database elsewhere need it too: give them the content of %s in %s or --master-key-file\n", next, config.MasterKeyEnv)
		}
	}
	fmt.Fprintln(std.out, "backups of the database made before now open only with the old master key: keep a copy of it (apart from them) as long as you keep them")
	return nil
}

// replaceFile replaces dst with the content of src, atomically (a
// temporary file of mode 0600 renamed over dst), unless they are one file.
func replaceFile(dst, src string) error {
	if a, err := os.Stat(dst); err == nil {
		if b, err := os.Stat(src); err == nil && os.SameFile(a, b) {
			return nil
		}
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}

// cliLogger logs the CLI's few messages (a generated master key, sealing)
// to stderr.
func cliLogger(std stdio) *slog.Logger {
	return slog.New(slog.NewTextHandler(std.errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
