package account

import (
	"context"
	"errors"
	"net/netip"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// Authenticate is every password login (the tutorial's route, the OAuth
// password grant, the login page), from the client address from. It counts
// the attempt in the shared throttle before checking it, so that parallel
// guesses cannot slip past the budget, costs one hash whether or not the
// email is known, and resets the counters on success. It takes the email as
// given, and normalises it; one no account can have (control characters,
// invalid UTF-8, over 254 bytes once normalised) fails before any of that.
//
// It returns ErrBadCredentials for any failure, alike whether the user is
// unknown, the password wrong or the user disabled; a *ThrottledError;
// ErrBusy; ErrEmailNotVerified, with RequireVerifiedEmail, when the
// password was right but the email is not verified; or a store or context
// error.
func (s *Service) Authenticate(ctx context.Context, email, password string, from netip.Addr) (store.User, error) {
	// No account has such an email (registration refuses it), so it costs
	// no throttle row, lookup or hash. The text is checked as given: the
	// normal form would turn invalid UTF-8 into U+FFFD.
	valid := plaintext.Valid(email)
	if email = NormalizeEmail(email); !valid || len(email) > MaxEmailBytes {
		s.opts.Logger.InfoContext(ctx, "login failed", "reason", "malformed email")
		s.opts.OnLogin(LoginFailure)
		s.loginFailed(ctx, store.User{}, reasonMalformedEmail)
		return store.User{}, ErrBadCredentials
	}
	counters, err := s.throttle(ctx, s.loginKeys(email, from)...)
	if err != nil {
		var te *ThrottledError
		if errors.As(err, &te) {
			s.opts.OnLogin(LoginThrottled)
			s.loginThrottled(ctx, email, te)
		}
		return store.User{}, err
	}
	u, err := s.opts.Store.GetUserByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	hash := s.dummyHash
	if known {
		hash = u.PasswordHash
	}
	ok, rehash, err := s.hasher.Verify(ctx, hash, password)
	if errors.Is(err, errHashBusy) {
		s.opts.OnLogin(LoginBusy)
		return store.User{}, ErrBusy
	}
	if err != nil {
		if ctx.Err() != nil {
			return store.User{}, err
		}
		// A stored hash we cannot read: the user cannot log in, and the
		// operator must know.
		s.opts.Logger.ErrorContext(ctx, "verify password", "sub", u.ID, "err", err)
		s.loginFailed(ctx, u, reasonBadStoredHash)
		return store.User{}, ErrBadCredentials
	}
	if !known || !ok || u.Disabled {
		s.opts.Logger.InfoContext(ctx, "login failed", "reason", "bad credentials")
		s.opts.OnLogin(LoginFailure)
		s.loginFailed(ctx, u, failureReason(known, ok))
		return store.User{}, ErrBadCredentials
	}
	if err := s.opts.Store.ResetThrottle(ctx, counters...); err != nil {
		s.opts.Logger.WarnContext(ctx, "reset login throttle", "sub", u.ID, "err", err)
	}
	if rehash {
		s.rehash(ctx, u, password)
	}
	// Only now, the password right: the refusal tells nothing to whoever
	// does not have it.
	if s.opts.RequireVerifiedEmail && !u.EmailVerified {
		s.opts.Logger.InfoContext(ctx, "login refused", "reason", "email not verified", "sub", u.ID)
		s.opts.OnLogin(LoginUnverified)
		return store.User{}, ErrEmailNotVerified
	}
	s.opts.OnLogin(LoginSuccess)
	s.record(ctx, events.LoginSuccess, u.ID, nil)
	return u, nil
}

// rehash upgrades a legacy (bcrypt) or outdated hash to the current argon2id
// parameters after a successful login, unless the hash changed meanwhile.
// Failures are logged: the login itself stands.
func (s *Service) rehash(ctx context.Context, u store.User, password string) {
	nh, err := s.hasher.Hash(ctx, password)
	if err == nil {
		_, err = s.opts.Store.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
			if old.PasswordHash != u.PasswordHash {
				return old, errHashChanged
			}
			old.PasswordHash = nh
			old.UpdatedAt = s.now()
			return old, nil
		})
	}
	if err != nil && !errors.Is(err, errHashChanged) {
		s.opts.Logger.WarnContext(ctx, "rehash password", "sub", u.ID, "err", err)
		return
	}
	s.opts.Logger.InfoContext(ctx, "password rehashed", "sub", u.ID)
}

var errHashChanged = errors.New("password hash changed meanwhile")
