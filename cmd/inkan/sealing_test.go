package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

// Upgrading a data dir of the release before sealing: its plaintext key is
// sealed at start under a master key made on this zero-config start, no
// plaintext remains in the database file or its WAL, and the key keeps its
// kid. A later start with another master key fails, saying why.
func TestE2E_sealOnUpgrade(t *testing.T) {
	dir := dataDir(t)
	os.MkdirAll(dir, 0o700)
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
	q.stop(t)

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

// keys rekey re-seals every key under a new master key; servers started with
// it verify every token issued before.
func TestCLI_rekey(t *testing.T) {
	dir := dataDir(t)
	p := startInkan(t, dir, nil)
	p.register(t, "Alice", "alice@example.com", "correct horse")
	tok := p.login(t, "alice@example.com", "correct horse")
	p.stop(t)
	next := filepath.Join(t.TempDir(), "next.key")
	os.WriteFile(next, []byte(keys.NewMasterKey()), 0o600)
	mustInkan(t, "", "keys", "rekey", "--data-dir", dir, "--new-master-key-file", next)
	if _, err := inkan(t, "", "keys", "list", "--data-dir", dir); err == nil {
		t.Error("keys list with the old master key succeeded after rekey")
	}
	q := startInkan(t, dir, nil, "--master-key-file", next, "--issuer", p.base)
	if code := q.me(t, tok); code != 200 {
		t.Errorf("token from before rekey: GET /user = %d, want 200", code)
	}
}
