package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/store"
)

// mustSession signs u in: a session of id created at the fixture's clock,
// with a refresh token of family "fam-"+id issued under it to client.
func mustSession(tb testing.TB, f *fixture, u store.User, id string, client string) store.Session {
	tb.Helper()
	ctx := context.Background()
	now := f.Now().UTC()
	se := store.Session{Hash: "hash-" + id, ID: id, UserID: u.ID, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
		UserAgent: "agent " + id, Address: "192.0.2.1"}
	if err := f.store.CreateSession(ctx, se); err != nil {
		tb.Fatalf("CreateSession(%s) = %v", id, err)
	}
	if client != "" {
		rt := store.RefreshToken{Hash: "rt-" + id, Family: "fam-" + id, ClientID: client, UserID: u.ID, SessionID: id,
			AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(720 * time.Hour)}
		if err := f.store.CreateRefreshToken(ctx, rt); err != nil {
			tb.Fatalf("CreateRefreshToken(%s) = %v", id, err)
		}
	}
	return se
}

// mustClient registers a client with a back-channel logout URI.
func mustClient(tb testing.TB, f *fixture, id string) {
	tb.Helper()
	c := store.Client{ID: id, Name: id, RedirectURIs: []string{"https://app.example.com/cb"}, BackchannelLogoutURI: "https://app.example.com/bc",
		CreatedAt: t0, UpdatedAt: t0}
	if err := f.store.CreateClient(context.Background(), c); err != nil {
		tb.Fatal(err)
	}
}

func problemFields(err error) []string {
	var ie *InvalidError
	if !errors.As(err, &ie) {
		return nil
	}
	var fields []string
	for _, p := range ie.Problems {
		fields = append(fields, p.Field+":"+p.Type)
	}
	return fields
}

func TestService_Rename(t *testing.T) {
	f := mustFixture(t, nil)
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	f.advance(time.Minute)
	u, err := f.svc.Rename(ctx, alice.ID, "  Alice Liddell ")
	if err != nil {
		t.Fatalf("Rename() = %v", err)
	}
	if got, _ := f.store.GetUser(ctx, alice.ID); got.Name != "Alice Liddell" || u.Name != "Alice Liddell" || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("after Rename: %+v, stored %+v; want the trimmed name, updated now", u, got)
	}
	for _, tc := range []struct{ name, want string }{
		{"   ", "name:string_too_short"},
		{strings.Repeat("é", 65), "name:string_too_long"},
		{"a\u0007b", "name:value_error"},
	} {
		if _, err := f.svc.Rename(ctx, alice.ID, tc.name); !slices.Equal(problemFields(err), []string{tc.want}) {
			t.Errorf("Rename(%q) = %v, want an *InvalidError of %s", tc.name, err, tc.want)
		}
	}
	if got, _ := f.store.GetUser(ctx, alice.ID); got.Name != "Alice Liddell" {
		t.Errorf("name after refused renames = %q, want it unchanged", got.Name)
	}
	if _, err := f.svc.Rename(ctx, "00000000-0000-4000-8000-000000000000", "X"); !errors.Is(err, ErrUserGone) {
		t.Errorf("Rename(unknown user) = %v, want ErrUserGone", err)
	}
	if _, err := f.svc.Disable(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Rename(ctx, alice.ID, "X"); !errors.Is(err, ErrUserGone) {
		t.Errorf("Rename(disabled user) = %v, want ErrUserGone", err)
	}
}

func TestService_ChangePassword(t *testing.T) {
	f := mustFixture(t, nil)
	ctx := context.Background()
	mustClient(t, f, "app")
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	bob := mustUser(t, f, "bob@example.com", "bob's horse")
	mustSession(t, f, alice, "s1", "app")
	mustSession(t, f, bob, "s2", "app")

	// Refused before any hash: a new password under the rules, or the
	// current one again.
	before := f.hasher.checks.Load() + f.hasher.hashes.Load()
	for _, tc := range []struct{ next, want string }{
		{"short", "new_password:string_too_short"},
		{"password123", "new_password:value_error"},
		{"correct horse", "new_password:value_error"},
	} {
		if _, err := f.svc.ChangePassword(ctx, alice.ID, "correct horse", tc.next, from, "en"); !slices.Equal(problemFields(err), []string{tc.want}) {
			t.Errorf("ChangePassword(new %q) = %v, want an *InvalidError of %s", tc.next, err, tc.want)
		}
	}
	if got := f.hasher.checks.Load() + f.hasher.hashes.Load() - before; got != 0 {
		t.Errorf("refused new passwords cost %d hashes, want 0", got)
	}
	for _, current := range []string{"wrong horse", strings.Repeat("x", MaxPasswordBytes+1)} {
		if _, err := f.svc.ChangePassword(ctx, alice.ID, current, "new horse staple", from, "en"); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("ChangePassword(wrong current, %d bytes) = %v, want ErrWrongPassword", len(current), err)
		}
	}
	if _, err := f.svc.ChangePassword(ctx, "00000000-0000-4000-8000-000000000000", "x", "new horse staple", from, "en"); !errors.Is(err, ErrUserGone) {
		t.Errorf("ChangePassword(unknown user) = %v, want ErrUserGone", err)
	}

	f.advance(time.Minute)
	u, err := f.svc.ChangePassword(ctx, alice.ID, "correct horse", "new horse staple", from, "en")
	if err != nil {
		t.Fatalf("ChangePassword() = %v", err)
	}
	if !u.TokensValidAfter.Equal(t0.Add(time.Minute)) {
		t.Errorf("TokensValidAfter = %v, want %v: every earlier token ends", u.TokensValidAfter, t0.Add(time.Minute))
	}
	if _, err := f.svc.Authenticate(ctx, "alice@example.com", "correct horse", from); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("login with the old password = %v, want ErrBadCredentials", err)
	}
	if _, err := f.svc.Authenticate(ctx, "alice@example.com", "new horse staple", from); err != nil {
		t.Errorf("login with the new password = %v", err)
	}
	if got, _ := f.store.ListSessions(ctx, alice.ID); len(got) != 0 {
		t.Errorf("alice's sessions after the change = %v, want none", got)
	}
	if _, err := f.store.GetRefreshToken(ctx, "rt-s1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("alice's refresh token after the change = %v, want it gone", err)
	}
	if got, _ := f.store.ListSessions(ctx, bob.ID); len(got) != 1 {
		t.Errorf("bob's sessions after alice's change = %v, want his one", got)
	}
	if q, _ := f.store.ListBackchannelLogouts(ctx, f.Now(), 10); len(q) != 1 || q[0].SessionID != "s1" {
		t.Errorf("queued logouts = %+v, want s1's", q)
	}
	if log := f.takeLog(); strings.Contains(log, "horse") {
		t.Errorf("the log holds a password: %s", log)
	}
}

// The current password is checked under the login throttle: guesses here
// and at the login share one budget.
func TestService_ChangePassword_throttled(t *testing.T) {
	policy := store.ThrottlePolicy{Free: 2, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	f := mustFixture(t, func(o *Options) { o.LoginPolicy = policy })
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	if _, err := f.svc.Authenticate(ctx, "alice@example.com", "guess", from); !errors.Is(err, ErrBadCredentials) {
		t.Fatal(err)
	}
	if _, err := f.svc.ChangePassword(ctx, alice.ID, "guess 2", "new horse staple", from, "en"); !errors.Is(err, ErrWrongPassword) {
		t.Fatal(err)
	}
	before := f.hasher.checks.Load()
	var te *ThrottledError
	if _, err := f.svc.ChangePassword(ctx, alice.ID, "correct horse", "new horse staple", from, "en"); !errors.As(err, &te) {
		t.Errorf("ChangePassword() past the budget = %v, want a *ThrottledError", err)
	}
	if err := f.svc.DeleteAccount(ctx, alice.ID, "correct horse", from); !errors.As(err, &te) {
		t.Errorf("DeleteAccount() past the budget = %v, want a *ThrottledError", err)
	}
	if _, err := f.svc.Authenticate(ctx, "alice@example.com", "correct horse", from); !errors.As(err, &te) {
		t.Errorf("login past the budget = %v, want a *ThrottledError", err)
	}
	if got := f.hasher.checks.Load() - before; got != 0 {
		t.Errorf("throttled attempts cost %d verifications, want 0", got)
	}
}

func TestService_ChangePassword_busy(t *testing.T) {
	pool := &slotHasher{slot: make(chan struct{}, 1)}
	f := mustFixture(t, func(o *Options) {
		pool.PasswordHasher = o.Passwords
		o.Passwords, o.HashQueueWait = pool, 10*time.Millisecond
	})
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	pool.slot <- struct{}{}
	defer func() { <-pool.slot }()
	if _, err := f.svc.ChangePassword(context.Background(), alice.ID, "correct horse", "new horse staple", from, "en"); !errors.Is(err, ErrBusy) {
		t.Errorf("ChangePassword() with the pool saturated = %v, want ErrBusy", err)
	}
	if err := f.svc.DeleteAccount(context.Background(), alice.ID, "correct horse", from); !errors.Is(err, ErrBusy) {
		t.Errorf("DeleteAccount() with the pool saturated = %v, want ErrBusy", err)
	}
}

func TestService_Sessions(t *testing.T) {
	f := mustFixture(t, nil)
	ctx := context.Background()
	mustClient(t, f, "app")
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	mustSession(t, f, alice, "old", "")
	f.advance(time.Hour)
	mustSession(t, f, alice, "mid", "app")
	f.advance(time.Hour)
	mustSession(t, f, alice, "new", "")
	f.advance(22*time.Hour + 30*time.Minute) // "old" expired, not yet collected
	got, err := f.svc.Sessions(ctx, alice.ID)
	if err != nil {
		t.Fatalf("Sessions() = %v", err)
	}
	var ids []string
	for _, se := range got {
		ids = append(ids, se.ID)
	}
	if !slices.Equal(ids, []string{"new", "mid"}) {
		t.Errorf("Sessions() = %v, want the live ones, newest first: [new mid]", ids)
	}
	for _, tc := range []struct{ family, want string }{{"fam-mid", "mid"}, {"fam-other", ""}, {"", ""}} {
		if sid, err := f.svc.SessionOf(ctx, alice.ID, tc.family, got); err != nil || sid != tc.want {
			t.Errorf("SessionOf(%q) = %q, %v; want %q", tc.family, sid, err, tc.want)
		}
	}
}

func TestService_EndSession(t *testing.T) {
	var mu sync.Mutex
	var revoked []string
	f := mustFixture(t, func(o *Options) {
		o.RevokeFamily = func(_ context.Context, fam string) { mu.Lock(); defer mu.Unlock(); revoked = append(revoked, fam) }
	})
	ctx := context.Background()
	mustClient(t, f, "app")
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	bob := mustUser(t, f, "bob@example.com", "bob's horse")
	mustSession(t, f, alice, "a1", "app")
	mustSession(t, f, alice, "a2", "app")
	mustSession(t, f, bob, "b1", "app")

	for _, id := range []string{"b1", "nope", "", strings.Repeat("x", 200), "a1\xff", "a1\x00"} {
		if err := f.svc.EndSession(ctx, alice.ID, id); !errors.Is(err, ErrNoSession) {
			t.Errorf("EndSession(%.10q) = %v, want ErrNoSession", id, err)
		}
	}
	if err := f.svc.EndSession(ctx, alice.ID, "a1"); err != nil {
		t.Fatalf("EndSession(a1) = %v", err)
	}
	if !slices.Equal(revoked, []string{"fam-a1"}) {
		t.Errorf("revoked families = %v, want [fam-a1]", revoked)
	}
	if err := f.svc.EndSession(ctx, alice.ID, "a1"); !errors.Is(err, ErrNoSession) {
		t.Errorf("EndSession(a1 again) = %v, want ErrNoSession", err)
	}
	left := map[string]bool{}
	for _, u := range []store.User{alice, bob} {
		list, _ := f.store.ListSessions(ctx, u.ID)
		for _, se := range list {
			left[se.ID] = true
		}
	}
	if fmt.Sprint(left) != "map[a2:true b1:true]" {
		t.Errorf("sessions left = %v, want a2 and b1", left)
	}
	if _, err := f.store.GetRefreshToken(ctx, "rt-a1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a1's refresh token = %v, want it gone", err)
	}
	if q, _ := f.store.ListBackchannelLogouts(ctx, f.Now(), 10); len(q) != 1 || q[0].SessionID != "a1" {
		t.Errorf("queued logouts = %+v, want a1's", q)
	}
}

func TestService_EndAllSessions(t *testing.T) {
	f := mustFixture(t, nil)
	ctx := context.Background()
	mustClient(t, f, "app")
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	bob := mustUser(t, f, "bob@example.com", "bob's horse")
	mustSession(t, f, alice, "a1", "app")
	mustSession(t, f, alice, "a2", "")
	mustSession(t, f, bob, "b1", "app")
	f.advance(time.Minute)
	u, err := f.svc.EndAllSessions(ctx, alice.ID)
	if err != nil {
		t.Fatalf("EndAllSessions() = %v", err)
	}
	if !u.TokensValidAfter.Equal(f.Now()) {
		t.Errorf("TokensValidAfter = %v, want %v", u.TokensValidAfter, f.Now())
	}
	if _, err := f.svc.Live(ctx, alice.ID, t0); !errors.Is(err, ErrBeforeReset) {
		t.Errorf("Live(a token from before) = %v, want ErrBeforeReset", err)
	}
	if got, _ := f.store.ListSessions(ctx, alice.ID); len(got) != 0 {
		t.Errorf("alice's sessions = %v, want none", got)
	}
	if got, _ := f.store.ListSessions(ctx, bob.ID); len(got) != 1 {
		t.Errorf("bob's sessions = %v, want his one", got)
	}
	if _, err := f.svc.Live(ctx, bob.ID, t0); err != nil {
		t.Errorf("Live(bob's token) = %v, want it live", err)
	}
	if q, _ := f.store.ListBackchannelLogouts(ctx, f.Now(), 10); len(q) != 1 || q[0].SessionID != "a1" {
		t.Errorf("queued logouts = %+v, want a1's", q)
	}
	if _, err := f.svc.EndAllSessions(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, ErrUserGone) {
		t.Errorf("EndAllSessions(unknown user) = %v, want ErrUserGone", err)
	}
}

func TestService_DeleteAccount(t *testing.T) {
	f := mustFixture(t, nil)
	ctx := context.Background()
	mustClient(t, f, "app")
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	mustSession(t, f, alice, "a1", "app")
	if err := f.svc.DeleteAccount(ctx, alice.ID, "wrong horse", from); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("DeleteAccount(wrong password) = %v, want ErrWrongPassword", err)
	}
	if _, err := f.store.GetUser(ctx, alice.ID); err != nil {
		t.Fatalf("the user after a refused deletion: %v", err)
	}
	if err := f.svc.DeleteAccount(ctx, alice.ID, "correct horse", from); err != nil {
		t.Fatalf("DeleteAccount() = %v", err)
	}
	if _, err := f.store.GetUser(ctx, alice.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the user after DeleteAccount = %v, want ErrNotFound", err)
	}
	if q, _ := f.store.ListBackchannelLogouts(ctx, f.Now(), 10); len(q) != 1 || q[0].SessionID != "a1" || q[0].UserID != alice.ID {
		t.Errorf("queued logouts = %+v, want a1's: the client hears the user left", q)
	}
	if err := f.svc.DeleteAccount(ctx, alice.ID, "correct horse", from); !errors.Is(err, ErrUserGone) {
		t.Errorf("DeleteAccount(again) = %v, want ErrUserGone", err)
	}
}

// The CLI's passwd, disable and delete sign the user out everywhere as
// the user's own changes do: each session's clients get a back-channel
// logout.
func TestService_credentialChangesNotifyClients(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(f *fixture, id string) error
	}{
		{"set password", func(f *fixture, id string) error {
			_, err := f.svc.SetPassword(context.Background(), id, "new horse staple")
			return err
		}},
		{"disable", func(f *fixture, id string) error { _, err := f.svc.Disable(context.Background(), id); return err }},
		{"delete", func(f *fixture, id string) error { return f.svc.Delete(context.Background(), id) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustFixture(t, nil)
			mustClient(t, f, "app")
			alice := mustUser(t, f, "alice@example.com", "correct horse")
			mustSession(t, f, alice, "a1", "app")
			if err := tc.do(f, alice.ID); err != nil {
				t.Fatal(err)
			}
			if q, _ := f.store.ListBackchannelLogouts(context.Background(), f.Now(), 10); len(q) != 1 || q[0].SessionID != "a1" {
				t.Errorf("queued logouts = %+v, want a1's", q)
			}
			if list, _ := f.store.ListSessions(context.Background(), alice.ID); len(list) != 0 {
				t.Errorf("sessions = %v, want none", list)
			}
		})
	}
}

// The user's own changes record their events: the password change, each
// session ended, signing out everywhere, the deletion; failures record no
// change.
func TestService_selfEvents(t *testing.T) {
	var f *fixture
	f = mustFixture(t, func(o *Options) {
		o.Events = events.New(events.Options{Store: o.Store.(store.Store), Now: func() time.Time { return f.Now() }})
	})
	ctx := events.WithRequest(context.Background(), from.String(), "test-agent", "req-1")
	mustClient(t, f, "app")
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	mustSession(t, f, alice, "a1", "app")
	if _, err := f.svc.ChangePassword(ctx, alice.ID, "wrong horse", "new horse staple", from, "en"); !errors.Is(err, ErrWrongPassword) {
		t.Fatal(err)
	}
	if _, err := f.svc.ChangePassword(ctx, alice.ID, "correct horse", "new horse staple", from, "en"); err != nil {
		t.Fatal(err)
	}
	mustSession(t, f, alice, "a2", "app")
	if err := f.svc.EndSession(ctx, alice.ID, "a2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.EndAllSessions(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteAccount(ctx, alice.ID, "new horse staple", from); err != nil {
		t.Fatal(err)
	}
	want := []store.Event{
		{Type: events.LoginFailure, UserID: alice.ID, Detail: map[string]string{"reason": "wrong_password", "via": "password_check"}, RequestID: "req-1"},
		{Type: events.PasswordChanged, UserID: alice.ID, Detail: map[string]string{"via": "account"}, RequestID: "req-1"},
		{Type: events.SessionEnded, UserID: alice.ID, Detail: map[string]string{"sid": "a2", "via": "account"}, RequestID: "req-1"},
		{Type: events.SessionEnded, UserID: alice.ID, Detail: map[string]string{"via": "everywhere"}, RequestID: "req-1"},
		{Type: events.UserDeleted, UserID: alice.ID, Detail: map[string]string{"email": "alice@example.com", "via": "account"}, RequestID: "req-1"},
	}
	if diff := cmp.Diff(want, eventsOf(t, f.store)); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
}

// A password change mails the owner a notice in the request's language,
// with the recovery page's link, and a server without mail still changes
// the password.
func TestService_ChangePassword_notice(t *testing.T) {
	f, m := mailFixture(t, nil)
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	if _, err := f.svc.ChangePassword(ctx, alice.ID, "wrong horse", "new horse staple", from, "ja"); !errors.Is(err, ErrWrongPassword) {
		t.Fatal(err)
	}
	if got := m.take(); len(got) != 0 {
		t.Errorf("a refused change mailed %+v", got)
	}
	if _, err := f.svc.ChangePassword(ctx, alice.ID, "correct horse", "new horse staple", from, "ja"); err != nil {
		t.Fatal(err)
	}
	msg := m.only(t, MailPasswordChanged, "alice@example.com")
	if msg.Lang != "ja" || msg.Data["link"] != "https://id.example.com"+RecoverPath || msg.Data["name"] != "U" {
		t.Errorf("notice = %+v, want Japanese, with the recovery link and the name", msg)
	}
	off := mustFixture(t, nil) // no Mailer
	bob := mustUser(t, off, "bob@example.com", "correct horse")
	if _, err := off.svc.ChangePassword(ctx, bob.ID, "correct horse", "new horse staple", from, "en"); err != nil {
		t.Errorf("ChangePassword() without mail = %v, want the change made", err)
	}
	if log := off.takeLog(); strings.Contains(log, "level=ERROR") {
		t.Errorf("a server without mail logged an error: %s", log)
	}
}
