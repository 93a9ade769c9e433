// Package account is the one home of inkan's rules about users: what a
// name, an email and a password may be and the form an email is stored
// in, registration, password authentication with its throttle and its
// bounded pool of hash slots, disabling, enabling, deleting a user and
// setting their password, whether what was issued to a user still counts
// ("tokens valid after"), and the one-time links and codes sent by mail:
// email verification, password recovery and email change.
//
// The HTTP layer (package server) and the CLI (cmd/inkan) both call a
// Service. It returns values and typed errors (ErrBadCredentials, ErrBusy,
// *ThrottledError, ErrEmailTaken, ErrUserGone, ErrBeforeReset,
// ErrEmailNotVerified, ErrLinkInvalid, ErrMailOff, *InputError), which each
// protocol's writer maps to its own answer; it knows nothing of HTTP. It
// records the security events of what it does (sign-ups, logins, password
// changes, users disabled, enabled and deleted) through Options.Events
// (package events).
package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/mail"
	"github.com/inkan-dev/inkan/internal/store"
)

// Store is what the service needs of the storage: the users, the shared
// throttle counters, the one-time tokens of verification, recovery and
// email change, the end of a user's grants (refresh tokens, sessions,
// codes, with back-channel logouts queued) when their credentials change,
// and the user's own view of their sessions (self.go). store.Store has it.
type Store interface {
	store.UserStore
	store.ThrottleStore
	store.OneTimeTokenStore
	store.MFAStore
	ListSessions(ctx context.Context, userID string) ([]store.Session, error)
	SessionFamilies(ctx context.Context, id, userID string) ([]string, error)
	EndSession(ctx context.Context, id, userID string, now time.Time) error
	EndUserSessions(ctx context.Context, userID string, now time.Time) error
}

// Options configure a Service. Store and Passwords are required; the zero
// value of the others turns their feature off or takes the default.
type Options struct {
	Store     Store
	Passwords PasswordHasher
	// Logger receives the service's records; nil discards them.
	Logger *slog.Logger
	Now    func() time.Time // nil means time.Now

	// HashQueueWait bounds how long a call waits for a password-hash slot
	// before it fails with ErrBusy; zero waits as long as ctx lives.
	HashQueueWait time.Duration
	// LoginPolicy budgets failed logins per (account, client address);
	// AccountPolicy per account from every address, more loosely;
	// SignupPolicy registrations per client address. A policy with Free 0
	// is off.
	LoginPolicy, AccountPolicy, SignupPolicy store.ThrottlePolicy
	// ThrottleSecret keys the HMAC that names the throttle counters
	// (32 bytes, shared by replicas); required when a policy is on.
	ThrottleSecret []byte

	// RevokeFamily, when set, revokes every token of a grant family
	// (oauth2.Revocations.RevokeFamily): EndSession calls it for the
	// families issued under the session, so that its access tokens end
	// with it. Nil revokes none.
	RevokeFamily func(ctx context.Context, family string)

	// Events records the service's security events (sign-ups, logins,
	// password changes, users disabled, enabled and deleted); nil records
	// none.
	Events events.Recorder

	// OnLogin, when set, is told the result of every password login:
	// LoginSuccess, LoginFailure, LoginThrottled, LoginBusy or
	// LoginUnverified (a login that fails on a store error is not
	// counted). Metrics count with it.
	OnLogin func(result string)

	// RequireVerifiedEmail refuses the password logins of users whose
	// email is not verified, with ErrEmailNotVerified, once their password
	// has checked out.
	RequireVerifiedEmail bool

	// Mailer sends the mails of verification, recovery and email change;
	// nil turns those features off (ErrMailOff).
	Mailer Mailer
	// LinkBase is the issuer URL, the base of the links the mails carry.
	LinkBase string
	// CodeSecret keys the HMAC under which the 6-digit codes are stored
	// (32 bytes, shared by replicas); without it, mails carry links alone.
	CodeSecret []byte
	// VerifyTTL, RecoveryTTL and EmailChangeTTL are the lifetimes of the
	// links and codes; zero means DefaultVerifyTTL, DefaultRecoveryTTL and
	// DefaultEmailChangeTTL.
	VerifyTTL, RecoveryTTL, EmailChangeTTL time.Duration
	// MailAddressPolicy budgets the requests for a recovery or
	// verification mail per client address, MailEmailPolicy per email;
	// CodePolicy the one-time codes tried per account. A policy with Free
	// 0 is off.
	MailAddressPolicy, MailEmailPolicy, CodePolicy store.ThrottlePolicy
	// OnSessionsEnded, when set, is called after a recovery ended the
	// user's sessions (the server wakes the back-channel logout delivery).
	OnSessionsEnded func()
	// MFA configures second factors: TOTP, recovery codes, passkeys.
	MFA MFAOptions

	// Background bounds the mail requests prepared at once after their
	// request was answered (RequestRecovery, ResendVerification); a
	// request waits for a free place. Zero means 64.
	Background int
}

// The results OnLogin is told.
const (
	LoginSuccess    = "success"
	LoginFailure    = "failure"
	LoginThrottled  = "throttled"
	LoginBusy       = "busy"
	LoginUnverified = "unverified"
)

// Service applies the rules about users. It is safe for concurrent use.
type Service struct {
	opts      Options
	hasher    PasswordHasher // opts.Passwords behind the queue of HashQueueWait
	dummyHash string         // verified against when the email is unknown

	background chan struct{}  // a place for each mail request being prepared
	pending    sync.WaitGroup // the mail requests being prepared
}

// New builds the service. It takes a dummy hash with the hasher's own
// parameters, so that a login for an unknown email costs what a real one
// does: from the hasher's Dummy method when it has one (nothing is computed,
// so start-up leaves no hash memory behind), or by hashing a random password.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Store == nil || opts.Passwords == nil {
		return nil, errors.New("account: Store and Passwords are required")
	}
	on := opts.LoginPolicy.Free > 0 || opts.AccountPolicy.Free > 0 || opts.SignupPolicy.Free > 0 ||
		opts.MailAddressPolicy.Free > 0 || opts.MailEmailPolicy.Free > 0 || opts.CodePolicy.Free > 0 ||
		opts.MFA.Policy.Free > 0
	if on && len(opts.ThrottleSecret) < 32 {
		return nil, errors.New("account: ThrottleSecret must have 32 bytes when a throttle policy is on")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnLogin == nil {
		opts.OnLogin = func(string) {}
	}
	if opts.RevokeFamily == nil {
		opts.RevokeFamily = func(context.Context, string) {}
	}
	if opts.Events == nil {
		opts.Events = events.Discard
	}
	if opts.Mailer == mail.Off {
		opts.Mailer = nil // off: recovery and email change answer ErrMailOff
	}
	if len(opts.CodeSecret) > 0 && len(opts.CodeSecret) < 32 {
		return nil, errors.New("account: CodeSecret must have 32 bytes")
	}
	if len(opts.MFA.Secret) > 0 && len(opts.MFA.Secret) < 32 {
		return nil, errors.New("account: MFA.Secret must have 32 bytes")
	}
	if opts.OnSessionsEnded == nil {
		opts.OnSessionsEnded = func() {}
	}
	for _, d := range []struct {
		ttl *time.Duration
		def time.Duration
	}{{&opts.VerifyTTL, DefaultVerifyTTL}, {&opts.RecoveryTTL, DefaultRecoveryTTL}, {&opts.EmailChangeTTL, DefaultEmailChangeTTL}} {
		if *d.ttl <= 0 {
			*d.ttl = d.def
		}
	}
	if opts.Background <= 0 {
		opts.Background = 64
	}
	var dummy string
	var err error
	if d, ok := opts.Passwords.(interface{ Dummy() (string, error) }); ok {
		dummy, err = d.Dummy()
	} else {
		dummy, err = opts.Passwords.Hash(ctx, rand.Text())
	}
	if err != nil {
		return nil, err
	}
	return &Service{
		opts:       opts,
		hasher:     &queuedHasher{PasswordHasher: opts.Passwords, wait: opts.HashQueueWait},
		dummyHash:  dummy,
		background: make(chan struct{}, opts.Background),
	}, nil
}

// now is the service's clock as stored: UTC, in microseconds.
func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// Errors of the service. Compare with errors.Is; a *ThrottledError with
// errors.As.
var (
	// ErrBadCredentials is every failed password login: an unknown email,
	// a wrong password, a disabled user, an email no account can have. A
	// caller tells the client no more than that.
	ErrBadCredentials = errors.New("incorrect email or password")
	// ErrBusy means no password-hash slot came free within HashQueueWait:
	// the client may retry shortly.
	ErrBusy = errors.New("password hashing is saturated")
	// ErrEmailTaken means a registration's email belongs to another user.
	ErrEmailTaken = errors.New("email already registered")
	// ErrUserGone means the user was deleted or is disabled.
	ErrUserGone = errors.New("user deleted or disabled")
	// ErrBeforeReset means what was issued predates the user's
	// TokensValidAfter: their password changed or they were disabled since.
	ErrBeforeReset = errors.New("issued before the user's credentials changed")
	// ErrEmailNotVerified refuses the login of a user whose password was
	// right but whose email is not verified (RequireVerifiedEmail).
	ErrEmailNotVerified = errors.New("email not verified")
)

// ThrottledError means a throttle counter of the attempt is blocked: no
// attempt is admitted before RetryAfter has passed.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many attempts, retry in %d s", e.Seconds())
}

// Seconds is RetryAfter in whole seconds, rounded up, as Retry-After
// carries it (RFC 9110 §10.2.3).
func (e *ThrottledError) Seconds() int64 { return int64(math.Ceil(e.RetryAfter.Seconds())) }
