package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/config"
)

const migrateSynopsis = `migrate [flags]

Applies the pending database migrations (serve, users, keys and import do
too, on opening the store) and exits: run it before starting new servers
against a shared PostgreSQL database, or to check that it is reachable.`

func migrateCmd(ctx context.Context, std stdio, args []string) error {
	cfg := config.Default()
	fs := newFlags(std, "migrate", migrateSynopsis)
	cfg.Register(fs, config.StoreSettings...)
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) != 0 {
		fs.Usage()
		return fmt.Errorf("%w: migrate takes no arguments", errUsage)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	emails, err := account.NormalizeStoredEmails(ctx, st, time.Now)
	if err != nil {
		st.Close()
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	fmt.Fprintf(std.out, "the database schema of %s is up to date\n", describeStore(cfg))
	for _, l := range emails.Lines() {
		fmt.Fprintln(std.out, l)
	}
	return nil
}

// describeStore names the configured database without its credentials.
func describeStore(cfg config.Config) string {
	if cfg.Database == "" {
		return "SQLite " + filepath.Join(cfg.DataDir, dbFile)
	}
	u, err := url.Parse(cfg.Database)
	if err != nil {
		return "PostgreSQL"
	}
	return "PostgreSQL " + u.Host + u.Path
}
