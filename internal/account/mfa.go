package account

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/mail"
	"github.com/inkan-dev/inkan/internal/store"
)

// Second factors: TOTP (totp.go), recovery codes (recovery.go), passkeys
// (passkeys.go), and the login that owes one (secondfactor.go). This file
// holds what they share: how a user authenticated (AMR), which factors a
// user has, and the errors.

// How a user authenticated: the values of the amr claim (RFC 8176 §2)
// that inkan uses.
const (
	AMRPassword     = "pwd"  // a password
	AMROTP          = "otp"  // a one-time code: TOTP or a recovery code
	AMRHardwareKey  = "hwk"  // a key held in hardware: a passkey or security key
	AMRUserPresence = "user" // the authenticator tested the user's presence
	AMRMultiFactor  = "mfa"  // more than one factor
)

// AddAMR returns amr with the methods of a factor just passed added, and
// AMRMultiFactor when there are two factors now: a password and a code or
// key, or a passkey with user verification (possession and the PIN or
// biometric that unlocked it). Each value appears once, in the order of
// RFC 8176's list.
func AddAMR(amr []string, methods ...string) []string {
	out := slices.Clone(amr)
	for _, m := range methods {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	factors := 0
	for _, m := range []string{AMRPassword, AMROTP, AMRHardwareKey} {
		if slices.Contains(out, m) {
			factors++
		}
	}
	if factors > 1 && !slices.Contains(out, AMRMultiFactor) {
		out = append(out, AMRMultiFactor)
	}
	order := []string{AMRHardwareKey, AMRMultiFactor, AMROTP, AMRPassword, AMRUserPresence}
	slices.SortStableFunc(out, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
	return out
}

// MultiFactor reports whether amr records more than one factor.
func MultiFactor(amr []string) bool { return slices.Contains(amr, AMRMultiFactor) }

// Factors are the second factors a user has.
type Factors struct {
	TOTP          bool // a confirmed TOTP
	Passkeys      int
	RecoveryCodes int // unused ones
}

// Any reports whether the user has a second factor: a password login must
// then pass one. Recovery codes alone are none: they stand in for a
// factor, and go with the last one.
func (f Factors) Any() bool { return f.TOTP || f.Passkeys > 0 }

// Factors returns the second factors of user userID.
func (s *Service) Factors(ctx context.Context, userID string) (Factors, error) {
	var f Factors
	t, err := s.opts.Store.GetTOTP(ctx, userID)
	switch {
	case err == nil:
		f.TOTP = !t.ConfirmedAt.IsZero()
	case !errors.Is(err, store.ErrNotFound):
		return Factors{}, err
	}
	pks, err := s.opts.Store.ListPasskeys(ctx, userID)
	if err != nil {
		return Factors{}, err
	}
	f.Passkeys = len(pks)
	if f.RecoveryCodes, err = s.opts.Store.CountRecoveryCodes(ctx, userID); err != nil {
		return Factors{}, err
	}
	return f, nil
}

// What a change of second factors did (factorsChanged), as the notice
// mail says it.
const (
	factorAdded   = "added"
	factorRemoved = "removed"
	factorsReset  = "reset"
)

// factorEvents are the events of each change.
var factorEvents = map[string]string{factorAdded: events.MFAEnrolled, factorRemoved: events.MFARemoved, factorsReset: events.MFAReset}

// factorsChanged is the rule of a change of the user's second factors
// (factorAdded, factorRemoved, factorsReset; detail says which factor, as
// its event records it): a credential change, which ends every grant
// issued before (endGrants), is logged and recorded (mfa.enrolled,
// mfa.removed, mfa.reset), and of which the user is told by mail (when
// mail is on), so that a factor added by someone else does not go unseen.
// When a removed factor was the user's last, their recovery codes go with
// it. A user who is gone is ErrUserGone.
func (s *Service) factorsChanged(ctx context.Context, userID, change string, detail map[string]string) error {
	if change == factorRemoved {
		f, err := s.Factors(ctx, userID)
		if err != nil {
			return err
		}
		if !f.Any() {
			if err := s.opts.Store.DeleteRecoveryCodes(ctx, userID); err != nil {
				return err
			}
		}
	}
	u, err := s.endGrants(ctx, userID, func(*store.User) error { return nil })
	if errors.Is(err, store.ErrNotFound) {
		return ErrUserGone
	} else if err != nil {
		return err
	}
	s.opts.Logger.InfoContext(ctx, "second factors changed", "sub", userID, "change", change, "factor", detail["factor"])
	s.record(ctx, factorEvents[change], userID, detail)
	err = s.send(ctx, Message{To: u.Email, Kind: MailMFAChanged, Data: map[string]string{
		mail.DataChange: change, mail.DataName: u.Name, mail.DataLink: strings.TrimRight(s.opts.LinkBase, "/") + RecoverPath,
	}})
	if err != nil && !errors.Is(err, ErrMailOff) {
		s.opts.Logger.ErrorContext(ctx, "second factors notice", "sub", u.ID, "err", err)
	}
	return nil
}

// MFAOptions configure second factors (Options.MFA).
type MFAOptions struct {
	// Require makes every user pass a second factor, enrolling one at
	// their next sign-in when they have none (--require-mfa).
	Require bool
	// Secret seals TOTP secrets at rest (AES-256-GCM under a key derived
	// from it) and keys the throttle of codes: 32 bytes at least, the same
	// on every replica. Required for TOTP.
	Secret []byte
	// Policy budgets the failed second-factor codes per account, from
	// every address, as AccountPolicy does passwords; Free 0 is off.
	Policy store.ThrottlePolicy
	// Issuer names the account in authenticator apps (the otpauth URI's
	// issuer); empty means "inkan".
	Issuer string
	// RPID is the WebAuthn relying party id (the issuer's host name),
	// RPOrigins the origins its pages are served from (the issuer's), and
	// RPName what authenticators show. Passkeys are off without RPID.
	RPID      string
	RPOrigins []string
	RPName    string
	// ChallengeTTL is how long a login may owe its second factor, and a
	// passkey ceremony may wait for the authenticator; zero means
	// DefaultChallengeTTL.
	ChallengeTTL time.Duration
}

// DefaultChallengeTTL is MFAOptions.ChallengeTTL's default.
const DefaultChallengeTTL = 5 * time.Minute

// Errors of second factors.
var (
	// ErrBadCode refuses a second factor: a wrong, replayed or used code,
	// or a passkey assertion that does not check out.
	ErrBadCode = errors.New("the code is wrong or was used already")
	// ErrChallengeInvalid means a pending login or passkey ceremony is
	// unknown, expired, used up, or not the caller's.
	ErrChallengeInvalid = errors.New("the sign-in has expired: start again")
	// ErrNoFactor means the user has no such factor (RemoveTOTP without a
	// TOTP, a passkey that is not theirs).
	ErrNoFactor = errors.New("no such second factor")
	// ErrPasskeysOff means passkeys are not configured (no RPID).
	ErrPasskeysOff = errors.New("passkeys are not enabled")
)
