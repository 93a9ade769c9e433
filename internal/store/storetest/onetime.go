package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inkan-dev/inkan/internal/store"
)

// oneTimeTests are the OneTimeTokenStore cases of Run, and ListSessions'.
var oneTimeTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"one-time token round trip", testOneTimeRoundTrip},
	{"one-time token voids older", testOneTimeVoidsOlder},
	{"one-time token conflicts", testOneTimeConflicts},
	{"use one-time token", testUseOneTimeToken},
	{"attempt one-time code", testAttemptOneTimeCode},
	{"one-time tokens janitor", testOneTimeJanitor},
	{"delete user deletes one-time tokens", testOneTimeUserDeleted},
}

// runConcurrentOneTime runs the one-time token races of RunConcurrent.
func runConcurrentOneTime(t *testing.T, open Opener) {
	t.Run("use one-time token", func(t *testing.T) { testConcurrentUseOneTimeToken(t, open(t)) })
	t.Run("attempt one-time code", func(t *testing.T) { testConcurrentAttemptOneTimeCode(t, open(t)) })
	t.Run("create one-time token", func(t *testing.T) { testConcurrentCreateOneTimeToken(t, open(t)) })
}

func newOneTimeToken(i int, u store.User, purpose string) store.OneTimeToken {
	return store.OneTimeToken{
		Hash:      fmt.Sprintf("%064x", i),
		CodeMAC:   fmt.Sprintf("mac-%d", i),
		Purpose:   purpose,
		UserID:    u.ID,
		Email:     u.Email,
		CreatedAt: base.Add(time.Duration(i) * time.Second),
		ExpiresAt: base.Add(time.Hour + time.Duration(i)*time.Second),
	}
}

func mustCreateOneTimeToken(tb testing.TB, s store.Store, t store.OneTimeToken) {
	tb.Helper()
	if err := s.CreateOneTimeToken(context.Background(), t); err != nil {
		tb.Fatalf("CreateOneTimeToken(%s) = %v", t.Purpose, err)
	}
}

func testOneTimeRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	want := newOneTimeToken(1, u, store.PurposeEmailChange)
	want.Email = "néw@example.com"
	want.Attempts = 2
	want.UsedAt = want.CreatedAt.Add(time.Minute + time.Microsecond)
	mustCreateOneTimeToken(t, s, want)
	got, err := s.GetOneTimeToken(ctx, want.Hash)
	if err != nil {
		t.Fatalf("GetOneTimeToken() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetOneTimeToken() mismatch (-want +got):\n%s", diff)
	}
	got, err = s.GetUserOneTimeToken(ctx, u.ID, store.PurposeEmailChange)
	if err != nil {
		t.Fatalf("GetUserOneTimeToken() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetUserOneTimeToken() mismatch (-want +got):\n%s", diff)
	}
	if got.CreatedAt.Location() != time.UTC || got.ExpiresAt.Location() != time.UTC || got.UsedAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v %v %v", got.CreatedAt, got.ExpiresAt, got.UsedAt)
	}
	for _, tc := range []struct{ user, purpose string }{
		{u.ID, store.PurposeVerify}, {"00000000-0000-4000-8000-000000000099", store.PurposeEmailChange},
	} {
		if _, err := s.GetUserOneTimeToken(ctx, tc.user, tc.purpose); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUserOneTimeToken(%s, %s) = %v, want %v", tc.user, tc.purpose, err, store.ErrNotFound)
		}
	}
	if _, err := s.GetOneTimeToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetOneTimeToken(nope) = %v, want %v", err, store.ErrNotFound)
	}
}

// A new token of a user and purpose deletes the older ones of that user
// and purpose, and nothing else.
func testOneTimeVoidsOlder(t *testing.T, s store.Store) {
	ctx := context.Background()
	u1, u2 := newUser(1), newUser(2)
	mustCreateUser(t, s, u1)
	mustCreateUser(t, s, u2)
	old := newOneTimeToken(1, u1, store.PurposeRecover)
	used := newOneTimeToken(2, u1, store.PurposeRecover)
	used.UsedAt = used.CreatedAt
	verify := newOneTimeToken(3, u1, store.PurposeVerify)
	other := newOneTimeToken(4, u2, store.PurposeRecover)
	for _, tok := range []store.OneTimeToken{old, used, verify, other} {
		if err := s.CreateOneTimeToken(ctx, tok); err != nil {
			t.Fatalf("CreateOneTimeToken(%d) = %v", tok.CreatedAt.Second(), err)
		}
	}
	newer := newOneTimeToken(5, u1, store.PurposeRecover)
	mustCreateOneTimeToken(t, s, newer)
	for _, tc := range []struct {
		name string
		tok  store.OneTimeToken
		gone bool
	}{
		{"older", old, true}, {"used", used, true}, {"other purpose", verify, false},
		{"other user", other, false}, {"newest", newer, false},
	} {
		_, err := s.GetOneTimeToken(ctx, tc.tok.Hash)
		if tc.gone && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: GetOneTimeToken() after a newer one = %v, want %v", tc.name, err, store.ErrNotFound)
		}
		if !tc.gone && err != nil {
			t.Errorf("%s: GetOneTimeToken() after a newer one = %v, want it kept", tc.name, err)
		}
	}
	if got, err := s.GetUserOneTimeToken(ctx, u1.ID, store.PurposeRecover); err != nil || got.Hash != newer.Hash {
		t.Errorf("GetUserOneTimeToken() = %v, %v; want the newest", got.Hash, err)
	}
}

func testOneTimeConflicts(t *testing.T, s store.Store) {
	ctx := context.Background()
	u1, u2 := newUser(1), newUser(2)
	mustCreateUser(t, s, u1)
	mustCreateUser(t, s, u2)
	tok := newOneTimeToken(1, u1, store.PurposeVerify)
	mustCreateOneTimeToken(t, s, tok)
	same := newOneTimeToken(1, u2, store.PurposeVerify) // same hash, another user
	if err := s.CreateOneTimeToken(ctx, same); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateOneTimeToken(taken hash) = %v, want %v", err, store.ErrConflict)
	}
	if got, err := s.GetOneTimeToken(ctx, tok.Hash); err != nil || got.UserID != u1.ID {
		t.Errorf("GetOneTimeToken() after a conflict = %v, %v; want u1's kept", got.UserID, err)
	}
	missing := newOneTimeToken(2, newUser(9), store.PurposeVerify)
	if err := s.CreateOneTimeToken(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateOneTimeToken(missing user) = %v, want %v", err, store.ErrNotFound)
	}
}

func testUseOneTimeToken(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	tok := newOneTimeToken(1, u, store.PurposeRecover)
	mustCreateOneTimeToken(t, s, tok)
	at := base.Add(time.Minute)
	got, err := s.UseOneTimeToken(ctx, tok.Hash, at)
	if err != nil {
		t.Fatalf("UseOneTimeToken() = %v", err)
	}
	want := tok
	want.UsedAt = at
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UseOneTimeToken() mismatch (-want +got):\n%s", diff)
	}
	again, err := s.UseOneTimeToken(ctx, tok.Hash, at.Add(time.Minute))
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("UseOneTimeToken() again = %v, want %v", err, store.ErrConflict)
	}
	if !again.UsedAt.Equal(at) {
		t.Errorf("UseOneTimeToken() again returned UsedAt %v, want the first use %v", again.UsedAt, at)
	}
	if _, err := s.UseOneTimeToken(ctx, "nope", at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseOneTimeToken(missing) = %v, want %v", err, store.ErrNotFound)
	}
}

func testAttemptOneTimeCode(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	tok := newOneTimeToken(1, u, store.PurposeVerify)
	mustCreateOneTimeToken(t, s, tok)
	for want := 1; want <= 3; want++ {
		got, err := s.AttemptOneTimeCode(ctx, tok.Hash)
		if err != nil || got.Attempts != want || got.Hash != tok.Hash || got.CodeMAC != tok.CodeMAC {
			t.Fatalf("AttemptOneTimeCode() #%d = %+v, %v; want Attempts %d", want, got, err, want)
		}
	}
	if got, _ := s.GetOneTimeToken(ctx, tok.Hash); got.Attempts != 3 || !got.UsedAt.IsZero() {
		t.Errorf("after 3 attempts: Attempts %d, UsedAt %v; want 3, unused", got.Attempts, got.UsedAt)
	}
	if _, err := s.AttemptOneTimeCode(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AttemptOneTimeCode(missing) = %v, want %v", err, store.ErrNotFound)
	}
}

func testOneTimeJanitor(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base.Add(2 * time.Hour)
	var expired, live []store.OneTimeToken
	for i := range 5 {
		u := newUser(i + 1)
		mustCreateUser(t, s, u)
		tok := newOneTimeToken(i+1, u, store.PurposeVerify)
		if i < 3 {
			tok.ExpiresAt = now.Add(-time.Duration(i) * time.Minute) // the first exactly at now
			expired = append(expired, tok)
		} else {
			tok.ExpiresAt = now.Add(time.Microsecond)
			live = append(live, tok)
		}
		mustCreateOneTimeToken(t, s, tok)
	}
	n, err := s.DeleteExpiredOneTimeTokens(ctx, now, 2)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredOneTimeTokens(limit 2) = %d, %v; want 2", n, err)
	}
	n, err = s.DeleteExpiredOneTimeTokens(ctx, now, 10)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredOneTimeTokens() again = %d, %v; want 1", n, err)
	}
	for _, tok := range expired {
		if _, err := s.GetOneTimeToken(ctx, tok.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired token: GetOneTimeToken() = %v, want %v", err, store.ErrNotFound)
		}
	}
	for _, tok := range live {
		if _, err := s.GetOneTimeToken(ctx, tok.Hash); err != nil {
			t.Errorf("live token: GetOneTimeToken() = %v", err)
		}
	}
}

func testOneTimeUserDeleted(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	tok := newOneTimeToken(1, u, store.PurposeRecover)
	mustCreateOneTimeToken(t, s, tok)
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetOneTimeToken(ctx, tok.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetOneTimeToken() after DeleteUser = %v, want %v", err, store.ErrNotFound)
	}
}

// Of parallel uses of one token, exactly one succeeds.
func testConcurrentUseOneTimeToken(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	tok := newOneTimeToken(1, u, store.PurposeRecover)
	mustCreateOneTimeToken(t, s, tok)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.UseOneTimeToken(ctx, tok.Hash, base.Add(time.Duration(i)*time.Second))
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("UseOneTimeToken() = %v, want nil or %v", err, store.ErrConflict)
		}
	}
	if wins != 1 {
		t.Errorf("%d parallel uses succeeded, want exactly 1", wins)
	}
}

// Parallel code attempts are each counted.
func testConcurrentAttemptOneTimeCode(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	tok := newOneTimeToken(1, u, store.PurposeVerify)
	mustCreateOneTimeToken(t, s, tok)
	const n = 16
	var wg sync.WaitGroup
	seen := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.AttemptOneTimeCode(ctx, tok.Hash)
			if err != nil {
				t.Errorf("AttemptOneTimeCode() = %v", err)
			}
			seen[i] = got.Attempts
		}()
	}
	wg.Wait()
	counts := map[int]bool{}
	for _, c := range seen {
		counts[c] = true
	}
	if got, _ := s.GetOneTimeToken(ctx, tok.Hash); got.Attempts != n || len(counts) != n {
		t.Errorf("after %d parallel attempts: Attempts %d, %d distinct counts seen; want %d and %d", n, got.Attempts, len(counts), n, n)
	}
}

// Parallel requests of one user and purpose leave exactly one token.
func testConcurrentCreateOneTimeToken(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.CreateOneTimeToken(ctx, newOneTimeToken(i+1, u, store.PurposeRecover)); err != nil {
				t.Errorf("CreateOneTimeToken() = %v", err)
			}
		}()
	}
	wg.Wait()
	live := 0
	for i := range n {
		if _, err := s.GetOneTimeToken(ctx, newOneTimeToken(i+1, u, store.PurposeRecover).Hash); err == nil {
			live++
		}
	}
	if live != 1 {
		t.Errorf("%d tokens remain after %d parallel requests, want 1", live, n)
	}
}
