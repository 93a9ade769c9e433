package account

import (
	"context"
	"errors"
	"net/netip"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// StartVerification sends the user a link and a code that verify their
// email (at registration): a MailVerify message, in lang, to the user's
// address, voiding the links sent before. A verified user is sent nothing.
// It returns ErrMailOff without a Mailer.
func (s *Service) StartVerification(ctx context.Context, u store.User, lang string) error {
	if s.opts.Mailer == nil {
		return ErrMailOff
	}
	if u.EmailVerified {
		return nil
	}
	is, err := s.issue(ctx, u, store.PurposeVerify, u.Email, s.opts.VerifyTTL, false)
	if err != nil {
		return err
	}
	if err := s.send(ctx, Message{To: u.Email, Kind: MailVerify, Lang: lang, Data: s.mailData(u, is)}); err != nil {
		return err
	}
	s.opts.Logger.InfoContext(ctx, "verification sent", "sub", u.ID)
	return nil
}

// CheckVerification reports whether a verification link counts, without
// using it (the page a link opens shows its button only then). It returns
// the user, ErrLinkInvalid, or a store error.
func (s *Service) CheckVerification(ctx context.Context, token string) (store.User, error) {
	_, u, err := s.peek(ctx, token, store.PurposeVerify)
	return u, err
}

// ConfirmVerification uses a verification link: the user's email, if it
// is still the address the link was sent to, is verified. It returns the
// user, ErrLinkInvalid, or a store error.
func (s *Service) ConfirmVerification(ctx context.Context, token string) (store.User, error) {
	t, _, err := s.useLink(ctx, token, store.PurposeVerify)
	if err != nil {
		return store.User{}, err
	}
	return s.verified(ctx, t)
}

// ConfirmVerificationCode is ConfirmVerification by the code of the mail,
// with the email it was sent to, from the client address from: the code is
// counted in the per-account throttle (a *ThrottledError when spent) and
// against its token before it is checked, and an unknown email costs the
// same lookups and is refused alike, with ErrLinkInvalid.
func (s *Service) ConfirmVerificationCode(ctx context.Context, email, code string, from netip.Addr) (store.User, error) {
	email, userID, err := s.codeAccount(ctx, email)
	if err != nil {
		return store.User{}, err
	}
	t, _, err := s.useCode(ctx, userID, store.PurposeVerify, code, email)
	if err != nil {
		return store.User{}, err
	}
	return s.verified(ctx, t)
}

// codeAccount finds the user a code comes with by email: the email's
// normal form and the user's id, "" when none has it.
func (s *Service) codeAccount(ctx context.Context, email string) (string, string, error) {
	valid := plaintext.Valid(email)
	email = NormalizeEmail(email)
	if !valid || len(email) > MaxEmailBytes {
		return "", "", ErrLinkInvalid
	}
	u, err := s.opts.Store.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return email, "", nil
	}
	if err != nil {
		return "", "", err
	}
	return email, u.ID, nil
}

// verified marks the user of a used verification token verified, if the
// user still has its address.
func (s *Service) verified(ctx context.Context, t store.OneTimeToken) (store.User, error) {
	u, err := s.opts.Store.UpdateUser(ctx, t.UserID, func(old store.User) (store.User, error) {
		if old.Email != t.Email || old.Disabled {
			return old, ErrLinkInvalid
		}
		if !old.EmailVerified {
			old.EmailVerified = true
			old.UpdatedAt = s.now()
		}
		return old, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrLinkInvalid
	}
	if err != nil {
		return store.User{}, err
	}
	s.opts.Logger.InfoContext(ctx, "email verified", "sub", u.ID)
	s.record(ctx, events.EmailVerified, u.ID, nil)
	return u, nil
}

// MarkVerified sets the user's email verified (inkan users verify-email).
func (s *Service) MarkVerified(ctx context.Context, id string) (store.User, error) {
	return s.opts.Store.UpdateUser(ctx, id, func(old store.User) (store.User, error) {
		if !old.EmailVerified {
			old.EmailVerified = true
			old.UpdatedAt = s.now()
		}
		return old, nil
	})
}

// ResendVerification sends a new verification mail to email, from the
// client address from, if a user who has not verified it has it, in
// answer to a request that says nothing of whether one does: it counts
// the request in the per-address and per-email throttles, and prepares
// the mail after returning (Wait waits for it), so that a known and an
// unknown email cost the request the same. It returns ErrMailOff, an
// *InputError for a malformed email, a *ThrottledError, or a context
// error while it waits for a place among the mails being prepared.
func (s *Service) ResendVerification(ctx context.Context, email string, from netip.Addr, lang string) error {
	return s.mailRequest(ctx, "verify", email, from, func(ctx context.Context, u store.User) error {
		if u.EmailVerified {
			return nil
		}
		return s.StartVerification(ctx, u, lang)
	})
}
