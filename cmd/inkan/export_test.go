package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

// runInkan runs a CLI command in-process and returns stdout and stderr apart.
func runInkan(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// mustExport exports the store in dir to a new file and returns its bytes.
func mustExport(t *testing.T, args ...string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "export.jsonl")
	mustInkan(t, "", append([]string{"export", "--out", path}, args...)...)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// countRows counts the users and keys of the SQLite store in dir.
func countRows(t *testing.T, dir string) (users, keys int) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	us, err := st.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ks, err := st.ListKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(us), len(ks)
}

// sourceStore makes a SQLite store with two keys and three users: one with
// an argon2id hash, one with a bcrypt hash (from the tutorial), and one
// disabled.
func sourceStore(t *testing.T) string {
	t.Helper()
	dir := dataDir(t)
	mustInkan(t, "", "keys", "generate", "--data-dir", dir)
	mustInkan(t, "", "keys", "generate", "--data-dir", dir, "--alg", "ES256")
	mustInkan(t, "alice password\n", "users", "add", "--data-dir", dir, "--email", "alice@example.com", "--name", "Alice <A&B>")
	hash, err := bcrypt.GenerateFromPassword([]byte("tutorial secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	mustInkan(t, "", "users", "add", "--data-dir", dir, "--email", "legacy@example.com", "--name", "Legacy", "--password-hash", string(hash))
	mustInkan(t, "carol password\n", "users", "add", "--data-dir", dir, "--email", "carol@example.com", "--name", "Carol")
	mustInkan(t, "", "users", "disable", "--data-dir", dir, "carol@example.com")
	return dir
}

// records splits an export into its lines, decoded.
func records(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("export line %d: %v\n%s", i+1, err, line)
		}
		recs = append(recs, m)
	}
	return recs
}

func TestExport_roundTrip(t *testing.T) {
	src := sourceStore(t)
	old := mustExport(t, "--data-dir", src)

	recs := records(t, old)
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, r["kind"].(string))
	}
	if got := strings.Join(kinds, ","); got != "key,key,user,user,user" {
		t.Fatalf("export kinds = %s, want keys first, then users", got)
	}
	if recs[2]["email"] != "alice@example.com" || recs[4]["email"] != "carol@example.com" {
		t.Errorf("users not oldest first: %v, %v", recs[2]["email"], recs[4]["email"])
	}
	if !strings.HasPrefix(recs[3]["password_hash"].(string), "$2a$") {
		t.Errorf("legacy password_hash = %v, want the bcrypt hash", recs[3]["password_hash"])
	}
	if recs[4]["disabled"] != true || recs[2]["disabled"] != false {
		t.Errorf("disabled = %v (alice), %v (carol); want false, true", recs[2]["disabled"], recs[4]["disabled"])
	}
	if !bytes.Contains(old, []byte(`"name":"Alice <A&B>"`)) {
		t.Errorf("export escapes the name:\n%s", old)
	}

	path := filepath.Join(t.TempDir(), "export.jsonl")
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	dst := dataDir(t)
	_, stderr, err := runInkan(t, "", "import", "--data-dir", dst, path)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "imported 3 users, 2 keys; skipped 0 identical") {
		t.Errorf("import summary:\n%s", stderr)
	}
	if got := mustExport(t, "--data-dir", dst); !bytes.Equal(got, old) {
		t.Errorf("export after import differs:\n%s\nwant\n%s", got, old)
	}

	t.Run("again from stdin", func(t *testing.T) {
		_, stderr, err := runInkan(t, string(old), "import", "--data-dir", dst)
		if err != nil {
			t.Fatalf("import again: %v\n%s", err, stderr)
		}
		if !strings.Contains(stderr, "imported 0 users, 0 keys; skipped 5 identical") {
			t.Errorf("import again summary:\n%s", stderr)
		}
	})

	t.Run("conflict", func(t *testing.T) {
		// Alice is gone and Carol enabled: Alice comes back, then Carol stops it.
		mustInkan(t, "", "users", "delete", "--data-dir", dst, "alice@example.com")
		mustInkan(t, "", "users", "enable", "--data-dir", dst, "carol@example.com")
		_, stderr, err := runInkan(t, "", "import", "--data-dir", dst, path)
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("import over a changed user: %v, want store.ErrConflict", err)
		}
		carolID := records(t, old)[4]["id"].(string)
		if msg := err.Error(); !strings.Contains(msg, "line 5") || !strings.Contains(msg, carolID) || !strings.Contains(msg, "disabled") {
			t.Errorf("import error %q does not name line 5, Carol's id and the field", msg)
		}
		if !strings.Contains(stderr, "imported 1 users, 0 keys; skipped 3 identical") || !strings.Contains(stderr, "stay written") {
			t.Errorf("import stopped midway; summary:\n%s", stderr)
		}
	})

	t.Run("email of another user", func(t *testing.T) {
		other := dataDir(t)
		mustInkan(t, "pw-8char-other\n", "users", "add", "--data-dir", other, "--email", "legacy@example.com", "--name", "Other")
		_, stderr, err := runInkan(t, "", "import", "--data-dir", other, path)
		if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "another user") {
			t.Fatalf("import over a taken email: %v\n%s", err, stderr)
		}
	})
}

// A bad line anywhere stops the import before it writes anything.
func TestImport_badLines(t *testing.T) {
	good := records(t, mustExport(t, "--data-dir", sourceStore(t)))
	key, otherKey, user := good[0], good[1], good[2]
	with := func(rec map[string]any, field string, value any) string { return jsonLine(edit(rec, field, value)) }
	line := func(rec map[string]any) string { return jsonLine(rec) }

	tests := []struct {
		name string
		bad  string // put on line 3, after a good key and a good user
		want string
	}{
		{"unknown kind", with(user, "kind", "group"), `unknown kind "group"`},
		{"not json", `{"kind":"user",`, "not a JSON object"},
		{"not an object", `["user"]`, "not a JSON object"},
		{"bad email", with(user, "email", "not-an-email"), "email"},
		{"malformed hash", with(user, "password_hash", "$2b$99$nope"), "password_hash"},
		{"plaintext password", with(user, "password_hash", "hunter2hunter2"), "password_hash"},
		{"missing field", with(user, "disabled", nil), `"disabled" is required`},
		{"null field", with(user, "name", json.RawMessage("null")), `"name" is required`},
		{"unknown field", with(user, "role", "admin"), `unknown field "role"`},
		{"wrong case field", with(edit(user, "email", nil), "Email", user["email"]), `unknown field "Email"`},
		{"bad id", with(user, "id", "alice"), "UUID"},
		{"bad time", with(user, "created_at", "yesterday"), "created_at"},
		{"duplicate email", with(user, "id", "00000000-0000-4000-8000-000000000000"), "on line 2 already"},
		{"kid mismatch", with(otherKey, "kid", key["kid"]), "thumbprint"},
		{"bad base64", with(key, "private_key", "not base64!"), "base64"},
		{"not a key", with(key, "private_key", "AAAA"), "private_key"},
		{"alg of another key type", with(otherKey, "alg", "EdDSA"), "EdDSA"},
		{"too long", with(user, "name", strings.Repeat("x", maxLineBytes)), "longer than"},
		{"invalid utf-8", strings.Replace(line(user), `"name":"`, "\"name\":\"\xff", 1), "not valid UTF-8"},
		{"nul in email", with(user, "email", "a\x00b@example.com"), "control characters"},
	}
	dir := dataDir(t)
	mustInkan(t, "", "migrate", "--data-dir", dir)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := strings.Join([]string{line(otherKey), line(user), tc.bad, line(key)}, "\n") + "\n"
			out, err := inkan(t, file, "import", "--data-dir", dir)
			if err == nil {
				t.Fatalf("import of a bad line succeeded:\n%s", out)
			}
			if msg := err.Error(); !strings.Contains(msg, "line 3: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("import error = %q, want it to name line 3 and mention %q", msg, tc.want)
			}
			if u, k := countRows(t, dir); u != 0 || k != 0 {
				t.Errorf("after a refused import the store holds %d users and %d keys, want none", u, k)
			}
			if _, err := os.Stat(filepath.Join(dir, defaultMasterKeyFile)); err == nil {
				t.Errorf("a refused import made a master key")
			}
		})
	}
}

// edit returns a copy of rec with field set to value, or deleted for nil.
func edit(rec map[string]any, field string, value any) map[string]any {
	m := map[string]any{}
	for k, v := range rec {
		m[k] = v
	}
	if value == nil {
		delete(m, field)
	} else {
		m[field] = value
	}
	return m
}

func jsonLine(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

func TestExport_outFile(t *testing.T) {
	dir := sourceStore(t)
	path := filepath.Join(t.TempDir(), "export.jsonl")
	mustInkan(t, "", "export", "--data-dir", dir, "--out", path)
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("export --out: mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := inkan(t, "", "export", "--data-dir", dir, "--out", path); err == nil || !strings.Contains(out+err.Error(), "exists") {
		t.Errorf("export --out over an existing file = %v\n%s\nwant a refusal", err, out)
	}
	if data, _ := os.ReadFile(path); string(data) != "keep me" {
		t.Errorf("export --out changed an existing file: %q", data)
	}

	// Without the master key, sealed keys cannot be exported.
	if err := os.Remove(filepath.Join(dir, defaultMasterKeyFile)); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.jsonl")
	if _, err := inkan(t, "", "export", "--data-dir", dir, "--out", other); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Errorf("export without the master key = %v, want an error about it", err)
	}
	if _, err := os.Stat(other); err == nil {
		t.Errorf("a failed export left %s", other)
	}
	if _, err := os.Stat(filepath.Join(dir, defaultMasterKeyFile)); err == nil {
		t.Errorf("export made a master key")
	}
}

func TestMigrate(t *testing.T) {
	dir := dataDir(t)
	for range 2 {
		out := mustInkan(t, "", "migrate", "--data-dir", dir)
		if !strings.Contains(out, "up to date") || strings.Count(out, "\n") != 1 {
			t.Errorf("migrate printed %q, want one line saying the schema is up to date", out)
		}
	}
	if u, k := countRows(t, dir); u != 0 || k != 0 {
		t.Errorf("migrate wrote %d users and %d keys", u, k)
	}
}

// Export reads a store; it never makes an empty one from a mistyped path.
func TestExport_noStore(t *testing.T) {
	dir := dataDir(t)
	if out, err := inkan(t, "", "export", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Errorf("export of a missing data dir = %v\n%s\nwant an error", err, out)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("export made the data dir %s", dir)
	}
}

func TestExport_help(t *testing.T) {
	for _, cmd := range []string{"migrate", "export", "import"} {
		out, err := inkan(t, "", cmd, "--help")
		if err != nil || !strings.HasPrefix(out, "Usage: inkan "+cmd) || !strings.Contains(out, "--database") {
			t.Errorf("inkan %s --help = %v\n%s", cmd, err, out)
		}
	}
	if out := mustInkan(t, "", "help"); !strings.Contains(out, "\n  export") || !strings.Contains(out, "\n  import") || !strings.Contains(out, "\n  migrate") {
		t.Errorf("inkan help lacks the new commands:\n%s", out)
	}
	out, _ := inkan(t, "", "import", "--help")
	if !strings.Contains(out, "written") {
		t.Errorf("import --help does not warn that a failure can leave rows written:\n%s", out)
	}
}

// The move the export is for: a server on SQLite, exported, imported into
// PostgreSQL, and a server there with the old issuer: every user logs in
// with the old password and the old tokens still verify.
func TestExport_moveToPostgres(t *testing.T) {
	url := pgtest.Database(t)
	src := dataDir(t)
	hash, _ := bcrypt.GenerateFromPassword([]byte("tutorial secret"), bcrypt.MinCost)
	mustInkan(t, "", "users", "add", "--data-dir", src, "--email", "legacy@example.com", "--name", "Legacy", "--password-hash", string(hash))
	p := startInkan(t, src, nil)
	users := map[string]string{
		"alice@example.com":  "alice password",
		"bob@example.com":    "bob password",
		"legacy@example.com": "tutorial secret",
	}
	p.register(t, "Alice", "alice@example.com", users["alice@example.com"])
	p.register(t, "Bob", "bob@example.com", users["bob@example.com"])
	p.register(t, "Dan", "dan@example.com", "dan password")
	tokens := map[string]string{}
	for email, pw := range users {
		tokens[email] = p.login(t, email, pw)
	}
	if err := p.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}
	mustInkan(t, "", "users", "disable", "--data-dir", src, "dan@example.com")

	path := filepath.Join(t.TempDir(), "export.jsonl")
	_, stderr, err := runInkan(t, "", "export", "--data-dir", src, "--out", path)
	if err != nil || !strings.Contains(stderr, "exported 4 users and 1 keys") {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	out := mustInkan(t, "", "migrate", "--database", url)
	if !strings.Contains(out, "up to date") || strings.Count(out, "\n") != 1 {
		t.Errorf("migrate printed %q, want one line saying the schema is up to date", out)
	}
	dst := dataDir(t) // holds the master key the imported keys are sealed with
	_, stderr, err = runInkan(t, "", "import", "--database", url, "--data-dir", dst, path)
	if err != nil || !strings.Contains(stderr, "imported 4 users, 1 keys; skipped 0 identical") {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if got := mustExport(t, "--database", url, "--data-dir", dst); !bytes.Equal(got, mustRead(t, path)) {
		t.Errorf("export of PostgreSQL differs from the SQLite export:\n%s\nwant\n%s", got, mustRead(t, path))
	}

	q := startInkan(t, dst, nil, "--database", url, "--issuer", p.base)
	for email, pw := range users {
		if code := q.me(t, tokens[email]); code != 200 {
			t.Errorf("%s's token from the SQLite server: GET /user = %d, want 200", email, code)
		}
		q.login(t, email, pw)
	}
	code, _, _ := call(t, "POST", q.base+"/user/_authenticate", "", "Authorization", basicAuth("dan@example.com", "dan password"))
	if code != 401 {
		t.Errorf("disabled user's login after the move = %d, want 401", code)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
