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

// mfaTests are the MFAStore cases of Run, and the AMR and RequireMFA
// round trips through the grants and clients.
var mfaTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"totp round trip", testTOTPRoundTrip},
	{"confirm totp", testConfirmTOTP},
	{"use totp step", testUseTOTPStep},
	{"delete totp", testDeleteTOTP},
	{"recovery codes", testRecoveryCodes},
	{"passkey round trip", testPasskeyRoundTrip},
	{"list passkeys", testListPasskeys},
	{"use passkey", testUsePasskey},
	{"delete passkey", testDeletePasskey},
	{"delete mfa", testDeleteMFA},
	{"challenge round trip", testChallengeRoundTrip},
	{"attempt challenge", testAttemptChallenge},
	{"take challenge", testTakeChallenge},
	{"challenges janitor", testChallengesJanitor},
	{"delete user deletes second factors", testMFAUserDeleted},
	{"amr round trip", testAMRRoundTrip},
	{"require mfa round trip", testRequireMFARoundTrip},
}

// runConcurrentMFA runs the second-factor races of RunConcurrent.
func runConcurrentMFA(t *testing.T, open Opener) {
	t.Run("confirm totp", func(t *testing.T) { testConcurrentConfirmTOTP(t, open(t)) })
	t.Run("use totp step", func(t *testing.T) { testConcurrentUseTOTPStep(t, open(t)) })
	t.Run("use recovery code", func(t *testing.T) { testConcurrentUseRecoveryCode(t, open(t)) })
	t.Run("attempt challenge", func(t *testing.T) { testConcurrentAttemptChallenge(t, open(t)) })
	t.Run("take challenge", func(t *testing.T) { testConcurrentTakeChallenge(t, open(t)) })
}

func newTOTP(u store.User) store.TOTP {
	return store.TOTP{
		UserID:    u.ID,
		Secret:    []byte{0x00, 0x01, 0xfe, 0xff, byte(len(u.ID))},
		CreatedAt: base.Add(time.Minute),
	}
}

func newPasskey(i int, u store.User) store.Passkey {
	return store.Passkey{
		ID:              []byte{0x00, byte(i), 0xff, 0x10, 0x20},
		UserID:          u.ID,
		Name:            fmt.Sprintf("Passkey %d", i),
		PublicKey:       []byte{0xa5, 0x01, 0x02, 0x03, 0x26, byte(i)},
		AttestationType: "none",
		AAGUID:          []byte{0xad, 0xce, 0x00, 0x02, 0x35, 0xbc, 0xc6, 0x0a, 0x64, 0x8b, 0x0b, 0x25, 0xf1, 0xf0, 0x55, byte(i)},
		SignCount:       uint32(i),
		Transports:      []string{"internal", "hybrid"},
		UserVerified:    true,
		BackupEligible:  true,
		CreatedAt:       base.Add(time.Duration(i) * time.Second),
	}
}

func newChallenge(i int, u store.User) store.Challenge {
	return store.Challenge{
		Hash:      fmt.Sprintf("%064x", 0xc0000+i),
		Purpose:   store.ChallengeLogin,
		UserID:    u.ID,
		Data:      []byte(fmt.Sprintf(`{"n":%d}`, i)),
		CreatedAt: base.Add(time.Duration(i) * time.Second),
		ExpiresAt: base.Add(5*time.Minute + time.Duration(i)*time.Second),
	}
}

// recoveryHash is the i-th fixed recovery code hash.
func recoveryHash(i int) string { return fmt.Sprintf("%064x", 0xbeef00+i) }

func mustPutTOTP(tb testing.TB, s store.Store, t store.TOTP) {
	tb.Helper()
	if err := s.PutTOTP(context.Background(), t); err != nil {
		tb.Fatalf("PutTOTP(%s) = %v", t.UserID, err)
	}
}

func mustConfirmTOTP(tb testing.TB, s store.Store, userID string, step int64) {
	tb.Helper()
	if err := s.ConfirmTOTP(context.Background(), userID, step, base.Add(2*time.Minute)); err != nil {
		tb.Fatalf("ConfirmTOTP(%s, %d) = %v", userID, step, err)
	}
}

func mustCreatePasskey(tb testing.TB, s store.Store, p store.Passkey) {
	tb.Helper()
	if err := s.CreatePasskey(context.Background(), p); err != nil {
		tb.Fatalf("CreatePasskey(%s) = %v", p.Name, err)
	}
}

func mustCreateChallenge(tb testing.TB, s store.Store, c store.Challenge) {
	tb.Helper()
	if err := s.CreateChallenge(context.Background(), c); err != nil {
		tb.Fatalf("CreateChallenge(%s) = %v", c.Purpose, err)
	}
}

func mustReplaceRecoveryCodes(tb testing.TB, s store.Store, userID string, hashes ...string) {
	tb.Helper()
	if err := s.ReplaceRecoveryCodes(context.Background(), userID, hashes, base); err != nil {
		tb.Fatalf("ReplaceRecoveryCodes(%s) = %v", userID, err)
	}
}

func countRecoveryCodes(tb testing.TB, s store.Store, userID string) int {
	tb.Helper()
	n, err := s.CountRecoveryCodes(context.Background(), userID)
	if err != nil {
		tb.Fatalf("CountRecoveryCodes(%s) = %v", userID, err)
	}
	return n
}

func testTOTPRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	if _, err := s.GetTOTP(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTOTP(none) = %v, want %v", err, store.ErrNotFound)
	}
	pending := newTOTP(u)
	mustPutTOTP(t, s, pending)
	got, err := s.GetTOTP(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetTOTP() = %v", err)
	}
	if diff := cmp.Diff(pending, got); diff != "" {
		t.Errorf("GetTOTP() mismatch (-want +got):\n%s", diff)
	}

	// A new enrolment replaces the old one, confirmed or not, entirely.
	confirmed := store.TOTP{UserID: u.ID, Secret: []byte("another sealed secret"), ConfirmedAt: base.Add(time.Hour),
		LastStep: 59000000, CreatedAt: base.Add(time.Hour - time.Microsecond)}
	mustPutTOTP(t, s, confirmed)
	if got, _ := s.GetTOTP(ctx, u.ID); !cmp.Equal(confirmed, got) {
		t.Errorf("GetTOTP() after a second PutTOTP = %+v, want %+v", got, confirmed)
	}
	mustPutTOTP(t, s, pending)
	if got, _ := s.GetTOTP(ctx, u.ID); !cmp.Equal(pending, got) {
		t.Errorf("GetTOTP() after PutTOTP of a pending one = %+v, want %+v (pending again)", got, pending)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt not in UTC: %v", got.CreatedAt)
	}

	if err := s.PutTOTP(ctx, newTOTP(newUser(2))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutTOTP(missing user) = %v, want %v", err, store.ErrNotFound)
	}
}

func testConfirmTOTP(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	now := base.Add(3 * time.Minute)
	if err := s.ConfirmTOTP(ctx, u.ID, 100, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConfirmTOTP(none) = %v, want %v", err, store.ErrNotFound)
	}
	mustPutTOTP(t, s, newTOTP(u))
	if err := s.ConfirmTOTP(ctx, u.ID, 100, now); err != nil {
		t.Fatalf("ConfirmTOTP() = %v", err)
	}
	want := newTOTP(u)
	want.ConfirmedAt, want.LastStep = now, 100
	if got, _ := s.GetTOTP(ctx, u.ID); !cmp.Equal(want, got) {
		t.Errorf("GetTOTP() after ConfirmTOTP = %+v, want %+v", got, want)
	}
	if err := s.ConfirmTOTP(ctx, u.ID, 101, now.Add(time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ConfirmTOTP(confirmed) = %v, want %v", err, store.ErrConflict)
	}
	if got, _ := s.GetTOTP(ctx, u.ID); !cmp.Equal(want, got) {
		t.Errorf("a second ConfirmTOTP changed it: %+v, want %+v", got, want)
	}
}

func testUseTOTPStep(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	if err := s.UseTOTPStep(ctx, u.ID, 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseTOTPStep(none) = %v, want %v", err, store.ErrNotFound)
	}
	mustPutTOTP(t, s, newTOTP(u))
	if err := s.UseTOTPStep(ctx, u.ID, 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseTOTPStep(pending) = %v, want %v", err, store.ErrNotFound)
	}
	mustConfirmTOTP(t, s, u.ID, 10)
	tests := []struct {
		name string
		step int64
		want error
		last int64
	}{
		{"same step", 10, store.ErrConflict, 10},
		{"earlier step", 9, store.ErrConflict, 10},
		{"next step", 11, nil, 11},
		{"replay", 11, store.ErrConflict, 11},
		{"jump", 13, nil, 13},
		{"back within the window", 12, store.ErrConflict, 13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.UseTOTPStep(ctx, u.ID, tc.step); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("UseTOTPStep(%d) = %v, want %v", tc.step, err, tc.want)
			}
			if got, _ := s.GetTOTP(ctx, u.ID); got.LastStep != tc.last {
				t.Errorf("LastStep after UseTOTPStep(%d) = %d, want %d", tc.step, got.LastStep, tc.last)
			}
		})
	}
}

func testDeleteTOTP(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	mustPutTOTP(t, s, newTOTP(u))
	mustPutTOTP(t, s, newTOTP(other))
	if err := s.DeleteTOTP(ctx, u.ID); err != nil {
		t.Fatalf("DeleteTOTP() = %v", err)
	}
	if _, err := s.GetTOTP(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTOTP() after DeleteTOTP = %v, want %v", err, store.ErrNotFound)
	}
	if _, err := s.GetTOTP(ctx, other.ID); err != nil {
		t.Errorf("DeleteTOTP deleted another user's: %v", err)
	}
	if err := s.DeleteTOTP(ctx, u.ID); err != nil {
		t.Errorf("DeleteTOTP(none) = %v, want nil", err)
	}
}

func testRecoveryCodes(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	if n := countRecoveryCodes(t, s, u.ID); n != 0 {
		t.Errorf("CountRecoveryCodes(none) = %d, want 0", n)
	}
	mustReplaceRecoveryCodes(t, s, u.ID, recoveryHash(1), recoveryHash(2), recoveryHash(3))
	mustReplaceRecoveryCodes(t, s, other.ID, recoveryHash(1), recoveryHash(9))
	if n := countRecoveryCodes(t, s, u.ID); n != 3 {
		t.Errorf("CountRecoveryCodes() = %d, want 3", n)
	}

	now := base.Add(time.Hour)
	use := []struct {
		name   string
		userID string
		hash   string
		want   error
	}{
		{"unused", u.ID, recoveryHash(2), nil},
		{"used", u.ID, recoveryHash(2), store.ErrNotFound},
		{"unknown", u.ID, recoveryHash(4), store.ErrNotFound},
		{"another user's", u.ID, recoveryHash(9), store.ErrNotFound},
		{"same hash, other user", other.ID, recoveryHash(2), store.ErrNotFound},
		{"same hash as another user's", other.ID, recoveryHash(1), nil},
	}
	for _, tc := range use {
		err := s.UseRecoveryCode(ctx, tc.userID, tc.hash, now)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("UseRecoveryCode(%s) = %v, want %v", tc.name, err, tc.want)
		}
	}
	if n := countRecoveryCodes(t, s, u.ID); n != 2 {
		t.Errorf("CountRecoveryCodes() after one use = %d, want 2", n)
	}
	if n := countRecoveryCodes(t, s, other.ID); n != 1 {
		t.Errorf("CountRecoveryCodes(other) after one use = %d, want 1", n)
	}
	// The list has the used code too, by creation and then hash.
	want := []store.RecoveryCode{
		{UserID: u.ID, Hash: recoveryHash(1), CreatedAt: base},
		{UserID: u.ID, Hash: recoveryHash(2), CreatedAt: base, UsedAt: now},
		{UserID: u.ID, Hash: recoveryHash(3), CreatedAt: base},
	}
	if got, err := s.ListRecoveryCodes(ctx, u.ID); err != nil || !cmp.Equal(got, want) {
		t.Errorf("ListRecoveryCodes() = %v, (-want +got):\n%s", err, cmp.Diff(want, got))
	}
	if got, err := s.ListRecoveryCodes(ctx, newUser(3).ID); err != nil || len(got) != 0 {
		t.Errorf("ListRecoveryCodes(no such user) = %+v, %v, want none", got, err)
	}

	// New codes replace every old one, used or not.
	mustReplaceRecoveryCodes(t, s, u.ID, recoveryHash(2), recoveryHash(5))
	if n := countRecoveryCodes(t, s, u.ID); n != 2 {
		t.Errorf("CountRecoveryCodes() after a replacement = %d, want 2", n)
	}
	if err := s.UseRecoveryCode(ctx, u.ID, recoveryHash(1), now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseRecoveryCode(replaced) = %v, want %v", err, store.ErrNotFound)
	}
	if err := s.UseRecoveryCode(ctx, u.ID, recoveryHash(2), now); err != nil {
		t.Errorf("UseRecoveryCode(reissued after use) = %v, want nil", err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, newUser(3).ID, []string{recoveryHash(1)}, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReplaceRecoveryCodes(missing user) = %v, want %v", err, store.ErrNotFound)
	}

	if err := s.DeleteRecoveryCodes(ctx, u.ID); err != nil {
		t.Fatalf("DeleteRecoveryCodes() = %v", err)
	}
	if n := countRecoveryCodes(t, s, u.ID); n != 0 {
		t.Errorf("CountRecoveryCodes() after DeleteRecoveryCodes = %d, want 0", n)
	}
	if n := countRecoveryCodes(t, s, other.ID); n != 1 {
		t.Errorf("DeleteRecoveryCodes deleted another user's: %d left, want 1", n)
	}
	if err := s.DeleteRecoveryCodes(ctx, u.ID); err != nil {
		t.Errorf("DeleteRecoveryCodes(none) = %v, want nil", err)
	}
}

func testPasskeyRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	want := newPasskey(1, u)
	want.Name = "Ünïcode ✓ key"
	want.SignCount = 1<<32 - 1 // the largest sign count fits
	want.BackupState = true
	want.LastUsedAt = base.Add(time.Hour + time.Microsecond)
	mustCreatePasskey(t, s, want)
	got, err := s.GetPasskey(ctx, want.ID)
	if err != nil {
		t.Fatalf("GetPasskey() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetPasskey() mismatch (-want +got):\n%s", diff)
	}
	if got.CreatedAt.Location() != time.UTC || got.LastUsedAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v %v", got.CreatedAt, got.LastUsedAt)
	}

	bare := newPasskey(2, u)
	bare.Transports, bare.AAGUID, bare.UserVerified, bare.BackupEligible = nil, nil, false, false
	mustCreatePasskey(t, s, bare)
	if got, err := s.GetPasskey(ctx, bare.ID); err != nil || !cmp.Equal(bare, got) {
		t.Errorf("GetPasskey(bare) = %+v, %v; want %+v", got, err, bare)
	}

	dup := newPasskey(3, u)
	dup.ID = want.ID
	if err := s.CreatePasskey(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreatePasskey(taken id) = %v, want %v", err, store.ErrConflict)
	}
	if err := s.CreatePasskey(ctx, newPasskey(4, newUser(2))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreatePasskey(missing user) = %v, want %v", err, store.ErrNotFound)
	}
	// Credential ids are bytes: one that is a prefix of another is another.
	if _, err := s.GetPasskey(ctx, want.ID[:4]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPasskey(prefix) = %v, want %v", err, store.ErrNotFound)
	}
}

func testListPasskeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	if list, err := s.ListPasskeys(ctx, u.ID); err != nil || len(list) != 0 {
		t.Errorf("ListPasskeys(none) = %v, %v; want none", list, err)
	}
	p1, p2, p3 := newPasskey(3, u), newPasskey(1, u), newPasskey(2, other)
	p1.CreatedAt = base // the oldest, though created with a later number
	for _, p := range []store.Passkey{p2, p3, p1} {
		mustCreatePasskey(t, s, p)
	}
	list, err := s.ListPasskeys(ctx, u.ID)
	if err != nil {
		t.Fatalf("ListPasskeys() = %v", err)
	}
	if diff := cmp.Diff([]store.Passkey{p1, p2}, list); diff != "" {
		t.Errorf("ListPasskeys() mismatch, want the user's oldest first (-want +got):\n%s", diff)
	}
}

func testUsePasskey(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	p := newPasskey(1, u)
	mustCreatePasskey(t, s, p)
	now := base.Add(time.Hour)
	if err := s.UsePasskey(ctx, p.ID, 42, true, now); err != nil {
		t.Fatalf("UsePasskey() = %v", err)
	}
	want := p
	want.SignCount, want.BackupState, want.LastUsedAt = 42, true, now
	if got, _ := s.GetPasskey(ctx, p.ID); !cmp.Equal(want, got) {
		t.Errorf("GetPasskey() after UsePasskey = %+v, want %+v", got, want)
	}
	if err := s.UsePasskey(ctx, p.ID, 0, false, now.Add(time.Minute)); err != nil {
		t.Fatalf("UsePasskey(counter 0) = %v", err)
	}
	want.SignCount, want.BackupState, want.LastUsedAt = 0, false, now.Add(time.Minute)
	if got, _ := s.GetPasskey(ctx, p.ID); !cmp.Equal(want, got) {
		t.Errorf("GetPasskey() after a second UsePasskey = %+v, want %+v", got, want)
	}
	if err := s.UsePasskey(ctx, []byte("missing"), 1, false, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UsePasskey(missing) = %v, want %v", err, store.ErrNotFound)
	}
}

func testDeletePasskey(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	mine, theirs := newPasskey(1, u), newPasskey(2, other)
	mustCreatePasskey(t, s, mine)
	mustCreatePasskey(t, s, theirs)
	if err := s.DeletePasskey(ctx, u.ID, theirs.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeletePasskey(another user's) = %v, want %v", err, store.ErrNotFound)
	}
	if _, err := s.GetPasskey(ctx, theirs.ID); err != nil {
		t.Errorf("DeletePasskey(another user's) deleted it: %v", err)
	}
	if err := s.DeletePasskey(ctx, u.ID, mine.ID); err != nil {
		t.Fatalf("DeletePasskey() = %v", err)
	}
	if _, err := s.GetPasskey(ctx, mine.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPasskey() after DeletePasskey = %v, want %v", err, store.ErrNotFound)
	}
	if err := s.DeletePasskey(ctx, u.ID, mine.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeletePasskey(deleted) = %v, want %v", err, store.ErrNotFound)
	}
}

// mustEnrolAll gives the user every kind of second factor and a challenge.
func mustEnrolAll(t *testing.T, s store.Store, i int, u store.User) {
	t.Helper()
	mustPutTOTP(t, s, newTOTP(u))
	mustConfirmTOTP(t, s, u.ID, 1)
	mustReplaceRecoveryCodes(t, s, u.ID, recoveryHash(10*i), recoveryHash(10*i+1))
	mustCreatePasskey(t, s, newPasskey(i, u))
	mustCreateChallenge(t, s, newChallenge(i, u))
}

// checkNoMFA fails unless the user has no second factor left, nor
// challenge i.
func checkNoMFA(t *testing.T, s store.Store, i int, u store.User) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.GetTOTP(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTOTP(%s) = %v, want %v", u.ID, err, store.ErrNotFound)
	}
	if n, err := s.CountRecoveryCodes(ctx, u.ID); err != nil || n != 0 {
		t.Errorf("CountRecoveryCodes(%s) = %d, %v; want 0", u.ID, n, err)
	}
	if list, err := s.ListPasskeys(ctx, u.ID); err != nil || len(list) != 0 {
		t.Errorf("ListPasskeys(%s) = %v, %v; want none", u.ID, list, err)
	}
	if _, err := s.GetPasskey(ctx, newPasskey(i, u).ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPasskey(%d) = %v, want %v", i, err, store.ErrNotFound)
	}
	if _, err := s.GetChallenge(ctx, newChallenge(i, u).Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetChallenge(%d) = %v, want %v", i, err, store.ErrNotFound)
	}
}

// checkAllMFA fails unless the user still has what mustEnrolAll gave.
func checkAllMFA(t *testing.T, s store.Store, i int, u store.User) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.GetTOTP(ctx, u.ID); err != nil {
		t.Errorf("GetTOTP(%s) = %v, want it kept", u.ID, err)
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 2 {
		t.Errorf("CountRecoveryCodes(%s) = %d, want 2 kept", u.ID, n)
	}
	if _, err := s.GetPasskey(ctx, newPasskey(i, u).ID); err != nil {
		t.Errorf("GetPasskey(%d) = %v, want it kept", i, err)
	}
	if _, err := s.GetChallenge(ctx, newChallenge(i, u).Hash); err != nil {
		t.Errorf("GetChallenge(%d) = %v, want it kept", i, err)
	}
}

func testDeleteMFA(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	mustEnrolAll(t, s, 1, u)
	mustEnrolAll(t, s, 2, other)
	passwordless := newChallenge(3, u)
	passwordless.Purpose, passwordless.UserID = store.ChallengePasskeyLogin, ""
	mustCreateChallenge(t, s, passwordless)
	if err := s.DeleteMFA(ctx, u.ID); err != nil {
		t.Fatalf("DeleteMFA() = %v", err)
	}
	checkNoMFA(t, s, 1, u)
	checkAllMFA(t, s, 2, other)
	if _, err := s.GetChallenge(ctx, passwordless.Hash); err != nil {
		t.Errorf("DeleteMFA deleted a challenge of no user: %v", err)
	}
	if _, err := s.GetUser(ctx, u.ID); err != nil {
		t.Errorf("DeleteMFA deleted the user: %v", err)
	}
	if err := s.DeleteMFA(ctx, u.ID); err != nil {
		t.Errorf("DeleteMFA(none left) = %v, want nil", err)
	}
}

func testChallengeRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	withUser := newChallenge(1, u)
	withUser.Purpose = store.ChallengePasskeyRegister
	withUser.Attempts = 2
	passwordless := newChallenge(2, u)
	passwordless.Purpose, passwordless.UserID, passwordless.Data = store.ChallengePasskeyLogin, "", []byte{0x00, 0xff, '{'}
	for _, want := range []store.Challenge{withUser, passwordless} {
		mustCreateChallenge(t, s, want)
		got, err := s.GetChallenge(ctx, want.Hash)
		if err != nil {
			t.Fatalf("GetChallenge(%s) = %v", want.Purpose, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetChallenge(%s) mismatch (-want +got):\n%s", want.Purpose, diff)
		}
		if got.CreatedAt.Location() != time.UTC || got.ExpiresAt.Location() != time.UTC {
			t.Errorf("times not in UTC: %v %v", got.CreatedAt, got.ExpiresAt)
		}
	}
	dup := newChallenge(3, u)
	dup.Hash = withUser.Hash
	if err := s.CreateChallenge(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateChallenge(taken hash) = %v, want %v", err, store.ErrConflict)
	}
	if got, _ := s.GetChallenge(ctx, withUser.Hash); !cmp.Equal(withUser, got) {
		t.Errorf("a conflicting CreateChallenge changed it: %+v", got)
	}
	if _, err := s.GetChallenge(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetChallenge(missing) = %v, want %v", err, store.ErrNotFound)
	}
}

func testAttemptChallenge(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	c := newChallenge(1, u)
	mustCreateChallenge(t, s, c)
	for want := 1; want <= 3; want++ {
		got, err := s.AttemptChallenge(ctx, c.Hash)
		if err != nil {
			t.Fatalf("AttemptChallenge() = %v", err)
		}
		c.Attempts = want
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("AttemptChallenge() #%d mismatch, want it as after (-want +got):\n%s", want, diff)
		}
	}
	if got, _ := s.GetChallenge(ctx, c.Hash); got.Attempts != 3 {
		t.Errorf("stored Attempts = %d, want 3", got.Attempts)
	}
	if _, err := s.AttemptChallenge(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AttemptChallenge(missing) = %v, want %v", err, store.ErrNotFound)
	}
}

func testTakeChallenge(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	c, other := newChallenge(1, u), newChallenge(2, u)
	// Expiry is the caller's to check: an expired one is taken too.
	c.ExpiresAt = base.Add(-time.Hour)
	mustCreateChallenge(t, s, c)
	mustCreateChallenge(t, s, other)
	got, err := s.TakeChallenge(ctx, c.Hash)
	if err != nil {
		t.Fatalf("TakeChallenge() = %v", err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("TakeChallenge() mismatch (-want +got):\n%s", diff)
	}
	if _, err := s.TakeChallenge(ctx, c.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second TakeChallenge() = %v, want %v", err, store.ErrNotFound)
	}
	if _, err := s.GetChallenge(ctx, c.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetChallenge() after TakeChallenge = %v, want %v", err, store.ErrNotFound)
	}
	if _, err := s.GetChallenge(ctx, other.Hash); err != nil {
		t.Errorf("TakeChallenge took another one: %v", err)
	}
}

func testChallengesJanitor(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	now := base.Add(time.Hour)
	var expired []store.Challenge
	for i := range 3 {
		c := newChallenge(i, u)
		c.ExpiresAt = now.Add(-time.Duration(i) * time.Second) // the first expires at now exactly
		if i == 2 {
			c.UserID = ""
		}
		mustCreateChallenge(t, s, c)
		expired = append(expired, c)
	}
	live := newChallenge(9, u)
	live.ExpiresAt = now.Add(time.Microsecond)
	mustCreateChallenge(t, s, live)

	n, err := s.DeleteExpiredChallenges(ctx, now, 2)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredChallenges(limit 2) = %d, %v; want 2", n, err)
	}
	n, err = s.DeleteExpiredChallenges(ctx, now, 10)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredChallenges() = %d, %v; want the 1 left", n, err)
	}
	for _, c := range expired {
		if _, err := s.GetChallenge(ctx, c.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired challenge after the janitor: %v, want %v", err, store.ErrNotFound)
		}
	}
	if _, err := s.GetChallenge(ctx, live.Hash); err != nil {
		t.Errorf("live challenge after the janitor: %v", err)
	}
	if n, err := s.DeleteExpiredChallenges(ctx, now, 10); err != nil || n != 0 {
		t.Errorf("DeleteExpiredChallenges(none expired) = %d, %v; want 0", n, err)
	}
}

func testMFAUserDeleted(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	mustEnrolAll(t, s, 1, u)
	mustEnrolAll(t, s, 2, other)
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser() = %v", err)
	}
	checkNoMFA(t, s, 1, u)
	checkAllMFA(t, s, 2, other)
	// A new user of the same id starts with nothing.
	mustCreateUser(t, s, u)
	checkNoMFA(t, s, 1, u)
}

func testAMRRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	tests := []struct {
		name string
		amr  []string
	}{
		{"none", nil},
		{"password", []string{"pwd"}},
		{"password and otp", []string{"pwd", "otp", "mfa"}},
		{"passkey", []string{"hwk", "user", "mfa"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			se := newSession(10+i, u)
			se.AMR = tc.amr
			mustCreateSession(t, s, se)
			if got, err := s.GetSession(ctx, se.Hash); err != nil || !cmp.Equal(se, got) {
				t.Errorf("GetSession() = %+v, %v; want %+v", got, err, se)
			}
			list, err := s.ListSessions(ctx, u.ID)
			if err != nil || len(list) != i+1 || !cmp.Equal(se, list[i]) {
				t.Errorf("ListSessions() = %+v, %v; want the last to be %+v", list, err, se)
			}

			code := newAuthCode(10+i, c, u)
			code.SessionID, code.AMR = se.ID, tc.amr
			mustCreateAuthCode(t, s, code)
			if got, err := s.GetAuthCode(ctx, code.Hash); err != nil || !cmp.Equal(code, got) {
				t.Errorf("GetAuthCode() = %+v, %v; want %+v", got, err, code)
			}
			redeemed, err := s.RedeemAuthCode(ctx, code.Hash, base.Add(2*time.Second))
			if err != nil || !cmp.Equal(code.AMR, redeemed.AMR) {
				t.Errorf("RedeemAuthCode() AMR = %v, %v; want %v", redeemed.AMR, err, code.AMR)
			}

			rt := newRefreshToken(10+i, c, u)
			rt.SessionID, rt.AMR = se.ID, tc.amr
			mustCreateRefreshToken(t, s, rt)
			if got, err := s.GetRefreshToken(ctx, rt.Hash); err != nil || !cmp.Equal(rt, got) {
				t.Errorf("GetRefreshToken() = %+v, %v; want %+v", got, err, rt)
			}
			next := newRefreshToken(20+i, c, u)
			next.Family, next.SessionID, next.AMR = rt.Family, rt.SessionID, rt.AMR
			before, err := s.RotateRefreshToken(ctx, rt.Hash, base.Add(time.Minute), next)
			if err != nil || !cmp.Equal(rt.AMR, before.AMR) {
				t.Errorf("RotateRefreshToken() AMR = %v, %v; want %v", before.AMR, err, rt.AMR)
			}
			if got, err := s.GetRefreshToken(ctx, next.Hash); err != nil || !cmp.Equal(next, got) {
				t.Errorf("successor = %+v, %v; want %+v, AMR kept", got, err, next)
			}
		})
	}
}

func testRequireMFARoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	plain, strict := newClient(1), newClient(2)
	strict.RequireMFA = true
	mustCreateClient(t, s, plain)
	mustCreateClient(t, s, strict)
	for _, want := range []store.Client{plain, strict} {
		if got, err := s.GetClient(ctx, want.ID); err != nil || got.RequireMFA != want.RequireMFA {
			t.Errorf("GetClient(%s).RequireMFA = %v, %v; want %v", want.ID, got.RequireMFA, err, want.RequireMFA)
		}
	}
	list, err := s.ListClients(ctx)
	if err != nil || len(list) != 2 || list[0].RequireMFA || !list[1].RequireMFA {
		t.Errorf("ListClients() = %+v, %v; want RequireMFA false, true", list, err)
	}
	for _, c := range []store.Client{plain, strict} {
		got, err := s.UpdateClient(ctx, c.ID, func(old store.Client) (store.Client, error) {
			if old.RequireMFA != c.RequireMFA {
				t.Errorf("UpdateClient(%s) old.RequireMFA = %v, want %v", c.ID, old.RequireMFA, c.RequireMFA)
			}
			old.RequireMFA = !old.RequireMFA
			return old, nil
		})
		if err != nil || got.RequireMFA == c.RequireMFA {
			t.Errorf("UpdateClient(%s) = %+v, %v; want RequireMFA %v", c.ID, got, err, !c.RequireMFA)
		}
		if stored, _ := s.GetClient(ctx, c.ID); stored.RequireMFA == c.RequireMFA {
			t.Errorf("GetClient(%s) after UpdateClient: RequireMFA = %v, want %v", c.ID, stored.RequireMFA, !c.RequireMFA)
		}
	}
}

// parallel runs fn n times at once and returns the errors, by call.
func parallel(n int, fn func(i int) error) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return errs
}

// checkOneWinner fails unless exactly one call succeeded and every other
// failed with lose.
func checkOneWinner(t *testing.T, what string, errs []error, lose error) {
	t.Helper()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, lose):
			t.Errorf("%s = %v, want nil or %v", what, err, lose)
		}
	}
	if wins != 1 {
		t.Errorf("%d parallel %s succeeded, want exactly 1", wins, what)
	}
}

const racers = 16

func testConcurrentConfirmTOTP(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	mustPutTOTP(t, s, newTOTP(u))
	errs := parallel(racers, func(i int) error {
		return s.ConfirmTOTP(ctx, u.ID, int64(100+i), base.Add(time.Duration(i)*time.Second))
	})
	checkOneWinner(t, "ConfirmTOTP()", errs, store.ErrConflict)
	got, err := s.GetTOTP(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The winner's step and time, together.
	for i, err := range errs {
		if err == nil && (got.LastStep != int64(100+i) || !got.ConfirmedAt.Equal(base.Add(time.Duration(i)*time.Second))) {
			t.Errorf("stored TOTP = %+v, want the winner's (#%d) step and time", got, i)
		}
	}
}

func testConcurrentUseTOTPStep(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	mustPutTOTP(t, s, newTOTP(u))
	mustConfirmTOTP(t, s, u.ID, 10)
	errs := parallel(racers, func(int) error { return s.UseTOTPStep(ctx, u.ID, 11) })
	checkOneWinner(t, "UseTOTPStep(same code)", errs, store.ErrConflict)
	if got, _ := s.GetTOTP(ctx, u.ID); got.LastStep != 11 {
		t.Errorf("LastStep = %d, want 11", got.LastStep)
	}
}

func testConcurrentUseRecoveryCode(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	mustReplaceRecoveryCodes(t, s, u.ID, recoveryHash(1), recoveryHash(2))
	errs := parallel(racers, func(i int) error {
		return s.UseRecoveryCode(ctx, u.ID, recoveryHash(1), base.Add(time.Duration(i)*time.Second))
	})
	checkOneWinner(t, "UseRecoveryCode()", errs, store.ErrNotFound)
	if n := countRecoveryCodes(t, s, u.ID); n != 1 {
		t.Errorf("CountRecoveryCodes() = %d, want 1", n)
	}
}

func testConcurrentAttemptChallenge(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	c := newChallenge(1, u)
	mustCreateChallenge(t, s, c)
	seen := make([]int, racers)
	errs := parallel(racers, func(i int) error {
		got, err := s.AttemptChallenge(ctx, c.Hash)
		seen[i] = got.Attempts
		return err
	})
	counts := map[int]bool{}
	for i, err := range errs {
		if err != nil {
			t.Errorf("AttemptChallenge() = %v", err)
		}
		counts[seen[i]] = true
	}
	for want := 1; want <= racers; want++ {
		if !counts[want] {
			t.Errorf("no parallel AttemptChallenge() saw %d attempts; saw %v: an attempt was lost or counted twice", want, seen)
		}
	}
	if got, _ := s.GetChallenge(ctx, c.Hash); got.Attempts != racers {
		t.Errorf("Attempts after %d parallel attempts = %d", racers, got.Attempts)
	}
}

func testConcurrentTakeChallenge(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(1)
	mustCreateUser(t, s, u)
	c := newChallenge(1, u)
	mustCreateChallenge(t, s, c)
	errs := parallel(racers, func(int) error {
		got, err := s.TakeChallenge(ctx, c.Hash)
		if err == nil && !cmp.Equal(c, got) {
			return fmt.Errorf("TakeChallenge() = %+v, want %+v", got, c)
		}
		return err
	})
	checkOneWinner(t, "TakeChallenge()", errs, store.ErrNotFound)
}
