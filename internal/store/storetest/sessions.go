package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/inkan-dev/inkan/internal/store"
)

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, u := mustGrantee(t, s)
	want := newSession(1, u)
	want.AuthTime = base.Add(-time.Minute).In(time.FixedZone("JST", 9*3600))
	want.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 「印」"
	want.Address = "2001:db8::1"
	mustCreateSession(t, s, want)
	got, err := s.GetSession(ctx, want.Hash)
	if err != nil {
		t.Fatalf("GetSession() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetSession() mismatch (-want +got):\n%s", diff)
	}
	if got.AuthTime.Location() != time.UTC {
		t.Errorf("GetSession() AuthTime = %v, want UTC", got.AuthTime)
	}
	if err := s.CreateSession(ctx, want); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession(duplicate) = %v, want %v", err, store.ErrConflict)
	}
	sameID := newSession(3, u)
	sameID.ID = want.ID
	if err := s.CreateSession(ctx, sameID); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession(duplicate ID) = %v, want %v", err, store.ErrConflict)
	}
	orphan := newSession(2, u)
	orphan.UserID = "missing"
	if err := s.CreateSession(ctx, orphan); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateSession(unknown user) = %v, want %v", err, store.ErrNotFound)
	}
	if err := s.DeleteSession(ctx, want.Hash); err != nil {
		t.Fatalf("DeleteSession() = %v", err)
	}
	if _, err := s.GetSession(ctx, want.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession(deleted) = %v, want %v", err, store.ErrNotFound)
	}
	if err := s.DeleteSession(ctx, want.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteSession(deleted) = %v, want %v", err, store.ErrNotFound)
	}
}

// mustQueueLogouts gives the clients back-channel logout URIs, signs u
// in, issues each a code under the session and ends it, so that one logout
// is queued for each; it returns the session's ID.
func mustQueueLogouts(t *testing.T, s store.Store, u store.User, clients ...store.Client) string {
	t.Helper()
	ctx := context.Background()
	sess := newSession(90, u)
	mustCreateSession(t, s, sess)
	for i, c := range clients {
		if _, err := s.UpdateClient(ctx, c.ID, func(old store.Client) (store.Client, error) {
			old.BackchannelLogoutURI = "https://" + c.ID + ".example.com/logout"
			return old, nil
		}); err != nil {
			t.Fatal(err)
		}
		code := newAuthCode(90+i, c, u)
		code.SessionID = sess.ID
		mustCreateAuthCode(t, s, code)
	}
	if err := s.EndSession(ctx, sess.ID, u.ID, base); err != nil {
		t.Fatalf("EndSession() = %v", err)
	}
	return sess.ID
}

func listLogouts(t *testing.T, s store.Store, now time.Time) []store.BackchannelLogout {
	t.Helper()
	list, err := s.ListBackchannelLogouts(context.Background(), now, 100)
	if err != nil {
		t.Fatalf("ListBackchannelLogouts() = %v", err)
	}
	return list
}

// Logout ends the session, its refresh tokens and its unredeemed codes,
// and only the user's own; it queues a logout for each client with a
// back-channel URI that got a code or a refresh token under it.
func testEndSession(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	notified := newClient(2) // has a back-channel logout URI
	notified.BackchannelLogoutURI = "https://app2.example.com/backchannel"
	mustCreateClient(t, s, notified)
	refreshOnly := newClient(3) // a refresh token of the session, its code long gone
	refreshOnly.BackchannelLogoutURI = "https://app3.example.com/backchannel"
	mustCreateClient(t, s, refreshOnly)
	other := newUser(2)
	mustCreateUser(t, s, other)

	sess, sess2 := newSession(1, u), newSession(2, u)
	mustCreateSession(t, s, sess)
	mustCreateSession(t, s, sess2)
	code := func(i int, cl store.Client, se store.Session) store.AuthCode {
		ac := newAuthCode(i, cl, u)
		ac.SessionID = se.ID
		mustCreateAuthCode(t, s, ac)
		return ac
	}
	token := func(i int, cl store.Client, sessionID string) store.RefreshToken {
		rt := newRefreshToken(i, cl, u)
		rt.SessionID = sessionID
		mustCreateRefreshToken(t, s, rt)
		return rt
	}
	unredeemed, redeemed, notifiedCode, otherCode := code(1, c, sess), code(2, c, sess), code(3, notified, sess), code(4, c, sess2)
	if _, err := s.RedeemAuthCode(ctx, redeemed.Hash, base); err != nil {
		t.Fatal(err)
	}
	in, refreshIn := token(1, c, sess.ID), token(2, refreshOnly, sess.ID)
	out, password := token(3, c, sess2.ID), token(4, c, "")

	// Another user's token cannot end the session.
	if err := s.EndSession(ctx, sess.ID, other.ID, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndSession(another user) = %v, want %v", err, store.ErrNotFound)
	}
	checkKept(t, s, grantRefs{sessions: []string{sess.Hash}, tokens: []string{in.Hash, refreshIn.Hash}})
	if got := listLogouts(t, s, base.Add(time.Hour)); len(got) != 0 {
		t.Errorf("EndSession(another user) queued %+v", got)
	}

	now := base.Add(time.Hour)
	if err := s.EndSession(ctx, sess.ID, u.ID, now); err != nil {
		t.Fatalf("EndSession() = %v", err)
	}
	checkGone(t, s, grantRefs{sessions: []string{sess.Hash}, tokens: []string{in.Hash, refreshIn.Hash}})
	for _, h := range []string{unredeemed.Hash, notifiedCode.Hash} {
		if _, err := s.GetAuthCode(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetAuthCode(unredeemed code of the ended session) = %v, want %v", err, store.ErrNotFound)
		}
	}
	// A redeemed code stays until it expires, so that a replay is still
	// recognized and revokes what it minted.
	if _, err := s.RedeemAuthCode(ctx, redeemed.Hash, now); !errors.Is(err, store.ErrConflict) {
		t.Errorf("RedeemAuthCode(redeemed code of the ended session) = %v, want %v", err, store.ErrConflict)
	}
	checkKept(t, s, grantRefs{sessions: []string{sess2.Hash}, tokens: []string{out.Hash, password.Hash}, codes: []string{otherCode.Hash}})

	want := []store.BackchannelLogout{
		{SessionID: sess.ID, ClientID: notified.ID, UserID: u.ID, CreatedAt: now, DueAt: now},
		{SessionID: sess.ID, ClientID: refreshOnly.ID, UserID: u.ID, CreatedAt: now, DueAt: now},
	}
	sortLogouts := cmpopts.SortSlices(func(a, b store.BackchannelLogout) bool { return a.ClientID < b.ClientID })
	if diff := cmp.Diff(want, listLogouts(t, s, now), sortLogouts); diff != "" {
		t.Errorf("queued logouts mismatch (-want +got):\n%s", diff)
	}
	if got := listLogouts(t, s, now.Add(-time.Microsecond)); len(got) != 0 {
		t.Errorf("ListBackchannelLogouts(before they are due) = %+v, want none", got)
	}

	// Nothing is left: a second logout is ErrNotFound and queues nothing.
	if err := s.EndSession(ctx, sess.ID, u.ID, now.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndSession(ended) = %v, want %v", err, store.ErrNotFound)
	}
	if diff := cmp.Diff(want, listLogouts(t, s, now.Add(time.Hour)), sortLogouts); diff != "" {
		t.Errorf("queued logouts after a second EndSession (-want +got):\n%s", diff)
	}
	// The password grant's tokens have no session: an empty id ends none.
	if err := s.EndSession(ctx, "", u.ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndSession(\"\") = %v, want %v", err, store.ErrNotFound)
	}
	checkKept(t, s, grantRefs{tokens: []string{password.Hash}})

	// The session row expired and went, but its refresh token lives on: a
	// logout by its ID ends the token (an old ID token as the hint).
	if err := s.DeleteSession(ctx, sess2.Hash); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, sess2.ID, u.ID, now); err != nil {
		t.Errorf("EndSession(expired session with a live refresh token) = %v, want nil", err)
	}
	checkGone(t, s, grantRefs{tokens: []string{out.Hash}})
}

// The queue of back-channel logouts: due order, a limit, an atomic update
// and deletion.
func testBackchannelLogouts(t *testing.T, s store.Store) {
	ctx := context.Background()
	c1, u := mustGrantee(t, s)
	c2, c3 := newClient(2), newClient(3)
	mustCreateClient(t, s, c2)
	mustCreateClient(t, s, c3)
	sid := mustQueueLogouts(t, s, u, c1, c2, c3)
	if got := listLogouts(t, s, base); len(got) != 3 {
		t.Fatalf("ListBackchannelLogouts() = %+v, want 3", got)
	}
	if got, err := s.ListBackchannelLogouts(ctx, base, 2); err != nil || len(got) != 2 {
		t.Errorf("ListBackchannelLogouts(limit 2) = %d rows, %v; want 2", len(got), err)
	}

	// c1 is tried and put off for a minute: c2 and c3 come first now.
	later := base.Add(time.Minute).In(time.FixedZone("JST", 9*3600))
	got, err := s.UpdateBackchannelLogout(ctx, sid, c1.ID, func(old store.BackchannelLogout) (store.BackchannelLogout, error) {
		old.Attempts++
		old.DueAt = later
		old.SessionID, old.ClientID = "changed", "changed" // the key is immutable
		return old, nil
	})
	if err != nil {
		t.Fatalf("UpdateBackchannelLogout() = %v", err)
	}
	want := store.BackchannelLogout{SessionID: sid, ClientID: c1.ID, UserID: u.ID, Attempts: 1, CreatedAt: base, DueAt: later}
	if !cmp.Equal(want, got, cmpopts.EquateApproxTime(0)) {
		t.Errorf("UpdateBackchannelLogout() = %+v, want %+v", got, want)
	}
	due := listLogouts(t, s, base)
	if len(due) != 2 || due[0].ClientID == c1.ID || due[1].ClientID == c1.ID {
		t.Errorf("ListBackchannelLogouts(before c1 is due again) = %+v, want c2 and c3", due)
	}
	all := listLogouts(t, s, later)
	if len(all) != 3 || all[2].ClientID != c1.ID || all[2].Attempts != 1 || !all[2].DueAt.Equal(later) || all[2].DueAt.Location() != time.UTC {
		t.Errorf("ListBackchannelLogouts(when c1 is due) = %+v, want c1 last, tried once, due at %v UTC", all, later)
	}

	errAbort := errors.New("abort")
	if _, err := s.UpdateBackchannelLogout(ctx, sid, c2.ID, func(old store.BackchannelLogout) (store.BackchannelLogout, error) {
		old.Attempts = 99
		return old, errAbort
	}); !errors.Is(err, errAbort) {
		t.Errorf("UpdateBackchannelLogout(aborting) = %v, want %v", err, errAbort)
	}
	if _, err := s.UpdateBackchannelLogout(ctx, sid, "missing", func(old store.BackchannelLogout) (store.BackchannelLogout, error) {
		return old, nil
	}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateBackchannelLogout(missing) = %v, want %v", err, store.ErrNotFound)
	}

	if err := s.DeleteBackchannelLogout(ctx, sid, c2.ID); err != nil {
		t.Fatalf("DeleteBackchannelLogout() = %v", err)
	}
	if err := s.DeleteBackchannelLogout(ctx, sid, c2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteBackchannelLogout(deleted) = %v, want %v", err, store.ErrNotFound)
	}
	left := listLogouts(t, s, later)
	if len(left) != 2 || left[0].ClientID != c3.ID || left[0].Attempts != 0 || left[1].ClientID != c1.ID {
		t.Errorf("ListBackchannelLogouts() after deleting c2's = %+v, want c3's (untried) and c1's", left)
	}
}
