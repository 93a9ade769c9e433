package account

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/inkan-dev/inkan/internal/store"
)

// SealTOTPSecret and OpenTOTPSecret are the service's own sealing: a secret
// sealed by one opens by the other, for its user and under its secret only.
func TestSealTOTPSecret(t *testing.T) {
	secret := []byte("12345678901234567890")
	sealed, err := SealTOTPSecret(mfaSecret, "u1", secret)
	if err != nil || bytes.Contains(sealed, secret) {
		t.Fatalf("SealTOTPSecret() = %x, %v; want it sealed", sealed, err)
	}
	if got, err := OpenTOTPSecret(mfaSecret, store.TOTP{UserID: "u1", Secret: sealed}); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("OpenTOTPSecret() = %q, %v, want %q", got, err, secret)
	}
	if _, err := OpenTOTPSecret(mfaSecret, store.TOTP{UserID: "u2", Secret: sealed}); err == nil {
		t.Error("OpenTOTPSecret(another user's row) succeeded")
	}
	if _, err := OpenTOTPSecret(bytes.Repeat([]byte{8}, 32), store.TOTP{UserID: "u1", Secret: sealed}); err == nil {
		t.Error("OpenTOTPSecret(another secret) succeeded")
	}
	if _, err := SealTOTPSecret(nil, "u1", secret); !errors.Is(err, ErrTOTPOff) {
		t.Errorf("SealTOTPSecret(no secret) = %v, want %v", err, ErrTOTPOff)
	}
}

// ResealTOTPs moves every TOTP, confirmed or pending, to the new secret,
// keeping its times and last step: a service under the new secret takes
// the user's next code and refuses the used one. A second run re-seals
// nothing; a TOTP that opens under neither secret stops it before any is
// written.
func TestResealTOTPs(t *testing.T) {
	mfaBackends(t, func(t *testing.T, open func(t *testing.T, edit func(*Options)) *fixture) {
		ctx := context.Background()
		f := open(t, withMFA(store.ThrottlePolicy{}))
		alice := mustUser(t, f, "alice@example.com", "correct horse")
		bob := mustUser(t, f, "bob@example.com", "correct horse")
		secret, _ := mustTOTP(t, f, alice)
		if _, err := f.svc.BeginTOTP(ctx, bob.ID); err != nil {
			t.Fatal(err)
		}
		before := map[string]store.TOTP{}
		for _, u := range []store.User{alice, bob} {
			tp, err := f.store.GetTOTP(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			before[u.ID] = tp
		}

		next := bytes.Repeat([]byte{10}, 32)
		if n, err := ResealTOTPs(ctx, f.store, mfaSecret, next); err != nil || n != 2 {
			t.Fatalf("ResealTOTPs() = %d, %v, want 2", n, err)
		}
		for id, old := range before {
			tp, err := f.store.GetTOTP(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(old, tp, cmpopts.IgnoreFields(store.TOTP{}, "Secret")); diff != "" {
				t.Errorf("TOTP of %s after ResealTOTPs (-before +after):\n%s", id, diff)
			}
			want, _ := OpenTOTPSecret(mfaSecret, old)
			if got, err := OpenTOTPSecret(next, tp); err != nil || !bytes.Equal(got, want) {
				t.Errorf("TOTP of %s under the new secret: %v", id, err)
			}
		}
		if n, err := ResealTOTPs(ctx, f.store, mfaSecret, next); err != nil || n != 0 {
			t.Errorf("ResealTOTPs() again = %d, %v, want 0", n, err)
		}

		g := open(t, func(o *Options) {
			withMFA(store.ThrottlePolicy{})(o)
			o.Store, o.MFA.Secret = f.store, next // a server restarted with the new master key
		})
		g.advance(f.Now().Sub(g.Now()))
		if _, err := g.svc.VerifyCode(ctx, alice.ID, codeAt(t, secret, g.Now())); !errors.Is(err, ErrBadCode) {
			t.Errorf("VerifyCode(the used code) under the new secret = %v, want %v", err, ErrBadCode)
		}
		g.advance(30 * time.Second)
		if _, err := g.svc.VerifyCode(ctx, alice.ID, codeAt(t, secret, g.Now())); err != nil {
			t.Errorf("VerifyCode(the next code) under the new secret = %v", err)
		}

		// Carol's TOTP is under a third secret: nothing changes.
		carol := mustUser(t, f, "carol@example.com", "correct horse")
		sealed, _ := SealTOTPSecret(bytes.Repeat([]byte{11}, 32), carol.ID, []byte("12345678901234567890"))
		if err := f.store.PutTOTP(ctx, store.TOTP{UserID: carol.ID, Secret: sealed, CreatedAt: f.Now()}); err != nil {
			t.Fatal(err)
		}
		third := bytes.Repeat([]byte{12}, 32)
		if n, err := ResealTOTPs(ctx, f.store, next, third); err == nil || n != 0 || !strings.Contains(err.Error(), carol.ID) {
			t.Errorf("ResealTOTPs(one under neither) = %d, %v, want an error naming %s", n, err, carol.ID)
		}
		tp, err := f.store.GetTOTP(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := OpenTOTPSecret(next, tp); err != nil {
			t.Errorf("a refused ResealTOTPs changed Alice's TOTP: %v", err)
		}
	})
}
