package main

import (
	"context"
	"github.com/inkan-dev/inkan/internal/account/accounttest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/inkan-dev/inkan/internal/config"
)

// inkan migrate and inkan serve report what they normalised and which
// users collide, naming ids, and start anyway; the users commands take the
// ids they name, and an email in any form.
func TestCLI_emailNormalisation(t *testing.T) {
	dir := dataDir(t)
	cfg := config.Default()
	cfg.DataDir = dir
	st, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids := accounttest.LegacyUsers(t, st)
	st.Close()

	out := mustInkan(t, "", "migrate", "--data-dir", dir)
	for _, want := range []string{"up to date", "rewrote the email of 1 user(s)", ids[accounttest.ElodieNFD],
		ids[accounttest.ReneNFC] + ", " + ids[accounttest.ReneNFD], "only " + ids[accounttest.ReneNFC], ids[accounttest.XA] + ", " + ids[accounttest.XB], "none is stored in that form"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate printed:\n%s\nwant it to mention %q", out, want)
		}
	}
	if strings.Contains(out, ids[accounttest.Plain]) {
		t.Errorf("migrate printed:\n%s\nwant no mention of the plain user", out)
	}

	p := startInkan(t, dir, nil)
	log := p.logText()
	if !strings.Contains(log, "level=WARN msg=\"email conflict: users "+ids[accounttest.ReneNFC]+", "+ids[accounttest.ReneNFD]) || strings.Contains(log, "rewritten") {
		t.Errorf("serve log:\n%s\nwant a warning naming %s and %s, and no rewrite (migrate did it)", log, ids[accounttest.ReneNFC], ids[accounttest.ReneNFD])
	}
	if code, _, _ := call(t, "POST", p.base+"/user/_authenticate", "", "Authorization", basicAuth("\u00e9lodie@example.com", "correct horse")); code != 200 {
		t.Errorf("login of the rewritten user = %d, want 200", code)
	}
	if err := p.stop(t); err != nil {
		t.Fatal(err)
	}

	if out := mustInkan(t, "", "users", "disable", "--data-dir", dir, ids[accounttest.ReneNFD]); !strings.Contains(out, "disabled "+accounttest.ReneNFD) {
		t.Errorf("users disable ID = %q, want the colliding user disabled", out)
	}
	if out := mustInkan(t, "", "users", "delete", "--data-dir", dir, accounttest.ReneNFD); !strings.Contains(out, "deleted "+accounttest.ReneNFC) {
		t.Errorf("users delete with the decomposed email = %q, want the user stored in NFC", out)
	}
	if out := mustInkan(t, "correct horse\n", "users", "add", "--data-dir", dir, "--email", "Zo\u0308e@Example.com", "--name", "Zoë"); !strings.Contains(out, "\"email\":\"z\u00f6e@example.com\"") {
		t.Errorf("users add with a decomposed email printed %q, want it stored in NFC", out)
	}
	bc, _ := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	line := jsonLine(map[string]any{"kind": "user", "id": uuid.NewString(), "name": "Imp", "email": "impo\u0308rt@example.com",
		"password_hash": string(bc), "disabled": false,
		"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"})
	if _, stderr, err := runInkan(t, line, "import", "--data-dir", dir); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if out := mustInkan(t, "", "users", "list", "--data-dir", dir); !strings.Contains(out, "imp\u00f6rt@example.com") {
		t.Errorf("users list after importing a decomposed email:\n%s\nwant it stored in NFC", out)
	}
	if _, err := inkan(t, "", "users", "delete", "--data-dir", dir, uuid.NewString()); err == nil || !strings.Contains(err.Error(), "no user with id") {
		t.Errorf("users delete of an unknown id = %v, want no user with id", err)
	}
}
