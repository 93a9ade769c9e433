package account

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"net/netip"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/store"
)

// TOTP (RFC 6238) as authenticator apps know it: HMAC-SHA1, six digits, a
// 30-second step, a 160-bit secret (RFC 4226 §4 recommends 160 bits).
const (
	totpPeriod     = 30
	totpDigits     = otp.DigitsSix
	totpSecretSize = 20
	// totpSkew is how many steps either side of the current one a code
	// may be of: a phone's clock a little off, a code typed as it turned.
	totpSkew = 1
	// qrSize is the side of the enrolment's QR code, in pixels.
	qrSize = 256
)

// totpInfo is the HKDF info of the key that seals TOTP secrets.
const totpInfo = "inkan totp"

// The reasons of a refused code, in its event's detail (MFAFailure).
const (
	reasonWrongCode = "wrong_code"
	reasonReplay    = "replay"
	reasonNoTOTP    = "no_totp"
	reasonThrottled = "throttled"
)

// The factors of the events' detail.
const (
	factorTOTP         = "totp"
	factorRecoveryCode = "recovery_code"
)

// TOTPEnrolment is what the account page shows to enrol a TOTP: the secret
// in base32 for typing, the otpauth URI, and the URI as a QR code (PNG).
type TOTPEnrolment struct {
	Secret string
	URL    string
	QR     []byte
}

// LogValue keeps the secret out of logs.
func (e TOTPEnrolment) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// TOTPStatus is the state of a user's TOTP: none (the zero value), pending
// (BeginTOTP, no code confirmed yet) or confirmed since ConfirmedAt.
type TOTPStatus struct {
	Pending     bool
	ConfirmedAt time.Time
}

// Confirmed reports whether the TOTP is a factor.
func (t TOTPStatus) Confirmed() bool { return !t.ConfirmedAt.IsZero() }

// ErrTOTPOff means TOTP is not configured (MFAOptions.Secret is missing).
var ErrTOTPOff = errors.New("TOTP is not enabled")

// TOTPStatus returns the state of user userID's TOTP.
func (s *Service) TOTPStatus(ctx context.Context, userID string) (TOTPStatus, error) {
	t, err := s.opts.Store.GetTOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return TOTPStatus{}, nil
	}
	if err != nil {
		return TOTPStatus{}, err
	}
	return TOTPStatus{Pending: t.ConfirmedAt.IsZero(), ConfirmedAt: t.ConfirmedAt}, nil
}

// BeginTOTP starts (or restarts) the enrolment of a TOTP for user userID:
// a new secret, stored sealed and pending until ConfirmTOTP. A user with a
// confirmed TOTP must remove it first (ErrTOTPEnrolled).
func (s *Service) BeginTOTP(ctx context.Context, userID string) (TOTPEnrolment, error) {
	aead, err := totpAEAD(s.opts.MFA.Secret)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	u, err := s.user(ctx, userID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	switch old, err := s.opts.Store.GetTOTP(ctx, userID); {
	case err == nil && !old.ConfirmedAt.IsZero():
		return TOTPEnrolment{}, ErrTOTPEnrolled
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return TOTPEnrolment{}, err
	}
	secret := make([]byte, totpSecretSize)
	rand.Read(secret)
	t := store.TOTP{UserID: userID, Secret: sealTOTP(aead, userID, secret), CreatedAt: s.now()}
	if err := s.opts.Store.PutTOTP(ctx, t); errors.Is(err, store.ErrNotFound) {
		return TOTPEnrolment{}, ErrUserGone
	} else if err != nil {
		return TOTPEnrolment{}, err
	}
	s.opts.Logger.InfoContext(ctx, "TOTP enrolment started", "sub", userID)
	return s.enrolment(u, secret)
}

// PendingTOTP returns the enrolment that BeginTOTP started for user
// userID and that no code has confirmed yet, again (the account page's QR
// code and secret): ErrNoFactor when there is none, ErrTOTPEnrolled when
// it is confirmed already.
func (s *Service) PendingTOTP(ctx context.Context, userID string) (TOTPEnrolment, error) {
	aead, err := totpAEAD(s.opts.MFA.Secret)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	u, err := s.user(ctx, userID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	t, err := s.opts.Store.GetTOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return TOTPEnrolment{}, ErrNoFactor
	}
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if !t.ConfirmedAt.IsZero() {
		return TOTPEnrolment{}, ErrTOTPEnrolled
	}
	secret, err := openTOTP(aead, t)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return s.enrolment(u, secret)
}

// enrolment is what an authenticator app is given of secret: the key's
// otpauth URI, naming the account by u's email, and its QR code.
func (s *Service) enrolment(u store.User, secret []byte) (TOTPEnrolment, error) {
	issuer := s.opts.MFA.Issuer
	if issuer == "" {
		issuer = "inkan"
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: u.Email, Period: totpPeriod, Secret: secret,
		Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("totp key: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("totp QR code: %w", err)
	}
	var qr bytes.Buffer
	if err := png.Encode(&qr, img); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("totp QR code: %w", err)
	}
	return TOTPEnrolment{Secret: key.Secret(), URL: key.URL(), QR: qr.Bytes()}, nil
}

// ConfirmTOTP confirms the pending enrolment with a code of it. When it is
// the user's first second factor, it returns their new recovery codes,
// shown once. The user's credentials changed: every grant issued before
// ends (endGrants), and the caller starts the browser a new session.
//
// The code counts in the per-account throttle of codes and, once it
// matches, as used: it cannot sign in afterwards. It returns ErrBadCode,
// a *ThrottledError, ErrNoFactor (no pending enrolment), ErrTOTPEnrolled,
// ErrUserGone, ErrTOTPOff, or a store error.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string) (recoveryCodes []string, err error) {
	aead, err := totpAEAD(s.opts.MFA.Secret)
	if err != nil {
		return nil, err
	}
	if _, err := s.user(ctx, userID); err != nil {
		return nil, err
	}
	t, err := s.opts.Store.GetTOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoFactor
	}
	if err != nil {
		return nil, err
	}
	if !t.ConfirmedAt.IsZero() {
		return nil, ErrTOTPEnrolled
	}
	counters, err := s.codeThrottle(ctx, userID, factorTOTP)
	if err != nil {
		return nil, err
	}
	secret, err := openTOTP(aead, t)
	if err != nil {
		return nil, err
	}
	code, ok := normalizeCode(code)
	step, matched := matchTOTP(secret, code, s.opts.Now())
	if !ok || !matched {
		s.codeFailed(ctx, userID, factorTOTP, reasonWrongCode)
		return nil, ErrBadCode
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	switch err := s.opts.Store.ConfirmTOTP(ctx, userID, step, s.now()); {
	case errors.Is(err, store.ErrConflict): // a parallel confirmation won
		return nil, ErrTOTPEnrolled
	case errors.Is(err, store.ErrNotFound): // restarted or removed meanwhile
		return nil, ErrNoFactor
	case err != nil:
		return nil, err
	}
	s.resetCodeThrottle(ctx, userID, counters)
	pks, err := s.opts.Store.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(pks) == 0 { // the first second factor: recovery codes to go with it
		if recoveryCodes, err = s.newRecoveryCodes(ctx, userID); err != nil {
			return nil, err
		}
	}
	if err := s.factorsChanged(ctx, userID, factorAdded, map[string]string{"factor": factorTOTP}); err != nil {
		return nil, err
	}
	return recoveryCodes, nil
}

// RemoveTOTP removes the user's TOTP once their password and a code (of
// the TOTP, or a recovery code) check out. The password is checked as
// DeleteAccount's is (the login throttle, the hash pool), then the code
// (VerifyCode). When the TOTP was the user's last second factor, their
// recovery codes go too. Every grant issued before ends (endGrants): the
// caller starts the browser a new session.
//
// It returns ErrNoFactor (no confirmed TOTP), ErrWrongPassword,
// ErrBadCode, a *ThrottledError, ErrBusy, ErrUserGone, or a store error.
func (s *Service) RemoveTOTP(ctx context.Context, userID, password, code string, from netip.Addr) error {
	u, err := s.user(ctx, userID)
	if err != nil {
		return err
	}
	st, err := s.TOTPStatus(ctx, userID)
	if err != nil {
		return err
	}
	if !st.Confirmed() {
		return ErrNoFactor
	}
	if err := s.checkPassword(ctx, u, password, from); err != nil {
		return err
	}
	if _, err := s.VerifyCode(ctx, userID, code); err != nil {
		return err
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	if err := s.opts.Store.DeleteTOTP(ctx, userID); err != nil {
		return err
	}
	return s.factorsChanged(ctx, userID, factorRemoved, map[string]string{"factor": factorTOTP})
}

// VerifyCode checks a second-factor code of user userID: a TOTP code (six
// digits, once per time step, ±1 step of skew) or an unused recovery code,
// with the per-account throttle of MFAOptions.Policy. It returns the
// methods passed ([AMROTP]), ErrBadCode, a *ThrottledError, or a store
// error.
//
// The attempt counts in the throttle before the code is checked, and a
// code that passes resets the count. A TOTP code is accepted once: the
// step it matched, and every earlier one, are used up (UseTOTPStep), so
// that a code seen over a shoulder, or sent twice at once, fails.
func (s *Service) VerifyCode(ctx context.Context, userID, code string) ([]string, error) {
	if c, ok := normalizeCode(code); ok { // six digits: TOTP
		return s.verifyTOTP(ctx, userID, c)
	}
	return s.verifyRecoveryCode(ctx, userID, code)
}

// verifyTOTP is VerifyCode of a six-digit code.
func (s *Service) verifyTOTP(ctx context.Context, userID, code string) ([]string, error) {
	counters, err := s.codeThrottle(ctx, userID, factorTOTP)
	if err != nil {
		return nil, err
	}
	t, err := s.opts.Store.GetTOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || err == nil && t.ConfirmedAt.IsZero() {
		s.codeFailed(ctx, userID, factorTOTP, reasonNoTOTP)
		return nil, ErrBadCode
	}
	if err != nil {
		return nil, err
	}
	aead, err := totpAEAD(s.opts.MFA.Secret)
	if err != nil {
		return nil, err
	}
	secret, err := openTOTP(aead, t)
	if err != nil {
		return nil, err
	}
	step, ok := matchTOTP(secret, code, s.opts.Now())
	if !ok {
		s.codeFailed(ctx, userID, factorTOTP, reasonWrongCode)
		return nil, ErrBadCode
	}
	if step <= t.LastStep {
		s.codeFailed(ctx, userID, factorTOTP, reasonReplay)
		return nil, ErrBadCode
	}
	switch err := s.opts.Store.UseTOTPStep(ctx, userID, step); {
	case errors.Is(err, store.ErrConflict): // used by a parallel call
		s.codeFailed(ctx, userID, factorTOTP, reasonReplay)
		return nil, ErrBadCode
	case errors.Is(err, store.ErrNotFound): // removed meanwhile
		s.codeFailed(ctx, userID, factorTOTP, reasonNoTOTP)
		return nil, ErrBadCode
	case err != nil:
		return nil, err
	}
	s.resetCodeThrottle(ctx, userID, counters)
	s.record(ctx, events.MFAUsed, userID, map[string]string{"factor": factorTOTP})
	return []string{AMROTP}, nil
}

// codeThrottle takes one attempt of a code of user userID on the
// per-account counter of codes (kind "mfa:acct", MFAOptions.Policy),
// shared by every replica through the store. factor names the code in the
// event of a throttled attempt.
func (s *Service) codeThrottle(ctx context.Context, userID, factor string) ([]string, error) {
	p := s.opts.MFA.Policy
	if p.Free <= 0 {
		return nil, nil
	}
	counters, err := s.throttle(ctx, store.ThrottleKey{Key: s.throttleKey("mfa:acct", userID), Policy: p})
	var te *ThrottledError
	if errors.As(err, &te) {
		s.codeFailed(ctx, userID, factor, reasonThrottled)
	}
	return counters, err
}

// resetCodeThrottle resets the counters of a code that passed.
func (s *Service) resetCodeThrottle(ctx context.Context, userID string, counters []string) {
	if len(counters) == 0 {
		return
	}
	if err := s.opts.Store.ResetThrottle(ctx, counters...); err != nil {
		s.opts.Logger.WarnContext(ctx, "reset code throttle", "sub", userID, "err", err)
	}
}

// codeFailed logs and records a refused code; never the code.
func (s *Service) codeFailed(ctx context.Context, userID, factor, reason string) {
	s.opts.Logger.InfoContext(ctx, "second factor refused", "sub", userID, "factor", factor, "reason", reason)
	s.record(ctx, events.MFAFailure, userID, map[string]string{"factor": factor, "reason": reason})
}

// ResetMFA deletes every second factor of the user (an operator's
// `inkan users mfa reset`) and ends every grant issued before. A user
// that does not exist is ErrUserGone; a disabled one is reset too.
func (s *Service) ResetMFA(ctx context.Context, userID string) error {
	if _, err := s.opts.Store.GetUser(ctx, userID); errors.Is(err, store.ErrNotFound) {
		return ErrUserGone
	} else if err != nil {
		return err
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	if err := s.opts.Store.DeleteMFA(ctx, userID); err != nil {
		return err
	}
	return s.factorsChanged(ctx, userID, factorsReset, nil)
}

// ErrTOTPEnrolled refuses a second TOTP enrolment.
var ErrTOTPEnrolled = errors.New("a TOTP is enrolled already: remove it first")

// totpAEAD is the AES-256-GCM that seals TOTP secrets, under a key derived
// from mfaSecret, the MFAOptions.Secret (HKDF-SHA256, info "inkan totp"):
// ErrTOTPOff without one.
func totpAEAD(mfaSecret []byte) (cipher.AEAD, error) {
	if len(mfaSecret) < 32 {
		return nil, ErrTOTPOff
	}
	key, err := hkdf.Key(sha256.New, mfaSecret, nil, totpInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive TOTP key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealTOTP seals secret for user userID: a random nonce, then the
// ciphertext, with the user id as additional data, so that a sealed secret
// copied to another user's row does not open.
func sealTOTP(aead cipher.AEAD, userID string, secret []byte) []byte {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, secret, []byte(userID))
}

// openTOTP opens the secret of t.
func openTOTP(aead cipher.AEAD, t store.TOTP) ([]byte, error) {
	n := aead.NonceSize()
	if len(t.Secret) < n {
		return nil, errors.New("open TOTP secret: too short")
	}
	secret, err := aead.Open(nil, t.Secret[:n], t.Secret[n:], []byte(t.UserID))
	if err != nil {
		return nil, fmt.Errorf("open TOTP secret: %w", err)
	}
	return secret, nil
}

// b32 is the base32 of TOTP secrets (RFC 4648, no padding), as otpauth
// URIs carry them.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// matchTOTP returns the time step (RFC 6238 T) of now, or of one step
// either side, whose code code (normalizeCode's) is. Every candidate is
// computed and compared in constant time; of two that match, the later
// step counts.
func matchTOTP(secret []byte, code string, now time.Time) (step int64, ok bool) {
	enc := b32.EncodeToString(secret)
	opts := totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}
	t := now.Unix() / totpPeriod
	for st := t - totpSkew; st <= t+totpSkew; st++ {
		want, err := totp.GenerateCodeCustom(enc, time.Unix(st*totpPeriod, 0), opts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step, ok = st, true
		}
	}
	return step, ok
}
