package account

import (
	"context"
	"errors"
	"net/netip"
)

// TOTPEnrolment is what the account page shows to enrol a TOTP: the secret
// in base32 for typing, the otpauth URI, and the URI as a QR code (PNG).
type TOTPEnrolment struct {
	Secret string
	URL    string
	QR     []byte
}

// BeginTOTP starts (or restarts) the enrolment of a TOTP for user userID:
// a new secret, stored sealed and pending until ConfirmTOTP. A user with a
// confirmed TOTP must remove it first (ErrTOTPEnrolled).
func (s *Service) BeginTOTP(ctx context.Context, userID string) (TOTPEnrolment, error) {
	return TOTPEnrolment{}, errors.ErrUnsupported
}

// ConfirmTOTP confirms the pending enrolment with a code of it. When it is
// the user's first second factor, it returns their new recovery codes,
// shown once. The user's credentials changed: every grant issued before
// ends (endGrants), and the caller starts the browser a new session.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string) (recoveryCodes []string, err error) {
	return nil, errors.ErrUnsupported
}

// RemoveTOTP removes the user's TOTP once their password and a code (of
// the TOTP, or a recovery code) check out.
func (s *Service) RemoveTOTP(ctx context.Context, userID, password, code string, from netip.Addr) error {
	return errors.ErrUnsupported
}

// VerifyCode checks a second-factor code of user userID: a TOTP code (six
// digits, once per time step, ±1 step of skew) or an unused recovery code,
// with the per-account throttle of MFAOptions.Policy. It returns the
// methods passed ([AMROTP]), ErrBadCode, a *ThrottledError, or a store
// error.
func (s *Service) VerifyCode(ctx context.Context, userID, code string) ([]string, error) {
	return nil, errors.ErrUnsupported
}

// NewRecoveryCodes replaces the user's recovery codes with ten new ones,
// returned to be shown once; the user must have a second factor.
func (s *Service) NewRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	return nil, errors.ErrUnsupported
}

// ResetMFA deletes every second factor of the user (an operator's
// `inkan users mfa reset`) and ends every grant issued before.
func (s *Service) ResetMFA(ctx context.Context, userID string) error {
	return errors.ErrUnsupported
}

// ErrTOTPEnrolled refuses a second TOTP enrolment.
var ErrTOTPEnrolled = errors.New("a TOTP is enrolled already: remove it first")
