// Package store defines inkan's persistent model and the narrow interfaces
// every storage backend implements. It imports only the standard library.
package store

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Sentinel errors. Backends wrap them with context; callers test with errors.Is.
var (
	// ErrNotFound means the requested row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule was violated (a taken email, a
	// duplicate key id, a first key when one exists already).
	ErrConflict = errors.New("conflict")
)

// User is an account that can log in with a password.
type User struct {
	ID            string // random UUID, immutable
	Name          string
	Email         string // trimmed, lower-cased and in Unicode NFC (account.NormalizeEmail), unique
	PasswordHash  string // PHC argon2id or bcrypt; never leaves the server
	Disabled      bool
	EmailVerified bool      // set by the CLI or an import; false for self-registration
	CreatedAt     time.Time // UTC
	UpdatedAt     time.Time // UTC
	// TokensValidAfter ends what was issued before a credential change: a
	// token, code or refresh token issued, or a sign-in made, before it is
	// refused. A password change and a disable set it (a re-enable leaves
	// it); zero means none. UTC.
	TokensValidAfter time.Time
}

// LogValue keeps the password hash out of logs.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", u.ID), slog.String("email", u.Email), slog.Bool("disabled", u.Disabled))
}

// SigningKey is a private key inkan signs tokens with.
type SigningKey struct {
	ID          string // the kid: the RFC 7638 thumbprint of the public key
	Algorithm   string // RS256, PS256, ES256, ES384, EdDSA
	PrivateKey  []byte // sealed PKCS#8 DER (keys.Sealer); plaintext in releases before sealing
	CreatedAt   time.Time
	ActivatedAt time.Time // when it signs (or signed); see keys.Lifecycle
	RevokedAt   time.Time // zero unless revoked
}

// LogValue keeps the private key out of logs.
func (k SigningKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", k.ID), slog.String("alg", k.Algorithm))
}

// UserStore persists users.
type UserStore interface {
	// CreateUser inserts u; a taken ID or email is ErrConflict.
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByEmail(ctx context.Context, email string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser atomically replaces the user with update(old). An error
	// from update aborts the change and is returned as is.
	UpdateUser(ctx context.Context, id string, update func(old User) (User, error)) (User, error)
	DeleteUser(ctx context.Context, id string) error
	// UsersVersion changes whenever a user is updated or deleted, by this
	// process or another one sharing the database.
	UsersVersion(ctx context.Context) (int64, error)
}

// KeyStore persists signing keys.
type KeyStore interface {
	// CreateKey inserts k; a taken ID is ErrConflict.
	CreateKey(ctx context.Context, k SigningKey) error
	// CreateFirstKey inserts k only if the store holds no key at all, and
	// returns ErrConflict otherwise, atomically across processes.
	CreateFirstKey(ctx context.Context, k SigningKey) error
	GetKey(ctx context.Context, id string) (SigningKey, error)
	// ListKeys returns every key, most recently activated first.
	ListKeys(ctx context.Context) ([]SigningKey, error)
	// UpdateKey atomically replaces the key with update(old).
	UpdateKey(ctx context.Context, id string, update func(old SigningKey) (SigningKey, error)) (SigningKey, error)
	DeleteKey(ctx context.Context, id string) error
	// KeysVersion changes whenever any key is created, updated or deleted, by
	// this process or another one sharing the database.
	KeysVersion(ctx context.Context) (int64, error)
}

// Versions are the change counters of the tables other processes keep in
// memory. Each only ever grows; a different value means a change.
type Versions struct {
	Users, Clients, Keys, Revocations int64
}

// Store is a complete backend.
type Store interface {
	UserStore
	KeyStore
	ThrottleStore
	ClientStore
	GrantStore
	SettingsStore
	MailStore
	EventStore
	OneTimeTokenStore
	MFAStore
	// Versions reads every change counter at once (UsersVersion,
	// ClientsVersion, KeysVersion, RevocationsVersion), in one query: what
	// a process polls to learn that another one changed something it keeps
	// in memory.
	Versions(ctx context.Context) (Versions, error)
	// Exclusive runs fn unless another process sharing the database is
	// running the job of that name; ran reports whether fn ran. Background
	// jobs (the janitor) use it to run on one replica at a time.
	Exclusive(ctx context.Context, name string, fn func(context.Context) error) (ran bool, err error)
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}
