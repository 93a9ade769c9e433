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

	"golang.org/x/term"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
)

// The export format is JSON Lines: one object a line, its "kind" first
// (see records.go). Keys come first, then users, clients and consents, each
// oldest first, so that exporting the same data always gives the same bytes.

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

// formatOptionalTime is formatTime, or "" for the zero time: the value of
// an omitempty time field that is unset.
func formatOptionalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

// parseOptionalTime is parseTime, or the zero time for "".
func parseOptionalTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return parseTime(field, s)
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

const exportSynopsis = `export [--out FILE] [flags]

Writes every signing key, user, OAuth client, remembered consent and token
revocation as JSON Lines, for "inkan import": to move from SQLite to
PostgreSQL (or back), or to back up. Sessions, codes and refresh tokens stay
behind: after a move, users sign in again. The file holds the private keys in plaintext, the password
hashes and the clients' secret hashes: --out creates it mode 0600 and never
overwrites a file. Keep it safe, delete it after use.
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
	data, counts, err := exportStore(ctx, std, cfg, st)
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
	fmt.Fprintf(std.errOut, "exported %s\n", counts)
	return nil
}

// counts counts rows by kind.
type counts map[string]int

// String lists the counts in export order: "2 keys, 3 users, 0 clients and
// 0 consents".
func (c counts) String() string {
	var parts []string
	for _, k := range kindOrder {
		parts = append(parts, fmt.Sprintf("%d %ss", c[k], k))
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// exportStore renders the store's keys, users, clients and consents as
// JSON Lines.
func exportStore(ctx context.Context, std stdio, cfg config.Config, st store.Store) ([]byte, counts, error) {
	rows, err := st.ListKeys(ctx)
	if err != nil {
		return nil, nil, err
	}
	m := &keys.Manager{Store: st}
	if slices.ContainsFunc(rows, func(k store.SigningKey) bool { return keys.IsSealed(k.PrivateKey) }) {
		if m.Sealer, err = storedSealer(std, cfg); err != nil {
			return nil, nil, err
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
		return nil, nil, err
	}
	slices.SortStableFunc(users, func(a, b store.User) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	clients, err := st.ListClients(ctx)
	if err != nil {
		return nil, nil, err
	}
	slices.SortStableFunc(clients, func(a, b store.Client) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	consents, err := st.ListConsents(ctx)
	if err != nil {
		return nil, nil, err
	}
	slices.SortStableFunc(consents, func(a, b store.Consent) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		if c := strings.Compare(a.UserID, b.UserID); c != 0 {
			return c
		}
		return strings.Compare(a.ClientID, b.ClientID)
	})

	revocations, err := st.ListRevocations(ctx, now())
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(revocations, func(a, b store.Revocation) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, k := range rows {
		priv, err := m.Open(k)
		if err != nil {
			return nil, nil, err
		}
		der, err := keys.MarshalPKCS8(priv)
		if err != nil {
			return nil, nil, fmt.Errorf("key %s: %w", k.ID, err)
		}
		if err := enc.Encode(toKeyRecord(k, der)); err != nil {
			return nil, nil, err
		}
	}
	for _, u := range users {
		if err := enc.Encode(toUserRecord(u)); err != nil {
			return nil, nil, err
		}
	}
	for _, c := range clients {
		if err := enc.Encode(toClientRecord(c)); err != nil {
			return nil, nil, err
		}
	}
	for _, c := range consents {
		if err := enc.Encode(toConsentRecord(c)); err != nil {
			return nil, nil, err
		}
	}
	for _, r := range revocations {
		if err := enc.Encode(toRevocationRecord(r)); err != nil {
			return nil, nil, err
		}
	}
	n := counts{kindKey: len(rows), kindUser: len(users), kindClient: len(clients), kindConsent: len(consents), kindRevocation: len(revocations)}
	return buf.Bytes(), n, nil
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
		return nil, fmt.Errorf("the signing keys are sealed and no master key opens them: %s is unset, --master-key-file not given and %s missing",
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
absent, and adds the signing keys, users, OAuth clients, consents and
revocations to the store as they were: ids, password hashes, client secret
hashes, settings, times and the disabled flag are kept, so users log in with
their passwords, clients authenticate with their secrets, consents need not
be given again, tokens signed before keep verifying on a server with the
same --issuer (the keys keep their kids) and revoked ones stay refused. An
export of an earlier release (keys and users only) imports too.

Every line is checked before anything is written, clients by the rules of
"clients add": a bad file writes nothing. A row already stored (by kid, id,
client id, or user and client for a consent) is skipped when identical, so
import can run again; when it differs (or a user's email belongs to another
user) import stops with a conflict naming it. A revocation is merged: the
later expiry stays. Such a stop, or a database
failure, can leave the lines before it written: the summary says how many.
Fix the cause and run import again; the rows written are skipped.

The keys are sealed under this store's master key, and import says which
key that is: INKAN_MASTER_KEY, --master-key-file, or, for SQLite only,
<data-dir>/master.key, made if missing. Importing keys into PostgreSQL
needs INKAN_MASTER_KEY or --master-key-file, the key every server of the
database uses.`

// importKey is a validated key line, ready to write.
type importKey struct {
	line int
	row  store.SigningKey // PrivateKey is the plaintext PKCS#8 DER
	priv crypto.Signer
}

// importRow is a validated line of another kind, ready to write.
type importRow[T any] struct {
	line int
	row  T
}

// importFile is a whole checked export.
type importFile struct {
	keys     []importKey
	users    []importRow[store.User]
	clients  []importRow[store.Client]
	consents []importRow[store.Consent]
	revoked  []importRow[store.Revocation]
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
	file, err := readExport(r)
	if err != nil {
		if name == "-" {
			name = "stdin"
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	// A master key found or made in the data dir of the machine that runs
	// import is, for a shared database, one that no server may have.
	if path, inDataDir := cfg.MasterKeySource(std.getenv); len(file.keys) > 0 && cfg.Database != "" && inDataDir {
		return fmt.Errorf("%w: importing signing keys into PostgreSQL seals them under the master key every server of the database uses: "+
			"give it in %s or --master-key-file (refusing to use %s, the default of --data-dir, for it)", errUsage, config.MasterKeyEnv, path)
	}

	// The file is good: only now touch the store.
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	sum := importSummary{written: counts{}}
	err = writeImport(ctx, std, cfg, st, file, &sum)
	if err != nil {
		if sum.total() > 0 {
			fmt.Fprintf(std.errOut, "import stopped: %s before the failure; those rows stay written: fix the cause and run import again, which skips them\n", sum)
		} else {
			fmt.Fprintf(std.errOut, "import stopped: nothing was written (%d identical rows skipped)\n", sum.skipped)
		}
		return err
	}
	fmt.Fprintln(std.errOut, sum.String())
	return nil
}

type importSummary struct {
	written counts
	skipped int
}

func (s importSummary) total() int {
	n := 0
	for _, c := range s.written {
		n += c
	}
	return n
}

func (s importSummary) String() string {
	return fmt.Sprintf("imported %s; skipped %d identical", s.written, s.skipped)
}

// readExport reads and checks every line of an export. It reports up to
// maxProblems bad lines, each by number.
func readExport(r io.Reader) (importFile, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes+2) // room for "\r\n"
	var (
		f        importFile
		problems []error
		seen     = map[string]int{} // kind and key of a row → its line
		emails   = map[string]int{}
		n        int
	)
	bad := func(line int, format string, a ...any) {
		problems = append(problems, fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, a...)))
	}
	// first records the row's key, reporting a duplicate.
	first := func(kind, what, key string) bool {
		if line, dup := seen[kind+"\x00"+key]; dup {
			bad(n, "%s is on line %d already", what, line)
			return false
		}
		seen[kind+"\x00"+key] = n
		return true
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
			} else if first(kind, "key "+k.row.ID, k.row.ID) {
				k.line = n
				f.keys = append(f.keys, k)
			}
		case kindUser:
			u, err := parseUserRecord(line)
			switch {
			case err != nil:
				bad(n, "user: %v", err)
			case emails[u.Email] != 0:
				bad(n, "user email %s is on line %d already", u.Email, emails[u.Email])
			case first(kind, "user "+u.ID, u.ID):
				emails[u.Email] = n
				f.users = append(f.users, importRow[store.User]{n, u})
			}
		case kindClient:
			c, err := parseClientRecord(line)
			if err != nil {
				bad(n, "client: %v", err)
			} else if first(kind, "client "+c.ID, c.ID) {
				f.clients = append(f.clients, importRow[store.Client]{n, c})
			}
		case kindConsent:
			c, err := parseConsentRecord(line)
			if err != nil {
				bad(n, "consent: %v", err)
			} else if first(kind, "the consent of user "+c.UserID+" to client "+c.ClientID, c.UserID+"\x00"+c.ClientID) {
				f.consents = append(f.consents, importRow[store.Consent]{n, c})
			}
		case kindRevocation:
			r, err := parseRevocationRecord(line)
			if err != nil {
				bad(n, "revocation: %v", err)
			} else if first(kind, "the revocation of "+r.Kind+" "+r.Value, r.Kind+"\x00"+r.Value) {
				f.revoked = append(f.revoked, importRow[store.Revocation]{n, r})
			}
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		bad(n+1, "longer than %d bytes", maxLineBytes)
	} else if err != nil {
		return importFile{}, err
	}
	if len(problems) >= maxProblems {
		problems = append(problems, fmt.Errorf("stopped checking after %d bad lines", maxProblems))
	}
	if len(problems) > 0 {
		return importFile{}, fmt.Errorf("nothing imported:\n%w", errors.Join(problems...))
	}
	return f, nil
}

// kindFields holds each kind's fields, by json name, and whether they are
// required (see records.go).
var kindFields = func() map[string]map[string]bool {
	m := map[string]map[string]bool{}
	for kind, t := range recordTypes {
		m[kind] = recordFields(t)
	}
	return m
}()

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
	fields, ok := kindFields[kind]
	if !ok {
		return "", fmt.Errorf("unknown kind %q (want one of %s)", kind, strings.Join(kindOrder, ", "))
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

func toKeyRecord(k store.SigningKey, der []byte) keyRecord {
	return keyRecord{
		Kind: kindKey, KID: k.ID, Alg: k.Algorithm,
		PrivateKey: base64.StdEncoding.EncodeToString(der),
		CreatedAt:  formatTime(k.CreatedAt), ActivatedAt: formatTime(k.ActivatedAt),
		RevokedAt: formatOptionalTime(k.RevokedAt),
	}
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
	if row.RevokedAt, err = parseOptionalTime("revoked_at", rec.RevokedAt); err != nil {
		return importKey{}, fmt.Errorf("%s: %w", rec.KID, err)
	}
	return importKey{row: row, priv: priv}, nil
}

func parseUserRecord(line []byte) (store.User, error) {
	var rec userRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return store.User{}, err
	}
	if err := checkUserID(rec.ID); err != nil {
		return store.User{}, fmt.Errorf("id %w", err)
	}
	u, err := fromUserRecord(rec)
	if err == nil {
		err = checkUser(u)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("%s: %w", rec.ID, err)
	}
	return u, nil
}

func parseClientRecord(line []byte) (store.Client, error) {
	var rec clientRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return store.Client{}, err
	}
	c, err := fromClientRecord(rec)
	if err == nil {
		err = checkClient(c)
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("%q: %w", rec.ClientID, err)
	}
	return c, nil
}

func parseConsentRecord(line []byte) (store.Consent, error) {
	var rec consentRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return store.Consent{}, err
	}
	c, err := fromConsentRecord(rec)
	if err == nil {
		err = checkConsent(c)
	}
	if err != nil {
		return store.Consent{}, fmt.Errorf("of user %s to client %q: %w", rec.UserID, rec.ClientID, err)
	}
	return c, nil
}

func parseRevocationRecord(line []byte) (store.Revocation, error) {
	var rec revocationRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return store.Revocation{}, err
	}
	r, err := fromRevocationRecord(rec)
	if err == nil {
		err = checkRevocation(r)
	}
	if err != nil {
		return store.Revocation{}, fmt.Errorf("%s %q: %w", rec.Type, rec.Value, err)
	}
	return r, nil
}

// writeImport writes the file's rows in export order, counting in sum.
func writeImport(ctx context.Context, std stdio, cfg config.Config, st store.Store, f importFile, sum *importSummary) error {
	if err := checkReferences(ctx, st, f); err != nil {
		return err
	}
	// written counts a created row, skips an identical one, and names
	// the line of any other outcome.
	written := func(kind string, line int, what string, err error, same func() error) error {
		if errors.Is(err, store.ErrConflict) {
			if err = same(); err == nil {
				sum.skipped++
				return nil
			}
		}
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", line, what, err)
		}
		sum.written[kind]++
		return nil
	}
	if len(f.keys) > 0 {
		mk, err := loadMasterKey(std, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(std.errOut, "sealing the signing keys under %s\n", mk)
		m, err := newManager(ctx, cfg, st, mk, cliLogger(std))
		if err != nil {
			return err
		}
		for _, k := range f.keys {
			row := k.row
			row.PrivateKey = m.Sealer.Seal(row.ID, row.Algorithm, k.row.PrivateKey)
			err := st.CreateKey(ctx, row)
			if err := written(kindKey, k.line, "key "+k.row.ID, err, func() error { return sameKey(ctx, m, k) }); err != nil {
				return err
			}
		}
	}
	for _, u := range f.users {
		err := st.CreateUser(ctx, u.row)
		what := fmt.Sprintf("user %s (%s)", u.row.ID, u.row.Email)
		if err := written(kindUser, u.line, what, err, func() error { return sameUser(ctx, st, u.row) }); err != nil {
			return err
		}
	}
	for _, c := range f.clients {
		err := st.CreateClient(ctx, c.row)
		same := func() error {
			old, err := st.GetClient(ctx, c.row.ID)
			if err != nil {
				return err
			}
			return differs(toClientRecord(old), toClientRecord(c.row))
		}
		if err := written(kindClient, c.line, "client "+c.row.ID, err, same); err != nil {
			return err
		}
	}
	for _, c := range f.consents {
		// PutConsent replaces: look first, so that a stored consent that
		// differs is a conflict, as for every other kind.
		old, err := st.GetConsent(ctx, c.row.UserID, c.row.ClientID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			err = st.PutConsent(ctx, c.row)
		case err == nil:
			err = fmt.Errorf("stored already: %w", store.ErrConflict)
		}
		same := func() error { return differs(toConsentRecord(old), toConsentRecord(c.row)) }
		what := fmt.Sprintf("consent of user %s to client %s", c.row.UserID, c.row.ClientID)
		if err := written(kindConsent, c.line, what, err, same); err != nil {
			return err
		}
	}
	if len(f.revoked) > 0 {
		// Revoking merges (the later expiry stays), so a revocation is
		// never a conflict: one stored already, as late, is skipped.
		stored, err := st.ListRevocations(ctx, time.Time{})
		if err != nil {
			return err
		}
		until := map[string]time.Time{}
		for _, r := range stored {
			until[r.Kind+"\x00"+r.Value] = r.ExpiresAt
		}
		for _, r := range f.revoked {
			if t, ok := until[r.row.Kind+"\x00"+r.row.Value]; ok && !t.Before(r.row.ExpiresAt) {
				sum.skipped++
				continue
			}
			if err := st.Revoke(ctx, r.row); err != nil {
				return fmt.Errorf("line %d: revocation of %s %s: %w", r.line, r.row.Kind, r.row.Value, err)
			}
			sum.written[kindRevocation]++
		}
	}
	return nil
}

// checkReferences checks, before anything is written, that every consent's
// user and client is in the file or already in the store.
func checkReferences(ctx context.Context, st store.Store, f importFile) error {
	users, clients := map[string]bool{}, map[string]bool{}
	for _, u := range f.users {
		users[u.row.ID] = true
	}
	for _, c := range f.clients {
		clients[c.row.ID] = true
	}
	var problems []error
	for _, c := range f.consents {
		if !users[c.row.UserID] {
			if _, err := st.GetUser(ctx, c.row.UserID); errors.Is(err, store.ErrNotFound) {
				problems = append(problems, fmt.Errorf("line %d: consent: user %s is neither in the file nor in the store", c.line, c.row.UserID))
			} else if err != nil {
				return err
			}
		}
		if !clients[c.row.ClientID] {
			if _, err := st.GetClient(ctx, c.row.ClientID); errors.Is(err, store.ErrNotFound) {
				problems = append(problems, fmt.Errorf("line %d: consent: client %s is neither in the file nor in the store", c.line, c.row.ClientID))
			} else if err != nil {
				return err
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing imported:\n%w", errors.Join(problems...))
	}
	return nil
}

// differs returns nil when two records are equal, and otherwise a conflict
// naming the fields in which the stored one (old) differs.
func differs[R any](old, imported R) error {
	if diff := differing(old, imported); len(diff) > 0 {
		return fmt.Errorf("differs from the stored one in %s: %w", strings.Join(diff, ", "), store.ErrConflict)
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
	priv, err := m.Open(old)
	if err != nil {
		return err
	}
	// The private keys compare as keys, not as encodings.
	a, b := toKeyRecord(old, nil), toKeyRecord(k.row, nil)
	if eq, ok := priv.(interface{ Equal(crypto.PrivateKey) bool }); !ok || !eq.Equal(k.priv) {
		b.PrivateKey = "differs"
	}
	return differs(a, b)
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
	return differs(toUserRecord(old), toUserRecord(u))
}
