package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

func mustStore(tb testing.TB) store.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "inkan.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

func mustSealer(tb testing.TB) *keys.Sealer {
	tb.Helper()
	master, err := keys.ParseMasterKey(keys.NewMasterKey())
	if err != nil {
		tb.Fatal(err)
	}
	s, err := keys.NewSealer(master)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// sealerOf returns the option that supplies s, counting its calls in n.
func sealerOf(s *keys.Sealer, n *int) func(context.Context) (*keys.Sealer, error) {
	return func(context.Context) (*keys.Sealer, error) {
		*n++
		return s, nil
	}
}

// mustSeed fills st with a key, two users, a client, a consent and a
// revocation: the lines of its export, in this order.
func mustSeed(tb testing.TB, st store.Store, sealer *keys.Sealer) {
	tb.Helper()
	ctx := context.Background()
	m := &keys.Manager{Store: st, Sealer: sealer}
	if _, err := m.Generate(ctx, keys.EdDSA, 0, true); err != nil {
		tb.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		tb.Fatal(err)
	}
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	users := []store.User{
		{ID: "2d9ecfdd-e6b0-4bc4-b5bf-10be8bd3335c", Name: "Alice", Email: "alice@example.com", PasswordHash: string(hash), CreatedAt: t0, UpdatedAt: t0},
		{ID: "7e810a57-7f62-4f83-9edc-07d053d86e98", Name: "Bob", Email: "bob@example.com", PasswordHash: string(hash), Disabled: true,
			CreatedAt: t0.Add(time.Second), UpdatedAt: t0.Add(2 * time.Second), TokensValidAfter: t0.Add(2 * time.Second)},
	}
	for _, u := range users {
		if err := st.CreateUser(ctx, u); err != nil {
			tb.Fatal(err)
		}
	}
	secret := sha256.Sum256([]byte("secret"))
	c := store.Client{ID: "web", Name: "Web", SecretHash: secret[:], RedirectURIs: []string{"https://app.example.com/cb"},
		Grants: []string{"authorization_code"}, Scopes: []string{"openid"}, CreatedAt: t0, UpdatedAt: t0}
	if err := st.CreateClient(ctx, c); err != nil {
		tb.Fatal(err)
	}
	if err := st.PutConsent(ctx, store.Consent{UserID: users[0].ID, ClientID: c.ID, Scopes: []string{"openid"}, CreatedAt: t0}); err != nil {
		tb.Fatal(err)
	}
	if err := st.Revoke(ctx, store.Revocation{Kind: "jti", Value: "abc", ExpiresAt: t0.Add(time.Hour)}); err != nil {
		tb.Fatal(err)
	}
}

func mustExport(tb testing.TB, st store.Store, sealer *keys.Sealer) ([]byte, Counts) {
	tb.Helper()
	var buf bytes.Buffer
	var calls int
	n, err := Export(context.Background(), st, &buf, ExportOptions{
		Sealer: sealerOf(sealer, &calls),
		Now:    func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		tb.Fatalf("Export: %v", err)
	}
	if calls > 1 {
		tb.Errorf("Export asked for the sealer %d times, want at most once", calls)
	}
	return buf.Bytes(), n
}

// Export, Read and Import move a store to another, under another master
// key, and an export of the copy is the same file; a second import skips
// every row.
func TestImport_roundTrip(t *testing.T) {
	ctx := context.Background()
	src, dst := mustStore(t), mustStore(t)
	srcSealer, dstSealer := mustSealer(t), mustSealer(t)
	mustSeed(t, src, srcSealer)
	data, n := mustExport(t, src, srcSealer)
	if want := (Counts{Keys: 1, Users: 2, Clients: 1, Consents: 1, Revocations: 1}); n != want {
		t.Fatalf("Export counts = %+v, want %+v", n, want)
	}
	f, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Read(export) error = %v", err)
	}
	if got := f.Counts(); got != n {
		t.Errorf("Read(export).Counts() = %+v, want %+v", got, n)
	}
	var calls int
	sum, err := Import(ctx, dst, f, ImportOptions{Sealer: sealerOf(dstSealer, &calls)})
	if err != nil || sum.Written != n || sum.Skipped != 0 || calls != 1 {
		t.Fatalf("Import = %v, %v (sealer asked %d times), want %v written, none skipped, the sealer asked once", sum, err, calls, n)
	}
	if again, _ := mustExport(t, dst, dstSealer); !bytes.Equal(again, data) {
		t.Errorf("export of the imported store differs:\n%s\nwant\n%s", again, data)
	}
	sum, err = Import(ctx, dst, f, ImportOptions{Sealer: sealerOf(dstSealer, &calls)})
	if err != nil || sum.Written.Total() != 0 || sum.Skipped != n.Total() {
		t.Errorf("second Import = %v, %v, want nothing written, %d skipped", sum, err, n.Total())
	}
	if got, want := sum.String(), "imported 0 keys, 0 users, 0 TOTPs, 0 recovery codes, 0 passkeys, 0 clients, 0 consents and 0 revocations; skipped 6 identical"; got != want {
		t.Errorf("Summary.String() = %q, want %q", got, want)
	}
}

// A stored row that differs stops the import with a conflict naming its
// line and fields; the rows before it stay written.
func TestImport_conflict(t *testing.T) {
	ctx := context.Background()
	src := mustStore(t)
	sealer := mustSealer(t)
	mustSeed(t, src, sealer)
	data, _ := mustExport(t, src, sealer)
	f, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.UpdateUser(ctx, "7e810a57-7f62-4f83-9edc-07d053d86e98", func(u store.User) (store.User, error) {
		u.Name = "Robert"
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	var calls int
	sum, err := Import(ctx, src, f, ImportOptions{Sealer: sealerOf(sealer, &calls)})
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "line 3: user 7e810a57") || !strings.Contains(err.Error(), "in name") {
		t.Errorf("Import over a changed user = %v, want a conflict naming line 3 and the name", err)
	}
	if sum.Written.Total() != 0 || sum.Skipped != 2 {
		t.Errorf("Import over a changed user wrote %v, want the key and the first user skipped", sum)
	}
}

// A consent whose user or client is nowhere refuses the file before
// anything is written, and before the sealer is asked for (which may make
// a master key).
func TestImport_references(t *testing.T) {
	ctx := context.Background()
	src, dst := mustStore(t), mustStore(t)
	sealer := mustSealer(t)
	mustSeed(t, src, sealer)
	data, _ := mustExport(t, src, sealer)
	var kept []string
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if i != 3 { // the client
			kept = append(kept, line)
		}
	}
	f, err := Read(strings.NewReader(strings.Join(kept, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	sum, err := Import(ctx, dst, f, ImportOptions{Sealer: sealerOf(sealer, &calls)})
	if err == nil || !strings.Contains(err.Error(), "line 4: consent: client web is neither in the file nor in the store") {
		t.Errorf("Import of a consent to a missing client = %v, want it refused naming line 4", err)
	}
	if sum.Written.Total() != 0 || calls != 0 {
		t.Errorf("refused Import wrote %v and asked for the sealer %d times, want nothing", sum, calls)
	}
}

// Read holds every line to the format and to the rules of the rows'
// owners (account's for users, oauth2's registration for clients), and
// names each bad line.
func TestRead_badLines(t *testing.T) {
	src := mustStore(t)
	sealer := mustSealer(t)
	mustSeed(t, src, sealer)
	data, _ := mustExport(t, src, sealer)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	user, client := lines[1], lines[3]
	tests := []struct {
		name string
		bad  string
		want string
	}{
		{name: "name", bad: strings.Replace(user, `"name":"Alice"`, `"name":""`, 1), want: "user: 2d9ecfdd-e6b0-4bc4-b5bf-10be8bd3335c: name: "},
		{name: "email", bad: strings.Replace(user, "alice@example.com", "alice", 1), want: "user: 2d9ecfdd-e6b0-4bc4-b5bf-10be8bd3335c: email: "},
		{name: "email normalised", bad: strings.Replace(user, "alice@", "ALICE@", 1), want: "user email alice@example.com is on line 2 already"},
		{name: "client registration", bad: strings.Replace(client, "https://app.example.com/cb", "https://app.example.com/cb#x", 1),
			want: `client: "web": --redirect-uri "https://app.example.com/cb#x": has a fragment`},
		{name: "client stored otherwise", bad: strings.Replace(client, `"name":"Web"`, `"name":" Web"`, 1),
			want: `client: "web": name: clients add would store it otherwise`},
		{name: "unknown kind", bad: `{"kind":"group"}`, want: `unknown kind "group" (want one of key, user, totp, recovery_code, passkey, client, consent, revocation)`},
		{name: "too long", bad: strings.Repeat(" ", MaxLineBytes+1), want: fmt.Sprintf("longer than %d bytes", MaxLineBytes)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bad == user || tc.bad == client {
				t.Fatalf("the bad line is the good one: %s", tc.bad)
			}
			file := strings.Join([]string{lines[0], lines[1], tc.bad}, "\n")
			_, err := Read(strings.NewReader(file))
			if err == nil || !strings.HasPrefix(err.Error(), "nothing imported:\n") || !strings.Contains(err.Error(), "line 3: "+tc.want) {
				t.Errorf("Read() error = %v, want line 3: %s", err, tc.want)
			}
		})
	}
}

func TestCounts_String(t *testing.T) {
	got := Counts{Keys: 2, Users: 3, TOTPs: 1, RecoveryCodes: 10, Revocations: 1}.String()
	if want := "2 keys, 3 users, 1 TOTPs, 10 recovery codes, 0 passkeys, 0 clients, 0 consents and 1 revocations"; got != want {
		t.Errorf("Counts.String() = %q, want %q", got, want)
	}
}

// Without a Sealer, sealed keys are an error, not a panic.
func TestExport_noSealer(t *testing.T) {
	ctx := context.Background()
	st := mustStore(t)
	sealer := mustSealer(t)
	mustSeed(t, st, sealer)
	if _, err := Export(ctx, st, &bytes.Buffer{}, ExportOptions{}); !errors.Is(err, errNoSealer) {
		t.Errorf("Export of sealed keys without a Sealer = %v, want %v", err, errNoSealer)
	}
	data, _ := mustExport(t, st, sealer)
	f, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Import(ctx, mustStore(t), f, ImportOptions{}); !errors.Is(err, errNoSealer) {
		t.Errorf("Import of keys without a Sealer = %v, want %v", err, errNoSealer)
	}
}
