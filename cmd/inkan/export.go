package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/term"

	"github.com/inkan-dev/inkan/internal/backup"
	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/keys"
)

const exportSynopsis = `export [--out FILE] [flags]

Writes every signing key, user, second factor (confirmed TOTPs, unused
recovery codes, passkeys), OAuth client, remembered consent and token
revocation as JSON Lines, for "inkan import": to move from SQLite to
PostgreSQL (or back), or to back up. Sessions, codes, refresh tokens and
TOTP enrolments not yet confirmed stay behind: after a move, users sign in
again. The file holds the private keys and the TOTP secrets in plaintext,
the password hashes, the recovery codes' hashes and the clients' secret
hashes: --out creates it mode 0600 and never overwrites a file. Keep it
safe, delete it after use.
Sealed keys and TOTP secrets are opened with the master key:
INKAN_MASTER_KEY, --master-key-file, or <data-dir>/master.key.
Stop the servers first: changes made during the export may be missed.`

func exportCmd(ctx context.Context, std stdio, args []string) error {
	cfg := config.Default()
	var out string
	fs := newFlags(std, "export", exportSynopsis)
	cfg.Register(fs, config.StoreSettings...)
	cfg.Register(fs, config.FlagMasterKeyFile)
	fs.StringVar(&out, "out", "", "write to FILE (created mode 0600; an existing file is refused) instead of stdout")
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) != 0 {
		fs.Usage()
		return fmt.Errorf("%w: export takes no arguments", errUsage)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if out != "" {
		if _, err := os.Lstat(out); err == nil {
			return fmt.Errorf("%s exists: refusing to overwrite it", out)
		}
	}
	if cfg.Database == "" { // export never makes an empty store to export
		if path := filepath.Join(cfg.DataDir, dbFile); !fileExists(path) {
			return fmt.Errorf("no database at %s: wrong --data-dir?", path)
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	// Collect the whole export first: a failure must leave no file.
	var data bytes.Buffer
	counts, err := backup.Export(ctx, st, &data, backup.ExportOptions{
		Sealer: func(context.Context) (*keys.Sealer, error) { return storedSealer(std, cfg) },
		Now:    time.Now,
	})
	if err != nil {
		return err
	}
	if out == "" {
		if _, err := std.out.Write(data.Bytes()); err != nil {
			return err
		}
	} else if err := writeNewFile(out, data.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(std.errOut, "exported %s\n", counts)
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// defaultMasterKeyFile is the master key's file in --data-dir when neither
// INKAN_MASTER_KEY nor --master-key-file gives it (see config.LoadMasterKey).
const defaultMasterKeyFile = "master.key"

// storedSealer returns the Sealer of the configured master key. Unlike
// openKeys it never makes a master key: a new one could not open the keys,
// and export writes nothing to the data dir.
func storedSealer(std stdio, cfg config.Config) (*keys.Sealer, error) {
	if path, inDataDir := cfg.MasterKeySource(std.getenv); inDataDir && !fileExists(path) {
		return nil, fmt.Errorf("the signing keys and TOTP secrets are sealed and no master key opens them: %s is unset, --master-key-file not given and %s missing",
			config.MasterKeyEnv, path)
	}
	mk, err := loadMasterKey(std, cfg)
	return mk.sealer, err
}

// writeNewFile writes data to a new file of mode 0600, refusing to
// overwrite one, and removes what it wrote if writing fails.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: refusing to overwrite it", path)
	} else if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

const importSynopsis = `import [FILE] [flags]

Reads what "inkan export" wrote, from FILE, or stdin when FILE is "-" or
absent, and adds the signing keys, users, second factors, OAuth clients,
consents and revocations to the store as they were: ids, password hashes,
client secret hashes, settings, times and the disabled flag are kept, so
users log in with their passwords and second factors (TOTP, recovery codes,
passkeys), clients authenticate with their secrets, consents need not be
given again, tokens signed before keep verifying on a server with the same
--issuer (the keys keep their kids) and revoked ones stay refused. An
export of an earlier release (keys and users only) imports too.

Every line is checked before anything is written, clients by the rules of
"clients add": a bad file writes nothing. A row already stored (by kid, id,
client id, or user and client for a consent) is skipped when identical, so
import can run again; when it differs (or a user's email belongs to another
user) import stops with a conflict naming it. A revocation is merged: the
later expiry stays. Such a stop, or a database
failure, can leave the lines before it written: the summary says how many.
Fix the cause and run import again; the rows written are skipped.

The keys and TOTP secrets are sealed under this store's master key, and
import says which key that is: INKAN_MASTER_KEY, --master-key-file, or, for
SQLite only, <data-dir>/master.key, made if missing. Importing keys or
TOTPs into PostgreSQL needs INKAN_MASTER_KEY or --master-key-file, the key
every server of the database uses.`

func importCmd(ctx context.Context, std stdio, args []string) error {
	cfg := config.Default()
	fs := newFlags(std, "import", importSynopsis)
	cfg.Register(fs, config.StoreSettings...)
	cfg.Register(fs, config.FlagMasterKeyFile)
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) > 1 {
		fs.Usage()
		return fmt.Errorf("%w: import takes at most one FILE, got %d", errUsage, len(pos))
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	name := "-"
	if len(pos) == 1 {
		name = pos[0]
	}
	r := std.in
	if name == "-" {
		if f, ok := std.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return fmt.Errorf("%w: import reads an export from FILE or stdin, and stdin is a terminal", errUsage)
		}
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	file, err := backup.Read(r)
	if err != nil {
		if name == "-" {
			name = "stdin"
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	// A master key found or made in the data dir of the machine that runs
	// import is, for a shared database, one that no server may have.
	sealed := file.Counts().Keys > 0 || file.Counts().TOTPs > 0
	if path, inDataDir := cfg.MasterKeySource(std.getenv); sealed && cfg.Database != "" && inDataDir {
		return fmt.Errorf("%w: importing signing keys or TOTPs into PostgreSQL seals them under the master key every server of the database uses: "+
			"give it in %s or --master-key-file (refusing to use %s, the default of --data-dir, for it)", errUsage, config.MasterKeyEnv, path)
	}

	// The file is good: only now touch the store.
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	sum, err := backup.Import(ctx, st, file, backup.ImportOptions{
		Sealer: func(ctx context.Context) (*keys.Sealer, error) {
			mk, err := loadMasterKey(std, cfg)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(std.errOut, "sealing the signing keys and TOTP secrets under %s\n", mk)
			m, err := newManager(ctx, cfg, st, mk, cliLogger(std))
			if err != nil {
				return nil, err
			}
			return m.Sealer, nil
		},
	})
	if err != nil {
		if sum.Written.Total() > 0 {
			fmt.Fprintf(std.errOut, "import stopped: %s before the failure; those rows stay written: fix the cause and run import again, which skips them\n", sum)
		} else {
			fmt.Fprintf(std.errOut, "import stopped: nothing was written (%d identical rows skipped)\n", sum.Skipped)
		}
		return err
	}
	fmt.Fprintln(std.errOut, sum.String())
	return nil
}
