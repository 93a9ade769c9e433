package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/inkan-dev/inkan/internal/backup"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

// runInkan runs a CLI command in-process and returns stdout and stderr apart.
func runInkan(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runInkanEnv(t, nil, stdin, args...)
}

// runInkanEnv is runInkan with environment variables.
func runInkanEnv(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errOut)
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

// sourceStore makes a SQLite store with two keys, three users (one with an
// argon2id hash, one with a bcrypt hash from the tutorial, and one
// disabled), two OAuth clients (a confidential one with every setting, and
// a public one), Alice's consent to the first and a revoked jti. It returns the data dir
// and the confidential client's secret.
func sourceStore(t *testing.T) (string, string) {
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
	web := mustAddClient(t, dir, "--name", "Web <App>", "--redirect-uri", "https://app.example.com/cb,http://127.0.0.1/cb",
		"--post-logout-redirect-uri", "https://app.example.com/bye", "--grant", "authorization_code,refresh_token,client_credentials",
		"--scope", "openid,email,api:read", "--audience", "https://api.example.com", "--trusted")
	mustAddClient(t, dir, "--name", "CLI", "--public", "--redirect-uri", "com.example.app:/cb")
	mustPutConsent(t, dir, "alice@example.com", web.ClientID, "openid", "email")
	withStore(t, dir, func(st store.Store) {
		r := store.Revocation{Kind: "jti", Value: "revoked-jti", ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)}
		if err := st.Revoke(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	})
	return dir, web.ClientSecret
}

// mustPutConsent stores a user's consent to a client in the SQLite store
// in dir, as the consent page does.
func mustPutConsent(t *testing.T, dir, email, clientID string, scopes ...string) {
	t.Helper()
	withStore(t, dir, func(st store.Store) {
		ctx := context.Background()
		u, err := st.GetUserByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		c := store.Consent{UserID: u.ID, ClientID: clientID, Scopes: scopes, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
		if err := st.PutConsent(ctx, c); err != nil {
			t.Fatal(err)
		}
	})
}

// withStore runs fn on the SQLite store in dir.
func withStore(t *testing.T, dir string, fn func(store.Store)) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fn(st)
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
	src, secret := sourceStore(t)
	old := mustExport(t, "--data-dir", src)

	recs := records(t, old)
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, r["kind"].(string))
	}
	if got := strings.Join(kinds, ","); got != "key,key,user,user,user,client,client,consent,revocation" {
		t.Fatalf("export kinds = %s, want keys, users, clients, consents, then revocations", got)
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
	web, cli, consent := recs[5], recs[6], recs[7]
	webID := web["client_id"].(string)
	stored := mustGetClient(t, src, webID)
	wantWeb := map[string]any{
		"name": "Web <App>", "secret_hash": base64.StdEncoding.EncodeToString(stored.SecretHash), "public": false, "trusted": true,
		"redirect_uris": []any{"https://app.example.com/cb", "http://127.0.0.1/cb"}, "post_logout_redirect_uris": []any{"https://app.example.com/bye"},
		"grant_types": []any{"authorization_code", "refresh_token", "client_credentials"}, "scopes": []any{"openid", "email", "api:read"},
		"audience": []any{"https://api.example.com"}, "created_at": backup.FormatTime(stored.CreatedAt), "updated_at": backup.FormatTime(stored.UpdatedAt),
	}
	for field, want := range wantWeb {
		if !equalJSON(web[field], want) {
			t.Errorf("client %s = %v, want %v", field, web[field], want)
		}
	}
	if cli["public"] != true || cli["secret_hash"] != "" || !equalJSON(cli["audience"], []any{}) {
		t.Errorf("public client record = %v, want public, no secret hash, an empty audience", cli)
	}
	if consent["user_id"] != recs[2]["id"] || consent["client_id"] != webID || !equalJSON(consent["scopes"], []any{"openid", "email"}) {
		t.Errorf("consent record = %v, want Alice's to %s for openid, email", consent, webID)
	}
	if rv := recs[8]; rv["type"] != "jti" || rv["value"] != "revoked-jti" {
		t.Errorf("revocation record = %v, want the revoked jti", rv)
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
	if !strings.Contains(stderr, "imported 2 keys, 3 users, 0 TOTPs, 0 recovery codes, 0 passkeys, 2 clients, 1 consents and 1 revocations; skipped 0 identical") {
		t.Errorf("import summary:\n%s", stderr)
	}
	if got := mustExport(t, "--data-dir", dst); !bytes.Equal(got, old) {
		t.Errorf("export after import differs:\n%s\nwant\n%s", got, old)
	}
	if err := oauth2.Authenticate(mustGetClient(t, dst, webID), basicCred(webID, secret)); err != nil {
		t.Errorf("the imported client does not authenticate with its secret: %v", err)
	}

	t.Run("again from stdin", func(t *testing.T) {
		_, stderr, err := runInkan(t, string(old), "import", "--data-dir", dst)
		if err != nil {
			t.Fatalf("import again: %v\n%s", err, stderr)
		}
		if !strings.Contains(stderr, "imported 0 keys, 0 users, 0 TOTPs, 0 recovery codes, 0 passkeys, 0 clients, 0 consents and 0 revocations; skipped 9 identical") {
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
		if !strings.Contains(stderr, "imported 0 keys, 1 users, 0 TOTPs, 0 recovery codes, 0 passkeys, 0 clients, 0 consents and 0 revocations; skipped 3 identical") || !strings.Contains(stderr, "stay written") {
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

// A client or consent stored already is skipped when identical and stops
// the import, naming the line and the field, when it differs.
func TestImport_clientConflicts(t *testing.T) {
	src, _ := sourceStore(t)
	path := filepath.Join(t.TempDir(), "export.jsonl")
	mustInkan(t, "", "export", "--data-dir", src, "--out", path)
	recs := records(t, mustRead(t, path))
	webID := recs[5]["client_id"].(string)
	tests := []struct {
		name   string
		change func(dir string)
		want   []string
	}{
		{"secret rotated", func(dir string) { mustInkan(t, "", "clients", "rotate-secret", "--data-dir", dir, webID) },
			[]string{"line 6", "client " + webID, "secret_hash", "updated_at"}},
		{"consent widened", func(dir string) { mustPutConsent(t, dir, "alice@example.com", webID, "openid", "email", "api:read") },
			[]string{"line 8", "consent of user " + recs[2]["id"].(string), "scopes", "created_at"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := dataDir(t)
			mustInkan(t, "", "import", "--data-dir", dir, path)
			tc.change(dir)
			_, stderr, err := runInkan(t, "", "import", "--data-dir", dir, path)
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("import over a changed row = %v, want store.ErrConflict\n%s", err, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("import error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// import says which master key seals the keys it imports.
func TestImport_masterKeySource(t *testing.T) {
	const file = "testdata/export-keys-users.jsonl"
	dir := dataDir(t)
	mk := masterKeyFile(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"generated", nil, []string{"--data-dir", dir}, "under a new master key, generated at " + filepath.Join(dir, "master.key") + "\n"},
		{"found in the data dir", nil, []string{"--data-dir", dir}, "under the master key in " + filepath.Join(dir, "master.key") + " (the default, in --data-dir)\n"},
		{"file", nil, []string{"--data-dir", dataDir(t), "--master-key-file", mk}, "under the master key in " + mk + "\n"},
		{"environment", map[string]string{"INKAN_MASTER_KEY": keys.NewMasterKey()}, []string{"--data-dir", dataDir(t)}, "under the master key in INKAN_MASTER_KEY\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := runInkanEnv(t, tc.env, "", append([]string{"import", file}, tc.args...)...)
			if err != nil || !strings.Contains(stderr, "sealing the signing keys and TOTP secrets "+tc.want) {
				t.Errorf("import: %v; stderr:\n%s\nwant it to say it is sealing %q", err, stderr, tc.want)
			}
		})
	}
}

// A revocation is merged, never a conflict: the later expiry stays.
func TestImport_revocationsMerge(t *testing.T) {
	src, _ := sourceStore(t)
	path := filepath.Join(t.TempDir(), "export.jsonl")
	mustInkan(t, "", "export", "--data-dir", src, "--out", path)
	exported, _ := time.Parse(time.RFC3339Nano, records(t, mustRead(t, path))[8]["expires_at"].(string))
	tests := []struct {
		name    string
		stored  time.Duration // the stored revocation's expiry, from the exported one's
		summary string
		want    time.Duration
	}{
		{"stored earlier", -time.Minute, "1 revocations; skipped 8 identical", 0},
		{"stored later", time.Minute, "0 revocations; skipped 9 identical", time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := dataDir(t)
			mustInkan(t, "", "import", "--data-dir", dir, path)
			withStore(t, dir, func(st store.Store) {
				ctx := context.Background()
				// Only the janitor removes revocations: drop it by expiring it in the past, then the stored one.
				if _, err := st.DeleteExpiredGrants(ctx, exported.Add(time.Hour), 100); err != nil {
					t.Fatal(err)
				}
				if err := st.Revoke(ctx, store.Revocation{Kind: "jti", Value: "revoked-jti", ExpiresAt: exported.Add(tc.stored)}); err != nil {
					t.Fatal(err)
				}
			})
			_, stderr, err := runInkan(t, "", "import", "--data-dir", dir, path)
			if err != nil || !strings.Contains(stderr, tc.summary) {
				t.Fatalf("import over a stored revocation: %v\n%s\nwant %q", err, stderr, tc.summary)
			}
			withStore(t, dir, func(st store.Store) {
				rs, err := st.ListRevocations(context.Background(), time.Time{})
				if err != nil || len(rs) != 1 || !rs[0].ExpiresAt.Equal(exported.Add(tc.want)) {
					t.Errorf("revocations after the import = %v, %v; want one expiring at %v", rs, err, exported.Add(tc.want))
				}
			})
		})
	}
}

// An export of the release before clients and consents (and before
// email_verified) imports as it did.
func TestImport_keysAndUsersOnly(t *testing.T) {
	dir := dataDir(t)
	_, stderr, err := runInkan(t, "", "import", "--data-dir", dir, "testdata/export-keys-users.jsonl")
	if err != nil || !strings.Contains(stderr, "imported 1 keys, 2 users, 0 TOTPs, 0 recovery codes, 0 passkeys, 0 clients, 0 consents and 0 revocations; skipped 0 identical") {
		t.Fatalf("import of an old export: %v\n%s", err, stderr)
	}
	if got, want := mustExport(t, "--data-dir", dir), mustRead(t, "testdata/export-keys-users.jsonl"); !bytes.Equal(got, want) {
		t.Errorf("export after importing an old export differs:\n%s\nwant\n%s", got, want)
	}
}

// A bad line anywhere stops the import before it writes anything.
func TestImport_badLines(t *testing.T) {
	src, _ := sourceStore(t)
	good := records(t, mustExport(t, "--data-dir", src))
	key, otherKey, user, client, consent, revocation := good[0], good[1], good[2], good[5], good[7], good[8]
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
		{"duplicate key", line(otherKey), "on line 1 already"},
		{"kid mismatch", with(otherKey, "kid", key["kid"]), "thumbprint"},
		{"bad base64", with(key, "private_key", "not base64!"), "base64"},
		{"not a key", with(key, "private_key", "AAAA"), "private_key"},
		{"alg of another key type", with(otherKey, "alg", "EdDSA"), "EdDSA"},
		{"too long", with(user, "name", strings.Repeat("x", backup.MaxLineBytes)), "longer than"},
		{"invalid utf-8", strings.Replace(line(user), `"name":"`, "\"name\":\"\xff", 1), "not valid UTF-8"},
		{"nul in email", with(user, "email", "a\x00b@example.com"), "control characters"},

		// Clients are checked by the rules of clients add.
		{"client redirect with fragment", with(client, "redirect_uris", []any{"https://app.example.com/cb#x"}), "--redirect-uri \"https://app.example.com/cb#x\": has a fragment"},
		{"client http redirect", with(client, "redirect_uris", []any{"http://app.example.com/cb"}), "loopback"},
		{"client bad post-logout", with(client, "post_logout_redirect_uris", []any{"/bye"}), "--post-logout-redirect-uri"},
		{"client unknown grant", with(client, "grant_types", []any{"implicit"}), "not a grant type"},
		{"client bad scope", with(client, "scopes", []any{"a\\b"}), "not a scope token"},
		{"client empty audience", with(client, "audience", []any{""}), "--audience: empty"},
		{"client http back-channel logout", with(client, "backchannel_logout_uri", "http://app.example.com/bc"), "--backchannel-logout-uri"},
		{"user bad tokens_valid_after", with(user, "tokens_valid_after", "yesterday"), "tokens_valid_after"},
		{"client long name", with(client, "name", strings.Repeat("n", 65)), "at most 64"},
		{"client no grants", with(client, "grant_types", []any{}), "grant_types: clients add would store it otherwise"},
		{"client name with spaces", with(client, "name", " Web "), "name: clients add would store it otherwise"},
		{"public client with secret", with(client, "public", true), "a public client has no secret"},
		{"confidential client without secret", with(client, "secret_hash", ""), "secret_hash: 0 bytes"},
		{"client secret not base64", with(client, "secret_hash", "!!"), "base64"},
		{"client bad id", with(client, "client_id", "a b"), "client_id"},
		{"client missing field", with(client, "trusted", nil), `"trusted" is required`},
		{"consent bad user", with(consent, "user_id", "alice"), "UUID"},
		{"consent bad scope", with(consent, "scopes", []any{"open id"}), "scope tokens"},
		{"consent scope twice", with(consent, "scopes", []any{"openid", "openid"}), "scope tokens"},
		{"consent of an unknown client", line(consent), "client " + client["client_id"].(string) + " is neither in the file nor in the store"},
		{"revocation of an odd type", with(revocation, "type", "JTI"), "not a revocation type"},
		{"revocation of nothing", with(revocation, "value", ""), "value"},
		{"revocation without expiry", with(revocation, "expires_at", nil), `"expires_at" is required`},
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
	dir, _ := sourceStore(t)
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
// with the old password, the old tokens still verify, the OAuth client
// authenticates with its old secret, and a remembered consent is still
// remembered. Import refuses to seal the keys under a master key that only
// its own data dir holds.
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
	app := mustAddClient(t, src, "--name", "App", "--redirect-uri", "http://127.0.0.1/cb", "--grant", "authorization_code,client_credentials")
	cc := clientcredentials.Config{ClientID: app.ClientID, ClientSecret: app.ClientSecret, TokenURL: p.base + "/oauth2/token"}
	revoked, kept := mustClientToken(t, cc), mustClientToken(t, cc)
	if code := oauthPost(t, p.base+"/oauth2/revoke", app, "token", revoked); code != 200 {
		t.Fatalf("POST /oauth2/revoke = %d", code)
	}
	if err := p.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}
	mustInkan(t, "", "users", "disable", "--data-dir", src, "dan@example.com")
	mustPutConsent(t, src, "alice@example.com", app.ClientID, "openid", "email")

	path := filepath.Join(t.TempDir(), "export.jsonl")
	_, stderr, err := runInkan(t, "", "export", "--data-dir", src, "--out", path)
	if err != nil || !strings.Contains(stderr, "exported 1 keys, 4 users, 0 TOTPs, 0 recovery codes, 0 passkeys, 1 clients, 1 consents and 1 revocations") {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	out := mustInkan(t, "", "migrate", "--database", url)
	if !strings.Contains(out, "up to date") || strings.Count(out, "\n") != 1 {
		t.Errorf("migrate printed %q, want one line saying the schema is up to date", out)
	}

	dst := dataDir(t)
	_, stderr, err = runInkan(t, "", "import", "--database", url, "--data-dir", dst, path)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "INKAN_MASTER_KEY or --master-key-file") {
		t.Errorf("import into PostgreSQL without a master key = %v, want a usage error asking for one\n%s", err, stderr)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Errorf("the refused import made %s", dst)
	}
	if _, stderr, _ := runInkan(t, "", "export", "--database", url); !strings.Contains(stderr, "exported 0 keys, 0 users, 0 TOTPs, 0 recovery codes, 0 passkeys, 0 clients, 0 consents and 0 revocations") {
		t.Errorf("the refused import wrote to the database:\n%s", stderr)
	}

	mk := masterKeyFile(t)
	_, stderr, err = runInkan(t, "", "import", "--database", url, "--master-key-file", mk, path)
	if err != nil || !strings.Contains(stderr, "imported 1 keys, 4 users, 0 TOTPs, 0 recovery codes, 0 passkeys, 1 clients, 1 consents and 1 revocations; skipped 0 identical") {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "sealing the signing keys and TOTP secrets under the master key in "+mk+"\n") {
		t.Errorf("import does not say which master key seals the keys:\n%s", stderr)
	}
	if got := mustExport(t, "--database", url, "--master-key-file", mk); !bytes.Equal(got, mustRead(t, path)) {
		t.Errorf("export of PostgreSQL differs from the SQLite export:\n%s\nwant\n%s", got, mustRead(t, path))
	}

	q := startInkan(t, dataDir(t), nil, "--database", url, "--master-key-file", mk, "--issuer", p.base)
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
	cc.TokenURL = q.base + "/oauth2/token"
	if tok, err := cc.Token(context.Background()); err != nil || tok.AccessToken == "" {
		t.Errorf("client_credentials with the secret from before the move = %v, %v", tok, err)
	}
	for tok, want := range map[string]bool{revoked: false, kept: true} {
		var out struct{ Active bool }
		if code := oauthPost(t, q.base+"/oauth2/introspect", app, "token", tok, &out); code != 200 || out.Active != want {
			t.Errorf("introspection after the move = %d, active %v; want active %v (false: revoked before the move)", code, out.Active, want)
		}
	}
	if !signIn(t, q.base, app.ClientID, "alice@example.com", users["alice@example.com"]) {
		t.Error("Alice's consent from before the move is forgotten: the server asks again")
	}
	if signIn(t, q.base, app.ClientID, "bob@example.com", users["bob@example.com"]) {
		t.Error("Bob, who never consented, was not asked")
	}
}

// mustClientToken returns an access token of the client credentials grant.
func mustClientToken(t *testing.T, cc clientcredentials.Config) string {
	t.Helper()
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("client_credentials: %v", err)
	}
	return tok.AccessToken
}

// oauthPost posts a form to an OAuth endpoint with the client's
// credentials, decodes the JSON answer into out[0], if given, and returns
// the status.
func oauthPost(t *testing.T, endpoint string, c clientJSON, name, value string, out ...any) int {
	t.Helper()
	req, _ := http.NewRequest("POST", endpoint, strings.NewReader(url.Values{name: {value}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if len(out) > 0 {
		if err := json.NewDecoder(resp.Body).Decode(out[0]); err != nil {
			t.Errorf("POST %s: %v", endpoint, err)
		}
	}
	return resp.StatusCode
}

// signIn runs the front channel of the authorization code flow for a
// client registered with http://127.0.0.1/cb, through the login page, and
// reports whether the browser landed on the redirect URI with a code
// (false: the server asked for consent).
func signIn(t *testing.T, base, clientID, email, pw string) bool {
	t.Helper()
	b := newRPBrowser()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"http://127.0.0.1:8765/cb"},
		"scope": {"openid email"}, "state": {"st"}, "nonce": {"n"}}
	resp, err := b.Get(base + "/oauth2/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"email": {email}, "password": {pw}}
	for _, m := range loginFormRE.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("csrf") == "" {
		t.Fatalf("no login form:\n%.500s", page)
	}
	resp, err = b.PostForm(base+"/oauth2/login", form)
	if errors.Is(err, errLanded) {
		return b.landedAt.Query().Get("code") != ""
	}
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("/oauth2/consent")) {
		t.Fatalf("login ended neither at the redirect URI nor on the consent page: %d\n%.800s", resp.StatusCode, page)
	}
	return false
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustWrite(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

// A TOTP moves with its user to a store under another master key: the
// export holds its secret in plaintext, import seals it under the new
// store's key (a file of TOTPs without keys still needs the servers'
// master key for PostgreSQL), and the new store's service takes the code.
func TestExport_totpMoves(t *testing.T) {
	ctx := context.Background()
	src := dataDir(t)
	mustInkan(t, "", "keys", "generate", "--data-dir", src)
	mustInkan(t, "correct horse\n", "users", "add", "--data-dir", src, "--email", "alice@example.com", "--name", "Alice")
	userID, secret := mustTOTPUnder(t, src, "alice@example.com")
	data := mustExport(t, "--data-dir", src)
	if !bytes.Contains(data, []byte(`"secret":"`+secret+`"`)) {
		t.Fatalf("export lacks the TOTP secret:\n%s", data)
	}
	var noKeys []string
	for l := range strings.Lines(string(data)) {
		if !strings.HasPrefix(l, `{"kind":"key"`) {
			noKeys = append(noKeys, l)
		}
	}
	_, _, err := runInkan(t, strings.Join(noKeys, ""), "import", "--database", "postgres://inkan@db.invalid/inkan", "--data-dir", dataDir(t))
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "importing signing keys or TOTPs into PostgreSQL") {
		t.Errorf("import of TOTPs into PostgreSQL under the data dir's master key = %v, want it refused", err)
	}

	dst := dataDir(t)
	mk := masterKeyFile(t)
	_, stderr, err := runInkan(t, string(data), "import", "--data-dir", dst, "--master-key-file", mk)
	if err != nil || !strings.Contains(stderr, "1 TOTPs, 10 recovery codes, 0 passkeys") || !strings.Contains(stderr, "sealing the signing keys and TOTP secrets under the master key in "+mk) {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	sealer, err := readSealer(mk)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dst, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := totpClock.Add(30 * time.Second)
	if _, err := mfaService(t, st, sealer, &now).VerifyCode(ctx, userID, totpCode(t, secret, now)); err != nil {
		t.Errorf("VerifyCode after the move = %v", err)
	}
}
