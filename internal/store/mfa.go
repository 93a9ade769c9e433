package store

import (
	"context"
	"log/slog"
	"time"
)

// TOTP is a user's time-based one-time password generator (RFC 6238): one
// per user. Its secret is sealed (AES-256-GCM, package account) and never
// leaves the server once enrolment is confirmed.
type TOTP struct {
	UserID string
	Secret []byte // sealed; the key and nonce are the account package's business
	// ConfirmedAt is when the user proved the enrolment with a code; zero
	// while the enrolment is pending (the QR code shown, no code yet), when
	// it is not a factor.
	ConfirmedAt time.Time
	// LastStep is the RFC 6238 time step (T) of the last code accepted:
	// a code of that step or an earlier one is a replay.
	LastStep  int64
	CreatedAt time.Time
}

// LogValue keeps the secret out of logs.
func (t TOTP) LogValue() slog.Value { return slog.GroupValue(slog.String("sub", t.UserID)) }

// RecoveryCode is one of a user's single-use recovery codes, stored by the
// SHA-256 of the code (80 random bits), never the code.
type RecoveryCode struct {
	UserID    string
	Hash      string // hex SHA-256 of the normalised code
	CreatedAt time.Time
	UsedAt    time.Time // zero until used
}

// Passkey is a WebAuthn credential of a user (a passkey or a security key).
type Passkey struct {
	ID              []byte // the credential id, unique; at most 1023 bytes (WebAuthn §5.8.3)
	UserID          string
	Name            string // the user's name for it: plain text, at most 64 characters
	PublicKey       []byte // COSE_Key
	AttestationType string
	AAGUID          []byte
	SignCount       uint32
	Transports      []string
	UserVerified    bool // UV was set at registration
	BackupEligible  bool
	BackupState     bool
	CreatedAt       time.Time
	LastUsedAt      time.Time // zero until used to sign in
}

// LogValue keeps the key material out of logs.
func (p Passkey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("sub", p.UserID), slog.String("name", p.Name))
}

// The purposes of a Challenge.
const (
	ChallengeLogin           = "mfa-login"        // a password checked out; the second factor is owed (the mfa_token)
	ChallengePasskeyRegister = "passkey-register" // a passkey being registered
	ChallengePasskeyLogin    = "passkey-login"    // a passkey assertion being asked for (UserID empty: passwordless)
)

// Challenge is a ceremony in progress, stored by the SHA-256 of its random
// handle: a login whose second factor is owed, or a WebAuthn registration
// or assertion awaiting the authenticator's answer. It is used up once
// (TakeChallenge) and bounded by ExpiresAt and Attempts.
type Challenge struct {
	Hash      string // hex SHA-256 of the handle; the key
	Purpose   string // ChallengeLogin, ChallengePasskeyRegister or ChallengePasskeyLogin
	UserID    string // empty for a passwordless passkey login, whose user is not known yet
	Data      []byte // the ceremony's own state (JSON): WebAuthn session data, what a login is for
	Attempts  int    // codes tried against it (AttemptChallenge)
	CreatedAt time.Time
	ExpiresAt time.Time
}

// LogValue keeps the state out of logs.
func (c Challenge) LogValue() slog.Value {
	return slog.GroupValue(slog.String("purpose", c.Purpose), slog.String("sub", c.UserID))
}

// MFAStore persists second factors. Everything of a user goes when the
// user is deleted.
type MFAStore interface {
	// PutTOTP inserts the user's TOTP or replaces the one they have
	// (a new enrolment starts over). A missing user is ErrNotFound.
	PutTOTP(ctx context.Context, t TOTP) error
	// GetTOTP returns the user's TOTP, confirmed or pending, or ErrNotFound.
	GetTOTP(ctx context.Context, userID string) (TOTP, error)
	// ConfirmTOTP sets ConfirmedAt and LastStep of the user's pending TOTP,
	// atomically: ErrConflict when it is confirmed already, ErrNotFound
	// when there is none.
	ConfirmTOTP(ctx context.Context, userID string, step int64, now time.Time) error
	// UseTOTPStep sets LastStep to step if step is greater, atomically
	// across processes: ErrConflict when it is not (a replay, or a
	// parallel use of the same code), ErrNotFound when the user has no
	// confirmed TOTP.
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	// DeleteTOTP deletes the user's TOTP; none is not an error.
	DeleteTOTP(ctx context.Context, userID string) error

	// ReplaceRecoveryCodes deletes the user's recovery codes and stores
	// the given hashes instead, in one transaction.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, now time.Time) error
	// UseRecoveryCode sets UsedAt of the user's unused code with that
	// hash, atomically: of parallel callers one succeeds; an unknown or
	// used code is ErrNotFound.
	UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) error
	// CountRecoveryCodes returns how many unused codes the user has.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	// ListRecoveryCodes returns the user's codes, used and unused, by
	// CreatedAt and then Hash (an export's).
	ListRecoveryCodes(ctx context.Context, userID string) ([]RecoveryCode, error)
	// DeleteRecoveryCodes deletes the user's codes; none is not an error.
	DeleteRecoveryCodes(ctx context.Context, userID string) error

	// CreatePasskey inserts p; a taken credential id is ErrConflict, a
	// missing user ErrNotFound.
	CreatePasskey(ctx context.Context, p Passkey) error
	// GetPasskey returns the credential with that id, or ErrNotFound.
	GetPasskey(ctx context.Context, id []byte) (Passkey, error)
	// ListPasskeys returns the user's credentials, oldest first.
	ListPasskeys(ctx context.Context, userID string) ([]Passkey, error)
	// UsePasskey records a sign-in with the credential: its new sign
	// count, backup state and LastUsedAt. A missing one is ErrNotFound.
	UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, now time.Time) error
	// DeletePasskey deletes the user's credential with that id; one that
	// is not theirs, or none, is ErrNotFound.
	DeletePasskey(ctx context.Context, userID string, id []byte) error

	// DeleteMFA deletes every second factor of the user (TOTP, recovery
	// codes, passkeys) and their challenges, in one transaction.
	DeleteMFA(ctx context.Context, userID string) error

	// CreateChallenge inserts c; a taken hash is ErrConflict.
	CreateChallenge(ctx context.Context, c Challenge) error
	// GetChallenge returns the challenge with that hash without using it,
	// or ErrNotFound. Expiry is the caller's to check.
	GetChallenge(ctx context.Context, hash string) (Challenge, error)
	// AttemptChallenge adds one to its Attempts, atomically, and returns
	// it as it is after: a code is counted before it is checked. A missing
	// one is ErrNotFound.
	AttemptChallenge(ctx context.Context, hash string) (Challenge, error)
	// TakeChallenge deletes the challenge and returns it, atomically: of
	// parallel callers, from any process, exactly one gets it; the others
	// get ErrNotFound. Expiry is the caller's to check.
	TakeChallenge(ctx context.Context, hash string) (Challenge, error)
	// DeleteExpiredChallenges deletes at most limit challenges whose
	// ExpiresAt is not after now and returns how many it deleted.
	DeleteExpiredChallenges(ctx context.Context, now time.Time, limit int) (int, error)
}
