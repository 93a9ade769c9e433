package account

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
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

// MaxLoginCodeAttempts bounds the codes tried against one pending login,
// besides the per-account throttle: past it, the login starts over.
const MaxLoginCodeAttempts = 5

// maxHandleBytes bounds a handle as a client sends it back: 256 bits in
// base64url are 43 characters.
const maxHandleBytes = 64

// loginData is what a pending login's challenge stores: the methods passed
// so far, and the caller's data.
type loginData struct {
	AMR  []string `json:"amr"`
	Data []byte   `json:"data,omitempty"`
}

// NeedsSecondFactor reports whether a sign-in of u must pass a second
// factor before anything is issued to it: u has one, every user must
// (MFAOptions.Require), or the client it is for requires one
// (clientRequires).
func (s *Service) NeedsSecondFactor(ctx context.Context, u store.User, clientRequires bool) (bool, error) {
	if s.opts.MFA.Require || clientRequires {
		return true, nil
	}
	t, err := s.opts.Store.GetTOTP(ctx, u.ID)
	switch {
	case err == nil && !t.ConfirmedAt.IsZero():
		return true, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	pks, err := s.opts.Store.ListPasskeys(ctx, u.ID) // Factors less the recovery codes, which count for nothing here
	return len(pks) > 0, err
}

// StartLogin records a pending login of user userID, authenticated so far
// by amr, for MFAOptions.ChallengeTTL.
func (s *Service) StartLogin(ctx context.Context, userID string, amr []string, data []byte) (PendingLogin, error) {
	handle := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	now := s.now()
	state, err := json.Marshal(loginData{AMR: amr, Data: data})
	if err != nil {
		return PendingLogin{}, err
	}
	c := store.Challenge{
		Hash: hashLink(handle), Purpose: store.ChallengeLogin, UserID: userID, Data: state,
		CreatedAt: now, ExpiresAt: now.Add(s.challengeTTL()),
	}
	if err := s.opts.Store.CreateChallenge(ctx, c); err != nil {
		return PendingLogin{}, err
	}
	return PendingLogin{Handle: handle, UserID: userID, AMR: slices.Clone(amr), Data: data, ExpiresAt: c.ExpiresAt}, nil
}

// ChallengeTTL is how long a pending login or passkey ceremony lives.
func (s *Service) ChallengeTTL() time.Duration { return s.challengeTTL() }

// User returns the user with that id if they exist and are enabled, or
// ErrUserGone: what a pending login completed by TakeLogin signs in, once
// TakeLogin has checked that their credentials did not change since.
func (s *Service) User(ctx context.Context, id string) (store.User, error) {
	u, err := s.opts.Store.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		return store.User{}, ErrUserGone
	}
	return u, err
}

func (s *Service) challengeTTL() time.Duration {
	if s.opts.MFA.ChallengeTTL > 0 {
		return s.opts.MFA.ChallengeTTL
	}
	return DefaultChallengeTTL
}

// pendingOf reads a pending login's challenge as PendingLogin.
func pendingOf(handle string, c store.Challenge) (PendingLogin, error) {
	var d loginData
	if err := json.Unmarshal(c.Data, &d); err != nil {
		return PendingLogin{}, err
	}
	return PendingLogin{Handle: handle, UserID: c.UserID, AMR: d.AMR, Data: d.Data, ExpiresAt: c.ExpiresAt}, nil
}

// liveChallenge returns the challenge of handle if it is a live one of
// purpose, or ErrChallengeInvalid.
func (s *Service) liveChallenge(ctx context.Context, handle, purpose string) (store.Challenge, error) {
	if handle == "" || len(handle) > maxHandleBytes {
		return store.Challenge{}, ErrChallengeInvalid
	}
	c, err := s.opts.Store.GetChallenge(ctx, hashLink(handle))
	if errors.Is(err, store.ErrNotFound) {
		return store.Challenge{}, ErrChallengeInvalid
	} else if err != nil {
		return store.Challenge{}, err
	}
	if c.Purpose != purpose || !s.now().Before(c.ExpiresAt) {
		return store.Challenge{}, ErrChallengeInvalid
	}
	return c, nil
}

// PendingLogin returns the live pending login of handle, or
// ErrChallengeInvalid.
func (s *Service) PendingLogin(ctx context.Context, handle string) (PendingLogin, error) {
	c, err := s.liveChallenge(ctx, handle, store.ChallengeLogin)
	if err != nil {
		return PendingLogin{}, err
	}
	return pendingOf(handle, c)
}

// PassCode checks a second-factor code (VerifyCode) against the pending
// login of handle; a handle is tried MaxLoginCodeAttempts times at most.
// On success the pending login is used up and returned with its AMR
// completed. It returns ErrChallengeInvalid, ErrBadCode, a
// *ThrottledError, ErrUserGone, or a store error.
func (s *Service) PassCode(ctx context.Context, handle, code string) (PendingLogin, error) {
	c, err := s.liveChallenge(ctx, handle, store.ChallengeLogin)
	if err != nil {
		return PendingLogin{}, err
	}
	if c, err = s.opts.Store.AttemptChallenge(ctx, c.Hash); errors.Is(err, store.ErrNotFound) {
		return PendingLogin{}, ErrChallengeInvalid
	} else if err != nil {
		return PendingLogin{}, err
	}
	if c.Attempts > MaxLoginCodeAttempts {
		_, _ = s.opts.Store.TakeChallenge(ctx, c.Hash) // used up: the login starts over
		return PendingLogin{}, ErrChallengeInvalid
	}
	methods, err := s.VerifyCode(ctx, c.UserID, code)
	if err != nil {
		return PendingLogin{}, err
	}
	return s.TakeLogin(ctx, handle, c.UserID, methods)
}

// TakeLogin uses up the pending login of handle once another second factor
// of user userID (a passkey) has passed with methods, and returns it with
// its AMR completed: ErrChallengeInvalid when it is not userID's, expired
// or used, ErrUserGone when the user was disabled or deleted meanwhile.
func (s *Service) TakeLogin(ctx context.Context, handle, userID string, methods []string) (PendingLogin, error) {
	if handle == "" || len(handle) > maxHandleBytes {
		return PendingLogin{}, ErrChallengeInvalid
	}
	c, err := s.opts.Store.TakeChallenge(ctx, hashLink(handle))
	if errors.Is(err, store.ErrNotFound) {
		return PendingLogin{}, ErrChallengeInvalid
	} else if err != nil {
		return PendingLogin{}, err
	}
	if c.Purpose != store.ChallengeLogin || c.UserID != userID || !s.now().Before(c.ExpiresAt) {
		return PendingLogin{}, ErrChallengeInvalid
	}
	pl, err := pendingOf(handle, c)
	if err != nil {
		return PendingLogin{}, err
	}
	// A pending login counts only for a live user whose credentials did not
	// change since it began.
	if _, err := s.Live(ctx, userID, c.CreatedAt); err != nil {
		return PendingLogin{}, err
	}
	pl.AMR = AddAMR(pl.AMR, methods...)
	return pl, nil
}
