package account

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
)

// mfaSecret is the tests' MFAOptions.Secret.
var mfaSecret = bytes.Repeat([]byte{9}, 32)

// withMFA turns TOTP on, with the code throttle policy p.
func withMFA(p store.ThrottlePolicy) func(*Options) {
	return func(o *Options) { o.MFA = MFAOptions{Secret: mfaSecret, Policy: p, Issuer: "inkan.test"} }
}

// mfaBackends runs fn on SQLite and, when INKAN_TEST_POSTGRES names a
// server, on PostgreSQL: the atomic uses of codes and the shared throttle
// are the backends' to get right.
func mfaBackends(t *testing.T, fn func(t *testing.T, open func(t *testing.T, edit func(*Options)) *fixture)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T, edit func(*Options)) *fixture { return mustFixture(t, edit) })
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.Database(t)
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, func(t *testing.T, edit func(*Options)) *fixture {
			f := mustFixture(t, func(o *Options) {
				o.Store = st
				if edit != nil {
					edit(o)
				}
			})
			f.store = st
			return f
		})
	})
}

// codeAt is the TOTP code of secret (base32) at t.
func codeAt(tb testing.TB, secret string, t time.Time) string {
	tb.Helper()
	c, err := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// mustTOTP enrols a TOTP for u and confirms it with the code of now,
// returning the secret and the recovery codes.
func mustTOTP(tb testing.TB, f *fixture, u store.User) (secret string, codes []string) {
	tb.Helper()
	ctx := context.Background()
	e, err := f.svc.BeginTOTP(ctx, u.ID)
	if err != nil {
		tb.Fatalf("BeginTOTP() = %v", err)
	}
	codes, err = f.svc.ConfirmTOTP(ctx, u.ID, codeAt(tb, e.Secret, f.Now()))
	if err != nil {
		tb.Fatalf("ConfirmTOTP() = %v", err)
	}
	f.takeLog()
	return e.Secret, codes
}

var recoveryCodeRE = regexp.MustCompile(`^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$`)

// Enrolment: BeginTOTP gives the secret, its otpauth URI and a QR code,
// stores it pending (no factor yet) and sealed; the code of the secret
// confirms it, which makes ten recovery codes, ends every grant, and uses
// the code up.
func TestService_ConfirmTOTP(t *testing.T) {
	var f *fixture
	f = mustFixture(t, func(o *Options) {
		withMFA(store.ThrottlePolicy{})(o)
		o.Events = events.New(events.Options{Store: o.Store.(store.Store), Now: func() time.Time { return f.Now() }})
	})
	ctx := context.Background()
	mustClient(t, f, "app")
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	mustSession(t, f, alice, "a1", "app")

	if _, err := f.svc.ConfirmTOTP(ctx, alice.ID, "123456"); !errors.Is(err, ErrNoFactor) {
		t.Errorf("ConfirmTOTP() before BeginTOTP = %v, want ErrNoFactor", err)
	}
	e, err := f.svc.BeginTOTP(ctx, alice.ID)
	if err != nil {
		t.Fatalf("BeginTOTP() = %v", err)
	}
	if len(e.Secret) != 32 { // 160 bits in base32
		t.Errorf("secret %q has %d characters, want 32", e.Secret, len(e.Secret))
	}
	u, err := url.Parse(e.URL)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != e.Secret ||
		u.Query().Get("issuer") != "inkan.test" || u.Query().Get("digits") != "6" || u.Query().Get("period") != "30" ||
		u.Query().Get("algorithm") != "SHA1" || !strings.Contains(u.Path, "alice@example.com") {
		t.Errorf("URL = %q", e.URL)
	}
	img, err := png.Decode(bytes.NewReader(e.QR))
	if err != nil || img.Bounds().Dx() != 256 || img.Bounds().Dy() != 256 {
		t.Errorf("QR = %v, %v; want a 256×256 PNG", img, err)
	}
	if again, err := f.svc.PendingTOTP(ctx, alice.ID); err != nil || again.Secret != e.Secret || !bytes.Equal(again.QR, e.QR) {
		t.Errorf("PendingTOTP() = %v; want the same enrolment", err)
	}
	if fs, err := f.svc.Factors(ctx, alice.ID); err != nil || fs.Any() {
		t.Errorf("Factors() while pending = %+v, %v; want none", fs, err)
	}
	if st, err := f.svc.TOTPStatus(ctx, alice.ID); err != nil || !st.Pending || st.Confirmed() {
		t.Errorf("TOTPStatus() while pending = %+v, %v", st, err)
	}
	if _, err := f.svc.VerifyCode(ctx, alice.ID, codeAt(t, e.Secret, f.Now())); !errors.Is(err, ErrBadCode) {
		t.Errorf("VerifyCode() of a pending TOTP = %v, want ErrBadCode", err)
	}

	if _, err := f.svc.ConfirmTOTP(ctx, alice.ID, "000000x"); !errors.Is(err, ErrBadCode) {
		t.Errorf("ConfirmTOTP(malformed) = %v, want ErrBadCode", err)
	}
	if _, err := f.svc.ConfirmTOTP(ctx, alice.ID, codeAt(t, e.Secret, f.Now().Add(-time.Hour))); !errors.Is(err, ErrBadCode) {
		t.Errorf("ConfirmTOTP(code of an hour ago) = %v, want ErrBadCode", err)
	}
	f.advance(time.Second)
	code := codeAt(t, e.Secret, f.Now())
	codes, err := f.svc.ConfirmTOTP(ctx, alice.ID, code[:3]+" "+code[3:])
	if err != nil {
		t.Fatalf("ConfirmTOTP() = %v", err)
	}
	if len(codes) != 10 {
		t.Errorf("ConfirmTOTP() gave %d recovery codes, want 10", len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !recoveryCodeRE.MatchString(c) || seen[c] {
			t.Errorf("recovery code %q: not abcd-efgh-ijkl-mnop or repeated", c)
		}
		seen[c] = true
	}
	fs, err := f.svc.Factors(ctx, alice.ID)
	if err != nil || !fs.TOTP || fs.RecoveryCodes != 10 || !fs.Any() {
		t.Errorf("Factors() after ConfirmTOTP = %+v, %v; want TOTP and 10 codes", fs, err)
	}
	if st, err := f.svc.TOTPStatus(ctx, alice.ID); err != nil || st.Pending || !st.ConfirmedAt.Equal(f.Now()) {
		t.Errorf("TOTPStatus() = %+v, %v; want confirmed at %v", st, err, f.Now())
	}
	// A credential change: the session from before is gone, and what was
	// issued before no longer counts.
	if list, _ := f.store.ListSessions(ctx, alice.ID); len(list) != 0 {
		t.Errorf("sessions after ConfirmTOTP = %d, want 0", len(list))
	}
	if _, err := f.svc.Live(ctx, alice.ID, f.Now().Add(-time.Second)); !errors.Is(err, ErrBeforeReset) {
		t.Errorf("Live(before the enrolment) = %v, want ErrBeforeReset", err)
	}
	// The confirming code is used.
	if _, err := f.svc.VerifyCode(ctx, alice.ID, code); !errors.Is(err, ErrBadCode) {
		t.Errorf("VerifyCode(the confirming code) = %v, want ErrBadCode", err)
	}
	if _, err := f.svc.ConfirmTOTP(ctx, alice.ID, code); !errors.Is(err, ErrTOTPEnrolled) {
		t.Errorf("ConfirmTOTP() again = %v, want ErrTOTPEnrolled", err)
	}
	if _, err := f.svc.BeginTOTP(ctx, alice.ID); !errors.Is(err, ErrTOTPEnrolled) {
		t.Errorf("BeginTOTP() when enrolled = %v, want ErrTOTPEnrolled", err)
	}
	if _, err := f.svc.PendingTOTP(ctx, alice.ID); !errors.Is(err, ErrTOTPEnrolled) {
		t.Errorf("PendingTOTP() when enrolled = %v, want ErrTOTPEnrolled", err)
	}
	want := []store.Event{
		{Type: events.MFAFailure, UserID: alice.ID, Detail: map[string]string{"factor": "totp", "reason": "no_totp"}},
		{Type: events.MFAFailure, UserID: alice.ID, Detail: map[string]string{"factor": "totp", "reason": "wrong_code"}},
		{Type: events.MFAFailure, UserID: alice.ID, Detail: map[string]string{"factor": "totp", "reason": "wrong_code"}},
		{Type: events.MFAEnrolled, UserID: alice.ID, Detail: map[string]string{"factor": "totp"}},
		{Type: events.MFAFailure, UserID: alice.ID, Detail: map[string]string{"factor": "totp", "reason": "replay"}},
	}
	if diff := cmp.Diff(want, eventsOf(t, f.store)); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	if log := f.takeLog(); strings.Contains(log, e.Secret) || strings.Contains(log, code) {
		t.Errorf("the log holds the secret or a code:\n%s", log)
	}
}

// BeginTOTP while an enrolment is pending starts over with a new secret;
// without MFAOptions.Secret TOTP is off.
func TestService_BeginTOTP(t *testing.T) {
	f := mustFixture(t, withMFA(store.ThrottlePolicy{}))
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	first, err := f.svc.BeginTOTP(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.svc.BeginTOTP(ctx, alice.ID)
	if err != nil || second.Secret == first.Secret {
		t.Fatalf("BeginTOTP() again = %v; want a new secret", err)
	}
	if _, err := f.svc.ConfirmTOTP(ctx, alice.ID, codeAt(t, first.Secret, f.Now())); !errors.Is(err, ErrBadCode) {
		t.Errorf("ConfirmTOTP(code of the first secret) = %v, want ErrBadCode", err)
	}
	if _, err := f.svc.BeginTOTP(ctx, "no-such-user"); !errors.Is(err, ErrUserGone) {
		t.Errorf("BeginTOTP(unknown user) = %v, want ErrUserGone", err)
	}
	if _, err := f.svc.PendingTOTP(ctx, mustUser(t, f, "bob@example.com", "correct horse").ID); !errors.Is(err, ErrNoFactor) {
		t.Errorf("PendingTOTP() without one = %v, want ErrNoFactor", err)
	}

	off := mustFixture(t, nil)
	carol := mustUser(t, off, "carol@example.com", "correct horse")
	if _, err := off.svc.BeginTOTP(ctx, carol.ID); !errors.Is(err, ErrTOTPOff) {
		t.Errorf("BeginTOTP() without MFA.Secret = %v, want ErrTOTPOff", err)
	}
	if _, err := New(ctx, Options{Store: off.store, Passwords: off.hasher, MFA: MFAOptions{Secret: []byte("short")}}); err == nil {
		t.Error("New() with a short MFA.Secret = nil, want an error")
	}
	if _, err := New(ctx, Options{Store: off.store, Passwords: off.hasher, MFA: MFAOptions{Policy: store.ThrottlePolicy{Free: 1}}}); err == nil {
		t.Error("New() with an MFA throttle and no ThrottleSecret = nil, want an error")
	}
}

// The secret is stored sealed: neither its bytes nor its base32 are in
// the row, the row does not open as another user's, nor under another
// MFAOptions.Secret.
func TestService_TOTPSealed(t *testing.T) {
	f := mustFixture(t, withMFA(store.ThrottlePolicy{}))
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	bob := mustUser(t, f, "bob@example.com", "correct horse")
	e, err := f.svc.BeginTOTP(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b32.DecodeString(e.Secret)
	if err != nil {
		t.Fatal(err)
	}
	row, err := f.store.GetTOTP(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(row.Secret, raw) || bytes.Contains(bytes.ToUpper(row.Secret), []byte(e.Secret)) || len(row.Secret) != 12+20+16 {
		t.Errorf("stored secret = %x (%d bytes): want it sealed (nonce, ciphertext, tag)", row.Secret, len(row.Secret))
	}
	// The row copied to bob does not open as his.
	if err := f.store.PutTOTP(ctx, store.TOTP{UserID: bob.ID, Secret: row.Secret, CreatedAt: f.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.PendingTOTP(ctx, bob.ID); err == nil {
		t.Error("alice's sealed secret opened as bob's")
	}
	if _, err := f.svc.ConfirmTOTP(ctx, bob.ID, codeAt(t, e.Secret, f.Now())); err == nil || errors.Is(err, ErrBadCode) {
		t.Errorf("ConfirmTOTP() with alice's sealed secret = %v, want a fault", err)
	}
	other := mustFixture(t, func(o *Options) { o.Store = f.store; o.MFA.Secret = bytes.Repeat([]byte{8}, 32) })
	if _, err := other.svc.PendingTOTP(ctx, alice.ID); err == nil {
		t.Error("the secret opened under another MFA.Secret")
	}
}

// A code of the current step is accepted, and of one step either side
// (a clock a little off); two steps off is refused.
func TestService_VerifyCode_skew(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset time.Duration
		ok     bool
	}{
		{"now", 0, true},
		{"one step back", -30 * time.Second, true},
		{"one step ahead", 30 * time.Second, true},
		{"two steps back", -60 * time.Second, false},
		{"two steps ahead", 60 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustFixture(t, withMFA(store.ThrottlePolicy{}))
			alice := mustUser(t, f, "alice@example.com", "correct horse")
			secret, _ := mustTOTP(t, f, alice)
			f.advance(5 * time.Minute) // past the confirming code's step
			amr, err := f.svc.VerifyCode(context.Background(), alice.ID, codeAt(t, secret, f.Now().Add(tc.offset)))
			switch {
			case tc.ok && (err != nil || !cmp.Equal(amr, []string{AMROTP})):
				t.Errorf("VerifyCode(code %v off) = %v, %v; want [otp]", tc.offset, amr, err)
			case !tc.ok && !errors.Is(err, ErrBadCode):
				t.Errorf("VerifyCode(code %v off) = %v, %v; want ErrBadCode", tc.offset, amr, err)
			}
		})
	}
}

// A code is accepted once: again it is refused, and so is a code of an
// earlier step than one accepted, even within the window.
func TestService_VerifyCode_replay(t *testing.T) { mfaBackends(t, testVerifyCodeReplay) }

func testVerifyCodeReplay(t *testing.T, open func(*testing.T, func(*Options)) *fixture) {
	f := open(t, withMFA(store.ThrottlePolicy{}))
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	secret, _ := mustTOTP(t, f, alice)
	f.advance(5 * time.Minute)
	now := f.Now()
	steps := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"current", now, true},
		{"current again", now, false},
		{"previous step", now.Add(-30 * time.Second), false},
		{"next step", now.Add(30 * time.Second), true},
		{"current after the next", now, false},
	}
	for _, st := range steps {
		_, err := f.svc.VerifyCode(ctx, alice.ID, codeAt(t, secret, st.at))
		if st.ok && err != nil || !st.ok && !errors.Is(err, ErrBadCode) {
			t.Errorf("%s: VerifyCode() = %v, want ok %v", st.name, err, st.ok)
		}
	}
	// The step used ahead stays used once the clock reaches it.
	f.advance(30 * time.Second)
	if _, err := f.svc.VerifyCode(ctx, alice.ID, codeAt(t, secret, f.Now())); !errors.Is(err, ErrBadCode) {
		t.Errorf("VerifyCode(a step used ahead) = %v, want ErrBadCode", err)
	}
	f.advance(30 * time.Second)
	if _, err := f.svc.VerifyCode(ctx, alice.ID, codeAt(t, secret, f.Now())); err != nil {
		t.Errorf("VerifyCode(a new step) = %v, want ok", err)
	}
}

// Of parallel uses of one code, exactly one passes (UseTOTPStep is
// atomic), and likewise of one recovery code.
func TestService_VerifyCode_parallel(t *testing.T) { mfaBackends(t, testVerifyCodeParallel) }

func testVerifyCodeParallel(t *testing.T, open func(*testing.T, func(*Options)) *fixture) {
	f := open(t, withMFA(store.ThrottlePolicy{}))
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	secret, codes := mustTOTP(t, f, alice)
	f.advance(5 * time.Minute)
	for name, code := range map[string]string{"totp": codeAt(t, secret, f.Now()), "recovery code": codes[3]} {
		t.Run(name, func(t *testing.T) {
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { _, errs[i] = f.svc.VerifyCode(context.Background(), alice.ID, code) })
			}
			wg.Wait()
			passed := 0
			for _, err := range errs {
				switch {
				case err == nil:
					passed++
				case !errors.Is(err, ErrBadCode):
					t.Errorf("VerifyCode() = %v, want nil or ErrBadCode", err)
				}
			}
			if passed != 1 {
				t.Errorf("%d of %d parallel uses passed, want 1", passed, n)
			}
		})
	}
}

// A recovery code passes once, typed in any case, with or without its
// dashes; a used or unknown one is refused.
func TestService_VerifyCode_recovery(t *testing.T) {
	f := mustFixture(t, withMFA(store.ThrottlePolicy{}))
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	bob := mustUser(t, f, "bob@example.com", "correct horse")
	_, codes := mustTOTP(t, f, alice)
	_, bobCodes := mustTOTP(t, f, bob)
	for _, tc := range []struct {
		name, code string
		ok         bool
	}{
		{"as shown", codes[0], true},
		{"again", codes[0], false},
		{"upper case", strings.ToUpper(codes[1]), true},
		{"no dashes", strings.ReplaceAll(codes[2], "-", ""), true},
		{"spaces", strings.ReplaceAll(codes[3], "-", " "), true},
		{"another user's", bobCodes[0], false},
		{"unknown", "aaaa-bbbb-cccc-dddd", false},
		{"too short", codes[4][:18], false},
		{"not base32", "0000-1111-8888-9999", false},
		{"huge", strings.Repeat("a", 10000), false},
		{"empty", "", false},
	} {
		amr, err := f.svc.VerifyCode(ctx, alice.ID, tc.code)
		if tc.ok && (err != nil || !cmp.Equal(amr, []string{AMROTP})) || !tc.ok && !errors.Is(err, ErrBadCode) {
			t.Errorf("%s: VerifyCode(%q) = %v, %v; want ok %v", tc.name, tc.code, amr, err, tc.ok)
		}
	}
	if n, err := f.store.CountRecoveryCodes(ctx, alice.ID); err != nil || n != 6 {
		t.Errorf("CountRecoveryCodes() = %d, %v; want 6", n, err)
	}
	if _, err := f.svc.VerifyCode(ctx, bob.ID, bobCodes[0]); err != nil {
		t.Errorf("bob's code after alice tried it = %v, want ok", err)
	}
}

// Wrong codes are throttled per account in the shared store: two
// services over one store (two replicas) share the budget; a throttled
// attempt is refused before the code is checked, even a right one; a
// right code once the wait has passed resets the count.
func TestService_VerifyCode_throttled(t *testing.T) { mfaBackends(t, testVerifyCodeThrottled) }

func testVerifyCodeThrottled(t *testing.T, open func(*testing.T, func(*Options)) *fixture) {
	policy := store.ThrottlePolicy{Free: 3, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	f := open(t, withMFA(policy))
	other := mustFixture(t, func(o *Options) { withMFA(policy)(o); o.Store = f.store; o.Now = f.Now })
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	bob := mustUser(t, f, "bob@example.com", "correct horse")
	secret, codes := mustTOTP(t, f, alice)
	bobSecret, _ := mustTOTP(t, f, bob)
	f.advance(5 * time.Minute)
	wrong := func(svc *Service) error {
		_, err := svc.VerifyCode(ctx, alice.ID, "aaaa-aaaa-aaaa-aaaa")
		return err
	}
	for i, svc := range []*Service{f.svc, other.svc, f.svc} {
		if err := wrong(svc); !errors.Is(err, ErrBadCode) {
			t.Fatalf("wrong code %d = %v, want ErrBadCode", i+1, err)
		}
	}
	var te *ThrottledError
	for name, svc := range map[string]*Service{"this replica": f.svc, "the other replica": other.svc} {
		if _, err := svc.VerifyCode(ctx, alice.ID, codeAt(t, secret, f.Now())); !errors.As(err, &te) || te.Seconds() != 60 {
			t.Errorf("right code past the budget on %s = %v, want a *ThrottledError of 60 s", name, err)
		}
	}
	if _, err := f.svc.VerifyCode(ctx, alice.ID, codes[0]); !errors.As(err, &te) {
		t.Errorf("recovery code past the budget = %v, want a *ThrottledError", err)
	}
	if _, err := f.svc.VerifyCode(ctx, bob.ID, codeAt(t, bobSecret, f.Now())); err != nil {
		t.Errorf("another account's code = %v, want ok (the budget is per account)", err)
	}
	// RemoveTOTP's code counts in the same budget.
	if err := f.svc.RemoveTOTP(ctx, alice.ID, "correct horse", codeAt(t, secret, f.Now()), from); !errors.As(err, &te) {
		t.Errorf("RemoveTOTP() past the budget = %v, want a *ThrottledError", err)
	}
	f.advance(time.Minute)
	if _, err := other.svc.VerifyCode(ctx, alice.ID, codeAt(t, secret, f.Now())); err != nil {
		t.Fatalf("right code after the wait = %v, want ok", err)
	}
	for i := range 3 { // the success reset the budget
		if err := wrong(f.svc); !errors.Is(err, ErrBadCode) {
			t.Errorf("wrong code %d after a success = %v, want ErrBadCode", i+1, err)
		}
	}
}

// Removing the TOTP takes the password and a code; with its last factor
// gone, the recovery codes go too, and every grant ends.
func TestService_RemoveTOTP(t *testing.T) {
	var f *fixture
	f = mustFixture(t, func(o *Options) {
		withMFA(store.ThrottlePolicy{})(o)
		o.Events = events.New(events.Options{Store: o.Store.(store.Store), Now: func() time.Time { return f.Now() }})
	})
	ctx := context.Background()
	mustClient(t, f, "app")
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	if err := f.svc.RemoveTOTP(ctx, alice.ID, "correct horse", "123456", from); !errors.Is(err, ErrNoFactor) {
		t.Errorf("RemoveTOTP() without one = %v, want ErrNoFactor", err)
	}
	secret, codes := mustTOTP(t, f, alice)
	f.advance(5 * time.Minute)
	mustSession(t, f, alice, "a1", "app")
	for _, tc := range []struct {
		name, password, code string
		want                 error
	}{
		{"wrong password", "wrong horse", codeAt(t, secret, f.Now()), ErrWrongPassword},
		{"no code", "correct horse", "", ErrBadCode},
		{"wrong code", "correct horse", "000000", ErrBadCode},
	} {
		if err := f.svc.RemoveTOTP(ctx, alice.ID, tc.password, tc.code, from); !errors.Is(err, tc.want) {
			t.Errorf("%s: RemoveTOTP() = %v, want %v", tc.name, err, tc.want)
		}
		if fs, _ := f.svc.Factors(ctx, alice.ID); !fs.TOTP {
			t.Fatalf("%s: the TOTP went", tc.name)
		}
	}
	if err := f.svc.RemoveTOTP(ctx, alice.ID, "correct horse", codes[0], from); err != nil {
		t.Fatalf("RemoveTOTP() with a recovery code = %v", err)
	}
	if fs, err := f.svc.Factors(ctx, alice.ID); err != nil || fs != (Factors{}) {
		t.Errorf("Factors() after RemoveTOTP = %+v, %v; want none, recovery codes too", fs, err)
	}
	if st, _ := f.svc.TOTPStatus(ctx, alice.ID); st != (TOTPStatus{}) {
		t.Errorf("TOTPStatus() after RemoveTOTP = %+v, want none", st)
	}
	if list, _ := f.store.ListSessions(ctx, alice.ID); len(list) != 0 {
		t.Errorf("sessions after RemoveTOTP = %d, want 0", len(list))
	}
	if _, err := f.svc.VerifyCode(ctx, alice.ID, codes[1]); !errors.Is(err, ErrBadCode) {
		t.Errorf("a recovery code after RemoveTOTP = %v, want ErrBadCode", err)
	}
	got := eventsOf(t, f.store)
	want := []store.Event{
		{Type: events.LoginFailure, UserID: alice.ID, Detail: map[string]string{"reason": "wrong_password", "via": "password_check"}},
		{Type: events.MFAFailure, UserID: alice.ID, Detail: map[string]string{"factor": "recovery_code", "reason": "wrong_code"}},
		{Type: events.MFAFailure, UserID: alice.ID, Detail: map[string]string{"factor": "totp", "reason": "wrong_code"}},
		{Type: events.MFAUsed, UserID: alice.ID, Detail: map[string]string{"factor": "recovery_code"}},
		{Type: events.MFARemoved, UserID: alice.ID, Detail: map[string]string{"factor": "totp"}},
		{Type: events.MFAFailure, UserID: alice.ID, Detail: map[string]string{"factor": "recovery_code", "reason": "wrong_code"}},
	}
	if len(got) < len(want) {
		t.Fatalf("events = %v", got)
	}
	if diff := cmp.Diff(want, got[len(got)-len(want):]); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
}

// New recovery codes replace the old ones; a user without a second
// factor gets none.
func TestService_NewRecoveryCodes(t *testing.T) {
	f := mustFixture(t, withMFA(store.ThrottlePolicy{}))
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	if _, err := f.svc.NewRecoveryCodes(ctx, alice.ID); !errors.Is(err, ErrNoFactor) {
		t.Errorf("NewRecoveryCodes() without a factor = %v, want ErrNoFactor", err)
	}
	_, old := mustTOTP(t, f, alice)
	if _, err := f.svc.VerifyCode(ctx, alice.ID, old[0]); err != nil {
		t.Fatal(err)
	}
	codes, err := f.svc.NewRecoveryCodes(ctx, alice.ID)
	if err != nil || len(codes) != 10 {
		t.Fatalf("NewRecoveryCodes() = %d codes, %v; want 10", len(codes), err)
	}
	if n, _ := f.store.CountRecoveryCodes(ctx, alice.ID); n != 10 {
		t.Errorf("CountRecoveryCodes() = %d, want 10", n)
	}
	if _, err := f.svc.VerifyCode(ctx, alice.ID, old[1]); !errors.Is(err, ErrBadCode) {
		t.Errorf("an old code = %v, want ErrBadCode", err)
	}
	if _, err := f.svc.VerifyCode(ctx, alice.ID, codes[9]); err != nil {
		t.Errorf("a new code = %v, want ok", err)
	}
}

// An operator's reset deletes every second factor and ends every grant.
func TestService_ResetMFA(t *testing.T) {
	var f *fixture
	f = mustFixture(t, func(o *Options) {
		withMFA(store.ThrottlePolicy{})(o)
		o.Events = events.New(events.Options{Store: o.Store.(store.Store), Now: func() time.Time { return f.Now() }})
	})
	ctx := context.Background()
	mustClient(t, f, "app")
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	secret, codes := mustTOTP(t, f, alice)
	mustSession(t, f, alice, "a1", "app")
	f.advance(time.Minute)
	if err := f.svc.ResetMFA(ctx, alice.ID); err != nil {
		t.Fatalf("ResetMFA() = %v", err)
	}
	if fs, err := f.svc.Factors(ctx, alice.ID); err != nil || fs != (Factors{}) {
		t.Errorf("Factors() after ResetMFA = %+v, %v; want none", fs, err)
	}
	if list, _ := f.store.ListSessions(ctx, alice.ID); len(list) != 0 {
		t.Errorf("sessions after ResetMFA = %d, want 0", len(list))
	}
	for _, c := range []string{codeAt(t, secret, f.Now()), codes[0]} {
		if _, err := f.svc.VerifyCode(ctx, alice.ID, c); !errors.Is(err, ErrBadCode) {
			t.Errorf("VerifyCode() after ResetMFA = %v, want ErrBadCode", err)
		}
	}
	// Enrolment starts afresh.
	if _, err := f.svc.BeginTOTP(ctx, alice.ID); err != nil {
		t.Errorf("BeginTOTP() after ResetMFA = %v", err)
	}
	if err := f.svc.ResetMFA(ctx, "no-such-user"); !errors.Is(err, ErrUserGone) {
		t.Errorf("ResetMFA(unknown) = %v, want ErrUserGone", err)
	}
	var resets int
	for _, e := range eventsOf(t, f.store) {
		if e.Type == events.MFAReset && e.UserID == alice.ID {
			resets++
		}
	}
	if resets != 1 {
		t.Errorf("mfa.reset events = %d, want 1", resets)
	}
}

// A recovery code as typed is 16 base32 characters once dashes and spaces
// are dropped and letters lowered, or no code; what it accepts it accepts
// again unchanged.
func FuzzNormaliseRecoveryCode(f *testing.F) {
	for _, s := range []string{"abcd-efgh-ijkl-mnop", "ABCD EFGH IJKL MNOP", "abcdefghijklmnop", "abcd-efgh-ijkl-mno0", "ａbcd-efgh-ijkl-mnop", "abcd\x00efgh-ijkl-mnop", strings.Repeat("-", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := normaliseRecoveryCode(s)
		if !ok {
			if got != "" {
				t.Fatalf("normaliseRecoveryCode(%q) = %q, false; want no code", s, got)
			}
			return
		}
		if len(got) != 16 || strings.Trim(got, "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Fatalf("normaliseRecoveryCode(%q) = %q: not 16 base32 characters", s, got)
		}
		if again, ok := normaliseRecoveryCode(got); !ok || again != got {
			t.Fatalf("normaliseRecoveryCode(%q) = %q, %v; want it unchanged", got, again, ok)
		}
	})
}
