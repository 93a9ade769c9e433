// Package events is inkan's audit trail: the security events that happen
// (sign-ups, logins, password and account changes, sessions ended,
// refresh-token reuse, client and key changes from the CLI), each with its
// time, user, client, address, user agent and request id, appended to the
// store's events table and never changed. Operators read it with
// "inkan events"; the janitor deletes what is older than
// --events-retention.
//
// Each event is recorded once, where its rule lives: the account service
// records sign-ups, logins, password changes and the disabling, enabling
// and deleting of users; the refresh grant records reuse; the server
// records ended sessions; the CLI records what it changes of clients and
// keys. A component takes a Recorder through a field that may be nil
// (nothing is recorded then; see Record).
//
// # What an event may hold
//
// An event never holds a secret: no password, token, code, client secret,
// cookie, hash or key material, nor anything derived from one. Its fields
// hold:
//   - Type: one of the constants below.
//   - UserID: the id of the user concerned (never an email a client typed:
//     a login for an unknown email names no user, since people type their
//     password into the email field).
//   - ClientID: the id of an OAuth client that the server authenticated or
//     that a verified token names.
//   - Address: the client's IP address, as the server's trusted-proxy rule
//     reads it.
//   - UserAgent: the request's User-Agent header, as sent (untrusted text).
//   - RequestID: the request's id (X-Request-Id), which its log lines
//     carry too.
//   - Detail: identifiers and reasons only, such as a reason code, a kid,
//     a session's sid or the email of a deleted user.
//
// Every field is bounded and made printable: invalid UTF-8, control and
// bidirectional formatting characters become U+FFFD, so that no event can
// forge a line of the CLI's table. Detail holds at most MaxDetail entries,
// each key 1 to 32 of [a-z0-9_] and each value at most MaxDetailValue
// bytes, and an empty value is left out; a key that names a secret (password, secret, token, code, hash,
// cookie, otp, authorization) is dropped, and logged, whatever its value.
package events

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Event is one security event. Fields left empty are filled, where the
// context has them, from the request (WithRequest, WithClient); At, when
// zero, is the recorder's clock.
type Event struct {
	Type, UserID, ClientID, Address, UserAgent, RequestID string
	Detail                                                map[string]string
	At                                                    time.Time
}

// Recorder records events. Record never fails its caller: a recorder logs
// its own errors.
type Recorder interface {
	Record(ctx context.Context, e Event)
}

// The types of events.
const (
	// Signup is a self-registration (POST /user, the sign-up page).
	Signup = "signup"
	// LoginSuccess, LoginFailure and LoginThrottled are password logins
	// (the tutorial's route, the login page, the password grant). A
	// failure's detail has its reason: unknown_user, wrong_password,
	// disabled or malformed_email; a throttled one its retry_after_s.
	LoginSuccess   = "login.success"
	LoginFailure   = "login.failure"
	LoginThrottled = "login.throttled"
	// PasswordChanged is every new password, however it was set (the CLI's
	// passwd, a self-service change, a reset); PasswordReset marks, besides,
	// a change through a recovery link.
	PasswordChanged = "password.changed"
	PasswordReset   = "password.reset"
	// EmailChangeRequested, EmailChanged and EmailVerified follow an
	// email's confirmation links.
	EmailChangeRequested = "email.change_requested"
	EmailChanged         = "email.changed"
	EmailVerified        = "email.verified"
	// SessionEnded is a browser session ended by a logout; its detail has
	// the session's sid and how (via: confirmed, id_token_hint).
	SessionEnded = "session.ended"
	// RefreshReuseDetected is a spent refresh token presented again: its
	// family was revoked (RFC 9700 §4.14.2).
	RefreshReuseDetected = "refresh.reuse_detected"
	// UserCreated is a user added by an operator (inkan users add);
	// UserDisabled, UserEnabled and UserDeleted change a user's standing.
	// A deletion's detail keeps the email, so that the trail still says
	// whose account it was.
	UserCreated  = "user.created"
	UserDisabled = "user.disabled"
	UserEnabled  = "user.enabled"
	UserDeleted  = "user.deleted"
	// ClientAdded, ClientDeleted and ClientSecretRotated are the CLI's
	// changes to OAuth clients.
	ClientAdded         = "client.added"
	ClientDeleted       = "client.deleted"
	ClientSecretRotated = "client.secret_rotated"
	// KeyAdded, KeyRetired and KeyRevoked are the CLI's changes to signing
	// keys: a key added (its kid, alg and when it signs), a key that a new
	// one replaces as the signer (retiring_from: when it stops signing and
	// only verifies), a key revoked.
	KeyAdded   = "key.added"
	KeyRetired = "key.retired"
	KeyRevoked = "key.revoked"
	// MFAEnrolled, MFARemoved and MFAReset change a user's second factors
	// (detail factor: totp or passkey; a passkey's name); MFAUsed is a
	// second factor passed, MFAFailure one refused (detail factor: totp,
	// recovery_code or passkey, and a failure's reason).
	MFAEnrolled = "mfa.enrolled"
	MFARemoved  = "mfa.removed"
	MFAReset    = "mfa.reset"
	MFAUsed     = "mfa.used"
	MFAFailure  = "mfa.failure"
)

// Types lists every type, in the order of the constants.
var Types = []string{
	Signup, LoginSuccess, LoginFailure, LoginThrottled, PasswordChanged, PasswordReset,
	EmailChangeRequested, EmailChanged, EmailVerified, SessionEnded, RefreshReuseDetected,
	UserCreated, UserDisabled, UserEnabled, UserDeleted,
	ClientAdded, ClientDeleted, ClientSecretRotated, KeyAdded, KeyRetired, KeyRevoked,
	MFAEnrolled, MFARemoved, MFAReset, MFAUsed, MFAFailure,
}

// Known reports whether t is one of Types.
func Known(t string) bool { return slices.Contains(Types, t) }

// Record records e through r, unless r is nil: the nil-safe call for a
// component whose Recorder is optional.
func Record(ctx context.Context, r Recorder, e Event) {
	if r != nil {
		r.Record(ctx, e)
	}
}

// Discard records nothing.
var Discard Recorder = discard{}

type discard struct{}

func (discard) Record(context.Context, Event) {}

type ctxKey int

const (
	requestKey ctxKey = iota
	clientKey
)

// requestFunc returns what an event takes from its request.
type requestFunc func() (address, userAgent, requestID string)

// WithRequest returns ctx carrying what events recorded under it take from
// the request: the client's address, its User-Agent and the request id.
func WithRequest(ctx context.Context, address, userAgent, requestID string) context.Context {
	return WithRequestFunc(ctx, func() (string, string, string) { return address, userAgent, requestID })
}

// WithRequestFunc is WithRequest with the fields computed by f only when
// an event is recorded, so that a request that records none pays nothing
// for them (the server's middleware calls it once a request).
func WithRequestFunc(ctx context.Context, f func() (address, userAgent, requestID string)) context.Context {
	return context.WithValue(ctx, requestKey, requestFunc(f))
}

// WithClient returns ctx naming the OAuth client that events recorded
// under it concern (an authenticated client, a verified token's), for an
// event whose recorder does not know it (a password grant's login).
func WithClient(ctx context.Context, clientID string) context.Context {
	return context.WithValue(ctx, clientKey, clientID)
}

// fill completes e from ctx: the fields it leaves empty.
func fill(ctx context.Context, e Event) Event {
	if f, ok := ctx.Value(requestKey).(requestFunc); ok {
		address, userAgent, requestID := f()
		e.Address = or(e.Address, address)
		e.UserAgent = or(e.UserAgent, userAgent)
		e.RequestID = or(e.RequestID, requestID)
	}
	if c, ok := ctx.Value(clientKey).(string); ok {
		e.ClientID = or(e.ClientID, c)
	}
	return e
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Bounds on what an event holds.
const (
	MaxDetail      = 16  // entries of Detail
	MaxDetailKey   = 32  // bytes of a Detail key
	MaxDetailValue = 256 // bytes of a Detail value
	maxType        = 64
	maxID          = 255 // user and client ids
	maxAddress     = 64
	maxUserAgent   = 256
	maxRequestID   = 128
)

// secretWords may not appear in a Detail key: whatever a key so named
// holds is presumed a secret and dropped.
var secretWords = []string{"password", "secret", "token", "code", "hash", "cookie", "otp", "authorization"}

// bound makes e safe to store and show: every field printable and within
// its bound, Detail without the keys it may not have, which it returns.
func bound(e Event) (Event, []string) {
	e.Type = clean(e.Type, maxType)
	e.UserID = clean(e.UserID, maxID)
	e.ClientID = clean(e.ClientID, maxID)
	e.Address = clean(e.Address, maxAddress)
	e.UserAgent = clean(e.UserAgent, maxUserAgent)
	e.RequestID = clean(e.RequestID, maxRequestID)
	if len(e.Detail) == 0 {
		e.Detail = nil
		return e, nil
	}
	var dropped []string
	keys := make([]string, 0, len(e.Detail))
	for k, v := range e.Detail {
		if v == "" {
			continue // nothing to say
		}
		if !validKey(k) {
			dropped = append(dropped, clean(k, MaxDetailKey))
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) > MaxDetail {
		dropped = append(dropped, keys[MaxDetail:]...)
		keys = keys[:MaxDetail]
	}
	d := make(map[string]string, len(keys))
	for _, k := range keys {
		d[k] = clean(e.Detail[k], MaxDetailValue)
	}
	e.Detail = d
	if len(d) == 0 {
		e.Detail = nil
	}
	slices.Sort(dropped)
	return e, dropped
}

// validKey reports whether k may be a Detail key: 1 to MaxDetailKey of
// [a-z0-9_], naming no secret.
func validKey(k string) bool {
	if k == "" || len(k) > MaxDetailKey {
		return false
	}
	for _, c := range []byte(k) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return false
		}
	}
	return true
}

// clean makes s printable (invalid UTF-8, control and bidirectional
// formatting characters become U+FFFD) and at most max bytes, cut at a
// character boundary and marked with "…".
func clean(s string, max int) string {
	if !printable(s) {
		s = strings.Map(func(r rune) rune {
			if unprintable(r) {
				return utf8.RuneError
			}
			return r
		}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	}
	if len(s) <= max {
		return s
	}
	const mark = "…"
	cut := max - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unprintable) < 0
}

func unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}
