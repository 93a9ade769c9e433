package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// What a signed-in user does to their own account (PATCH /user,
// POST /user/_password, GET and DELETE /user/sessions, DELETE /user, and
// the account page): rename, change the password, see and end sessions,
// sign out everywhere, delete the account. Whoever calls these has
// authenticated the user already (a Bearer token, a session cookie); the
// steps that matter most also take the password, checked as a login is.

// Errors of the self-service methods, besides those of account.go.
var (
	// ErrWrongPassword means the password given to confirm a change is
	// not the user's.
	ErrWrongPassword = errors.New("incorrect password")
	// ErrNoSession means the user has no such session (none by that id,
	// another user's, or ended already).
	ErrNoSession = errors.New("no such session")
)

// detachedTimeout bounds the writes that follow a check (detached).
const detachedTimeout = 10 * time.Second

// detached keeps ctx's values but not its cancellation, for the writes
// that must all happen once a change is decided: a client that goes away
// after its password was checked must not leave the password changed and
// the old sessions alive.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), detachedTimeout)
}

// MsgSamePassword is the message of the problem of a new password that is
// the current one.
const MsgSamePassword = "The new password must differ from the current one"

// InvalidError is input that breaks the rules of its fields: every
// problem, in FastAPI's 422 vocabulary, named after the field of the
// request.
type InvalidError struct{ Problems []FieldProblem }

func (e *InvalidError) Error() string {
	fields := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		fields[i] = p.Field
	}
	return "invalid " + strings.Join(fields, ", ")
}

// user returns the user of id, enabled: ErrUserGone otherwise.
func (s *Service) user(ctx context.Context, id string) (store.User, error) {
	u, err := s.opts.Store.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		return store.User{}, ErrUserGone
	}
	return u, err
}

// Rename gives the user the name, trimmed, under the signup rule
// (CheckName). It returns the updated user, an *InvalidError, ErrUserGone
// or a store error.
func (s *Service) Rename(ctx context.Context, id, name string) (store.User, error) {
	name = strings.TrimSpace(name)
	if p := CheckName(name); p != nil {
		return store.User{}, &InvalidError{Problems: []FieldProblem{*p}}
	}
	u, err := s.opts.Store.UpdateUser(ctx, id, func(old store.User) (store.User, error) {
		if old.Disabled {
			return old, ErrUserGone
		}
		old.Name = name
		old.UpdatedAt = s.now()
		return old, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUserGone
	}
	if err != nil {
		return store.User{}, err
	}
	s.opts.Logger.InfoContext(ctx, "user renamed", "sub", u.ID)
	return u, nil
}

// viaPasswordCheck marks, in a login event's detail, the check of the
// password that confirms a change of a signed-in user's (the password
// change, the deletion): the trail shows guesses there as at the login.
const viaPasswordCheck = "password_check"

// checkPassword checks that password is u's, from the client address
// from, as a login is: the attempt counts in the login throttle (the same
// counters as a login of u's email, so that guesses here and there share
// one budget) before the hash is verified in the hash pool, and a success
// resets the counters. It returns nil, ErrWrongPassword, a
// *ThrottledError, ErrBusy or a store or context error.
func (s *Service) checkPassword(ctx context.Context, u store.User, password string, from netip.Addr) error {
	counters, err := s.throttle(ctx, s.loginKeys(u.Email, from)...)
	var te *ThrottledError
	if errors.As(err, &te) {
		s.record(ctx, events.LoginThrottled, u.ID, map[string]string{"retry_after_s": strconv.FormatInt(te.Seconds(), 10), "via": viaPasswordCheck})
	}
	if err != nil {
		return err
	}
	if len(password) > MaxPasswordBytes { // no password is that long: no hash
		s.opts.Logger.InfoContext(ctx, "password check failed", "sub", u.ID, "reason", "too long")
		s.record(ctx, events.LoginFailure, u.ID, map[string]string{"reason": reasonWrongPassword, "via": viaPasswordCheck})
		return ErrWrongPassword
	}
	ok, _, err := s.hasher.Verify(ctx, u.PasswordHash, password)
	switch {
	case errors.Is(err, errHashBusy):
		return ErrBusy
	case err != nil && ctx.Err() != nil:
		return err
	case err != nil:
		s.opts.Logger.ErrorContext(ctx, "verify password", "sub", u.ID, "err", err)
		return ErrWrongPassword
	case !ok:
		s.opts.Logger.InfoContext(ctx, "password check failed", "sub", u.ID, "reason", "wrong password")
		s.record(ctx, events.LoginFailure, u.ID, map[string]string{"reason": reasonWrongPassword, "via": viaPasswordCheck})
		return ErrWrongPassword
	}
	if err := s.opts.Store.ResetThrottle(ctx, counters...); err != nil {
		s.opts.Logger.WarnContext(ctx, "reset login throttle", "sub", u.ID, "err", err)
	}
	return nil
}

// ChangePassword replaces the user's password, current, with next, asked
// from the client address from. next must pass the signup rule
// (CheckPassword) and differ from current; current is checked as a login
// is (the login throttle, the hash pool). On success every token, code,
// refresh token and session issued before ends, as SetPassword's do, with
// a back-channel logout queued for each session, and the user is mailed a
// notice in lang (when the server sends mail); the caller issues what
// keeps the user signed in where they are, from the user returned, whose
// TokensValidAfter has moved.
//
// It returns an *InvalidError (fields "new_password"), ErrWrongPassword,
// a *ThrottledError, ErrBusy, ErrUserGone, or a store error.
func (s *Service) ChangePassword(ctx context.Context, id, current, next string, from netip.Addr, lang string) (store.User, error) {
	var problems []FieldProblem
	if p := CheckPassword(next); p != nil {
		p.Field = "new_password"
		problems = append(problems, *p)
	} else if next == current {
		problems = append(problems, FieldProblem{Field: "new_password", Type: "value_error", Msg: MsgSamePassword})
	}
	if len(problems) > 0 {
		return store.User{}, &InvalidError{Problems: problems}
	}
	u, err := s.user(ctx, id)
	if err != nil {
		return store.User{}, err
	}
	if err := s.checkPassword(ctx, u, current, from); err != nil {
		return store.User{}, err
	}
	h, err := s.hasher.Hash(ctx, next)
	if errors.Is(err, errHashBusy) {
		return store.User{}, ErrBusy
	}
	if err != nil {
		return store.User{}, fmt.Errorf("hash password: %w", err)
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	checked := u.PasswordHash
	u, err = s.endGrants(ctx, id, func(old *store.User) error {
		if old.Disabled {
			return ErrUserGone
		}
		if old.PasswordHash != checked { // changed since it was checked
			return ErrWrongPassword
		}
		old.PasswordHash = h
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUserGone
	}
	if err != nil {
		return store.User{}, err
	}
	s.opts.Logger.InfoContext(ctx, "password changed", "sub", u.ID)
	s.record(ctx, events.PasswordChanged, u.ID, map[string]string{"via": "account"})
	s.notifyPasswordChanged(ctx, u, lang)
	return u, nil
}

// notifyPasswordChanged mails the user, in lang, that their password
// changed (MailPasswordChanged, with the recovery page's link), so that an
// owner who did not change it hears of it; without mail it sends nothing.
// A failure is logged: the change stands.
func (s *Service) notifyPasswordChanged(ctx context.Context, u store.User, lang string) {
	err := s.send(ctx, Message{To: u.Email, Kind: MailPasswordChanged, Lang: lang,
		Data: map[string]string{"name": u.Name, "link": strings.TrimRight(s.opts.LinkBase, "/") + RecoverPath}})
	if err != nil && !errors.Is(err, ErrMailOff) {
		s.opts.Logger.ErrorContext(ctx, "password changed notice", "sub", u.ID, "err", err)
	}
}

// Sessions returns the user's live browser sessions (not expired at the
// service's clock), the most recent sign-in first.
func (s *Service) Sessions(ctx context.Context, userID string) ([]store.Session, error) {
	all, err := s.opts.Store.ListSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	live := all[:0]
	for _, se := range all {
		if now.Before(se.ExpiresAt) {
			live = append(live, se)
		}
	}
	slices.Reverse(live)
	return live, nil
}

// SessionOf returns the id of the user's session under which the grant
// family was issued, or "" when none of their live sessions has it (the
// password grant's, or a tutorial token's, which have no session).
func (s *Service) SessionOf(ctx context.Context, userID, family string, sessions []store.Session) (string, error) {
	if family == "" {
		return "", nil
	}
	for _, se := range sessions {
		fams, err := s.opts.Store.SessionFamilies(ctx, se.ID, userID)
		if err != nil {
			return "", err
		}
		if slices.Contains(fams, family) {
			return se.ID, nil
		}
	}
	return "", nil
}

// EndSession ends the user's session with the public id (the sid, never
// the cookie's hash): the session, its refresh tokens and unredeemed
// codes, with back-channel logouts queued (store EndSession), and the
// access tokens minted under it, whose grant families are revoked
// (Options.RevokeFamily). Another user's session, or one that ended, is
// ErrNoSession.
func (s *Service) EndSession(ctx context.Context, userID, id string) error {
	if id == "" || len(id) > 128 || !plaintext.Valid(id) { // no session has such an id
		return ErrNoSession
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	fams, err := s.opts.Store.SessionFamilies(ctx, id, userID)
	if err != nil {
		return err
	}
	err = s.opts.Store.EndSession(ctx, id, userID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoSession
	}
	if err != nil {
		return err
	}
	for _, f := range fams {
		s.opts.RevokeFamily(ctx, f)
	}
	s.opts.Logger.InfoContext(ctx, "session ended", "sub", userID, "via", "account")
	s.record(ctx, events.SessionEnded, userID, map[string]string{"sid": id, "via": "account"})
	return nil
}

// EndAllSessions signs the user out everywhere: every session (with a
// back-channel logout queued for each), refresh token and code, and,
// since TokensValidAfter moves, every access token issued before. It
// returns the updated user, ErrUserGone, or a store error.
func (s *Service) EndAllSessions(ctx context.Context, userID string) (store.User, error) {
	ctx, cancel := detached(ctx)
	defer cancel()
	u, err := s.endGrants(ctx, userID, func(*store.User) error { return nil })
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUserGone
	}
	if err != nil {
		return store.User{}, err
	}
	s.opts.Logger.InfoContext(ctx, "signed out everywhere", "sub", userID)
	s.record(ctx, events.SessionEnded, userID, map[string]string{"via": "everywhere"})
	return u, nil
}

// DeleteAccount deletes the user at their own request, from the client
// address from, once password is checked as a login is: every session is
// ended first, so that the clients with a back-channel logout URI hear of
// it, then the user goes with everything of theirs, and their tokens stop
// working (Live). It returns ErrWrongPassword, a *ThrottledError, ErrBusy,
// ErrUserGone, or a store error.
func (s *Service) DeleteAccount(ctx context.Context, id, password string, from netip.Addr) error {
	u, err := s.user(ctx, id)
	if err != nil {
		return err
	}
	if err := s.checkPassword(ctx, u, password, from); err != nil {
		return err
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	if err := s.opts.Store.EndUserSessions(ctx, id, s.now()); err != nil {
		return err
	}
	if err := s.opts.Store.DeleteUser(ctx, id); errors.Is(err, store.ErrNotFound) {
		return ErrUserGone
	} else if err != nil {
		return err
	}
	s.opts.Logger.InfoContext(ctx, "user deleted", "sub", id, "via", "account")
	s.record(ctx, events.UserDeleted, id, map[string]string{"email": u.Email, "via": "account"})
	return nil
}
