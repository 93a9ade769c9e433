// Package storetest is the conformance suite every store.Store backend must
// pass, unchanged: each backend's tests call Run and RunConcurrent with a
// function that opens a fresh, empty store.
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

// Opener returns a fresh, empty, migrated store; it registers its own cleanup.
type Opener func(t *testing.T) store.Store

// Run runs the conformance suite, each subtest on a fresh store.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"user round trip", testUserRoundTrip},
		{"user conflicts", testUserConflicts},
		{"user not found", testUserNotFound},
		{"list users", testListUsers},
		{"update user", testUpdateUser},
		{"delete user", testDeleteUser},
		{"utc", testUTC},
		{"tokens valid after", testTokensValidAfter},
		{"key round trip", testKeyRoundTrip},
		{"first key", testFirstKey},
		{"update key", testUpdateKey},
		{"delete key", testDeleteKey},
		{"keys version", testKeysVersion},
		{"users version", testUsersVersion},
		{"versions", testVersions},
		{"throttle budget", testThrottleBudget},
		{"throttle all or none", testThrottleAllOrNone},
		{"throttle reset and expiry", testThrottleResetExpiry},
		{"throttle janitor", testThrottleJanitor},
		{"ping", func(t *testing.T, s store.Store) {
			if err := s.Ping(context.Background()); err != nil {
				t.Fatalf("Ping() = %v", err)
			}
		}},
	}
	tests = append(tests, oauthTests...)
	tests = append(tests, mailTests...)
	tests = append(tests, eventTests...)
	tests = append(tests, oneTimeTests...)
	tests = append(tests, mfaTests...)
	for _, tc := range append(tests, settingsTests...) {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// RunConcurrent runs the races every backend must settle with exactly one
// winner and no lost update.
func RunConcurrent(t *testing.T, open Opener) {
	t.Run("update user", func(t *testing.T) { testConcurrentUpdateUser(t, open(t)) })
	t.Run("create same email", func(t *testing.T) { testConcurrentCreateUser(t, open(t)) })
	t.Run("first key", func(t *testing.T) { testConcurrentFirstKey(t, open(t)) })
	t.Run("throttle", func(t *testing.T) { testConcurrentThrottle(t, open(t)) })
	t.Run("exclusive", func(t *testing.T) { testExclusive(t, open(t)) })
	runConcurrentOAuth(t, open)
	runConcurrentOneTime(t, open)
	runConcurrentMFA(t, open)
	t.Run("serving settings", func(t *testing.T) { testConcurrentServing(t, open(t)) })
	t.Run("mail claim", func(t *testing.T) { testConcurrentMailClaim(t, open(t)) })
}

// base is a fixed instant with microsecond precision, the precision every
// backend keeps.
var base = time.Date(2026, 11, 25, 10, 30, 0, 123456000, time.UTC)

func newUser(i int) store.User {
	return store.User{
		ID:           fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		Name:         fmt.Sprintf("User %d", i),
		Email:        fmt.Sprintf("user%d@example.com", i),
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		CreatedAt:    base.Add(time.Duration(i) * time.Second),
		UpdatedAt:    base.Add(time.Duration(i) * time.Second),
	}
}

func newKey(i int) store.SigningKey {
	return store.SigningKey{
		ID:          fmt.Sprintf("kid-%d", i),
		Algorithm:   "RS256",
		PrivateKey:  []byte{0x30, 0x82, byte(i), 0x00, 0xff},
		CreatedAt:   base.Add(time.Duration(i) * time.Minute),
		ActivatedAt: base.Add(time.Duration(i) * time.Minute),
	}
}

func mustCreateUser(tb testing.TB, s store.Store, u store.User) {
	tb.Helper()
	if err := s.CreateUser(context.Background(), u); err != nil {
		tb.Fatalf("CreateUser(%s) = %v", u.Email, err)
	}
}

func mustCreateKey(tb testing.TB, s store.Store, k store.SigningKey) {
	tb.Helper()
	if err := s.CreateKey(context.Background(), k); err != nil {
		tb.Fatalf("CreateKey(%s) = %v", k.ID, err)
	}
}

func testUserRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	want := newUser(1)
	want.Name = "Ünïcode ✓ name"
	want.Disabled = true
	want.EmailVerified = true
	want.UpdatedAt = want.CreatedAt.Add(time.Hour)
	want.TokensValidAfter = want.CreatedAt.Add(time.Hour + time.Microsecond)
	mustCreateUser(t, s, want)
	got, err := s.GetUser(ctx, want.ID)
	if err != nil {
		t.Fatalf("GetUser() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetUser() mismatch (-want +got):\n%s", diff)
	}
	got, err = s.GetUserByEmail(ctx, want.Email)
	if err != nil {
		t.Fatalf("GetUserByEmail() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetUserByEmail() mismatch (-want +got):\n%s", diff)
	}
}

func testUserConflicts(t *testing.T, s store.Store) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	sameEmail := newUser(2)
	sameEmail.Email = u.Email
	sameID := newUser(3)
	sameID.ID = u.ID
	for _, dup := range []store.User{sameEmail, sameID} {
		if err := s.CreateUser(context.Background(), dup); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateUser(%s, %s) = %v, want %v", dup.ID, dup.Email, err, store.ErrConflict)
		}
	}
}

func testUserNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetUser(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser(missing) = %v, want %v", err, store.ErrNotFound)
	}
	if _, err := s.GetUserByEmail(ctx, "missing@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUserByEmail(missing) = %v, want %v", err, store.ErrNotFound)
	}
	_, err := s.UpdateUser(ctx, "missing", func(u store.User) (store.User, error) { return u, nil })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateUser(missing) = %v, want %v", err, store.ErrNotFound)
	}
	if err := s.DeleteUser(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteUser(missing) = %v, want %v", err, store.ErrNotFound)
	}
}

func testListUsers(t *testing.T, s store.Store) {
	got, err := s.ListUsers(context.Background())
	if err != nil || len(got) != 0 {
		t.Fatalf("ListUsers() on empty store = %v, %v; want none", got, err)
	}
	var want []store.User
	for _, i := range []int{3, 1, 2} {
		mustCreateUser(t, s, newUser(i))
	}
	for i := 1; i <= 3; i++ {
		want = append(want, newUser(i))
	}
	got, err = s.ListUsers(context.Background())
	if err != nil {
		t.Fatalf("ListUsers() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListUsers() mismatch, want oldest first (-want +got):\n%s", diff)
	}
}

func testUpdateUser(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	other := newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)

	want := u
	want.Name, want.PasswordHash, want.Disabled = "Renamed", "$2b$04$new", true
	want.UpdatedAt = base.Add(time.Hour)
	want.TokensValidAfter = base.Add(time.Hour)
	got, err := s.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
		if diff := cmp.Diff(u, old); diff != "" {
			t.Errorf("update func got old mismatch (-want +got):\n%s", diff)
		}
		n := want
		n.ID = "ignored: ids are immutable"
		return n, nil
	})
	if err != nil {
		t.Fatalf("UpdateUser() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UpdateUser() result mismatch (-want +got):\n%s", diff)
	}
	stored, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser() = %v", err)
	}
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("GetUser() after update mismatch (-want +got):\n%s", diff)
	}

	errAbort := errors.New("abort")
	_, err = s.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
		old.Name = "never stored"
		return old, errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Errorf("UpdateUser(aborting) = %v, want %v", err, errAbort)
	}
	_, err = s.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
		old.Email = other.Email
		return old, nil
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateUser(taken email) = %v, want %v", err, store.ErrConflict)
	}
	if stored, _ := s.GetUser(ctx, u.ID); stored.Name != want.Name || stored.Email != want.Email {
		t.Errorf("failed updates changed the user: %+v", stored)
	}
}

func testDeleteUser(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, newUser(2))
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser() = %v", err)
	}
	if _, err := s.GetUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser(deleted) = %v, want %v", err, store.ErrNotFound)
	}
	if _, err := s.GetUser(ctx, newUser(2).ID); err != nil {
		t.Errorf("GetUser(other) after delete = %v", err)
	}
	// The email is free again.
	mustCreateUser(t, s, u)
}

func testUTC(t *testing.T, s store.Store) {
	tokyo := time.FixedZone("JST", 9*3600)
	u := newUser(1)
	u.CreatedAt = base.In(tokyo)
	u.UpdatedAt = base.Add(time.Microsecond).In(tokyo)
	mustCreateUser(t, s, u)
	got, err := s.GetUser(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("GetUser() = %v", err)
	}
	for _, c := range []struct{ got, want time.Time }{{got.CreatedAt, u.CreatedAt}, {got.UpdatedAt, u.UpdatedAt}} {
		if !c.got.Equal(c.want) || c.got.Location() != time.UTC {
			t.Errorf("stored time = %v, want the instant %v in UTC", c.got, c.want)
		}
	}
}

// TokensValidAfter is kept to the microsecond in UTC, can be moved and
// cleared, and a user who never had it reads back zero.
func testTokensValidAfter(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	tokyo := time.FixedZone("JST", 9*3600)
	for _, tc := range []struct {
		name string
		set  time.Time
	}{
		{"never set", time.Time{}},
		{"set", base.Add(time.Minute + 7*time.Microsecond).In(tokyo)},
		{"moved", base.Add(2 * time.Hour)},
		{"cleared", time.Time{}},
	} {
		if tc.name != "never set" {
			if _, err := s.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
				old.TokensValidAfter = tc.set
				return old, nil
			}); err != nil {
				t.Fatalf("%s: UpdateUser() = %v", tc.name, err)
			}
		}
		for _, get := range []func() (store.User, error){
			func() (store.User, error) { return s.GetUser(ctx, u.ID) },
			func() (store.User, error) { return s.GetUserByEmail(ctx, u.Email) },
			func() (store.User, error) {
				list, err := s.ListUsers(ctx)
				if err != nil || len(list) != 1 {
					// err is nil when the count is wrong, and %w would print nil as %!w(<nil>).
					return store.User{}, fmt.Errorf("ListUsers() = %d users, %v", len(list), err) //nolint:errorlint // may be nil, see above
				}
				return list[0], nil
			},
		} {
			got, err := get()
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !got.TokensValidAfter.Equal(tc.set) || (!tc.set.IsZero() && got.TokensValidAfter.Location() != time.UTC) {
				t.Errorf("%s: TokensValidAfter = %v, want the instant %v in UTC", tc.name, got.TokensValidAfter, tc.set)
			}
		}
	}
}

func testKeyRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	k1, k2, k3 := newKey(1), newKey(2), newKey(3)
	for _, k := range []store.SigningKey{k2, k3, k1} {
		mustCreateKey(t, s, k)
	}
	got, err := s.GetKey(ctx, k2.ID)
	if err != nil {
		t.Fatalf("GetKey() = %v", err)
	}
	if diff := cmp.Diff(k2, got); diff != "" {
		t.Errorf("GetKey() mismatch (-want +got):\n%s", diff)
	}
	list, err := s.ListKeys(ctx)
	if err != nil {
		t.Fatalf("ListKeys() = %v", err)
	}
	if diff := cmp.Diff([]store.SigningKey{k3, k2, k1}, list); diff != "" {
		t.Errorf("ListKeys() mismatch, want latest activated first (-want +got):\n%s", diff)
	}
	if err := s.CreateKey(ctx, k1); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateKey(duplicate) = %v, want %v", err, store.ErrConflict)
	}
	if _, err := s.GetKey(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetKey(missing) = %v, want %v", err, store.ErrNotFound)
	}
}

func testFirstKey(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateFirstKey(ctx, newKey(1)); err != nil {
		t.Fatalf("CreateFirstKey() on empty store = %v", err)
	}
	if err := s.CreateFirstKey(ctx, newKey(2)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateFirstKey() with a key present = %v, want %v", err, store.ErrConflict)
	}
	list, _ := s.ListKeys(ctx)
	if len(list) != 1 || list[0].ID != newKey(1).ID {
		t.Errorf("ListKeys() = %v, want only the first key", list)
	}
}

func testUpdateKey(t *testing.T, s store.Store) {
	ctx := context.Background()
	k := newKey(1)
	mustCreateKey(t, s, k)
	want := k
	want.ActivatedAt = base.Add(24 * time.Hour)
	want.RevokedAt = base.Add(48 * time.Hour)
	got, err := s.UpdateKey(ctx, k.ID, func(old store.SigningKey) (store.SigningKey, error) {
		old.ActivatedAt, old.RevokedAt = want.ActivatedAt, want.RevokedAt
		return old, nil
	})
	if err != nil {
		t.Fatalf("UpdateKey() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UpdateKey() mismatch (-want +got):\n%s", diff)
	}
	if stored, _ := s.GetKey(ctx, k.ID); !cmp.Equal(stored, want) {
		t.Errorf("GetKey() after update = %+v, want %+v", stored, want)
	}
	_, err = s.UpdateKey(ctx, "missing", func(old store.SigningKey) (store.SigningKey, error) { return old, nil })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateKey(missing) = %v, want %v", err, store.ErrNotFound)
	}
}

func testDeleteKey(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustCreateKey(t, s, newKey(1))
	if err := s.DeleteKey(ctx, newKey(1).ID); err != nil {
		t.Fatalf("DeleteKey() = %v", err)
	}
	if err := s.DeleteKey(ctx, newKey(1).ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteKey(deleted) = %v, want %v", err, store.ErrNotFound)
	}
}

func testKeysVersion(t *testing.T, s store.Store) {
	ctx := context.Background()
	version := func() int64 {
		t.Helper()
		v, err := s.KeysVersion(ctx)
		if err != nil {
			t.Fatalf("KeysVersion() = %v", err)
		}
		return v
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"create", func() error { return s.CreateKey(ctx, newKey(1)) }},
		{"update", func() error {
			_, err := s.UpdateKey(ctx, newKey(1).ID, func(k store.SigningKey) (store.SigningKey, error) {
				k.ActivatedAt = k.ActivatedAt.Add(time.Second)
				return k, nil
			})
			return err
		}},
		{"delete", func() error { return s.DeleteKey(ctx, newKey(1).ID) }},
	}
	prev := version()
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if v := version(); v == prev {
			t.Errorf("KeysVersion() after %s = %d, unchanged", st.name, v)
		} else {
			prev = v
		}
	}
	mustCreateUser(t, s, newUser(1))
	if v := version(); v != prev {
		t.Errorf("KeysVersion() changed on a user write: %d → %d", prev, v)
	}
}

func testConcurrentUpdateUser(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	u.Name = ""
	mustCreateUser(t, s, u)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
				old.Name += "x"
				return old, nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("UpdateUser() = %v", err)
		}
	}
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser() = %v", err)
	}
	if len(got.Name) != n {
		t.Errorf("after %d concurrent appends the name has %d: updates were lost", n, len(got.Name))
	}
}

func testConcurrentCreateUser(t *testing.T, s store.Store) {
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			u := newUser(i + 1)
			u.Email = "same@example.com"
			errs <- s.CreateUser(context.Background(), u)
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("CreateUser() = %v, want nil or %v", err, store.ErrConflict)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent creates of one email succeeded, want 1", won)
	}
}

func testConcurrentFirstKey(t *testing.T, s store.Store) {
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- s.CreateFirstKey(context.Background(), newKey(i+1)) })
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("CreateFirstKey() = %v, want nil or %v", err, store.ErrConflict)
		}
	}
	keys, _ := s.ListKeys(context.Background())
	if won != 1 || len(keys) != 1 {
		t.Errorf("%d concurrent first keys succeeded, %d stored; want 1 and 1", won, len(keys))
	}
}

var policy = store.ThrottlePolicy{Free: 3, Base: time.Second, Max: 4 * time.Second, Window: time.Hour}

func mustTake(tb testing.TB, s store.Store, now time.Time, keys ...store.ThrottleKey) time.Duration {
	tb.Helper()
	wait, err := s.Take(context.Background(), now, keys...)
	if err != nil {
		tb.Fatalf("Take() = %v", err)
	}
	return wait
}

func testThrottleBudget(t *testing.T, s store.Store) {
	k := store.ThrottleKey{Key: "acct:a@example.com", Policy: policy}
	steps := []struct {
		at       time.Duration // after base
		wantWait time.Duration
	}{
		{0, 0}, {0, 0}, {0, 0}, // three free attempts; the third blocks for 1 s
		{0, time.Second},
		{500 * time.Millisecond, 500 * time.Millisecond},
		{time.Second, 0},               // admitted, blocks 2 s
		{2 * time.Second, time.Second}, //
		{3 * time.Second, 0},           // blocks 4 s
		{7 * time.Second, 0},           // blocks 4 s: the cap
		{11*time.Second - time.Microsecond, time.Microsecond}, //
	}
	for i, st := range steps {
		if got := mustTake(t, s, base.Add(st.at), k); got != st.wantWait {
			t.Errorf("step %d: Take(+%v) wait = %v, want %v", i, st.at, got, st.wantWait)
		}
	}
	got, err := s.GetThrottle(context.Background(), k.Key)
	if err != nil {
		t.Fatalf("GetThrottle() = %v", err)
	}
	if got.Count != 6 || !got.BlockedUntil.Equal(base.Add(11*time.Second)) {
		t.Errorf("GetThrottle() = %+v, want count 6, blocked until +11s", got)
	}
	if _, err := s.GetThrottle(context.Background(), "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetThrottle(missing) = %v, want %v", err, store.ErrNotFound)
	}
	// Within the free budget, parallel callers whose clocks were read out of
	// order are not blocked by each other.
	free := store.ThrottleKey{Key: "acct:free", Policy: policy}
	if w := mustTake(t, s, base.Add(time.Millisecond), free); w != 0 {
		t.Fatalf("Take() = %v", w)
	}
	if w := mustTake(t, s, base, free); w != 0 {
		t.Errorf("Take() with an earlier clock within the free budget = %v, want 0", w)
	}
}

func testThrottleAllOrNone(t *testing.T, s store.Store) {
	strict := store.ThrottleKey{Key: "pair:a|1.2.3.4", Policy: store.ThrottlePolicy{Free: 1, Base: time.Minute, Max: time.Hour, Window: time.Hour}}
	loose := store.ThrottleKey{Key: "acct:a", Policy: policy}
	if w := mustTake(t, s, base, strict, loose); w != 0 {
		t.Fatalf("first Take() wait = %v, want 0", w)
	}
	if w := mustTake(t, s, base, strict, loose); w != time.Minute {
		t.Errorf("Take() with the strict key blocked: wait = %v, want 1m", w)
	}
	got, _ := s.GetThrottle(context.Background(), loose.Key)
	if got.Count != 1 {
		t.Errorf("a refused Take() counted on the other key: count = %d, want 1", got.Count)
	}
	// Another address is not blocked by the first one's pair counter.
	other := store.ThrottleKey{Key: "pair:a|5.6.7.8", Policy: strict.Policy}
	if w := mustTake(t, s, base, other, loose); w != 0 {
		t.Errorf("Take() from another address = %v, want 0", w)
	}
}

func testThrottleResetExpiry(t *testing.T, s store.Store) {
	ctx := context.Background()
	k := store.ThrottleKey{Key: "acct:b", Policy: policy}
	for range 3 {
		mustTake(t, s, base, k)
	}
	if err := s.ResetThrottle(ctx, k.Key, "never-existed"); err != nil {
		t.Fatalf("ResetThrottle() = %v", err)
	}
	if w := mustTake(t, s, base, k); w != 0 {
		t.Errorf("Take() after reset = %v, want 0", w)
	}
	for range 2 {
		mustTake(t, s, base, k)
	}
	// The window runs from the first attempt, not the last: attempts
	// spread over it do not keep the counter alive.
	if w := mustTake(t, s, base.Add(policy.Window/2), k); w != 0 {
		t.Errorf("Take() within the window = %v, want 0", w)
	}
	if w := mustTake(t, s, base.Add(policy.Window), k); w != 0 {
		t.Errorf("Take() after the window = %v, want 0", w)
	}
	if got, _ := s.GetThrottle(ctx, k.Key); got.Count != 1 || !got.ExpiresAt.Equal(base.Add(2*policy.Window)) {
		t.Errorf("after the window: %+v, want count 1 and a new window", got)
	}
}

func testThrottleJanitor(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 25 {
		mustTake(t, s, base.Add(time.Duration(i)*time.Minute), store.ThrottleKey{Key: fmt.Sprintf("k%d", i), Policy: policy})
	}
	// At base+1h+10m, the counters of minutes 0..10 have expired: 11 rows.
	now := base.Add(policy.Window + 10*time.Minute)
	total := 0
	for {
		n, err := s.DeleteExpiredThrottles(ctx, now, 4)
		if err != nil {
			t.Fatalf("DeleteExpiredThrottles() = %v", err)
		}
		if n > 4 {
			t.Fatalf("DeleteExpiredThrottles(limit 4) deleted %d", n)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total != 11 {
		t.Errorf("deleted %d expired counters, want 11", total)
	}
	if _, err := s.GetThrottle(ctx, "k11"); err != nil {
		t.Errorf("GetThrottle(live) = %v", err)
	}
}

// Parallel attempts at one instant: exactly the free budget is admitted.
func testConcurrentThrottle(t *testing.T, s store.Store) {
	k := store.ThrottleKey{Key: "acct:parallel", Policy: store.ThrottlePolicy{Free: 5, Base: time.Minute, Max: time.Hour, Window: time.Hour}}
	const n = 40
	var wg sync.WaitGroup
	admitted := make(chan bool, n)
	for range n {
		wg.Go(func() {
			w, err := s.Take(context.Background(), base, k)
			if err != nil {
				t.Errorf("Take() = %v", err)
			}
			admitted <- err == nil && w == 0
		})
	}
	wg.Wait()
	close(admitted)
	count := 0
	for a := range admitted {
		if a {
			count++
		}
	}
	if count != 5 {
		t.Errorf("%d parallel attempts admitted %d, want exactly 5", n, count)
	}
}

func testUsersVersion(t *testing.T, s store.Store) {
	ctx := context.Background()
	version := func() int64 {
		t.Helper()
		v, err := s.UsersVersion(ctx)
		if err != nil {
			t.Fatalf("UsersVersion() = %v", err)
		}
		return v
	}
	u := newUser(1)
	v0 := version()
	mustCreateUser(t, s, u)
	if v := version(); v != v0 {
		t.Errorf("UsersVersion() changed on a create: %d → %d; creates need no invalidation", v0, v)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"update", func() error {
			_, err := s.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) { old.Disabled = true; return old, nil })
			return err
		}},
		{"delete", func() error { return s.DeleteUser(ctx, u.ID) }},
	}
	prev := v0
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if v := version(); v == prev {
			t.Errorf("UsersVersion() after %s = %d, unchanged", st.name, v)
		} else {
			prev = v
		}
	}
	mustCreateKey(t, s, newKey(1))
	if v := version(); v != prev {
		t.Errorf("UsersVersion() changed on a key write: %d → %d", prev, v)
	}
}

// While a job runs, the same job does not start again; another job does.
func testExclusive(t *testing.T, s store.Store) {
	ctx := context.Background()
	errJob := errors.New("job failed")
	ran, err := s.Exclusive(ctx, "janitor", func(ctx context.Context) error {
		inner, err := s.Exclusive(ctx, "janitor", func(context.Context) error { return nil })
		if err != nil || inner {
			t.Errorf("Exclusive(janitor) inside itself = %v, %v; want not run", inner, err)
		}
		other, err := s.Exclusive(ctx, "other", func(context.Context) error { return nil })
		if err != nil || !other {
			t.Errorf("Exclusive(other) inside janitor = %v, %v; want run", other, err)
		}
		return errJob
	})
	if !ran || !errors.Is(err, errJob) {
		t.Errorf("Exclusive() = %v, %v; want ran with %v", ran, err, errJob)
	}
	ran, err = s.Exclusive(ctx, "janitor", func(context.Context) error { return nil })
	if !ran || err != nil {
		t.Errorf("Exclusive() after release = %v, %v; want ran", ran, err)
	}
}

// Versions is the four counters read at once: after a write to each table,
// it moves exactly the counter of that table, and agrees with the
// counter's own method.
func testVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	read := func() store.Versions {
		t.Helper()
		v, err := s.Versions(ctx)
		if err != nil {
			t.Fatalf("Versions() = %v", err)
		}
		return v
	}
	mustCreateUser(t, s, newUser(1))
	mustCreateClient(t, s, newClient(1))
	steps := []struct {
		name string
		do   func() error
		bump func(*store.Versions)
	}{
		{"user", func() error { return s.DeleteUser(ctx, newUser(1).ID) }, func(v *store.Versions) { v.Users++ }},
		{"client", func() error { return s.DeleteClient(ctx, newClient(1).ID) }, func(v *store.Versions) { v.Clients++ }},
		{"key", func() error { return s.CreateKey(ctx, newKey(1)) }, func(v *store.Versions) { v.Keys++ }},
		{"revocation", func() error {
			return s.Revoke(ctx, store.Revocation{Kind: "jti", Value: "j1", ExpiresAt: time.Now().Add(time.Hour)})
		}, func(v *store.Versions) { v.Revocations++ }},
	}
	prev := read()
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := read()
		// Only the one counter moves; by how much is the backend's affair.
		want := prev
		st.bump(&want)
		moved := func(a, b int64) bool { return a != b }
		if moved(got.Users, prev.Users) != moved(want.Users, prev.Users) ||
			moved(got.Clients, prev.Clients) != moved(want.Clients, prev.Clients) ||
			moved(got.Keys, prev.Keys) != moved(want.Keys, prev.Keys) ||
			moved(got.Revocations, prev.Revocations) != moved(want.Revocations, prev.Revocations) {
			t.Errorf("Versions() after a %s write: %+v → %+v, want only the %s counter moved", st.name, prev, got, st.name)
		}
		prev = got
	}
	single := []struct {
		name string
		get  func(context.Context) (int64, error)
		want int64
	}{
		{"UsersVersion", s.UsersVersion, prev.Users},
		{"ClientsVersion", s.ClientsVersion, prev.Clients},
		{"KeysVersion", s.KeysVersion, prev.Keys},
		{"RevocationsVersion", s.RevocationsVersion, prev.Revocations},
	}
	for _, c := range single {
		if v, err := c.get(ctx); err != nil || v != c.want {
			t.Errorf("%s() = %d, %v; Versions() says %d", c.name, v, err, c.want)
		}
	}
}
