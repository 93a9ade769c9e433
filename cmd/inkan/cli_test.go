package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/verify"
)

// propagation is how soon a running server must see a CLI change.
const propagation = 2 * time.Second

// The CLI works on the data dir of a running server, which sees each change
// within 2 s without a restart.
func TestCLI_liveChanges(t *testing.T) {
	dir := dataDir(t)
	p := startInkan(t, dir, nil, "--jwks-max-age", "1s")
	mustInkan(t, "first password\n", "users", "add", "--data-dir", dir, "--email", "Alice@Example.com", "--name", "Alice")
	oldToken := p.login(t, "alice@example.com", "first password")
	oldKID := tokenKID(t, oldToken)

	t.Run("keys generate", func(t *testing.T) {
		out := mustInkan(t, "", "keys", "generate", "--data-dir", dir) // scheduled by the server's --jwks-max-age
		newKID := strings.TrimSpace(out)
		eventually(t, propagation, "new key published", func() bool {
			return strings.Contains(strings.Join(jwksKIDs(t, p.base), ","), newKID)
		})
		if kid := tokenKID(t, p.login(t, "alice@example.com", "first password")); kid == newKID {
			t.Errorf("the next key signs before its pre-publication ended")
		}
		// It signs after --jwks-max-age (1 s) and the reload delay.
		eventually(t, propagation+2*time.Second, "new key signs", func() bool {
			return tokenKID(t, p.login(t, "alice@example.com", "first password")) == newKID
		})
		if kids := jwksKIDs(t, p.base); len(kids) != 2 {
			t.Errorf("JWKS kids = %v, want the new and the old key", kids)
		}
		if code := p.me(t, oldToken); code != 200 {
			t.Errorf("token of the previous key: GET /user = %d, want 200", code)
		}
	})

	t.Run("keys import", func(t *testing.T) {
		pemBytes, _ := os.ReadFile("testdata/tutorial_private_key.pem")
		priv, err := keys.ParsePrivatePEM(pemBytes)
		if err != nil {
			t.Fatal(err)
		}
		wantKID, _ := keys.Thumbprint(priv.Public())
		out := mustInkan(t, "", "keys", "import", "--data-dir", dir, "--now", "testdata/tutorial_private_key.pem")
		if strings.TrimSpace(out) != wantKID {
			t.Errorf("keys import printed %q, want kid %s", out, wantKID)
		}
		eventually(t, propagation, "imported key signs", func() bool {
			return tokenKID(t, p.login(t, "alice@example.com", "first password")) == wantKID
		})
		list := mustInkan(t, "", "keys", "list", "--data-dir", dir)
		lines := strings.Split(strings.TrimSpace(list), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[1], wantKID) || !strings.Contains(lines[1], " active ") || !strings.Contains(list, oldKID) {
			t.Errorf("keys list =\n%s\nwant 3 keys, %s active first", list, wantKID)
		}
		if n := strings.Count(list, " retiring "); n != 2 {
			t.Errorf("keys list =\n%s\nwant the two earlier keys retiring", list)
		}
	})

	t.Run("passwd", func(t *testing.T) {
		token := p.login(t, "alice@example.com", "first password")
		if code := p.me(t, token); code != 200 { // the server has the user cached
			t.Fatalf("GET /user = %d", code)
		}
		mustInkan(t, "second password\n", "users", "passwd", "--data-dir", dir, "alice@example.com")
		// The change ends the tokens issued before it, the one of a moment
		// ago too, and not those of a login with the new password at once.
		eventually(t, propagation, "token from before passwd refused", func() bool { return p.me(t, token) == 401 })
		if code := p.me(t, oldToken); code != 401 {
			t.Errorf("the first token after passwd: GET /user = %d, want 401", code)
		}
		code, _, _ := call(t, "POST", p.base+"/user/_authenticate", "", "Authorization", basicAuth("alice@example.com", "first password"))
		if code != 401 {
			t.Errorf("old password after passwd: %d, want 401", code)
		}
		if code := p.me(t, p.login(t, "alice@example.com", "second password")); code != 200 {
			t.Errorf("token of the new password: GET /user = %d, want 200", code)
		}
	})

	t.Run("disable enable", func(t *testing.T) {
		token := p.login(t, "alice@example.com", "second password")
		if code := p.me(t, token); code != 200 { // the server has the user cached
			t.Fatalf("GET /user = %d", code)
		}
		mustInkan(t, "", "users", "disable", "--data-dir", dir, "ALICE@example.com")
		eventually(t, propagation, "disabled user's token refused", func() bool { return p.me(t, token) == 401 })
		code, _, _ := call(t, "POST", p.base+"/user/_authenticate", "", "Authorization", basicAuth("alice@example.com", "second password"))
		if code != 401 {
			t.Errorf("disabled user's login = %d, want 401", code)
		}
		list := mustInkan(t, "", "users", "list", "--data-dir", dir)
		if !strings.Contains(list, "disabled") {
			t.Errorf("users list =\n%s\nwant alice disabled", list)
		}
		mustInkan(t, "", "users", "enable", "--data-dir", dir, "alice@example.com")
		fresh := p.login(t, "alice@example.com", "second password") // the login works again at once
		eventually(t, propagation, "enabled user's new token accepted", func() bool { return p.me(t, fresh) == 200 })
		if code := p.me(t, token); code != 401 {
			t.Errorf("token from before the disable, after enable: GET /user = %d, want 401", code)
		}
	})

	t.Run("delete", func(t *testing.T) {
		token := p.login(t, "alice@example.com", "second password")
		if code := p.me(t, token); code != 200 {
			t.Fatalf("GET /user = %d", code)
		}
		mustInkan(t, "", "users", "delete", "--data-dir", dir, "alice@example.com")
		eventually(t, propagation, "deleted user's token refused", func() bool { return p.me(t, token) == 401 })
	})
}

// A user of the tutorial's database comes over with their bcrypt hash, logs
// in with the old password, and is rehashed to argon2id.
func TestCLI_importBcryptUser(t *testing.T) {
	dir := dataDir(t)
	hash, _ := bcrypt.GenerateFromPassword([]byte("tutorial secret"), 10)
	mustInkan(t, "", "users", "add", "--data-dir", dir, "--email", "legacy@example.com", "--name", "Legacy", "--password-hash", string(hash))
	p := startInkan(t, dir, nil)
	p.login(t, "legacy@example.com", "tutorial secret")
	p.login(t, "legacy@example.com", "tutorial secret")
	if !strings.Contains(p.logText(), "password rehashed") {
		t.Errorf("no rehash logged:\n%s", p.logText())
	}
	if strings.Contains(p.logText(), "tutorial secret") || strings.Contains(p.logText(), "$2a$") {
		t.Errorf("log holds a password or hash:\n%s", p.logText())
	}
}

func TestCLI_errors(t *testing.T) {
	dir := dataDir(t)
	mustInkan(t, "pw-8char\n", "users", "add", "--data-dir", dir, "--email", "a@example.com", "--name", "A")
	tests := []struct {
		name      string
		stdin     string
		args      []string
		wantUsage bool   // exit status 2
		wantText  string // in the error or output
	}{
		{"no command", "", nil, true, ""},
		{"unknown command", "", []string{"frobnicate"}, true, "unknown command"},
		{"unknown flag", "", []string{"serve", "--nope"}, true, "not defined"},
		{"serve bad ttl", "", []string{"serve", "--token-ttl", "0s", "--issuer", "ftp://x", "--data-dir", dir}, true, "--token-ttl"},
		{"users no subcommand", "", []string{"users"}, true, ""},
		{"users add bad email", "pw-8char\n", []string{"users", "add", "--data-dir", dir, "--email", "bad", "--name", "B"}, true, "--email"},
		{"users add short password", "short\n", []string{"users", "add", "--data-dir", dir, "--email", "b@example.com", "--name", "B"}, false, "at least 8"},
		{"users add duplicate", "pw-8char\n", []string{"users", "add", "--data-dir", dir, "--email", "A@example.com", "--name", "A"}, false, "exists"},
		{"users add bad hash", "", []string{"users", "add", "--data-dir", dir, "--email", "c@example.com", "--name", "C", "--password-hash", "$2b$99$nope"}, true, "--password-hash"},
		{"users disable unknown", "", []string{"users", "disable", "--data-dir", dir, "nobody@example.com"}, false, "no user"},
		{"users disable no email", "", []string{"users", "disable", "--data-dir", dir}, true, ""},
		{"keys bad alg", "", []string{"keys", "generate", "--data-dir", dir, "--alg", "HS256"}, true, "--alg"},
		{"keys revoke unknown", "", []string{"keys", "revoke", "--data-dir", dir, "nope"}, false, "no key"},
		{"keys rekey without file", "", []string{"keys", "rekey", "--data-dir", dir}, true, "--new-master-key-file"},
		{"keys bad bits", "", []string{"keys", "generate", "--data-dir", dir, "--bits", "1024"}, false, "1024"},
		{"keys import missing file", "", []string{"keys", "import", "--data-dir", dir, "nope.pem"}, false, "nope.pem"},
		{"keys import public key", "", []string{"keys", "import", "--data-dir", dir, "../../internal/keys/testdata/rsa2048_spki.pem"}, false, "private"},
		{"jwk no file", "", []string{"jwk"}, true, ""},
		{"jwk not pem", "hello", []string{"jwk", "-"}, false, "PEM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := inkan(t, tc.stdin, tc.args...)
			if err == nil {
				t.Fatalf("inkan %v succeeded, want an error:\n%s", tc.args, out)
			}
			if got := errors.Is(err, errUsage); got != tc.wantUsage {
				t.Errorf("inkan %v: usage error = %v, want %v (err %v)", tc.args, got, tc.wantUsage, err)
			}
			if !strings.Contains(err.Error()+out, tc.wantText) {
				t.Errorf("inkan %v: %v\n%s\nwant it to mention %q", tc.args, err, out, tc.wantText)
			}
		})
	}
}

func TestCLI_help(t *testing.T) {
	out := mustInkan(t, "", "help")
	for _, cmd := range []string{"serve", "users", "keys", "jwk", "help"} {
		if !strings.Contains(out, "\n  "+cmd) {
			t.Errorf("inkan help does not list %q:\n%s", cmd, out)
		}
	}
	for _, args := range [][]string{
		{"serve", "--help"}, {"users", "--help"}, {"users", "add", "--help"}, {"users", "list", "-h"},
		{"users", "disable", "--help"}, {"keys", "--help"}, {"keys", "generate", "--help"},
		{"keys", "rotate", "--help"}, {"keys", "revoke", "--help"}, {"keys", "rekey", "--help"},
		{"keys", "import", "--help"}, {"keys", "list", "--help"}, {"jwk", "--help"},
	} {
		out, err := inkan(t, "", args...)
		if err != nil || !strings.Contains(out, "Usage: inkan") {
			t.Errorf("inkan %s = %v\n%s\nwant usage on stdout", strings.Join(args, " "), err, out)
		}
	}
	out = mustInkan(t, "", "serve", "--help")
	for _, f := range []string{"--addr", "--data-dir", "--issuer", "--token-ttl", "--signup", "INKAN_TOKEN_TTL"} {
		if !strings.Contains(out, f) {
			t.Errorf("serve --help lacks %s", f)
		}
	}
}

func TestCLI_keysGenerateOut(t *testing.T) {
	dir := t.TempDir()
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		path := filepath.Join(dir, alg+".pem")
		mustInkan(t, "", "keys", "generate", "--alg", alg, "--out", path)
		info, err := os.Stat(path)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, %v; want 0600", path, info.Mode().Perm(), err)
		}
		data, _ := os.ReadFile(path)
		if !strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----") {
			t.Errorf("%s is not PKCS#8 PEM:\n%.40s", path, data)
		}
		if _, err := keys.ParsePrivatePEM(data); err != nil {
			t.Errorf("ParsePrivatePEM(%s) = %v", path, err)
		}
		if _, err := inkan(t, "", "keys", "generate", "--alg", alg, "--out", path); err == nil {
			t.Errorf("keys generate --out over an existing file succeeded, want refusal")
		}
	}
	out := mustInkan(t, "", "keys", "generate", "--bits", "3072", "--out", filepath.Join(dir, "rsa3072.pem"))
	if !strings.Contains(out, "RS256") {
		t.Errorf("keys generate --bits 3072 printed %q", out)
	}
}

func TestCLI_jwk(t *testing.T) {
	const fixture = "testdata/tutorial_private_key.pem"
	data, _ := os.ReadFile(fixture)
	priv, _ := keys.ParsePrivatePEM(data)
	kid, _ := keys.Thumbprint(priv.Public())
	for _, tc := range []struct {
		name    string
		stdin   string
		args    []string
		wantKID string
		wantAlg string
	}{
		{"file", "", []string{"jwk", fixture}, kid, "RS256"},
		{"stdin", string(data), []string{"jwk", "-"}, kid, "RS256"},
		{"kid and alg after the file", "", []string{"jwk", fixture, "--kid", "k1", "--alg", "PS256"}, "k1", "PS256"},
		{"ed25519", "", []string{"jwk", "../../internal/keys/testdata/ed25519_spki.pem"}, "", "EdDSA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := mustInkan(t, tc.stdin, tc.args...)
			var set struct{ Keys []map[string]any }
			if err := json.Unmarshal([]byte(out), &set); err != nil || len(set.Keys) != 1 {
				t.Fatalf("jwk output %q: %v", out, err)
			}
			k := set.Keys[0]
			if (tc.wantKID != "" && k["kid"] != tc.wantKID) || k["alg"] != tc.wantAlg || k["use"] != "sig" {
				t.Errorf("jwk = %v, want kid %s alg %s use sig", k, tc.wantKID, tc.wantAlg)
			}
			if _, ok := k["d"]; ok {
				t.Errorf("jwk printed the private exponent")
			}
		})
	}
}

// inkan jwk --alg takes every JOSE algorithm valid for the key's type, and
// only those; keys generate --out makes a key for each of them.
func TestCLI_jwkEveryAlgorithm(t *testing.T) {
	const dir = "../../internal/keys/testdata/"
	files := map[string][]string{
		"testdata/tutorial_private_key.pem": {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
		dir + "ec_p256_spki.pem":            {"ES256"},
		dir + "ec_p384_spki.pem":            {"ES384"},
		dir + "ec_p521_pkcs8.pem":           {"ES512"},
		dir + "ed25519_spki.pem":            {"EdDSA"},
	}
	for file, valid := range files {
		for _, alg := range verify.Algorithms() {
			out, err := inkan(t, "", "jwk", "--alg", alg, file)
			if want := slices.Contains(valid, alg); want != (err == nil) {
				t.Errorf("inkan jwk --alg %s %s = %v, want success %t\n%s", alg, filepath.Base(file), err, want, out)
				continue
			}
			if err == nil && !strings.Contains(out, `"alg": "`+alg+`"`) {
				t.Errorf("inkan jwk --alg %s %s printed\n%s\nwant alg %s", alg, filepath.Base(file), out, alg)
			}
		}
	}
	tmp := t.TempDir()
	for _, alg := range verify.Algorithms() {
		path := filepath.Join(tmp, alg+".pem")
		mustInkan(t, "", "keys", "generate", "--alg", alg, "--out", path)
		if out := mustInkan(t, "", "jwk", "--alg", alg, path); !strings.Contains(out, `"alg": "`+alg+`"`) {
			t.Errorf("jwk of a generated %s key =\n%s", alg, out)
		}
	}
}

// keys list marks the next key that will sign, and keys revoke of the active
// key promotes it rather than making a key no JWKS cache holds.
func TestCLI_keysRevokePromotesNext(t *testing.T) {
	dir := dataDir(t)
	first := strings.TrimSpace(mustInkan(t, "", "keys", "generate", "--data-dir", dir, "--alg", "ES256"))
	next := strings.TrimSpace(mustInkan(t, "", "keys", "rotate", "--data-dir", dir))
	later := strings.TrimSpace(mustInkan(t, "", "keys", "rotate", "--data-dir", dir))
	row := func(list, kid string) string {
		for _, l := range strings.Split(list, "\n") {
			if strings.HasPrefix(l, kid) {
				return l
			}
		}
		t.Fatalf("keys list =\n%s\nlacks %s", list, kid)
		return ""
	}
	list := mustInkan(t, "", "keys", "list", "--data-dir", dir)
	if !strings.Contains(strings.Split(list, "\n")[0], "NOTE") ||
		!strings.HasSuffix(row(list, first), "signs now") || !strings.HasSuffix(row(list, next), "signs next") ||
		strings.Contains(row(list, later), "signs") {
		t.Errorf("keys list =\n%s\nwant %s signs now, %s signs next, %s unmarked", list, first, next, later)
	}
	out := mustInkan(t, "", "keys", "revoke", "--data-dir", dir, "--", first) // a kid may begin with "-"
	if !strings.Contains(out, next+", the next key already in the JWKS, signs from now on") {
		t.Errorf("keys revoke of the active key printed\n%s\nwant %s promoted", out, next)
	}
	list = mustInkan(t, "", "keys", "list", "--data-dir", dir)
	if n := len(strings.Split(strings.TrimSpace(list), "\n")); n != 4 {
		t.Errorf("keys list =\n%s\nwant the 3 keys and no new one", list)
	}
	if !strings.Contains(row(list, first), " revoked ") || !strings.Contains(row(list, next), " active ") ||
		!strings.HasSuffix(row(list, later), "signs next") {
		t.Errorf("keys list after revoke =\n%s\nwant %s revoked, %s active, %s signs next", list, first, next, later)
	}
}

// Keys the CLI adds follow the running server's --jwks-max-age and
// --token-ttl, not the CLI's defaults (5m, 1h) nor flags given to it.
func TestCLI_keysFollowServerSchedule(t *testing.T) {
	dir := dataDir(t)
	startInkan(t, dir, nil, "--jwks-max-age", "3s", "--token-ttl", "2s")
	first := strings.TrimSpace(mustInkan(t, "", "keys", "list", "--data-dir", dir))
	firstKID := strings.Fields(strings.Split(first, "\n")[1])[0]
	var stderr strings.Builder
	err := run(t.Context(), []string{"keys", "rotate", "--data-dir", dir, "--jwks-max-age", "10m"}, func(string) string { return "" },
		strings.NewReader(""), io.Discard, &stderr)
	if err != nil {
		t.Fatalf("keys rotate = %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "--jwks-max-age 10m0s ignored: the servers serve 3s") {
		t.Errorf("keys rotate --jwks-max-age 10m: stderr\n%s\nwant a note that the server's 3s wins", stderr.String())
	}
	list := mustInkan(t, "", "keys", "list", "--data-dir", dir)
	times := map[string][]time.Time{} // kid → CREATED, ACTIVE FROM, RETIRING FROM, LEAVES JWKS
	for _, line := range strings.Split(strings.TrimSpace(list), "\n")[1:] {
		f := strings.Fields(line)
		for _, v := range f[3:7] {
			tm, _ := time.Parse(time.RFC3339, v) // "-" is the zero time
			times[f[0]] = append(times[f[0]], tm)
		}
	}
	var next string
	for kid := range times {
		if kid != firstKID {
			next = kid
		}
	}
	if len(times) != 2 || next == "" {
		t.Fatalf("keys list =\n%s\nwant the first key and the rotated one", list)
	}
	// Published 3 s + 0.25 s before it signs (whole seconds in the list).
	if pre := times[next][1].Sub(times[next][0]); pre < 3*time.Second || pre > 4*time.Second {
		t.Errorf("the rotated key signs %v after it was created, want the server's --jwks-max-age 3s + 0.25 s\n%s", pre, list)
	}
	// The first key leaves the JWKS 2 s + 60 s + 3 s + 0.25 s after its successor took over.
	if linger := times[firstKID][3].Sub(times[firstKID][2]); linger < 64*time.Second || linger > 66*time.Second {
		t.Errorf("the first key leaves the JWKS %v after its successor activates, want --token-ttl 2s + 60s + 3s + 0.25s\n%s", linger, list)
	}
}
