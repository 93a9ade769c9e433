package account

import (
	"context"
	"errors"
	"time"
)

// PendingLogin is a sign-in whose first factor checked out and that owes a
// second one (or the enrolment of one, when MFA is required): the
// tutorial's mfa_token, the login page's second step. Its Handle is the
// random value the client holds; the store keeps its hash.
type PendingLogin struct {
	Handle    string
	UserID    string
	AMR       []string // what was passed so far: [pwd]
	Data      []byte   // the caller's own: what the sign-in is for
	ExpiresAt time.Time
}

// StartLogin records a pending login of user userID, authenticated so far
// by amr, for MFAOptions.ChallengeTTL.
func (s *Service) StartLogin(ctx context.Context, userID string, amr []string, data []byte) (PendingLogin, error) {
	return PendingLogin{}, errors.ErrUnsupported
}

// PendingLogin returns the live pending login of handle, or
// ErrChallengeInvalid.
func (s *Service) PendingLogin(ctx context.Context, handle string) (PendingLogin, error) {
	return PendingLogin{}, errors.ErrUnsupported
}

// PassCode checks a second-factor code (VerifyCode) against the pending
// login of handle; a handle is tried a few times at most. On success the
// pending login is used up and returned with its AMR completed.
func (s *Service) PassCode(ctx context.Context, handle, code string) (PendingLogin, error) {
	return PendingLogin{}, errors.ErrUnsupported
}

// TakeLogin uses up the pending login of handle once another second factor
// of user userID (a passkey) has passed with methods, and returns it with
// its AMR completed: ErrChallengeInvalid when it is not userID's, expired
// or used.
func (s *Service) TakeLogin(ctx context.Context, handle, userID string, methods []string) (PendingLogin, error) {
	return PendingLogin{}, errors.ErrUnsupported
}
