package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
)

// backgroundTimeout bounds the preparation of one mail after its request
// was answered.
const backgroundTimeout = 30 * time.Second

// backgroundStart is how long the preparation of a mail waits for its
// request's context to end (net/http ends it once the handler has
// returned) before it starts anyway: the work must not compete with the
// answer for the processor, or its time would tell a known email.
const backgroundStart = 50 * time.Millisecond

// mailRequest is the part of a request for a mail (recovery, a new
// verification) that the client waits for, the same whether or not a user
// has the email: the email is checked for its form, counted in the
// per-address and per-email throttles (kind names their counters), and a
// place among the mails being prepared is taken (waiting while they are
// all taken, alike for every email). Then, once ctx has ended (the request
// was answered) or after backgroundStart, prepare runs for the user who
// has the email, if any is and is enabled; an unknown email costs the
// request nothing more (OWASP Forgot Password Cheat Sheet: "consistent
// amount of time … by using asynchronous calls").
func (s *Service) mailRequest(ctx context.Context, kind, email string, from netip.Addr, prepare func(context.Context, store.User) error) error {
	if s.opts.Mailer == nil {
		return ErrMailOff
	}
	valid := plaintext.Valid(email)
	email = NormalizeEmail(email)
	if p := CheckEmail(email); !valid || p != nil {
		if p == nil {
			p = &FieldProblem{Field: "email", Type: "value_error", Msg: "value is not a valid email address"}
		}
		return &InputError{Problem: *p}
	}
	var keys []store.ThrottleKey
	if p := s.opts.MailAddressPolicy; p.Free > 0 {
		keys = append(keys, store.ThrottleKey{Key: s.throttleKey(kind+":addr", from.String()), Policy: p})
	}
	if p := s.opts.MailEmailPolicy; p.Free > 0 {
		keys = append(keys, store.ThrottleKey{Key: s.throttleKey(kind+":email", email), Policy: p})
	}
	if _, err := s.throttle(ctx, keys...); err != nil {
		return err
	}
	select {
	case s.background <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.pending.Add(1)
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), backgroundTimeout)
	go func() {
		defer func() { <-s.background; cancel(); s.pending.Done() }()
		start := time.NewTimer(backgroundStart)
		select {
		case <-ctx.Done():
		case <-start.C:
		}
		start.Stop()
		u, err := s.opts.Store.GetUserByEmail(bctx, email)
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.opts.Logger.DebugContext(bctx, "mail request for an unknown email", "kind", kind)
			return
		case err == nil && u.Disabled:
			s.opts.Logger.InfoContext(bctx, "mail request for a disabled user", "kind", kind, "sub", u.ID)
			return
		case err == nil:
			err = prepare(bctx, u)
		}
		if err != nil {
			s.opts.Logger.ErrorContext(bctx, "prepare mail", "kind", kind, "sub", u.ID, "err", err)
		}
	}()
	return nil
}

// Wait waits until the mails requested so far are prepared (committed to
// the outbox, or failed and logged): at shutdown, and in tests.
func (s *Service) Wait() { s.pending.Wait() }

// RequestRecovery sends a recovery link and code (MailRecover, in lang)
// to email, from the client address from, if an enabled user has it, in
// answer to a request that tells nothing of whether one does
// (mailRequest): the same work, and the same answer, for every email. It
// returns ErrMailOff, an *InputError for a malformed email, a
// *ThrottledError, or a context error.
func (s *Service) RequestRecovery(ctx context.Context, email string, from netip.Addr, lang string) error {
	return s.mailRequest(ctx, "recover", email, from, func(ctx context.Context, u store.User) error {
		is, err := s.issue(ctx, u, store.PurposeRecover, u.Email, s.opts.RecoveryTTL, false)
		if err != nil {
			return err
		}
		if err := s.send(ctx, Message{To: u.Email, Kind: MailRecover, Lang: lang, Data: s.mailData(u, is)}); err != nil {
			return err
		}
		s.opts.Logger.InfoContext(ctx, "recovery sent", "sub", u.ID)
		return nil
	})
}

// CheckRecovery reports whether a recovery link counts, without using it
// (the page it opens asks for the new password only then). It returns the
// user, ErrLinkInvalid, or a store error.
func (s *Service) CheckRecovery(ctx context.Context, token string) (store.User, error) {
	_, u, err := s.peek(ctx, token, store.PurposeRecover)
	return u, err
}

// CompleteRecovery uses a recovery link to set the user's password to
// newPassword, which must pass CheckPassword (an *InputError otherwise,
// and the link stays usable), and ends everything issued before: earlier
// access tokens (TokensValidAfter), every session (each ended as a logout
// is, so that its clients are sent back-channel logout tokens), refresh
// token and code. The email is then verified too (the link proved it), and
// a MailPasswordChanged notice, in lang, goes to the user. It returns the
// user, ErrLinkInvalid, ErrBusy, or a store error.
func (s *Service) CompleteRecovery(ctx context.Context, tok, newPassword, lang string) (store.User, error) {
	hash, err := s.newPasswordHash(ctx, newPassword)
	if err != nil {
		return store.User{}, err
	}
	t, _, err := s.useLink(ctx, tok, store.PurposeRecover)
	if err != nil {
		return store.User{}, err
	}
	return s.recovered(ctx, t, hash, lang)
}

// CompleteRecoveryCode is CompleteRecovery by the code of the mail, with
// the email it was sent to, counted as ConfirmVerificationCode counts
// codes.
func (s *Service) CompleteRecoveryCode(ctx context.Context, email, code, newPassword string, from netip.Addr, lang string) (store.User, error) {
	if p := CheckPassword(newPassword); p != nil {
		return store.User{}, &InputError{Problem: *p}
	}
	email, userID, err := s.codeAccount(ctx, email)
	if err != nil {
		return store.User{}, err
	}
	// The code first, then the hash: a wrong code costs no hash slot.
	t, _, err := s.useCode(ctx, userID, store.PurposeRecover, code, email)
	if err != nil {
		return store.User{}, err
	}
	hash, err := s.newPasswordHash(ctx, newPassword)
	if err != nil {
		return store.User{}, err
	}
	return s.recovered(ctx, t, hash, lang)
}

// newPasswordHash checks and hashes a new password.
func (s *Service) newPasswordHash(ctx context.Context, pw string) (string, error) {
	if p := CheckPassword(pw); p != nil {
		return "", &InputError{Problem: *p}
	}
	h, err := s.hasher.Hash(ctx, pw)
	if errors.Is(err, errHashBusy) {
		return "", ErrBusy
	}
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// recovered sets the password of a used recovery token's user, if the
// user still has its address, and ends what was issued before.
func (s *Service) recovered(ctx context.Context, t store.OneTimeToken, hash, lang string) (store.User, error) {
	// What follows must finish once the token is used, even if the client
	// goes away: a half-done recovery would leave old sessions alive.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), backgroundTimeout)
	defer cancel()
	u, err := s.opts.Store.UpdateUser(ctx, t.UserID, func(old store.User) (store.User, error) {
		if old.Email != t.Email || old.Disabled {
			return old, ErrLinkInvalid
		}
		old.PasswordHash = hash
		old.EmailVerified = true
		old.UpdatedAt = s.now()
		old.TokensValidAfter = token.ValidAfter(old.UpdatedAt, old.TokensValidAfter)
		return old, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrLinkInvalid
	}
	if err != nil {
		return store.User{}, err
	}
	if err := s.endEverything(ctx, u.ID); err != nil {
		return store.User{}, err
	}
	// The owner, locked out by guesses, gets in again.
	if p := s.opts.AccountPolicy; p.Free > 0 {
		if err := s.opts.Store.ResetThrottle(ctx, s.throttleKey("login:acct", u.Email)); err != nil {
			s.opts.Logger.WarnContext(ctx, "reset login throttle", "sub", u.ID, "err", err)
		}
	}
	s.opts.Logger.InfoContext(ctx, "password reset", "sub", u.ID)
	s.record(ctx, events.PasswordChanged, u.ID, map[string]string{"via": "recovery"})
	s.record(ctx, events.PasswordReset, u.ID, nil)
	if err := s.send(ctx, Message{To: u.Email, Kind: MailPasswordChanged, Lang: lang,
		Data: map[string]string{"name": u.Name, "link": strings.TrimRight(s.opts.LinkBase, "/") + RecoverPath}}); err != nil {
		s.opts.Logger.ErrorContext(ctx, "password changed notice", "sub", u.ID, "err", err)
	}
	return u, nil
}

// endEverything ends every session of the user as a logout does, and
// every grant that remains (the password grant's refresh tokens, codes of
// sessions gone already), in one transaction (store.EndUserSessions: the
// sessions' clients are owed back-channel logout tokens).
func (s *Service) endEverything(ctx context.Context, userID string) error {
	if err := s.opts.Store.EndUserSessions(ctx, userID, s.now()); err != nil {
		return err
	}
	s.opts.OnSessionsEnded()
	return nil
}

// RecoveryTTL is how long a recovery link and code count.
func (s *Service) RecoveryTTL() time.Duration { return s.opts.RecoveryTTL }
