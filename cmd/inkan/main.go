// Command inkan is an identity provider and token service: one binary that
// serves the HTTP API and administers users and signing keys.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "inkan:", err)
		os.Exit(exitCode(err))
	}
}

// errUsage marks a usage mistake: exit status 2, as the flag package uses.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// stdio bundles the process's standard streams, so that tests can run commands
// in-process.
type stdio struct {
	in          io.Reader
	out, errOut io.Writer
	getenv      func(string) string
}

// run executes one command line (without the program name) by the
// command table.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	std := stdio{in: stdin, out: stdout, errOut: stderr, getenv: getenv}
	return commands.dispatch(ctx, std, "", args)
}

// newFlags makes a command's flag set, whose --help prints synopsis, then
// the flags with their environment variables.
func newFlags(std stdio, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(std.errOut)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: inkan %s\n", synopsis)
		has := false
		fs.VisitAll(func(*flag.Flag) { has = true })
		if !has {
			return
		}
		fmt.Fprintln(w, "\nFlags:")
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(w, "  --%s", f.Name)
			if name, _ := flag.UnquoteUsage(f); name != "" {
				fmt.Fprintf(w, " %s", name)
			}
			_, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "\n      %s", usage)
			// A usage that states its own default (one that depends on the
			// machine, such as cores - 1) is not followed by this one's.
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && !strings.Contains(usage, "default") {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			if config.IsRegistered(fs, f.Name) {
				fmt.Fprintf(w, " [$%s]", config.EnvName(f.Name))
			}
			fmt.Fprintln(w)
		})
	}
	return fs
}

// parse parses a command's flags and environment. --help is reported as
// errHelp, which the caller returns as success.
func parse(std stdio, fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard) // the usage goes to stdout for --help, stderr otherwise
	pos, err := config.Parse(fs, args, std.getenv)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(std.out)
		fs.Usage()
		return nil, errHelp
	}
	fs.SetOutput(std.errOut)
	if err != nil {
		fs.Usage()
		return nil, fmt.Errorf("%w: %s: %w", errUsage, fs.Name(), err)
	}
	return pos, nil
}

// checkIdentifier refuses an identifier argument (an email, a user or
// client id, a kid) that no store row can hold, with a usage error rather
// than the database's: see plaintext.Valid.
func checkIdentifier(what, arg string) error {
	if !plaintext.Valid(arg) {
		return fmt.Errorf("%w: %s %q holds control characters or invalid UTF-8", errUsage, what, arg)
	}
	return nil
}

// errHelp ends a command successfully after printing its help.
var errHelp = errors.New("help shown")

func helpOK(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// dbFile is the SQLite database inside --data-dir.
const dbFile = "inkan.db"

// openStore opens the configured database, applying pending migrations:
// PostgreSQL when --database is a postgres:// URL, otherwise the SQLite
// database in --data-dir, creating the directory (mode 0700) on first use.
func openStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	if cfg.Database != "" {
		return postgres.Open(ctx, cfg.Database)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(cfg.DataDir, dbFile))
}
