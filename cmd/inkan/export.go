package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/term"

	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/server"
	"github.com/inkan-dev/inkan/internal/store"
)

// The export format is JSON Lines: one object a line, its "kind" first.
// Keys come first, then users, each oldest first, so that exporting the
// same data always gives the same bytes. Times are RFC 3339 in UTC.
const (
	kindUser = "user"
	kindKey  = "key"
)

// userRecord is a "user" line.
type userRecord struct {
	Kind         string `json:"kind"`
	ID           string `json:"id"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	PasswordHash string `json:"password_hash"`
	Disabled     bool   `json:"disabled"`
	// EmailVerified is optional on import (earlier exports lack it).
	EmailVerified bool   `json:"email_verified,omitempty"`
	CreatedAt     string `json:"created_at"`
	UpdatedAt     string `json:"updated_at"`
}

// keyRecord is a "key" line. PrivateKey is the PKCS#8 DER in standard
// base64: in plaintext, so that the file can move to a store sealed under
// another master key. RevokedAt is present only for a revoked key.
type keyRecord struct {
	Kind        string `json:"kind"`
	KID         string `json:"kid"`
	Alg         string `json:"alg"`
	PrivateKey  string `json:"private_key"`
	CreatedAt   string `json:"created_at"`
	ActivatedAt string `json:"activated_at"`
	RevokedAt   string `json:"revoked_at,omitempty"`
}

// recordFields lists each kind's fields and whether they are required.
var recordFields = map[string]map[string]bool{
	kindUser: {"kind": true, "id": true, "name": true, "email": true, "password_hash": true,
		"disabled": true, "email_verified": false, "created_at": true, "updated_at": true},
	kindKey: {"kind": true, "kid": true, "alg": true, "private_key": true,
		"created_at": true, "activated_at": true, "revoked_at": false},
}

// maxLineBytes bounds one line of an import file.
const maxLineBytes = 1 << 20

// maxProblems is how many bad lines import reports before giving up.
const maxProblems = 20

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// parseTime reads an RFC 3339 time at the stores' precision (microseconds,
// UTC).
func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time", field, s)
	}
	return t.UTC().Truncate(time.Microsecond), nil
}

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
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	emails, err := normalizeEmails(ctx, st)
	if err != nil {
		st.Close()
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	fmt.Fprintf(std.out, "the database schema of %s is up to date\n", describeStore(cfg))
	for _, l := range emails.lines() {
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

const exportSynopsis = `export [--out FILE] [flags]

Writes every signing key and every user as JSON Lines, for "inkan import":
to move from SQLite to PostgreSQL (or back), or to back up. The file holds
the private keys in plaintext and the password hashes: --out creates it
mode 0600 and never overwrites a file. Keep it safe, delete it after use.
Sealed keys are opened with the master key: INKAN_MASTER_KEY,
--master-key-file, or <data-dir>/master.key.
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
		return fmt.Errorf("%w: %v", errUsage, err)
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
	data, nUsers, nKeys, err := exportStore(ctx, std, cfg, st)
	if err != nil {
		return err
	}
	if out == "" {
		if _, err := std.out.Write(data); err != nil {
			return err
		}
	} else if err := writeNewFile(out, data); err != nil {
		return err
	}
	fmt.Fprintf(std.errOut, "exported %d users and %d keys\n", nUsers, nKeys)
	return nil
}

// exportStore renders the store's keys and users as JSON Lines.
func exportStore(ctx context.Context, std stdio, cfg config.Config, st store.Store) ([]byte, int, int, error) {
	rows, err := st.ListKeys(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	m := &keys.Manager{Store: st}
	if slices.ContainsFunc(rows, func(k store.SigningKey) bool { return keys.IsSealed(k.PrivateKey) }) {
		if m.Sealer, err = storedSealer(std, cfg); err != nil {
			return nil, 0, 0, err
		}
	}
	slices.SortFunc(rows, func(a, b store.SigningKey) int {
		if c := a.ActivatedAt.Compare(b.ActivatedAt); c != 0 {
			return c
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	users, err := st.ListUsers(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	slices.SortStableFunc(users, func(a, b store.User) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, k := range rows {
		priv, err := m.Open(k)
		if err != nil {
			return nil, 0, 0, err
		}
		der, err := keys.MarshalPKCS8(priv)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("key %s: %w", k.ID, err)
		}
		rec := keyRecord{
			Kind: kindKey, KID: k.ID, Alg: k.Algorithm,
			PrivateKey: base64.StdEncoding.EncodeToString(der),
			CreatedAt:  formatTime(k.CreatedAt), ActivatedAt: formatTime(k.ActivatedAt),
		}
		if !k.RevokedAt.IsZero() {
			rec.RevokedAt = formatTime(k.RevokedAt)
		}
		if err := enc.Encode(rec); err != nil {
			return nil, 0, 0, err
		}
	}
	for _, u := range users {
		err := enc.Encode(userRecord{
			Kind: kindUser, ID: u.ID, Name: u.Name, Email: u.Email, PasswordHash: u.PasswordHash,
			Disabled: u.Disabled, EmailVerified: u.EmailVerified, CreatedAt: formatTime(u.CreatedAt), UpdatedAt: formatTime(u.UpdatedAt),
		})
		if err != nil {
			return nil, 0, 0, err
		}
	}
	return buf.Bytes(), len(users), len(rows), nil
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
	if std.getenv(config.MasterKeyEnv) == "" && cfg.MasterKeyFile == "" {
		path := filepath.Join(cfg.DataDir, defaultMasterKeyFile)
		if !fileExists(path) {
			return nil, fmt.Errorf("the signing keys are sealed and no master key opens them: %s is unset, --master-key-file not given and %s missing",
				config.MasterKeyEnv, path)
		}
	}
	s, _, _, err := loadSealer(std, cfg)
	return s, err
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
absent, and adds the signing keys and users to the store as they were: ids,
password hashes, times and the disabled flag are kept, so users log in with
their passwords, and tokens signed before keep verifying on a server with
the same --issuer (the keys keep their kids).

Every line is checked before anything is written: a bad file writes nothing.
A key or user whose kid or id is already stored is skipped when identical,
so import can run again; when it differs (or its email belongs to another
user) import stops with a conflict naming it. Such a stop, or a database
failure, can leave the lines before it written: the summary says how many.
Fix the cause and run import again; the rows written are skipped.

The keys are sealed under this store's master key: INKAN_MASTER_KEY,
--master-key-file, or <data-dir>/master.key, made if missing. Every server
of the store needs the same master key.`

// importKey and importUser are validated lines, ready to write.
type importKey struct {
	line int
	row  store.SigningKey // PrivateKey is the plaintext PKCS#8 DER
	priv crypto.Signer
}

type importUser struct {
	line int
	user store.User
}

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
		return fmt.Errorf("%w: %v", errUsage, err)
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
	ks, us, err := readExport(r)
	if err != nil {
		if name == "-" {
			name = "stdin"
		}
		return fmt.Errorf("%s: %w", name, err)
	}

	// The file is good: only now touch the store.
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	var sum importSummary
	err = writeImport(ctx, std, cfg, st, ks, us, &sum)
	if err != nil {
		if sum.users+sum.keys > 0 {
			fmt.Fprintf(std.errOut, "import stopped: %s before the failure; those rows stay written: fix the cause and run import again, which skips them\n", sum)
		} else {
			fmt.Fprintf(std.errOut, "import stopped: nothing was written (%d identical rows skipped)\n", sum.skipped)
		}
		return err
	}
	fmt.Fprintln(std.errOut, sum.String())
	return nil
}

type importSummary struct{ users, keys, skipped int }

func (s importSummary) String() string {
	return fmt.Sprintf("imported %d users, %d keys; skipped %d identical", s.users, s.keys, s.skipped)
}

// readExport reads and checks every line of an export. It reports up to
// maxProblems bad lines, each by number.
func readExport(r io.Reader) ([]importKey, []importUser, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes+2) // room for "\r\n"
	var (
		ks       []importKey
		us       []importUser
		problems []error
		kids     = map[string]int{} // → line
		ids      = map[string]int{}
		emails   = map[string]int{}
		n        int
	)
	bad := func(line int, format string, a ...any) {
		problems = append(problems, fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, a...)))
	}
	for sc.Scan() && len(problems) < maxProblems {
		n++
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if len(line) > maxLineBytes {
			bad(n, "longer than %d bytes", maxLineBytes)
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !utf8.Valid(line) { // the JSON decoder would make U+FFFD of it
			bad(n, "not valid UTF-8")
			continue
		}
		kind, err := checkFields(line)
		if err != nil {
			bad(n, "%v", err)
			continue
		}
		switch kind {
		case kindKey:
			k, err := parseKeyRecord(line)
			if err != nil {
				bad(n, "key: %v", err)
				continue
			}
			if first, dup := kids[k.row.ID]; dup {
				bad(n, "key %s is on line %d already", k.row.ID, first)
				continue
			}
			kids[k.row.ID] = n
			k.line = n
			ks = append(ks, k)
		case kindUser:
			u, err := parseUserRecord(line)
			if err != nil {
				bad(n, "user: %v", err)
				continue
			}
			if first, dup := ids[u.ID]; dup {
				bad(n, "user %s is on line %d already", u.ID, first)
				continue
			}
			if first, dup := emails[u.Email]; dup {
				bad(n, "user email %s is on line %d already", u.Email, first)
				continue
			}
			ids[u.ID], emails[u.Email] = n, n
			us = append(us, importUser{line: n, user: u})
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		bad(n+1, "longer than %d bytes", maxLineBytes)
	} else if err != nil {
		return nil, nil, err
	}
	if len(problems) >= maxProblems {
		problems = append(problems, fmt.Errorf("stopped checking after %d bad lines", maxProblems))
	}
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("nothing imported:\n%w", errors.Join(problems...))
	}
	return ks, us, nil
}

// checkFields checks that line is one JSON object with a known kind, the
// kind's required fields, non-null, and no other field (names match
// exactly, unlike encoding/json's), and returns the kind.
func checkFields(line []byte) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return "", fmt.Errorf("not a JSON object: %v", err)
	}
	var kind string
	if raw, ok := obj["kind"]; !ok {
		return "", errors.New(`no "kind"`)
	} else if err := json.Unmarshal(raw, &kind); err != nil {
		return "", fmt.Errorf(`"kind" is not a string: %s`, raw)
	}
	fields, ok := recordFields[kind]
	if !ok {
		return "", fmt.Errorf("unknown kind %q (want %q or %q)", kind, kindKey, kindUser)
	}
	for name := range obj {
		if _, ok := fields[name]; !ok {
			return "", fmt.Errorf("%s: unknown field %q", kind, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		raw, ok := obj[name]
		if fields[name] && (!ok || string(raw) == "null") {
			return "", fmt.Errorf("%s: %q is required", kind, name)
		}
	}
	return kind, nil
}

func parseKeyRecord(line []byte) (importKey, error) {
	var rec keyRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return importKey{}, err
	}
	if rec.KID == "" {
		return importKey{}, errors.New(`"kid" is empty`)
	}
	der, err := base64.StdEncoding.Strict().DecodeString(rec.PrivateKey)
	if err != nil {
		return importKey{}, fmt.Errorf("%s: private_key is not standard base64", rec.KID)
	}
	priv, err := keys.ParsePKCS8(der)
	if err != nil {
		return importKey{}, fmt.Errorf("%s: private_key: %w", rec.KID, err)
	}
	if err := keys.CheckAlgorithm(priv.Public(), rec.Alg); err != nil {
		return importKey{}, fmt.Errorf("%s: %w", rec.KID, err)
	}
	if kid, err := keys.Thumbprint(priv.Public()); err != nil {
		return importKey{}, fmt.Errorf("%s: %w", rec.KID, err)
	} else if kid != rec.KID {
		return importKey{}, fmt.Errorf("kid %s is not the thumbprint of its key (%s)", rec.KID, kid)
	}
	// Store the canonical encoding, whatever produced the file.
	if der, err = keys.MarshalPKCS8(priv); err != nil {
		return importKey{}, fmt.Errorf("%s: %w", rec.KID, err)
	}
	row := store.SigningKey{ID: rec.KID, Algorithm: rec.Alg, PrivateKey: der}
	if row.CreatedAt, err = parseTime("created_at", rec.CreatedAt); err != nil {
		return importKey{}, fmt.Errorf("%s: %w", rec.KID, err)
	}
	if row.ActivatedAt, err = parseTime("activated_at", rec.ActivatedAt); err != nil {
		return importKey{}, fmt.Errorf("%s: %w", rec.KID, err)
	}
	if rec.RevokedAt != "" {
		if row.RevokedAt, err = parseTime("revoked_at", rec.RevokedAt); err != nil {
			return importKey{}, fmt.Errorf("%s: %w", rec.KID, err)
		}
	}
	return importKey{row: row, priv: priv}, nil
}

func parseUserRecord(line []byte) (store.User, error) {
	var rec userRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return store.User{}, err
	}
	if id, err := uuid.Parse(rec.ID); err != nil || id.String() != rec.ID {
		return store.User{}, fmt.Errorf("id %q is not a UUID in canonical form", rec.ID)
	}
	u := store.User{ID: rec.ID, Name: rec.Name, Email: server.NormalizeEmail(rec.Email), PasswordHash: rec.PasswordHash, Disabled: rec.Disabled, EmailVerified: rec.EmailVerified}
	if p := server.CheckName(u.Name); p != nil {
		return store.User{}, fmt.Errorf("%s: name: %s", u.ID, p.Msg)
	}
	if p := server.CheckEmail(u.Email); p != nil {
		return store.User{}, fmt.Errorf("%s: email: %s", u.ID, p.Msg)
	}
	if err := password.Check(u.PasswordHash); err != nil {
		return store.User{}, fmt.Errorf("%s: password_hash: %v", u.ID, err)
	}
	var err error
	if u.CreatedAt, err = parseTime("created_at", rec.CreatedAt); err != nil {
		return store.User{}, fmt.Errorf("%s: %w", u.ID, err)
	}
	if u.UpdatedAt, err = parseTime("updated_at", rec.UpdatedAt); err != nil {
		return store.User{}, fmt.Errorf("%s: %w", u.ID, err)
	}
	return u, nil
}

// writeImport creates the keys, then the users, counting in sum.
func writeImport(ctx context.Context, std stdio, cfg config.Config, st store.Store, ks []importKey, us []importUser, sum *importSummary) error {
	if len(ks) > 0 {
		m, err := openKeys(ctx, std, cfg, st, cliLogger(std))
		if err != nil {
			return err
		}
		for _, k := range ks {
			row := k.row
			row.PrivateKey = m.Sealer.Seal(row.ID, row.Algorithm, k.row.PrivateKey)
			err := st.CreateKey(ctx, row)
			if errors.Is(err, store.ErrConflict) {
				err = sameKey(ctx, m, k)
				if err == nil {
					sum.skipped++
					continue
				}
			}
			if err != nil {
				return fmt.Errorf("line %d: key %s: %w", k.line, k.row.ID, err)
			}
			sum.keys++
		}
	}
	for _, iu := range us {
		u := iu.user
		err := st.CreateUser(ctx, u)
		if errors.Is(err, store.ErrConflict) {
			err = sameUser(ctx, st, u)
			if err == nil {
				sum.skipped++
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("line %d: user %s (%s): %w", iu.line, u.ID, u.Email, err)
		}
		sum.users++
	}
	return nil
}

// sameKey reports, as nil, whether the stored key of k's kid is k, and
// otherwise a conflict naming what differs.
func sameKey(ctx context.Context, m *keys.Manager, k importKey) error {
	old, err := m.Store.GetKey(ctx, k.row.ID)
	if err != nil {
		return err
	}
	var diff []string
	if old.Algorithm != k.row.Algorithm {
		diff = append(diff, "alg")
	}
	if !old.CreatedAt.Equal(k.row.CreatedAt) {
		diff = append(diff, "created_at")
	}
	if !old.ActivatedAt.Equal(k.row.ActivatedAt) {
		diff = append(diff, "activated_at")
	}
	if !old.RevokedAt.Equal(k.row.RevokedAt) {
		diff = append(diff, "revoked_at")
	}
	if len(diff) == 0 {
		priv, err := m.Open(old)
		if err != nil {
			return err
		}
		eq, ok := priv.(interface{ Equal(crypto.PrivateKey) bool })
		if !ok || !eq.Equal(k.priv) {
			diff = append(diff, "private_key")
		}
	}
	if len(diff) > 0 {
		return fmt.Errorf("differs from the stored one in %s: %w", strings.Join(diff, ", "), store.ErrConflict)
	}
	return nil
}

// sameUser reports, as nil, whether the stored user of u's id is u, and
// otherwise a conflict naming what differs.
func sameUser(ctx context.Context, st store.Store, u store.User) error {
	old, err := st.GetUser(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		other, err := st.GetUserByEmail(ctx, u.Email)
		if err != nil {
			return fmt.Errorf("the id or email is taken: %w", store.ErrConflict)
		}
		return fmt.Errorf("the email belongs to another user, %s: %w", other.ID, store.ErrConflict)
	} else if err != nil {
		return err
	}
	var diff []string
	if old.Name != u.Name {
		diff = append(diff, "name")
	}
	if old.Email != u.Email {
		diff = append(diff, "email")
	}
	if old.PasswordHash != u.PasswordHash {
		diff = append(diff, "password_hash")
	}
	if old.Disabled != u.Disabled {
		diff = append(diff, "disabled")
	}
	if old.EmailVerified != u.EmailVerified {
		diff = append(diff, "email_verified")
	}
	if !old.CreatedAt.Equal(u.CreatedAt) {
		diff = append(diff, "created_at")
	}
	if !old.UpdatedAt.Equal(u.UpdatedAt) {
		diff = append(diff, "updated_at")
	}
	if len(diff) > 0 {
		return fmt.Errorf("differs from the stored one in %s: %w", strings.Join(diff, ", "), store.ErrConflict)
	}
	return nil
}
