package store

import (
	"context"
	"log/slog"
	"time"
)

// Client is an OAuth 2.0 client (RFC 6749 §2). Stores may return an empty
// list or SecretHash as nil.
type Client struct {
	ID                     string
	Name                   string
	SecretHash             []byte // SHA-256 of the secret (256 random bits); empty for a public client
	Public                 bool   // cannot hold a secret; must use PKCE
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Grants                 []string // authorization_code, refresh_token, client_credentials, password
	Scopes                 []string
	Audience               []string // aud of its access tokens; empty: the client id
	Trusted                bool     // skips the consent page
	// BackchannelLogoutURI, when set, receives a logout token when a
	// session it was issued to ends (OpenID Connect Back-Channel Logout 1.0).
	BackchannelLogoutURI string
	// RequireMFA refuses the client's users a token unless they passed a
	// second factor (enrolling one at sign-in when they have none).
	RequireMFA bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// LogValue keeps the secret hash out of logs.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.ID), slog.String("name", c.Name))
}

// AuthCode is an authorization code (RFC 6749 §4.1.2), stored by the
// SHA-256 of the code; single use.
type AuthCode struct {
	Hash          string // hex SHA-256 of the code
	ClientID      string
	UserID        string
	RedirectURI   string
	Scope         string // space-separated
	Nonce         string
	CodeChallenge string // PKCE S256 challenge; empty when the client sent none
	SessionID     string // the ID (sid) of the login session it was issued under
	Family        string // the grant: refresh tokens and access tokens issued from this code carry it
	AuthTime      time.Time
	AMR           []string // how the user authenticated (RFC 8176), from the session
	CreatedAt     time.Time
	ExpiresAt     time.Time
	RedeemedAt    time.Time // zero until the code is exchanged
}

// RefreshToken is an opaque refresh token, stored by its SHA-256. Tokens of
// one grant share a Family; rotation chains them.
type RefreshToken struct {
	Hash      string // hex SHA-256 of the token
	Family    string
	ClientID  string
	UserID    string
	Scope     string
	SessionID string // the ID (sid) of the login session; empty for the password grant
	AuthTime  time.Time
	AMR       []string // how the user authenticated (RFC 8176), kept through rotation
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // first rotation; zero while unused
}

// Session is a browser login session, stored by the SHA-256 of its cookie.
// Its ID is the sid of OpenID Connect logout: random, unique, and unrelated
// to the cookie, so that it can go into ID tokens.
type Session struct {
	Hash   string
	ID     string
	UserID string
	// AuthTime is when the user last authenticated in it (a sign-in, or a
	// second factor passed later to step up); AMR how (RFC 8176 values:
	// pwd, otp, hwk, user, mfa), stored space-separated.
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time
	// UserAgent and Address are the browser's User-Agent (cut to
	// MaxUserAgentBytes of plain text) and client address at sign-in, shown
	// to the user among their sessions; empty for sessions from before they
	// were recorded.
	UserAgent string
	Address   string
}

// MaxUserAgentBytes bounds the User-Agent a session keeps.
const MaxUserAgentBytes = 512

// Consent is a user's grant of scopes to a client, remembered.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
}

// BackchannelLogout is a logout token owed to a client whose session ended
// (OpenID Connect Back-Channel Logout 1.0), queued by EndSession in the same
// transaction, so that a restart loses none. (SessionID, ClientID) is the
// key: a session ends once.
type BackchannelLogout struct {
	SessionID string // the sid
	ClientID  string
	UserID    string // the sub
	Attempts  int    // deliveries tried
	CreatedAt time.Time
	DueAt     time.Time // when the next delivery may be tried
}

// Revocation makes tokens invalid before they expire: access tokens by jti,
// or every token of a grant by family. It lives until ExpiresAt, after which
// the tokens it names have expired anyway.
type Revocation struct {
	Kind      string // "jti" or "family"
	Value     string
	ExpiresAt time.Time
}

// ClientStore persists OAuth clients.
type ClientStore interface {
	// CreateClient inserts c; a taken id is ErrConflict.
	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	// ListClients returns every client, oldest first.
	ListClients(ctx context.Context) ([]Client, error)
	// UpdateClient atomically replaces the client with update(old); the id
	// is immutable. An error from update aborts the change and is returned
	// as is.
	UpdateClient(ctx context.Context, id string, update func(old Client) (Client, error)) (Client, error)
	// DeleteClient removes the client and its codes, refresh tokens,
	// consents and queued back-channel logouts; a missing one is ErrNotFound.
	DeleteClient(ctx context.Context, id string) error
	// ClientsVersion changes whenever a client is updated or deleted, by
	// this process or another one sharing the database.
	ClientsVersion(ctx context.Context) (int64, error)
}

// GrantStore persists what the authorization server issues. Codes, refresh
// tokens, sessions and consents belong to a user (and a client), and go when
// it is deleted; creating one for a missing user or client is ErrNotFound.
type GrantStore interface {
	// CreateAuthCode inserts a code and, when it names a session,
	// remembers that the session's client was issued to (for back-channel
	// logout). A taken hash is ErrConflict; a missing client, user or
	// session is ErrNotFound.
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// GetAuthCode returns a code without redeeming it, so that a request
	// that fails its checks does not use the code up.
	GetAuthCode(ctx context.Context, hash string) (AuthCode, error)
	// RedeemAuthCode marks the code redeemed at now, atomically, and
	// returns it. A code redeemed before is returned with ErrConflict (a
	// replay: the caller revokes its family); a missing one is ErrNotFound.
	// Expiry is the caller's to check.
	RedeemAuthCode(ctx context.Context, hash string, now time.Time) (AuthCode, error)

	// CreateRefreshToken inserts t; a taken hash is ErrConflict.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	GetRefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	// RotateRefreshToken sets UsedAt to now if it is zero and inserts the
	// successor next (unless a token with next's hash exists), atomically,
	// and returns the token as it was before: UsedAt zero means this call
	// was the first use; of parallel callers, from any process, exactly one
	// sees it. One durable write per rotation. A missing token is
	// ErrNotFound, and then nothing is inserted.
	RotateRefreshToken(ctx context.Context, hash string, now time.Time, next RefreshToken) (RefreshToken, error)
	// DeleteUserGrants removes every refresh token, session and
	// authorization code of a user (password changed, user disabled or
	// deleted), so that a code issued before cannot mint new tokens. The
	// user's consents stay.
	DeleteUserGrants(ctx context.Context, userID string) error

	// CreateSession inserts s; a taken hash or ID is ErrConflict.
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, hash string) (Session, error)
	// ListSessions returns the sessions of a user, expired ones too until
	// they are deleted, oldest first (by CreatedAt, then ID).
	ListSessions(ctx context.Context, userID string) ([]Session, error)
	// SessionFamilies returns the grant families (AuthCode.Family,
	// RefreshToken.Family) of the codes and refresh tokens issued to userID
	// under the session with the given ID, sorted: what to revoke so that
	// the access tokens minted under the session end with it. None is an
	// empty list, not an error.
	SessionFamilies(ctx context.Context, id, userID string) ([]string, error)
	// DeleteSession removes a session; a missing one is ErrNotFound.
	DeleteSession(ctx context.Context, hash string) error
	// EndSession ends the session with the given ID, if it is userID's
	// (logout), in one transaction: it deletes the session, the refresh
	// tokens and the unredeemed codes issued under it, and queues a
	// BackchannelLogout, due at now, for every client with a
	// BackchannelLogoutURI that got a code or refresh token under it. The
	// tokens and codes go even when the session row has expired and gone.
	// Nothing of another user's is touched. When nothing of the session
	// remains (or id is empty) it returns ErrNotFound.
	EndSession(ctx context.Context, id, userID string, now time.Time) error
	// EndUserSessions signs a user out everywhere, in one transaction: it
	// deletes what DeleteUserGrants does (every refresh token, session and
	// code of the user) and queues, as EndSession does, a BackchannelLogout
	// due at now for every client with a BackchannelLogoutURI that got a
	// code or refresh token under any of the user's sessions, those whose
	// row has expired included. Nothing of another user's is touched; a
	// user with nothing to end is not an error.
	EndUserSessions(ctx context.Context, userID string, now time.Time) error

	// ListBackchannelLogouts returns up to limit queued logouts due at now
	// (DueAt not after now), the earliest due first.
	ListBackchannelLogouts(ctx context.Context, now time.Time, limit int) ([]BackchannelLogout, error)
	// UpdateBackchannelLogout atomically replaces the queued logout with
	// update(old); its key is immutable, a missing one is ErrNotFound, and
	// an error from update aborts the change and is returned as is.
	UpdateBackchannelLogout(ctx context.Context, sessionID, clientID string, update func(old BackchannelLogout) (BackchannelLogout, error)) (BackchannelLogout, error)
	// DeleteBackchannelLogout removes a queued logout (delivered, or given
	// up); a missing one is ErrNotFound.
	DeleteBackchannelLogout(ctx context.Context, sessionID, clientID string) error

	// GetConsent returns the consent of (userID, clientID), or ErrNotFound.
	GetConsent(ctx context.Context, userID, clientID string) (Consent, error)
	// PutConsent inserts or replaces the consent of (UserID, ClientID).
	PutConsent(ctx context.Context, c Consent) error
	// ListConsents returns every consent, oldest first (then by user and
	// client id), for export.
	ListConsents(ctx context.Context) ([]Consent, error)

	// Revoke records a revocation; recording one twice is not an error,
	// and the later ExpiresAt of the two is kept.
	Revoke(ctx context.Context, r Revocation) error
	// ListRevocations returns the revocations not expired at now (ExpiresAt
	// after now), in no particular order.
	ListRevocations(ctx context.Context, now time.Time) ([]Revocation, error)
	// RevocationsVersion changes whenever a revocation is recorded or its
	// expiry extended, by this process or another one sharing the database.
	RevocationsVersion(ctx context.Context) (int64, error)

	// DeleteExpiredGrants deletes at most limit codes, refresh tokens,
	// sessions and revocations each (so up to 4×limit rows) whose ExpiresAt
	// is not after now, and returns how many it deleted. Redeemed codes and
	// used refresh tokens stay until they expire, for replay detection.
	DeleteExpiredGrants(ctx context.Context, now time.Time, limit int) (int, error)
}
