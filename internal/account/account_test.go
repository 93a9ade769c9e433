package account

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

// cheap are argon2id parameters for tests.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var (
	t0   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	from = netip.MustParseAddr("203.0.113.9")
)

// countingHasher counts hash computations, to show that an unknown email
// costs what a known one does.
type countingHasher struct {
	h              *password.Hasher
	hashes, checks atomic.Int64
}

func (c *countingHasher) Hash(ctx context.Context, pw string) (string, error) {
	c.hashes.Add(1)
	return c.h.Hash(ctx, pw)
}

// Dummy is the real hasher's: no computation.
func (c *countingHasher) Dummy() (string, error) { return c.h.Dummy() }

func (c *countingHasher) Verify(ctx context.Context, encoded, pw string) (bool, bool, error) {
	c.checks.Add(1)
	return c.h.Verify(ctx, encoded, pw)
}

// slotHasher is a pool of cap(slot) hash slots whose wait honours ctx, as
// password.Hasher's does; a test fills it by sending to slot.
type slotHasher struct {
	PasswordHasher
	slot chan struct{}
}

func (p *slotHasher) take(ctx context.Context) error {
	select {
	case p.slot <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *slotHasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := p.take(ctx); err != nil {
		return "", err
	}
	defer func() { <-p.slot }()
	return p.PasswordHasher.Hash(ctx, pw)
}

func (p *slotHasher) Verify(ctx context.Context, enc, pw string) (bool, bool, error) {
	if err := p.take(ctx); err != nil {
		return false, false, err
	}
	defer func() { <-p.slot }()
	return p.PasswordHasher.Verify(ctx, enc, pw)
}

// fixture is a Service on a fresh SQLite store, with a counting hasher, a
// settable clock, the records it logs and the login results it reports.
type fixture struct {
	svc     *Service
	store   store.Store
	hasher  *countingHasher
	log     *bytes.Buffer
	mu      sync.Mutex
	now     time.Time
	results []string
}

func (f *fixture) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// takeResults returns the login results reported since the last call.
func (f *fixture) takeResults() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.results
	f.results = nil
	return r
}

// takeLog returns the records logged since the last call, without their
// time.
func (f *fixture) takeLog() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.log.String()
	f.log.Reset()
	return s
}

// mustFixture builds the fixture; edit, when not nil, changes the options
// before New.
func mustFixture(tb testing.TB, edit func(*Options)) *fixture {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "inkan.db"))
	if err != nil {
		tb.Fatalf("sqlite.Open() = %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	f := &fixture{store: st, hasher: &countingHasher{h: password.New(cheap, 2)}, log: &bytes.Buffer{}, now: t0}
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	opts := Options{
		Store: st, Passwords: f.hasher, Now: f.Now,
		Logger:         slog.New(slog.NewTextHandler(lockedWriter{f}, &slog.HandlerOptions{ReplaceAttr: noTime})),
		ThrottleSecret: bytes.Repeat([]byte{7}, 32),
		OnLogin: func(r string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.results = append(f.results, r)
		},
	}
	if edit != nil {
		edit(&opts)
	}
	if f.svc, err = New(context.Background(), opts); err != nil {
		tb.Fatalf("New() = %v", err)
	}
	return f
}

// lockedWriter writes to the fixture's log under its lock.
type lockedWriter struct{ f *fixture }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	return w.f.log.Write(p)
}

// mustUser creates a user with password pw.
func mustUser(tb testing.TB, f *fixture, email, pw string) store.User {
	tb.Helper()
	u, err := f.svc.Create(context.Background(), NewUser{Name: "U", Email: email, Password: pw})
	if err != nil {
		tb.Fatalf("Create(%q) = %v", email, err)
	}
	f.takeLog()
	return u
}

// TestNew_dummyHash: the service takes its dummy hash from the hasher
// without computing one (no argon2 memory left behind at start), with the
// hasher's parameters, so that a login for an unknown email costs what a
// known one does.
func TestNew_dummyHash(t *testing.T) {
	f := mustFixture(t, nil)
	if got := f.hasher.hashes.Load(); got != 0 {
		t.Errorf("New() computed %d hashes, want 0", got)
	}
	if err := password.Check(f.svc.dummyHash); err != nil {
		t.Errorf("dummy hash is not a valid hash: %v", err)
	}
	if !strings.HasPrefix(f.svc.dummyHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("dummy hash does not carry the hasher's parameters")
	}
}

func TestNew_required(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Options)
	}{
		{"no store", func(o *Options) { o.Store = nil }},
		{"no hasher", func(o *Options) { o.Passwords = nil }},
		{"short secret with a policy", func(o *Options) {
			o.ThrottleSecret = []byte("short")
			o.LoginPolicy = store.ThrottlePolicy{Free: 1, Base: time.Second, Max: time.Minute, Window: time.Hour}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "inkan.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			o := Options{Store: st, Passwords: password.New(cheap, 1)}
			tc.edit(&o)
			if _, err := New(context.Background(), o); err == nil {
				t.Errorf("New() = nil error, want one")
			}
		})
	}
}

func TestService_Authenticate(t *testing.T) {
	f := mustFixture(t, nil)
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	bob := mustUser(t, f, "bob@example.com", "battery staple")
	if _, err := f.svc.Disable(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, email, password string
		want                  error
		result                string
		checks                int64 // password verifications it costs
	}{
		{name: "success", email: "alice@example.com", password: "correct horse", result: LoginSuccess, checks: 1},
		{name: "normalised", email: " Alice@Example.COM ", password: "correct horse", result: LoginSuccess, checks: 1},
		{name: "wrong password", email: "alice@example.com", password: "wrong horse", want: ErrBadCredentials, result: LoginFailure, checks: 1},
		{name: "unknown email", email: "nobody@example.com", password: "correct horse", want: ErrBadCredentials, result: LoginFailure, checks: 1},
		{name: "disabled", email: "bob@example.com", password: "battery staple", want: ErrBadCredentials, result: LoginFailure, checks: 1},
		{name: "control character", email: "al\x01ice@example.com", password: "correct horse", want: ErrBadCredentials, result: LoginFailure},
		{name: "invalid utf-8", email: "al\xffice@example.com", password: "correct horse", want: ErrBadCredentials, result: LoginFailure},
		{name: "too long", email: strings.Repeat("a", 250) + "@example.com", password: "correct horse", want: ErrBadCredentials, result: LoginFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.hasher.checks.Load()
			u, err := f.svc.Authenticate(ctx, tc.email, tc.password, from)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Authenticate(%q) error = %v, want %v", tc.email, err, tc.want)
			}
			if err == nil && u.ID != alice.ID {
				t.Errorf("Authenticate(%q) = user %s, want %s", tc.email, u.ID, alice.ID)
			}
			if got := f.takeResults(); len(got) != 1 || got[0] != tc.result {
				t.Errorf("Authenticate(%q) reported %v, want [%s]", tc.email, got, tc.result)
			}
			if got := f.hasher.checks.Load() - before; got != tc.checks {
				t.Errorf("Authenticate(%q) cost %d verifications, want %d", tc.email, got, tc.checks)
			}
			f.takeLog()
		})
	}
}

// A failed login answers, reports and logs the same whether the email is
// unknown or the password wrong, and costs the same one verification.
func TestService_Authenticate_unknownLikeWrong(t *testing.T) {
	f := mustFixture(t, nil)
	mustUser(t, f, "alice@example.com", "correct horse")
	type outcome struct {
		err     error
		msg     string
		results []string
		log     string
		checks  int64
	}
	try := func(email string) outcome {
		before := f.hasher.checks.Load()
		_, err := f.svc.Authenticate(context.Background(), email, "wrong horse", from)
		o := outcome{err: err, results: f.takeResults(), log: f.takeLog(), checks: f.hasher.checks.Load() - before}
		if err != nil {
			o.msg = err.Error()
		}
		return o
	}
	wrong, unknown := try("alice@example.com"), try("nobody@example.com")
	if !errors.Is(wrong.err, ErrBadCredentials) || !errors.Is(unknown.err, ErrBadCredentials) {
		t.Fatalf("errors = %v (wrong password), %v (unknown email); want ErrBadCredentials for both", wrong.err, unknown.err)
	}
	if wrong.msg != unknown.msg || strings.Join(wrong.results, ",") != strings.Join(unknown.results, ",") ||
		wrong.log != unknown.log || wrong.checks != unknown.checks {
		t.Errorf("wrong password = %+v\nunknown email = %+v\nwant them alike", wrong, unknown)
	}
	if !strings.Contains(wrong.log, `msg="login failed" reason="bad credentials"`) || strings.Contains(wrong.log, "alice") {
		t.Errorf("log = %q, want login failed for bad credentials, naming no email", wrong.log)
	}
}

// Attempts past the budget are refused with a *ThrottledError, before any
// lookup or hash, until its RetryAfter has passed; a success resets the
// counters.
func TestService_Authenticate_throttled(t *testing.T) {
	policy := store.ThrottlePolicy{Free: 2, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	f := mustFixture(t, func(o *Options) { o.LoginPolicy = policy })
	ctx := context.Background()
	mustUser(t, f, "alice@example.com", "correct horse")
	for i := range 2 {
		if _, err := f.svc.Authenticate(ctx, "alice@example.com", "guess", from); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("guess %d = %v, want ErrBadCredentials", i+1, err)
		}
	}
	f.takeResults()
	f.takeLog()
	before := f.hasher.checks.Load()
	_, err := f.svc.Authenticate(ctx, "alice@example.com", "correct horse", from)
	var te *ThrottledError
	if !errors.As(err, &te) || te.RetryAfter <= 0 || te.Seconds() != 60 {
		t.Fatalf("third attempt = %v, want a *ThrottledError of 60 s", err)
	}
	if errors.Is(err, ErrBadCredentials) {
		t.Errorf("a throttled attempt is ErrBadCredentials too; want it told apart")
	}
	if got := f.takeResults(); len(got) != 1 || got[0] != LoginThrottled {
		t.Errorf("throttled attempt reported %v, want [%s]", got, LoginThrottled)
	}
	if got := f.takeLog(); !strings.Contains(got, "msg=throttled retry_after_s=60") {
		t.Errorf("log = %q, want throttled with retry_after_s=60", got)
	}
	if got := f.hasher.checks.Load() - before; got != 0 {
		t.Errorf("a throttled attempt cost %d verifications, want 0", got)
	}
	// Another address has its own pair counter.
	if _, err := f.svc.Authenticate(ctx, "alice@example.com", "correct horse", netip.MustParseAddr("198.51.100.1")); err != nil {
		t.Errorf("login from another address = %v, want success", err)
	}
	f.advance(time.Minute)
	if _, err := f.svc.Authenticate(ctx, "alice@example.com", "correct horse", from); err != nil {
		t.Fatalf("login after RetryAfter = %v, want success", err)
	}
	for i := range 2 { // the success reset the budget
		if _, err := f.svc.Authenticate(ctx, "alice@example.com", "guess", from); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("guess %d after a success = %v, want ErrBadCredentials", i+1, err)
		}
	}
}

// While every hash slot is taken for longer than HashQueueWait, logins,
// registrations and password changes fail with ErrBusy; a caller whose own
// context ends gets its context's error instead.
func TestService_busy(t *testing.T) {
	pool := &slotHasher{slot: make(chan struct{}, 1)}
	f := mustFixture(t, func(o *Options) {
		pool.PasswordHasher = o.Passwords
		o.Passwords, o.HashQueueWait = pool, 10*time.Millisecond
	})
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	f.takeResults()
	pool.slot <- struct{}{} // a long hash holds the only slot
	defer func() { <-pool.slot }()

	if _, err := f.svc.Authenticate(ctx, "alice@example.com", "correct horse", from); !errors.Is(err, ErrBusy) {
		t.Errorf("Authenticate() with the pool saturated = %v, want ErrBusy", err)
	}
	if got := f.takeResults(); len(got) != 1 || got[0] != LoginBusy {
		t.Errorf("busy login reported %v, want [%s]", got, LoginBusy)
	}
	if _, err := f.svc.Register(ctx, SignupInput{Name: "B", Email: "b@example.com", Password: "pw-8char"}, from); !errors.Is(err, ErrBusy) {
		t.Errorf("Register() with the pool saturated = %v, want ErrBusy", err)
	}
	if _, err := f.svc.SetPassword(ctx, alice.ID, "new horse"); !errors.Is(err, ErrBusy) {
		t.Errorf("SetPassword() with the pool saturated = %v, want ErrBusy", err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.svc.Authenticate(gone, "alice@example.com", "correct horse", from); errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Errorf("Authenticate() with a cancelled context = %v, want context.Canceled", err)
	}
}

// Registration counts in the signup throttle per address, and a taken
// email is ErrEmailTaken.
func TestService_Register(t *testing.T) {
	f := mustFixture(t, func(o *Options) {
		o.SignupPolicy = store.ThrottlePolicy{Free: 2, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	})
	ctx := context.Background()
	in := SignupInput{Name: "A", Email: "a@example.com", Password: "pw-8char"}
	u, err := f.svc.Register(ctx, in, from)
	if err != nil {
		t.Fatalf("Register() = %v", err)
	}
	if got := f.takeLog(); !strings.Contains(got, `msg="user registered" sub=`+u.ID) {
		t.Errorf("log = %q, want user registered with its sub", got)
	}
	if ok, _, err := f.hasher.Verify(ctx, u.PasswordHash, "pw-8char"); !ok || err != nil {
		t.Errorf("stored hash does not verify the password: %v, %v", ok, err)
	}
	if _, err := f.svc.Register(ctx, in, from); !errors.Is(err, ErrEmailTaken) {
		t.Errorf("Register() again = %v, want ErrEmailTaken", err)
	}
	var te *ThrottledError
	if _, err := f.svc.Register(ctx, SignupInput{Name: "B", Email: "b@example.com", Password: "pw-8char"}, from); !errors.As(err, &te) || te.Seconds() != 60 {
		t.Errorf("third Register() = %v, want a *ThrottledError of 60 s", err)
	}
	if _, err := f.svc.Register(ctx, SignupInput{Name: "B", Email: "b@example.com", Password: "pw-8char"}, netip.MustParseAddr("198.51.100.1")); err != nil {
		t.Errorf("Register() from another address = %v, want success", err)
	}
}

// Throttle keys are an HMAC of the email and address, each counted on, and
// no two part lists name one key.
func TestService_throttleKey(t *testing.T) {
	f := mustFixture(t, func(o *Options) {
		o.LoginPolicy = store.ThrottlePolicy{Free: 5, Base: time.Minute, Max: time.Hour, Window: time.Hour}
		o.AccountPolicy = store.ThrottlePolicy{Free: 10, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	})
	mustUser(t, f, "alice@example.com", "correct horse")
	if _, err := f.svc.Authenticate(context.Background(), "alice@example.com", "guess", from); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("Authenticate() = %v, want ErrBadCredentials", err)
	}
	for _, key := range []string{
		f.svc.throttleKey("login:acct", "alice@example.com"),
		f.svc.throttleKey("login:pair", "alice@example.com", from.String()),
	} {
		if st, err := f.store.GetThrottle(t.Context(), key); err != nil || st.Count != 1 {
			t.Errorf("GetThrottle(%s) = %+v, %v; want count 1", key, st, err)
		}
	}
	if f.svc.throttleKey("login:pair", "a", "bc") == f.svc.throttleKey("login:pair", "ab", "c") {
		t.Error("throttleKey(a, bc) = throttleKey(ab, c)")
	}
}

// Live refuses what was issued to a deleted or disabled user, or before
// their TokensValidAfter, which SetPassword and Disable move and Enable
// does not bring back.
func TestService_Live(t *testing.T) {
	f := mustFixture(t, nil)
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	bob := mustUser(t, f, "bob@example.com", "battery staple")
	issued := t0.Add(-time.Hour)
	check := func(name, id string, at time.Time, want error) {
		t.Helper()
		u, err := f.svc.Live(ctx, id, at)
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("%s: Live(%s, %s) error = %v, want %v", name, id, at.Format(time.RFC3339), err, want)
		}
		if err == nil && u.ID != id {
			t.Errorf("%s: Live(%s) = user %s", name, id, u.ID)
		}
	}
	check("live", alice.ID, issued, nil)
	check("unknown", "no-such-user", issued, ErrUserGone)

	f.advance(time.Minute)
	if _, err := f.svc.SetPassword(ctx, alice.ID, "new horse"); err != nil {
		t.Fatal(err)
	}
	check("issued before a password change", alice.ID, issued, ErrBeforeReset)
	check("issued after a password change", alice.ID, f.Now().Add(time.Second), nil)
	if _, err := f.svc.Authenticate(ctx, "alice@example.com", "new horse", from); err != nil {
		t.Errorf("login with the new password = %v", err)
	}

	if _, err := f.svc.Disable(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	check("disabled", bob.ID, f.Now().Add(time.Second), ErrUserGone)
	f.advance(time.Minute)
	if _, err := f.svc.Enable(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	check("issued before a disable, after the enable", bob.ID, issued, ErrBeforeReset)
	check("issued after the enable", bob.ID, f.Now(), nil)

	if err := f.svc.Delete(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	check("deleted", bob.ID, f.Now(), ErrUserGone)
}

// IsID accepts the ids Create makes and nothing an email could be.
func TestIsID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{newID(), true},
		{"0b0b4e4e-3c1a-4b8e-9f3d-2a1b0c9d8e7f", true},
		{"0B0B4E4E-3C1A-4B8E-9F3D-2A1B0C9D8E7F", false}, // not canonical
		{"0b0b4e4e3c1a4b8e9f3d2a1b0c9d8e7f", false},
		{"{0b0b4e4e-3c1a-4b8e-9f3d-2a1b0c9d8e7f}", false},
		{"alice@example.com", false},
		{"", false},
	} {
		if got := IsID(tc.in); got != tc.want {
			t.Errorf("IsID(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
