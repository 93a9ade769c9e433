package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

// Upgrading a data dir of the release before sealing: its plaintext key is
// sealed at start under a master key made on this zero-config start, no
// plaintext remains in the database file or its WAL, and the key keeps its
// kid. A later start with another master key fails, saying why.
func TestE2E_sealOnUpgrade(t *testing.T) {
	dir := dataDir(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := keys.Generate(keys.RS256, 0)
	der, _ := keys.MarshalPKCS8(priv)
	kid, _ := keys.Thumbprint(priv.Public())
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := st.CreateKey(ctx, store.SigningKey{ID: kid, Algorithm: keys.RS256, PrivateKey: der, CreatedAt: now, ActivatedAt: now}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	p := startInkan(t, dir, nil)
	if !strings.Contains(p.logText(), "generated a master key") || !strings.Contains(p.logText(), "sealed signing keys") {
		t.Errorf("start log lacks the master-key and sealing lines:\n%s", p.logText())
	}
	info, err := os.Stat(filepath.Join(dir, "master.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("master.key: %v, mode %v; want mode 0600", err, info.Mode().Perm())
	}
	if kids := jwksKIDs(t, p.base); len(kids) != 1 || kids[0] != kid {
		t.Errorf("JWKS after sealing = %v, want the same key %s", kids, kid)
	}
	p.register(t, "Alice", "alice@example.com", "correct horse")
	tok := p.login(t, "alice@example.com", "correct horse")
	if err := p.stop(t); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{dbFile, dbFile + "-wal"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err == nil && bytes.Contains(data, der[len(der)-64:]) {
			t.Errorf("%s still holds the plaintext private key", file)
		}
	}

	q := startInkan(t, dir, nil, "--issuer", p.base)
	if strings.Contains(q.logText(), "generated a master key") {
		t.Error("the second start generated another master key")
	}
	if code := q.me(t, tok); code != 200 {
		t.Errorf("token after restart: GET /user = %d", code)
	}
	if err := q.stop(t); err != nil {
		t.Fatal(err)
	}

	r := launchInkan(t, dir, []string{"INKAN_MASTER_KEY=" + keys.NewMasterKey()})
	<-r.done
	if err := r.cmd.Wait(); err == nil || !strings.Contains(r.logText(), "master key cannot open the stored signing keys") || !strings.Contains(r.logText(), "INKAN_MASTER_KEY") {
		t.Errorf("start with a wrong master key: exit %v, output:\n%s", err, r.logText())
	}
	for _, bad := range []string{"short", "not base64 !!"} {
		r := launchInkan(t, dir, []string{"INKAN_MASTER_KEY=" + bad})
		<-r.done
		if err := r.cmd.Wait(); err == nil || !strings.Contains(r.logText(), "master key") {
			t.Errorf("start with master key %q: exit %v, output:\n%s", bad, err, r.logText())
		}
	}
}

// keys rekey re-seals every key under a new master key and, when the key
// was the default <data-dir>/master.key, puts the new one there: the CLI
// and a restarted server find it, and every token issued before verifies.
// A server running through it keeps serving and says what to do.
func TestCLI_rekey(t *testing.T) {
	dir := dataDir(t)
	p := startInkan(t, dir, nil)
	p.register(t, "Alice", "alice@example.com", "correct horse")
	tok := p.login(t, "alice@example.com", "correct horse")
	oldKey := mustRead(t, filepath.Join(dir, "master.key"))
	next := filepath.Join(t.TempDir(), "next.key")
	mustWrite(t, next, []byte(keys.NewMasterKey()), 0o600)

	out := mustInkan(t, "", "keys", "rekey", "--data-dir", dir, "--new-master-key-file", next)
	if !strings.Contains(out, "re-sealed 1 keys") || !strings.Contains(out, "wrote the new master key to "+filepath.Join(dir, "master.key")) {
		t.Errorf("keys rekey printed:\n%s\nwant it to say it wrote the new key to the data dir", out)
	}
	if got := mustRead(t, filepath.Join(dir, "master.key")); !bytes.Equal(got, mustRead(t, next)) {
		t.Errorf("master.key after rekey = %q, want the new key %q (the old one was %q)", got, mustRead(t, next), oldKey)
	}
	if info, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("master.key after rekey: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	mustInkan(t, "", "keys", "list", "--data-dir", dir) // the CLI finds the new key

	eventually(t, 10*time.Second, "the running server's error", func() bool { return strings.Contains(p.logText(), "restart this server") })
	p.login(t, "alice@example.com", "correct horse") // still signs with the key it loaded
	if err := p.stop(t); err != nil {
		t.Errorf("SIGTERM: exit = %v, want a clean exit", err)
	}
	if n := strings.Count(p.logText(), `msg="reload signing keys"`); n != 1 {
		t.Errorf("the running server logged %d reload errors, want 1:\n%s", n, p.logText())
	}

	q := startInkan(t, dir, nil, "--issuer", p.base)
	if code := q.me(t, tok); code != 200 {
		t.Errorf("token from before rekey: GET /user = %d, want 200", code)
	}
}

// When the master key is the deployment's (INKAN_MASTER_KEY or
// --master-key-file), keys rekey leaves it alone and says what to change.
func TestCLI_rekeyInstructions(t *testing.T) {
	tests := []struct {
		name string
		env  func(t *testing.T) (map[string]string, []string)
		want string
	}{
		{"file", func(t *testing.T) (map[string]string, []string) {
			return nil, []string{"--master-key-file", masterKeyFile(t)}
		}, "put the content of NEXT in that file on every server"},
		{"environment", func(t *testing.T) (map[string]string, []string) {
			return map[string]string{"INKAN_MASTER_KEY": keys.NewMasterKey()}, nil
		}, "set INKAN_MASTER_KEY to the content of NEXT wherever it is set (every server)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, args := tc.env(t)
			dir := dataDir(t)
			if _, stderr, err := runInkanEnv(t, env, "", append([]string{"keys", "generate", "--data-dir", dir}, args...)...); err != nil {
				t.Fatalf("keys generate: %v\n%s", err, stderr)
			}
			next := masterKeyFile(t)
			out, stderr, err := runInkanEnv(t, env, "", append([]string{"keys", "rekey", "--data-dir", dir, "--new-master-key-file", next}, args...)...)
			if err != nil {
				t.Fatalf("keys rekey: %v\n%s", err, stderr)
			}
			if want := strings.ReplaceAll(tc.want, "NEXT", next); !strings.Contains(out, want) || !strings.Contains(out, "restart every server") {
				t.Errorf("keys rekey printed:\n%s\nwant it to say %q and to restart the servers", out, want)
			}
			if _, err := os.Stat(filepath.Join(dir, "master.key")); err == nil {
				t.Error("keys rekey wrote a master.key into the data dir")
			}
		})
	}
}

// totpClock is the time of the TOTP codes of the tests.
var totpClock = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// mfaService is the account service over st as a server under sealer's
// master key has it, at *now.
func mfaService(t *testing.T, st store.Store, sealer *keys.Sealer, now *time.Time) *account.Service {
	t.Helper()
	svc, err := account.New(context.Background(), account.Options{Store: st, Passwords: password.New(password.Default, 1), Now: func() time.Time { return *now },
		MFA: account.MFAOptions{Secret: sealer.TokenSecret()}})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// totpCode is the code of secret (base32) at now.
func totpCode(t *testing.T, secret string, now time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustTOTPUnder gives the user of email in dir's store a TOTP confirmed at
// totpClock, sealed as a server under the master key of dir's master.key
// seals it, and returns its id and the secret (base32).
func mustTOTPUnder(t *testing.T, dir, email string) (userID, secret string) {
	t.Helper()
	ctx := context.Background()
	sealer, err := readSealer(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.GetUserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	now := totpClock
	svc := mfaService(t, st, sealer, &now)
	e, err := svc.BeginTOTP(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ConfirmTOTP(ctx, u.ID, totpCode(t, e.Secret, now)); err != nil {
		t.Fatal(err)
	}
	return u.ID, e.Secret
}

// keys rekey re-seals every user's TOTP secret too: the account service
// under the new master key's secret (a server restarted with it) takes the
// user's next code, and under the old one (a server not restarted yet)
// refuses every code.
func TestCLI_rekeyTOTP(t *testing.T) {
	ctx := context.Background()
	dir := dataDir(t)
	mustInkan(t, "", "keys", "generate", "--data-dir", dir)
	mustInkan(t, "correct horse\n", "users", "add", "--data-dir", dir, "--email", "alice@example.com", "--name", "Alice")
	old, err := readSealer(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	userID, secret := mustTOTPUnder(t, dir, "alice@example.com")

	next := masterKeyFile(t)
	out := mustInkan(t, "", "keys", "rekey", "--data-dir", dir, "--new-master-key-file", next)
	if !strings.Contains(out, "re-sealed 1 keys") || !strings.Contains(out, "re-sealed 1 TOTP secrets under it: until restarted, the running servers refuse every TOTP code") {
		t.Errorf("keys rekey printed:\n%s\nwant it to count the keys and the TOTP secrets", out)
	}
	newSealer, err := readSealer(next)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := totpClock.Add(30 * time.Second)
	if _, err := mfaService(t, st, old, &now).VerifyCode(ctx, userID, totpCode(t, secret, now)); err == nil {
		t.Error("VerifyCode under the old master key's secret succeeded after rekey")
	}
	if amr, err := mfaService(t, st, newSealer, &now).VerifyCode(ctx, userID, totpCode(t, secret, now)); err != nil || len(amr) != 1 || amr[0] != account.AMROTP {
		t.Errorf("VerifyCode under the new master key's secret = %v, %v, want [%s]", amr, err, account.AMROTP)
	}
	if out := mustInkan(t, "", "keys", "rekey", "--data-dir", dir, "--new-master-key-file", next); !strings.Contains(out, "re-sealed 0 TOTP secrets") {
		t.Errorf("keys rekey again printed:\n%s\nwant no TOTP re-sealed", out)
	}
}
