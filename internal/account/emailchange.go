package account

import (
	"context"
	"errors"
	"net/netip"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// RequestEmailChange starts changing the email of the user userID to
// newEmail: it checks the user's current password (counted in the login
// throttle of their account, from the client address from), then sends a
// link and a code to the new address (MailEmailChange, in lang). The
// change takes effect only when that link or code is used
// (ConfirmEmailChange), and a notice then goes to the old address.
//
// It returns ErrMailOff; an *InputError for a malformed email, or the
// current one; ErrWrongPassword for a wrong password; a *ThrottledError;
// ErrBusy; ErrEmailTaken when another user has the address; ErrUserGone;
// or a store error.
func (s *Service) RequestEmailChange(ctx context.Context, userID, newEmail, password string, from netip.Addr, lang string) error {
	if s.opts.Mailer == nil {
		return ErrMailOff
	}
	valid := plaintext.Valid(newEmail)
	newEmail = NormalizeEmail(newEmail)
	if p := CheckEmail(newEmail); !valid || p != nil {
		if p == nil {
			p = &FieldProblem{Field: "email", Type: "value_error", Msg: "value is not a valid email address"}
		}
		return &InputError{Problem: *p}
	}
	u, err := s.opts.Store.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUserGone
	}
	if err != nil {
		return err
	}
	if u.Disabled {
		return ErrUserGone
	}
	if err := s.checkPassword(ctx, u, password, from); err != nil {
		return err
	}
	if newEmail == u.Email {
		return &InputError{Problem: FieldProblem{Field: "email", Type: "value_error", Msg: "This is already the account's email"}}
	}
	if _, err := s.opts.Store.GetUserByEmail(ctx, newEmail); err == nil {
		return ErrEmailTaken
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	is, err := s.issue(ctx, u, store.PurposeEmailChange, newEmail, s.opts.EmailChangeTTL, false)
	if err != nil {
		return err
	}
	d := s.mailData(u, is)
	d["new_email"] = newEmail
	if err := s.send(ctx, Message{To: newEmail, Kind: MailEmailChange, Lang: lang, Data: d}); err != nil {
		return err
	}
	s.opts.Logger.InfoContext(ctx, "email change requested", "sub", u.ID)
	s.record(ctx, events.EmailChangeRequested, u.ID, map[string]string{"new_email": newEmail})
	return nil
}

// CheckEmailChange reports whether an email change link counts, without
// using it. It returns the user, the new address, ErrLinkInvalid, or a
// store error.
func (s *Service) CheckEmailChange(ctx context.Context, token string) (store.User, string, error) {
	t, u, err := s.peek(ctx, token, store.PurposeEmailChange)
	return u, t.Email, err
}

// ConfirmEmailChange uses an email change link: the user's email becomes
// the new address, verified, and a MailEmailChangedNotice, in lang, goes to
// the old one. It returns the user, ErrLinkInvalid, ErrEmailTaken when
// another user took the address meanwhile, or a store error.
func (s *Service) ConfirmEmailChange(ctx context.Context, token, lang string) (store.User, error) {
	t, _, err := s.useLink(ctx, token, store.PurposeEmailChange)
	if err != nil {
		return store.User{}, err
	}
	return s.emailChanged(ctx, t, lang)
}

// ConfirmEmailChangeCode is ConfirmEmailChange by the code of the mail,
// for the signed-in user userID, counted as ConfirmVerificationCode counts
// codes.
func (s *Service) ConfirmEmailChangeCode(ctx context.Context, userID, code, lang string) (store.User, error) {
	t, _, err := s.useCode(ctx, userID, store.PurposeEmailChange, code, userID)
	if err != nil {
		return store.User{}, err
	}
	return s.emailChanged(ctx, t, lang)
}

func (s *Service) emailChanged(ctx context.Context, t store.OneTimeToken, lang string) (store.User, error) {
	var oldEmail string
	u, err := s.opts.Store.UpdateUser(ctx, t.UserID, func(old store.User) (store.User, error) {
		if old.Disabled {
			return old, ErrLinkInvalid
		}
		oldEmail = old.Email
		old.Email = t.Email
		old.EmailVerified = true
		old.UpdatedAt = s.now()
		return old, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, ErrLinkInvalid
	case errors.Is(err, store.ErrConflict):
		return store.User{}, ErrEmailTaken
	case err != nil:
		return store.User{}, err
	}
	s.opts.Logger.InfoContext(ctx, "email changed", "sub", u.ID)
	s.record(ctx, events.EmailChanged, u.ID, map[string]string{"old_email": oldEmail, "new_email": u.Email})
	if oldEmail != u.Email {
		if err := s.send(ctx, Message{To: oldEmail, Kind: MailEmailChangedNotice, Lang: lang,
			Data: map[string]string{"name": u.Name, "new_email": u.Email}}); err != nil {
			s.opts.Logger.ErrorContext(ctx, "email changed notice", "sub", u.ID, "err", err)
		}
	}
	return u, nil
}
