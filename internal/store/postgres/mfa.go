package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/inkan-dev/inkan/internal/store"
)

// Second factors (store.MFAStore). The compare-and-set methods are single
// conditional statements: the row lock an UPDATE or DELETE takes, and
// PostgreSQL's re-check of the WHERE clause after waiting for it, let one of
// parallel callers from any replica win.

// affected maps a statement that touched no row to ErrNotFound.
func affected(tag pgconn.CommandTag, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// TOTP.

// PutTOTP inserts the user's TOTP or replaces the one they have.
func (s *Store) PutTOTP(ctx context.Context, t store.TOTP) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO totp (user_id, secret, confirmed_at, last_step, created_at) VALUES ($1, $2, $3, $4, $5)
		 ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed_at = excluded.confirmed_at,
		 last_step = excluded.last_step, created_at = excluded.created_at`,
		t.UserID, append([]byte{}, t.Secret...), toNull(t.ConfirmedAt), t.LastStep, utc(t.CreatedAt))
	return insertError("put totp", err)
}

// GetTOTP returns the user's TOTP, confirmed or pending.
func (s *Store) GetTOTP(ctx context.Context, userID string) (store.TOTP, error) {
	var t store.TOTP
	var confirmed *time.Time
	err := s.pool.QueryRow(ctx, "SELECT user_id, secret, confirmed_at, last_step, created_at FROM totp WHERE user_id = $1", userID).
		Scan(&t.UserID, &t.Secret, &confirmed, &t.LastStep, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.TOTP{}, fmt.Errorf("get totp: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.TOTP{}, fmt.Errorf("get totp: %w", err)
	}
	t.ConfirmedAt, t.CreatedAt = fromNull(confirmed), utc(t.CreatedAt)
	return t, nil
}

// ConfirmTOTP confirms the user's pending TOTP with one conditional
// UPDATE; when it matches nothing, a second read tells none from confirmed.
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, step int64, now time.Time) error {
	tag, err := s.pool.Exec(ctx,
		"UPDATE totp SET confirmed_at = $1, last_step = $2 WHERE user_id = $3 AND confirmed_at IS NULL", utc(now), step, userID)
	if err := affected(tag, err, "confirm totp"); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if _, err := s.GetTOTP(ctx, userID); err != nil {
		return fmt.Errorf("confirm totp: %w", err)
	}
	return fmt.Errorf("confirm totp: confirmed before: %w", store.ErrConflict)
}

// UseTOTPStep moves LastStep forward with one conditional UPDATE.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	tag, err := s.pool.Exec(ctx,
		"UPDATE totp SET last_step = $1 WHERE user_id = $2 AND confirmed_at IS NOT NULL AND last_step < $1", step, userID)
	if err := affected(tag, err, "use totp step"); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	switch t, err := s.GetTOTP(ctx, userID); {
	case err != nil:
		return fmt.Errorf("use totp step: %w", err)
	case t.ConfirmedAt.IsZero():
		return fmt.Errorf("use totp step: not confirmed: %w", store.ErrNotFound)
	}
	return fmt.Errorf("use totp step: step used before: %w", store.ErrConflict)
}

// DeleteTOTP deletes the user's TOTP.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM totp WHERE user_id = $1", userID); err != nil {
		return fmt.Errorf("delete totp: %w", err)
	}
	return nil
}

// Recovery codes.

// ReplaceRecoveryCodes swaps the user's codes in one transaction. The
// user's row is locked first, so that two replacements at once take turns
// and the later one's codes are what remains.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, now time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var id string
		if err := tx.QueryRow(ctx, "SELECT id FROM users WHERE id = $1 FOR UPDATE", userID).Scan(&id); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("no such user: %w", store.ErrNotFound)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM recovery_codes WHERE user_id = $1", userID); err != nil {
			return err
		}
		if len(hashes) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, "INSERT INTO recovery_codes (user_id, hash, created_at) SELECT $1, h, $3 FROM unnest($2::text[]) AS h",
			userID, hashes, utc(now))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("replace recovery codes: %w", err)
	}
	return insertError("replace recovery codes", err)
}

// UseRecoveryCode marks the code used with one conditional UPDATE.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) error {
	tag, err := s.pool.Exec(ctx,
		"UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL", utc(now), userID, hash)
	return affected(tag, err, "use recovery code")
}

// CountRecoveryCodes counts the user's unused codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return n, nil
}

// ListRecoveryCodes returns the user's codes, used and unused.
func (s *Store) ListRecoveryCodes(ctx context.Context, userID string) ([]store.RecoveryCode, error) {
	rows, err := s.pool.Query(ctx,
		"SELECT user_id, hash, created_at, used_at FROM recovery_codes WHERE user_id = $1 ORDER BY created_at, hash", userID)
	if err != nil {
		return nil, fmt.Errorf("list recovery codes: %w", err)
	}
	defer rows.Close()
	var list []store.RecoveryCode
	for rows.Next() {
		var c store.RecoveryCode
		var used *time.Time
		if err := rows.Scan(&c.UserID, &c.Hash, &c.CreatedAt, &used); err != nil {
			return nil, fmt.Errorf("list recovery codes: %w", err)
		}
		c.CreatedAt, c.UsedAt = utc(c.CreatedAt), fromNull(used)
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list recovery codes: %w", err)
	}
	return list, nil
}

// DeleteRecoveryCodes deletes the user's codes.
func (s *Store) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM recovery_codes WHERE user_id = $1", userID); err != nil {
		return fmt.Errorf("delete recovery codes: %w", err)
	}
	return nil
}

// Passkeys.

const passkeyColumns = "id, user_id, name, public_key, attestation_type, aaguid, sign_count, transports, user_verified, backup_eligible, backup_state, created_at, last_used_at"

func scanPasskey(row pgx.Row) (store.Passkey, error) {
	var p store.Passkey
	var signCount int64
	var transports string
	var lastUsed *time.Time
	if err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.PublicKey, &p.AttestationType, &p.AAGUID, &signCount, &transports,
		&p.UserVerified, &p.BackupEligible, &p.BackupState, &p.CreatedAt, &lastUsed); err != nil {
		return store.Passkey{}, err
	}
	if len(p.AAGUID) == 0 {
		p.AAGUID = nil
	}
	p.SignCount, p.Transports = uint32(signCount), fromAMR(transports)
	p.CreatedAt, p.LastUsedAt = utc(p.CreatedAt), fromNull(lastUsed)
	return p, nil
}

// CreatePasskey inserts p.
func (s *Store) CreatePasskey(ctx context.Context, p store.Passkey) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO passkeys ("+passkeyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		append([]byte{}, p.ID...), p.UserID, p.Name, append([]byte{}, p.PublicKey...), p.AttestationType, append([]byte{}, p.AAGUID...),
		int64(p.SignCount), strings.Join(p.Transports, " "), p.UserVerified, p.BackupEligible, p.BackupState,
		utc(p.CreatedAt), toNull(p.LastUsedAt))
	return insertError("create passkey", err)
}

// GetPasskey returns the credential with that id.
func (s *Store) GetPasskey(ctx context.Context, id []byte) (store.Passkey, error) {
	p, err := scanPasskey(s.pool.QueryRow(ctx, "SELECT "+passkeyColumns+" FROM passkeys WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Passkey{}, fmt.Errorf("get passkey: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Passkey{}, fmt.Errorf("get passkey: %w", err)
	}
	return p, nil
}

// ListPasskeys returns the user's credentials, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+passkeyColumns+" FROM passkeys WHERE user_id = $1 ORDER BY created_at, id", userID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Passkey, error) { return scanPasskey(r) })
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// UsePasskey records a sign-in with the credential.
func (s *Store) UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, now time.Time) error {
	tag, err := s.pool.Exec(ctx, "UPDATE passkeys SET sign_count = $1, backup_state = $2, last_used_at = $3 WHERE id = $4",
		int64(signCount), backupState, utc(now), id)
	return affected(tag, err, "use passkey")
}

// DeletePasskey deletes the user's credential with that id.
func (s *Store) DeletePasskey(ctx context.Context, userID string, id []byte) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM passkeys WHERE user_id = $1 AND id = $2", userID, id)
	return affected(tag, err, "delete passkey")
}

// DeleteMFA deletes every second factor and challenge of the user in one
// transaction.
func (s *Store) DeleteMFA(ctx context.Context, userID string) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		for _, table := range []string{"totp", "recovery_codes", "passkeys", "challenges"} {
			if _, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE user_id = $1", userID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete mfa: %w", err)
	}
	return nil
}

// Challenges.

const challengeColumns = "hash, purpose, user_id, data, attempts, created_at, expires_at"

// challenge scans the row of a query, mapping no row to ErrNotFound.
func challenge(what string, row pgx.Row) (store.Challenge, error) {
	var c store.Challenge
	var userID *string
	err := row.Scan(&c.Hash, &c.Purpose, &userID, &c.Data, &c.Attempts, &c.CreatedAt, &c.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Challenge{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return store.Challenge{}, fmt.Errorf("%s: %w", what, err)
	}
	if userID != nil {
		c.UserID = *userID
	}
	if len(c.Data) == 0 {
		c.Data = nil
	}
	c.CreatedAt, c.ExpiresAt = utc(c.CreatedAt), utc(c.ExpiresAt)
	return c, nil
}

// CreateChallenge inserts c; an empty UserID is stored as NULL.
func (s *Store) CreateChallenge(ctx context.Context, c store.Challenge) error {
	var userID *string
	if c.UserID != "" {
		userID = &c.UserID
	}
	_, err := s.pool.Exec(ctx, "INSERT INTO challenges ("+challengeColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
		c.Hash, c.Purpose, userID, append([]byte{}, c.Data...), c.Attempts, utc(c.CreatedAt), utc(c.ExpiresAt))
	return insertError("create challenge", err)
}

// GetChallenge returns the challenge with that hash.
func (s *Store) GetChallenge(ctx context.Context, hash string) (store.Challenge, error) {
	return challenge("get challenge", s.pool.QueryRow(ctx, "SELECT "+challengeColumns+" FROM challenges WHERE hash = $1", hash))
}

// AttemptChallenge counts one attempt in one statement.
func (s *Store) AttemptChallenge(ctx context.Context, hash string) (store.Challenge, error) {
	return challenge("attempt challenge", s.pool.QueryRow(ctx,
		"UPDATE challenges SET attempts = attempts + 1 WHERE hash = $1 RETURNING "+challengeColumns, hash))
}

// TakeChallenge deletes and returns the challenge in one statement: of
// parallel callers exactly one deletes the row.
func (s *Store) TakeChallenge(ctx context.Context, hash string) (store.Challenge, error) {
	return challenge("take challenge", s.pool.QueryRow(ctx, "DELETE FROM challenges WHERE hash = $1 RETURNING "+challengeColumns, hash))
}

// DeleteExpiredChallenges deletes up to limit expired challenges.
func (s *Store) DeleteExpiredChallenges(ctx context.Context, now time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx,
		"DELETE FROM challenges WHERE hash IN (SELECT hash FROM challenges WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
		utc(now), limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired challenges: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
