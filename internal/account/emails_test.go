package account

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

// Emails as a release before NFC normalisation may have stored them
// (elodieNFD, alone, is rewritten to NFC).
const (
	reneNFC = "ren\u00e9@example.com"     // holds the normal form
	reneNFD = "rene\u0301@example.com"    // collides with reneNFC
	xA      = "c\u0327\u0301@example.com" // cedilla then acute: NFC is U+1E09
	xB      = "c\u0301\u0327@example.com" // acute then cedilla: U+1E09 too
	plain   = "plain@example.com"
)

// legacyUsers stores one user per email, bypassing normalisation, and
// returns their ids by email.
func legacyUsers(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	hash, err := password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1).Hash(context.Background(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, email := range []string{elodieNFD, reneNFC, reneNFD, xA, xB, plain} {
		u := store.User{ID: uuid.NewString(), Name: "U", Email: email, PasswordHash: hash, CreatedAt: at.Add(time.Duration(i) * time.Second), UpdatedAt: at}
		if err := st.CreateUser(context.Background(), u); err != nil {
			t.Fatalf("CreateUser(%q) = %v", email, err)
		}
		ids[email] = u.ID
	}
	return ids
}

func emailOf(t *testing.T, st store.Store, id string) string {
	t.Helper()
	u, err := st.GetUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.Email
}

// NormalizeStoredEmails rewrites an email stored otherwise than in NFC when no
// other user has its address, and reports the users whose addresses
// collide, changing none of them, on both backends.
func TestNormalizeStoredEmails(t *testing.T) {
	for _, backend := range []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlite", func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "inkan.db"))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
		{"postgres", func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), pgtest.Database(t))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
	} {
		t.Run(backend.name, func(t *testing.T) {
			st := backend.open(t)
			defer st.Close()
			ids := legacyUsers(t, st)
			rep, err := NormalizeStoredEmails(context.Background(), st, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{ids[elodieNFD]}; !slices.Equal(rep.Rewritten, want) {
				t.Errorf("rewritten = %v, want %v", rep.Rewritten, want)
			}
			want := []EmailConflict{
				{Holder: ids[reneNFC], Others: []string{ids[reneNFD]}},
				{Others: []string{ids[xA], ids[xB]}},
			}
			if len(rep.Conflicts) != 2 || !equalConflict(rep.Conflicts[0], want[0]) && !equalConflict(rep.Conflicts[0], want[1]) ||
				!equalConflict(rep.Conflicts[1], want[0]) && !equalConflict(rep.Conflicts[1], want[1]) {
				t.Errorf("conflicts = %+v, want %+v", rep.Conflicts, want)
			}
			for email, id := range ids {
				want := email
				if email == elodieNFD {
					want = "\u00e9lodie@example.com"
				}
				if got := emailOf(t, st, id); got != want {
					t.Errorf("email of the user stored as %q = %q, want %q", email, got, want)
				}
			}
			again, err := NormalizeStoredEmails(context.Background(), st, time.Now)
			if err != nil || len(again.Rewritten) != 0 || len(again.Conflicts) != 2 {
				t.Errorf("second run = %+v, %v; want no rewrite, the same two conflicts", again, err)
			}
		})
	}
}

func equalConflict(a, b EmailConflict) bool {
	return a.Holder == b.Holder && slices.Equal(a.Others, b.Others)
}
