package store

import (
	"context"
	"log/slog"
	"time"
)

// The purposes of a OneTimeToken.
const (
	PurposeVerify      = "verify"       // prove that the user's email is theirs
	PurposeRecover     = "recover"      // set a new password without the old one
	PurposeEmailChange = "email-change" // prove that the new address of an email change is the user's
)

// OneTimeToken is a link sent by mail (and the 6-digit code that goes with
// it) that proves control of an address once: verification, recovery, an
// email change. It is stored by the SHA-256 of the link's 256-bit random
// token and the HMAC of the code, never either itself. A new token of a
// user and purpose voids the older ones (CreateOneTimeToken deletes them);
// a used one stays until it expires, so that it is refused as used.
type OneTimeToken struct {
	Hash      string // hex SHA-256 of the link token; the key
	CodeMAC   string // hex HMAC-SHA256 of the code under the server's secret; empty: no code
	Purpose   string // PurposeVerify, PurposeRecover or PurposeEmailChange
	UserID    string
	Email     string // the address it is bound to: the user's, or the new one of an email change
	Attempts  int    // codes tried against it (AttemptOneTimeCode)
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until used
}

// LogValue keeps the hash and the code's MAC out of logs.
func (t OneTimeToken) LogValue() slog.Value {
	return slog.GroupValue(slog.String("purpose", t.Purpose), slog.String("sub", t.UserID))
}

// OneTimeTokenStore persists one-time tokens. They belong to a user and go
// when the user is deleted.
type OneTimeTokenStore interface {
	// CreateOneTimeToken inserts t and deletes every other token of its
	// user and purpose, in one transaction: the newest request is the only
	// one that counts. A taken hash is ErrConflict; a missing user
	// ErrNotFound.
	CreateOneTimeToken(ctx context.Context, t OneTimeToken) error
	// GetOneTimeToken returns the token with the given hash without using
	// it, or ErrNotFound.
	GetOneTimeToken(ctx context.Context, hash string) (OneTimeToken, error)
	// GetUserOneTimeToken returns the user's token of purpose (the newest,
	// since creating one deletes the others), used or not, or ErrNotFound.
	GetUserOneTimeToken(ctx context.Context, userID, purpose string) (OneTimeToken, error)
	// UseOneTimeToken sets UsedAt to now if it is zero, atomically, and
	// returns the token: of parallel callers, from any process, exactly one
	// succeeds. A token used before is returned with ErrConflict; a missing
	// one is ErrNotFound. Expiry is the caller's to check.
	UseOneTimeToken(ctx context.Context, hash string, now time.Time) (OneTimeToken, error)
	// AttemptOneTimeCode adds one to the token's Attempts, atomically, and
	// returns the token as it is after: a code is counted before it is
	// checked, so that parallel guesses cannot exceed a budget. A missing
	// token is ErrNotFound.
	AttemptOneTimeCode(ctx context.Context, hash string) (OneTimeToken, error)
	// DeleteExpiredOneTimeTokens deletes at most limit tokens whose
	// ExpiresAt is not after now and returns how many it deleted.
	DeleteExpiredOneTimeTokens(ctx context.Context, now time.Time, limit int) (int, error)
}
