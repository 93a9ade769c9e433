package account

import (
	"context"
	"github.com/inkan-dev/inkan/internal/account/accounttest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

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
			ids := accounttest.LegacyUsers(t, st)
			rep, err := NormalizeStoredEmails(context.Background(), st, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{ids[accounttest.ElodieNFD]}; !slices.Equal(rep.Rewritten, want) {
				t.Errorf("rewritten = %v, want %v", rep.Rewritten, want)
			}
			want := []EmailConflict{
				{Holder: ids[accounttest.ReneNFC], Others: []string{ids[accounttest.ReneNFD]}},
				{Others: []string{ids[accounttest.XA], ids[accounttest.XB]}},
			}
			if len(rep.Conflicts) != 2 || !equalConflict(rep.Conflicts[0], want[0]) && !equalConflict(rep.Conflicts[0], want[1]) ||
				!equalConflict(rep.Conflicts[1], want[0]) && !equalConflict(rep.Conflicts[1], want[1]) {
				t.Errorf("conflicts = %+v, want %+v", rep.Conflicts, want)
			}
			for email, id := range ids {
				want := email
				if email == accounttest.ElodieNFD {
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
