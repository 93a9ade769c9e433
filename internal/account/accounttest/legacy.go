// Package accounttest holds fixtures for the tests of code that checks
// users' stored emails: the account package's, and the CLI's.
package accounttest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/store"
)

// Emails as a release before NFC normalisation may have stored them.
const (
	ElodieNFD = "e\u0301lodie@example.com"  // alone: rewritten to NFC
	ReneNFC   = "ren\u00e9@example.com"     // holds the normal form
	ReneNFD   = "rene\u0301@example.com"    // collides with ReneNFC
	XA        = "c\u0327\u0301@example.com" // cedilla then acute: NFC is U+1E09
	XB        = "c\u0301\u0327@example.com" // acute then cedilla: U+1E09 too
	Plain     = "plain@example.com"
)

// LegacyUsers stores one user per email above, bypassing normalisation,
// with the password "correct horse" under cheap argon2id parameters, and
// returns their ids by email.
func LegacyUsers(tb testing.TB, st store.Store) map[string]string {
	tb.Helper()
	hash, err := password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1).Hash(context.Background(), "correct horse")
	if err != nil {
		tb.Fatal(err)
	}
	ids := map[string]string{}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, email := range []string{ElodieNFD, ReneNFC, ReneNFD, XA, XB, Plain} {
		u := store.User{ID: uuid.NewString(), Name: "U", Email: email, PasswordHash: hash, CreatedAt: at.Add(time.Duration(i) * time.Second), UpdatedAt: at}
		if err := st.CreateUser(context.Background(), u); err != nil {
			tb.Fatalf("CreateUser(%q) = %v", email, err)
		}
		ids[email] = u.ID
	}
	return ids
}
