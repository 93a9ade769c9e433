package account

import (
	"context"
	"errors"
	"strconv"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/store"
)

// The service's events (Options.Events): each recorded once, after the
// write that decides the outcome, with the user it concerns.

// record records an event of type typ concerning user userID ("" for
// none).
func (s *Service) record(ctx context.Context, typ, userID string, detail map[string]string) {
	s.opts.Events.Record(ctx, events.Event{Type: typ, UserID: userID, Detail: detail})
}

// Reasons of a failed login, in its event's detail. The client is told
// none of them (ErrBadCredentials); the operator reading the trail is.
const (
	reasonMalformedEmail = "malformed_email"
	reasonUnknownUser    = "unknown_user"
	reasonWrongPassword  = "wrong_password"
	reasonDisabled       = "disabled"
	reasonBadStoredHash  = "unreadable_stored_hash"
)

// loginFailed records a failed login of user (zero when the email is no
// user's: the email typed is not recorded, since people type their
// password into it).
func (s *Service) loginFailed(ctx context.Context, u store.User, reason string) {
	s.record(ctx, events.LoginFailure, u.ID, map[string]string{"reason": reason})
}

// failureReason is why a login with a verified (or not) password failed.
func failureReason(known, ok bool) string {
	switch {
	case !known:
		return reasonUnknownUser
	case !ok:
		return reasonWrongPassword
	}
	return reasonDisabled
}

// loginThrottled records a login refused by the throttle, naming the user
// whose email it tried, if any: the throttle comes before the lookup, so
// this one reads the user for the trail alone.
func (s *Service) loginThrottled(ctx context.Context, email string, te *ThrottledError) {
	u, err := s.opts.Store.GetUserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.opts.Logger.WarnContext(ctx, "look up throttled login's user", "err", err)
	}
	s.record(ctx, events.LoginThrottled, u.ID, map[string]string{"retry_after_s": strconv.FormatInt(te.Seconds(), 10)})
}
