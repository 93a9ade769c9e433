package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/inkan-dev/inkan/internal/store"
)

// A user's sessions, expired ones too, oldest first, with every field; no
// other user's.
func testListSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, u := mustGrantee(t, s)
	other := newUser(2)
	mustCreateUser(t, s, other)
	if got, err := s.ListSessions(ctx, u.ID); err != nil || len(got) != 0 {
		t.Errorf("ListSessions(no sessions) = %v, %v; want none", got, err)
	}
	var want []store.Session
	for i, created := range []time.Duration{2 * time.Hour, 0, time.Hour} {
		se := newSession(i+1, u)
		se.CreatedAt = base.Add(created)
		se.AuthTime = se.CreatedAt.Add(time.Second)
		se.ExpiresAt = se.CreatedAt.Add(24 * time.Hour)
		se.UserAgent = "agent " + se.ID
		se.Address = "192.0.2." + se.ID[len(se.ID)-1:]
		mustCreateSession(t, s, se)
		want = append(want, se)
	}
	expired := newSession(4, u) // expired but not yet collected: listed
	expired.CreatedAt, expired.ExpiresAt = base.Add(-48*time.Hour), base.Add(-24*time.Hour)
	mustCreateSession(t, s, expired)
	mustCreateSession(t, s, newSession(5, other))
	want = []store.Session{expired, want[1], want[2], want[0]}
	got, err := s.ListSessions(ctx, u.ID)
	if err != nil {
		t.Fatalf("ListSessions() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListSessions() mismatch (-want +got):\n%s", diff)
	}
	for _, se := range got {
		if se.CreatedAt.Location() != time.UTC || se.ExpiresAt.Location() != time.UTC || se.AuthTime.Location() != time.UTC {
			t.Errorf("ListSessions() times of %s = %v, %v, %v; want UTC", se.ID, se.AuthTime, se.CreatedAt, se.ExpiresAt)
		}
	}
	if got, err := s.ListSessions(ctx, "missing"); err != nil || len(got) != 0 {
		t.Errorf("ListSessions(unknown user) = %v, %v; want none", got, err)
	}
}

// The grant families issued under a session: its codes' (redeemed too)
// and its refresh tokens', each once, sorted; none of another session's or
// another user's.
func testSessionFamilies(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	other := newUser(2)
	mustCreateUser(t, s, other)
	sess, sess2, otherSess := newSession(1, u), newSession(2, u), newSession(3, other)
	for _, se := range []store.Session{sess, sess2, otherSess} {
		mustCreateSession(t, s, se)
	}
	if got, err := s.SessionFamilies(ctx, sess.ID, u.ID); err != nil || len(got) != 0 {
		t.Errorf("SessionFamilies(nothing issued) = %v, %v; want none", got, err)
	}
	code := func(i int, se store.Session, family string, owner store.User) store.AuthCode {
		ac := newAuthCode(i, c, owner)
		ac.SessionID, ac.Family = se.ID, family
		mustCreateAuthCode(t, s, ac)
		return ac
	}
	token := func(i int, sessionID, family string) {
		rt := newRefreshToken(i, c, u)
		rt.SessionID, rt.Family = sessionID, family
		mustCreateRefreshToken(t, s, rt)
	}
	redeemed := code(1, sess, "fam-b", u)
	if _, err := s.RedeemAuthCode(ctx, redeemed.Hash, base); err != nil {
		t.Fatal(err)
	}
	code(2, sess, "fam-c", u)
	token(1, sess.ID, "fam-b") // the code's successor
	token(2, sess.ID, "fam-b")
	token(3, sess.ID, "fam-a") // a family whose code is gone
	token(4, sess2.ID, "fam-other-session")
	token(5, "", "fam-password")
	code(3, otherSess, "fam-other-user", other)

	got, err := s.SessionFamilies(ctx, sess.ID, u.ID)
	if err != nil {
		t.Fatalf("SessionFamilies() = %v", err)
	}
	if diff := cmp.Diff([]string{"fam-a", "fam-b", "fam-c"}, got); diff != "" {
		t.Errorf("SessionFamilies() mismatch (-want +got):\n%s", diff)
	}
	if got, err := s.SessionFamilies(ctx, otherSess.ID, u.ID); err != nil || len(got) != 0 {
		t.Errorf("SessionFamilies(another user's session) = %v, %v; want none", got, err)
	}
	// The session row expired and went; what was issued under it remains.
	if err := s.DeleteSession(ctx, sess.Hash); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SessionFamilies(ctx, sess.ID, u.ID); err != nil || len(got) != 3 {
		t.Errorf("SessionFamilies(expired session) = %v, %v; want its 3 families", got, err)
	}
}

// Signing a user out everywhere ends every session, refresh token and code
// of theirs, queues a logout for every client with a back-channel URI that
// got something under any of their sessions, and leaves another user's be.
func testEndUserSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	plain, u := mustGrantee(t, s) // no back-channel URI
	notified := newClient(2)
	notified.BackchannelLogoutURI = "https://app2.example.com/backchannel"
	mustCreateClient(t, s, notified)
	refreshOnly := newClient(3)
	refreshOnly.BackchannelLogoutURI = "https://app3.example.com/backchannel"
	mustCreateClient(t, s, refreshOnly)
	other := newUser(2)
	mustCreateUser(t, s, other)

	if err := s.EndUserSessions(ctx, u.ID, base); err != nil {
		t.Errorf("EndUserSessions(nothing to end) = %v, want nil", err)
	}

	sess, sess2, gone, otherSess := newSession(1, u), newSession(2, u), newSession(3, u), newSession(4, other)
	for _, se := range []store.Session{sess, sess2, gone, otherSess} {
		mustCreateSession(t, s, se)
	}
	code := func(i int, c store.Client, owner store.User, sessionID string) store.AuthCode {
		ac := newAuthCode(i, c, owner)
		ac.SessionID = sessionID
		mustCreateAuthCode(t, s, ac)
		return ac
	}
	token := func(i int, c store.Client, owner store.User, sessionID string) store.RefreshToken {
		rt := newRefreshToken(i, c, owner)
		rt.SessionID = sessionID
		mustCreateRefreshToken(t, s, rt)
		return rt
	}
	codes := []store.AuthCode{code(1, notified, u, sess.ID), code(2, plain, u, sess2.ID), code(3, plain, u, "")}
	tokens := []store.RefreshToken{
		token(1, plain, u, sess.ID), token(2, refreshOnly, u, gone.ID), token(3, notified, u, ""), // the password grant's
	}
	// gone's row expired and went; its refresh token lives on.
	if err := s.DeleteSession(ctx, gone.Hash); err != nil {
		t.Fatal(err)
	}
	otherCode, otherToken := code(4, notified, other, otherSess.ID), token(4, refreshOnly, other, otherSess.ID)

	now := base.Add(time.Hour)
	if err := s.EndUserSessions(ctx, u.ID, now); err != nil {
		t.Fatalf("EndUserSessions() = %v", err)
	}
	if got, err := s.ListSessions(ctx, u.ID); err != nil || len(got) != 0 {
		t.Errorf("ListSessions(after EndUserSessions) = %v, %v; want none", got, err)
	}
	refs := grantRefs{sessions: []string{sess.Hash, sess2.Hash}}
	for _, rt := range tokens {
		refs.tokens = append(refs.tokens, rt.Hash)
	}
	for _, ac := range codes {
		refs.codes = append(refs.codes, ac.Hash)
	}
	checkGone(t, s, refs)
	checkKept(t, s, grantRefs{sessions: []string{otherSess.Hash}, tokens: []string{otherToken.Hash}, codes: []string{otherCode.Hash}})

	want := []store.BackchannelLogout{
		{SessionID: sess.ID, ClientID: notified.ID, UserID: u.ID, CreatedAt: now, DueAt: now},
		{SessionID: gone.ID, ClientID: refreshOnly.ID, UserID: u.ID, CreatedAt: now, DueAt: now},
	}
	sortLogouts := cmpopts.SortSlices(func(a, b store.BackchannelLogout) bool { return a.SessionID+a.ClientID < b.SessionID+b.ClientID })
	if diff := cmp.Diff(want, listLogouts(t, s, now), sortLogouts); diff != "" {
		t.Errorf("queued logouts mismatch (-want +got):\n%s", diff)
	}
	// Again: nothing left to end, nothing more queued.
	if err := s.EndUserSessions(ctx, u.ID, now.Add(time.Minute)); err != nil {
		t.Errorf("EndUserSessions(again) = %v, want nil", err)
	}
	if diff := cmp.Diff(want, listLogouts(t, s, now.Add(time.Hour)), sortLogouts); diff != "" {
		t.Errorf("queued logouts after a second EndUserSessions (-want +got):\n%s", diff)
	}
}
