package account

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

func TestService_pendingLogin(t *testing.T) {
	f := mustFixture(t, nil)
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	bob := mustUser(t, f, "bob@example.com", "correct horse")

	pl, err := f.svc.StartLogin(ctx, alice.ID, []string{AMRPassword}, []byte(`{"return":"/account"}`))
	if err != nil || len(pl.Handle) != 43 || !pl.ExpiresAt.Equal(t0.Add(DefaultChallengeTTL)) {
		t.Fatalf("StartLogin() = %+v, %v; want a 256-bit handle living %v", pl, err, DefaultChallengeTTL)
	}
	got, err := f.svc.PendingLogin(ctx, pl.Handle)
	if err != nil || got.UserID != alice.ID || string(got.Data) != `{"return":"/account"}` || !slices.Equal(got.AMR, []string{AMRPassword}) {
		t.Errorf("PendingLogin() = %+v, %v", got, err)
	}
	for _, h := range []string{"", "nope", strings.Repeat("a", 65), pl.Handle + "x"} {
		if _, err := f.svc.PendingLogin(ctx, h); !errors.Is(err, ErrChallengeInvalid) {
			t.Errorf("PendingLogin(%.10q) = %v, want ErrChallengeInvalid", h, err)
		}
	}
	if _, err := f.svc.TakeLogin(ctx, pl.Handle, bob.ID, []string{AMRHardwareKey}); !errors.Is(err, ErrChallengeInvalid) {
		t.Errorf("TakeLogin(another user's) = %v, want ErrChallengeInvalid", err)
	}

	// Taken once, by one of parallel callers; another user's attempt above
	// used it up too, so start again.
	pl, _ = f.svc.StartLogin(ctx, alice.ID, []string{AMRPassword}, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			if done, err := f.svc.TakeLogin(ctx, pl.Handle, alice.ID, []string{AMRHardwareKey, AMRUserPresence}); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
				if !MultiFactor(done.AMR) {
					t.Errorf("TakeLogin() AMR = %q, want two factors", done.AMR)
				}
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d parallel TakeLogin calls won, want 1", wins)
	}

	// Expired.
	pl, _ = f.svc.StartLogin(ctx, alice.ID, []string{AMRPassword}, nil)
	f.advance(DefaultChallengeTTL)
	if _, err := f.svc.PendingLogin(ctx, pl.Handle); !errors.Is(err, ErrChallengeInvalid) {
		t.Errorf("PendingLogin(expired) = %v, want ErrChallengeInvalid", err)
	}
	if _, err := f.svc.TakeLogin(ctx, pl.Handle, alice.ID, []string{AMROTP}); !errors.Is(err, ErrChallengeInvalid) {
		t.Errorf("TakeLogin(expired) = %v, want ErrChallengeInvalid", err)
	}

	// Begun before the user's credentials changed, or by a user disabled
	// since: it counts for nothing.
	pl, _ = f.svc.StartLogin(ctx, alice.ID, []string{AMRPassword}, nil)
	f.advance(2 * time.Second)
	if _, err := f.svc.SetPassword(ctx, alice.ID, "another good password"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.TakeLogin(ctx, pl.Handle, alice.ID, []string{AMROTP}); !errors.Is(err, ErrBeforeReset) {
		t.Errorf("TakeLogin(after a password change) = %v, want ErrBeforeReset", err)
	}
	f.advance(2 * time.Second)
	pl, _ = f.svc.StartLogin(ctx, bob.ID, []string{AMRPassword}, nil)
	if _, err := f.svc.Disable(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.TakeLogin(ctx, pl.Handle, bob.ID, []string{AMROTP}); !errors.Is(err, ErrUserGone) {
		t.Errorf("TakeLogin(disabled user) = %v, want ErrUserGone", err)
	}
	if _, err := f.svc.User(ctx, bob.ID); !errors.Is(err, ErrUserGone) {
		t.Errorf("User(disabled) = %v, want ErrUserGone", err)
	}
}

func TestService_NeedsSecondFactor(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name           string
		require        bool
		clientRequires bool
		want           bool
	}{
		{"nothing", false, false, false},
		{"the server requires", true, false, true},
		{"the client requires", false, true, true},
	} {
		f := mustFixture(t, func(o *Options) { o.MFA.Require = tc.require })
		u := mustUser(t, f, "alice@example.com", "correct horse")
		if got, err := f.svc.NeedsSecondFactor(ctx, u, tc.clientRequires); err != nil || got != tc.want {
			t.Errorf("%s: NeedsSecondFactor() = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// A change of second factors is mailed to the user: a factor added, one
// removed, all reset, each saying which.
func TestService_factorsChangedNotice(t *testing.T) {
	m := &recordingMailer{}
	f := mustFixture(t, func(o *Options) {
		withMFA(store.ThrottlePolicy{})(o)
		o.Mailer, o.LinkBase = m, "https://id.example.com"
	})
	ctx := context.Background()
	u := mustUser(t, f, "alice@example.com", "correct horse")
	m.take()
	secret, _ := mustTOTP(t, f, u)
	if n := m.only(t, MailMFAChanged, u.Email); n.Data["change"] != "added" || n.Data["link"] != "https://id.example.com"+RecoverPath {
		t.Errorf("notice of the enrolment = %+v, want change added and the recovery link", n.Data)
	}
	f.advance(30 * time.Second)
	if err := f.svc.RemoveTOTP(ctx, u.ID, "correct horse", codeAt(t, secret, f.Now()), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if n := m.only(t, MailMFAChanged, u.Email); n.Data["change"] != "removed" {
		t.Errorf("notice of the removal = %+v, want change removed", n.Data)
	}
	mustTOTP(t, f, u)
	m.take()
	if err := f.svc.ResetMFA(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if n := m.only(t, MailMFAChanged, u.Email); n.Data["change"] != "reset" {
		t.Errorf("notice of the reset = %+v, want change reset", n.Data)
	}
	m.fail = errors.New("outbox full")
	mustTOTP(t, f, u) // a notice that cannot be queued fails nothing
}
