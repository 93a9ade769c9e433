package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
)

// NewUser is a user to create: a validated, normalised name and email
// (ValidateSignup, or CheckName and CheckEmail), and either a password to
// hash or an existing hash (one password.Check accepts) to keep.
type NewUser struct {
	Name          string
	Email         string
	Password      string // hashed when PasswordHash is empty
	PasswordHash  string
	EmailVerified bool
}

// Create hashes the password, unless the user comes with a hash, and
// stores the user under a new id. A taken email is ErrEmailTaken; no hash
// slot within HashQueueWait is ErrBusy.
func (s *Service) Create(ctx context.Context, n NewUser) (store.User, error) {
	hash := n.PasswordHash
	if hash == "" {
		var err error
		hash, err = s.hasher.Hash(ctx, n.Password)
		if errors.Is(err, errHashBusy) {
			return store.User{}, ErrBusy
		}
		if err != nil {
			return store.User{}, fmt.Errorf("hash password: %w", err)
		}
	}
	now := s.now()
	u := store.User{
		ID: newID(), Name: n.Name, Email: n.Email, PasswordHash: hash, EmailVerified: n.EmailVerified,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := s.opts.Store.CreateUser(ctx, u); errors.Is(err, store.ErrConflict) {
		return store.User{}, ErrEmailTaken
	} else if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// Register is a registration from the client address from (POST /user):
// it counts in the signup throttle, since every valid attempt does (a
// taken email tells whether an email is registered, so probing for them is
// what the budget slows down), then creates the user. in comes from
// ValidateSignup, which the caller runs first, so that an invalid
// registration costs no throttle row or hash. It returns a
// *ThrottledError, ErrBusy, ErrEmailTaken, or a store error.
func (s *Service) Register(ctx context.Context, in SignupInput, from netip.Addr) (store.User, error) {
	if _, err := s.throttle(ctx, s.signupKeys(from)...); err != nil {
		return store.User{}, err
	}
	u, err := s.Create(ctx, NewUser{Name: in.Name, Email: in.Email, Password: in.Password})
	if err != nil {
		return store.User{}, err
	}
	s.opts.Logger.InfoContext(ctx, "user registered", "sub", u.ID)
	s.record(ctx, events.Signup, u.ID, nil)
	return u, nil
}

// Disable refuses the user's logins and every token, code, refresh token
// and session issued to them before (TokensValidAfter moves, and their
// grants are deleted, with a back-channel logout queued for each session);
// an Enable later does not bring those back.
func (s *Service) Disable(ctx context.Context, id string) (store.User, error) {
	u, err := s.endGrants(ctx, id, func(u *store.User) error { u.Disabled = true; return nil })
	if err == nil {
		s.record(ctx, events.UserDisabled, id, nil)
	}
	return u, err
}

// Enable allows the user's logins again. What was issued before a Disable
// stays refused.
func (s *Service) Enable(ctx context.Context, id string) (store.User, error) {
	u, err := s.opts.Store.UpdateUser(ctx, id, func(old store.User) (store.User, error) {
		old.Disabled = false
		old.UpdatedAt = s.now()
		return old, nil
	})
	if err == nil {
		s.record(ctx, events.UserEnabled, id, nil)
	}
	return u, err
}

// Delete deletes the user; their tokens stop working (Live refuses them).
// Their sessions are ended first, so that the clients with a back-channel
// logout URI hear of it. Its event keeps the user's email, so that the
// trail still says whose account it was.
func (s *Service) Delete(ctx context.Context, id string) error {
	u, err := s.opts.Store.GetUser(ctx, id)
	if err != nil {
		return err
	}
	if err := s.opts.Store.EndUserSessions(ctx, id, s.now()); err != nil {
		return err
	}
	if err := s.opts.Store.DeleteUser(ctx, id); err != nil {
		return err
	}
	s.record(ctx, events.UserDeleted, id, map[string]string{"email": u.Email})
	return nil
}

// SetPassword hashes password, which the caller has checked with
// CheckPassword, as the user's new one, and ends every token, code,
// refresh token and session issued before: TokensValidAfter moves, and
// the user's grants are deleted (signed out everywhere, with a back-channel
// logout queued for each session).
func (s *Service) SetPassword(ctx context.Context, id, password string) (store.User, error) {
	h, err := s.hasher.Hash(ctx, password)
	if errors.Is(err, errHashBusy) {
		return store.User{}, ErrBusy
	}
	if err != nil {
		return store.User{}, err
	}
	u, err := s.endGrants(ctx, id, func(u *store.User) error { u.PasswordHash = h; return nil })
	if err == nil {
		s.record(ctx, events.PasswordChanged, id, nil)
	}
	return u, err
}

// endGrants is the rule of a credential change: it applies change to the
// user (an error from change aborts, and is returned as it is), moves TokensValidAfter to now (every token, code and refresh token
// issued before stops counting: Live), and deletes the user's grants
// (sessions, codes, refresh tokens: signed out everywhere), with a
// back-channel logout queued for each session (store.EndUserSessions).
func (s *Service) endGrants(ctx context.Context, id string, change func(*store.User) error) (store.User, error) {
	u, err := s.opts.Store.UpdateUser(ctx, id, func(old store.User) (store.User, error) {
		if err := change(&old); err != nil {
			return old, err
		}
		old.UpdatedAt = s.now()
		old.TokensValidAfter = token.ValidAfter(old.UpdatedAt, old.TokensValidAfter)
		return old, nil
	})
	if err != nil {
		return store.User{}, err
	}
	if err := s.opts.Store.EndUserSessions(ctx, id, u.UpdatedAt); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// Live is the one rule for whether what was issued to user userID at
// issued (a token's iat, a code's or refresh token's sign-in time) still
// counts: the user exists, is enabled, and issued is not before their
// TokensValidAfter, which a password change or a disable moves. Tokens
// carry whole-second iat; token.Issuer rounds theirs up past
// TokensValidAfter so that this comparison holds for them too. It returns
// the user, ErrUserGone, ErrBeforeReset, or a store error.
func (s *Service) Live(ctx context.Context, userID string, issued time.Time) (store.User, error) {
	u, err := s.opts.Store.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUserGone
	}
	if err != nil {
		return store.User{}, err
	}
	if u.Disabled {
		return store.User{}, ErrUserGone
	}
	if issued.Before(u.TokensValidAfter) {
		return store.User{}, ErrBeforeReset
	}
	return u, nil
}

// newID names a new user: a random UUID (RFC 9562 version 4).
func newID() string { return uuid.NewString() }

// IsID reports whether s is a user id as inkan makes them: a UUID in its
// canonical, lower-case form. An email never is one, so the CLI takes
// either.
func IsID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}
