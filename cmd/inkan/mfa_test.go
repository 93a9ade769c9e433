package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

// mustSecondFactors gives the user of email in dir's store a confirmed
// TOTP, a passkey named Laptop used once, and a session.
func mustSecondFactors(t *testing.T, dir, email string) store.User {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.GetUserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := account.New(ctx, account.Options{Store: st, Passwords: password.New(password.Default, 1), MFA: account.MFAOptions{Secret: bytes.Repeat([]byte{1}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := svc.BeginTOTP(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCodeCustom(e.Secret, time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ConfirmTOTP(ctx, u.ID, code); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := st.CreatePasskey(ctx, store.Passkey{ID: []byte("credential-1"), UserID: u.ID, Name: "Laptop", PublicKey: []byte{1}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.UsePasskey(ctx, []byte("credential-1"), 1, false, now); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(ctx, store.Session{Hash: "h1", ID: "s1", UserID: u.ID, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return u
}

// users mfa list shows a user's second factors; users mfa reset removes
// them all, says what it removed, ends the user's sessions and records
// mfa.reset.
func TestCLI_usersMFA(t *testing.T) {
	dir := dataDir(t)
	mustInkan(t, "correct horse\n", "users", "add", "--data-dir", dir, "--email", "alice@example.com", "--name", "Alice")
	mustInkan(t, "correct horse\n", "users", "add", "--data-dir", dir, "--email", "bob@example.com", "--name", "Bob")
	alice := mustSecondFactors(t, dir, "alice@example.com")

	out := mustInkan(t, "", "users", "mfa", "list", "--data-dir", dir, "alice@example.com")
	for _, re := range []string{
		`USER +alice@example.com \(` + alice.ID + `\)`, `TOTP +yes, since \d{4}-\d\d-\d\dT`, `PASSKEYS +1\n`, `RECOVERY CODES +10 left`,
		`PASSKEY +CREATED +LAST USED`, `Laptop +\d{4}-\d\d-\d\dT\S+ +\d{4}-`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("users mfa list lacks %s:\n%s", re, out)
		}
	}
	if out := mustInkan(t, "", "users", "mfa", "list", "--data-dir", dir, alice.ID); !strings.Contains(out, "yes, since") {
		t.Errorf("users mfa list ID:\n%s", out)
	}
	if out := mustInkan(t, "", "users", "mfa", "list", "--data-dir", dir, "bob@example.com"); !regexp.MustCompile(`TOTP +no\n`).MatchString(out) ||
		!regexp.MustCompile(`PASSKEYS +0\n`).MatchString(out) || strings.Contains(out, "PASSKEY ") {
		t.Errorf("users mfa list of a user without factors:\n%s", out)
	}

	out = mustInkan(t, "", "users", "mfa", "reset", "--data-dir", dir, "alice@example.com")
	if want := "removed the TOTP, 1 passkey and 10 recovery codes of alice@example.com; every session and token issued before has ended\n"; out != want {
		t.Errorf("users mfa reset = %q, want %q", out, want)
	}
	out = mustInkan(t, "", "users", "mfa", "list", "--data-dir", dir, "alice@example.com")
	if !regexp.MustCompile(`TOTP +no\n`).MatchString(out) || !regexp.MustCompile(`RECOVERY CODES +0 left`).MatchString(out) {
		t.Errorf("users mfa list after reset:\n%s", out)
	}
	if out := mustInkan(t, "", "users", "mfa", "reset", "--data-dir", dir, "alice@example.com"); !strings.HasPrefix(out, "no second factor to remove of alice@example.com") {
		t.Errorf("users mfa reset again = %q", out)
	}

	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if list, err := st.ListSessions(ctx, alice.ID); err != nil || len(list) != 0 {
		t.Errorf("alice's sessions after the reset = %d, %v; want 0", len(list), err)
	}
	evs, err := st.ListEvents(ctx, store.EventFilter{Type: "mfa.reset"})
	if err != nil || len(evs) != 2 || evs[0].UserID != alice.ID {
		t.Errorf("mfa.reset events = %+v, %v; want two of alice's", evs, err)
	}
}

// users mfa takes one user, who must exist.
func TestCLI_usersMFAErrors(t *testing.T) {
	dir := dataDir(t)
	mustInkan(t, "correct horse\n", "users", "add", "--data-dir", dir, "--email", "alice@example.com", "--name", "Alice")
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no user", []string{"users", "mfa", "list", "--data-dir", dir}, true, "takes 1 argument(s), got 0"},
		{"two users", []string{"users", "mfa", "reset", "--data-dir", dir, "a@example.com", "b@example.com"}, true, "takes 1 argument(s), got 2"},
		{"unknown user", []string{"users", "mfa", "reset", "--data-dir", dir, "nobody@example.com"}, false, `no user with email "nobody@example.com"`},
		{"unknown subcommand", []string{"users", "mfa", "remove", "alice@example.com"}, true, `unknown users mfa subcommand "remove"`},
		{"no subcommand", []string{"users", "mfa"}, true, "users mfa needs a subcommand"},
	} {
		out, err := inkan(t, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, errUsage) != tc.usage {
			t.Errorf("%s: inkan %s = %v, want an error saying %q (usage %v)\n%s", tc.name, strings.Join(tc.args, " "), err, tc.want, tc.usage, out)
		}
	}
}
