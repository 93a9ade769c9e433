package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// Second factors (store.MFAStore). The compare-and-set methods are single
// conditional statements, and SQLite's one writer makes each atomic across
// processes sharing the file.

// TOTP.

func scanTOTP(row scanner) (store.TOTP, error) {
	var t store.TOTP
	var confirmed sql.NullInt64
	var created int64
	if err := row.Scan(&t.UserID, &t.Secret, &confirmed, &t.LastStep, &created); err != nil {
		return store.TOTP{}, err
	}
	t.ConfirmedAt, t.CreatedAt = fromNullDB(confirmed), fromDB(created)
	return t, nil
}

// PutTOTP inserts the user's TOTP or replaces the one they have.
func (s *Store) PutTOTP(ctx context.Context, t store.TOTP) error {
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO totp (user_id, secret, confirmed_at, last_step, created_at) VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed_at = excluded.confirmed_at,
		 last_step = excluded.last_step, created_at = excluded.created_at`,
		t.UserID, append([]byte{}, t.Secret...), toNullDB(t.ConfirmedAt), t.LastStep, toDB(t.CreatedAt))
	return insertError("put totp", err)
}

// GetTOTP returns the user's TOTP, confirmed or pending.
func (s *Store) GetTOTP(ctx context.Context, userID string) (store.TOTP, error) {
	t, err := scanTOTP(s.read.QueryRowContext(ctx,
		"SELECT user_id, secret, confirmed_at, last_step, created_at FROM totp WHERE user_id = ?", userID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.TOTP{}, fmt.Errorf("get totp: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.TOTP{}, fmt.Errorf("get totp: %w", err)
	}
	return t, nil
}

// ConfirmTOTP confirms the user's pending TOTP with one conditional
// UPDATE; when it matches nothing, a second read tells none from confirmed.
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, step int64, now time.Time) error {
	res, err := s.write.ExecContext(ctx,
		"UPDATE totp SET confirmed_at = ?, last_step = ? WHERE user_id = ? AND confirmed_at IS NULL", toDB(now), step, userID)
	if err := affectedOne(res, err, "confirm totp"); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if _, err := s.GetTOTP(ctx, userID); err != nil {
		return fmt.Errorf("confirm totp: %w", err)
	}
	return fmt.Errorf("confirm totp: confirmed before: %w", store.ErrConflict)
}

// UseTOTPStep moves LastStep forward with one conditional UPDATE.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	res, err := s.write.ExecContext(ctx,
		"UPDATE totp SET last_step = ? WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?", step, userID, step)
	if err := affectedOne(res, err, "use totp step"); !errors.Is(err, store.ErrNotFound) {
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
	if _, err := s.write.ExecContext(ctx, "DELETE FROM totp WHERE user_id = ?", userID); err != nil {
		return fmt.Errorf("delete totp: %w", err)
	}
	return nil
}

// Recovery codes.

// ReplaceRecoveryCodes swaps the user's codes in one write transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE user_id = ?", userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, "INSERT INTO recovery_codes (user_id, hash, created_at) VALUES (?, ?, ?)",
				userID, h, toDB(now)); err != nil {
				return err
			}
		}
		return nil
	})
	return insertError("replace recovery codes", err)
}

// UseRecoveryCode marks the code used with one conditional UPDATE.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) error {
	res, err := s.write.ExecContext(ctx,
		"UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL", toDB(now), userID, hash)
	return affectedOne(res, err, "use recovery code")
}

// CountRecoveryCodes counts the user's unused codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx,
		"SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL", userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return n, nil
}

// ListRecoveryCodes returns the user's codes, used and unused.
func (s *Store) ListRecoveryCodes(ctx context.Context, userID string) ([]store.RecoveryCode, error) {
	rows, err := s.read.QueryContext(ctx,
		"SELECT user_id, hash, created_at, used_at FROM recovery_codes WHERE user_id = ? ORDER BY created_at, hash", userID)
	if err != nil {
		return nil, fmt.Errorf("list recovery codes: %w", err)
	}
	defer rows.Close()
	var list []store.RecoveryCode
	for rows.Next() {
		var c store.RecoveryCode
		var created int64
		var used sql.NullInt64
		if err := rows.Scan(&c.UserID, &c.Hash, &created, &used); err != nil {
			return nil, fmt.Errorf("list recovery codes: %w", err)
		}
		c.CreatedAt, c.UsedAt = fromDB(created), fromNullDB(used)
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list recovery codes: %w", err)
	}
	return list, nil
}

// DeleteRecoveryCodes deletes the user's codes.
func (s *Store) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	if _, err := s.write.ExecContext(ctx, "DELETE FROM recovery_codes WHERE user_id = ?", userID); err != nil {
		return fmt.Errorf("delete recovery codes: %w", err)
	}
	return nil
}

// Passkeys.

const passkeyColumns = "id, user_id, name, public_key, attestation_type, aaguid, sign_count, transports, user_verified, backup_eligible, backup_state, created_at, last_used_at"

func scanPasskey(row scanner) (store.Passkey, error) {
	var p store.Passkey
	var signCount, created int64
	var transports string
	var lastUsed sql.NullInt64
	if err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.PublicKey, &p.AttestationType, &p.AAGUID, &signCount, &transports,
		&p.UserVerified, &p.BackupEligible, &p.BackupState, &created, &lastUsed); err != nil {
		return store.Passkey{}, err
	}
	if len(p.AAGUID) == 0 {
		p.AAGUID = nil
	}
	p.SignCount, p.Transports = uint32(signCount), fromAMR(transports)
	p.CreatedAt, p.LastUsedAt = fromDB(created), fromNullDB(lastUsed)
	return p, nil
}

// CreatePasskey inserts p.
func (s *Store) CreatePasskey(ctx context.Context, p store.Passkey) error {
	_, err := s.write.ExecContext(ctx, "INSERT INTO passkeys ("+passkeyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		append([]byte{}, p.ID...), p.UserID, p.Name, append([]byte{}, p.PublicKey...), p.AttestationType, append([]byte{}, p.AAGUID...),
		int64(p.SignCount), strings.Join(p.Transports, " "), p.UserVerified, p.BackupEligible, p.BackupState,
		toDB(p.CreatedAt), toNullDB(p.LastUsedAt))
	return insertError("create passkey", err)
}

// GetPasskey returns the credential with that id.
func (s *Store) GetPasskey(ctx context.Context, id []byte) (store.Passkey, error) {
	p, err := scanPasskey(s.read.QueryRowContext(ctx, "SELECT "+passkeyColumns+" FROM passkeys WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Passkey{}, fmt.Errorf("get passkey: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Passkey{}, fmt.Errorf("get passkey: %w", err)
	}
	return p, nil
}

// ListPasskeys returns the user's credentials, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+passkeyColumns+" FROM passkeys WHERE user_id = ? ORDER BY created_at, id", userID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	defer rows.Close()
	var list []store.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("list passkeys: %w", err)
		}
		list = append(list, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	return list, nil
}

// UsePasskey records a sign-in with the credential.
func (s *Store) UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, now time.Time) error {
	res, err := s.write.ExecContext(ctx, "UPDATE passkeys SET sign_count = ?, backup_state = ?, last_used_at = ? WHERE id = ?",
		int64(signCount), backupState, toDB(now), id)
	return affectedOne(res, err, "use passkey")
}

// DeletePasskey deletes the user's credential with that id.
func (s *Store) DeletePasskey(ctx context.Context, userID string, id []byte) error {
	res, err := s.write.ExecContext(ctx, "DELETE FROM passkeys WHERE user_id = ? AND id = ?", userID, id)
	return affectedOne(res, err, "delete passkey")
}

// DeleteMFA deletes every second factor and challenge of the user in one
// write transaction.
func (s *Store) DeleteMFA(ctx context.Context, userID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"totp", "recovery_codes", "passkeys", "challenges"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE user_id = ?", userID); err != nil {
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

func scanChallenge(row scanner) (store.Challenge, error) {
	var c store.Challenge
	var userID sql.NullString
	var created, expires int64
	if err := row.Scan(&c.Hash, &c.Purpose, &userID, &c.Data, &c.Attempts, &created, &expires); err != nil {
		return store.Challenge{}, err
	}
	if len(c.Data) == 0 {
		c.Data = nil
	}
	c.UserID, c.CreatedAt, c.ExpiresAt = userID.String, fromDB(created), fromDB(expires)
	return c, nil
}

// challenge scans the row of a query, mapping no row to ErrNotFound.
func challenge(what string, row scanner) (store.Challenge, error) {
	c, err := scanChallenge(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Challenge{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return store.Challenge{}, fmt.Errorf("%s: %w", what, err)
	}
	return c, nil
}

// CreateChallenge inserts c; an empty UserID is stored as NULL.
func (s *Store) CreateChallenge(ctx context.Context, c store.Challenge) error {
	userID := sql.NullString{String: c.UserID, Valid: c.UserID != ""}
	_, err := s.write.ExecContext(ctx, "INSERT INTO challenges ("+challengeColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		c.Hash, c.Purpose, userID, append([]byte{}, c.Data...), c.Attempts, toDB(c.CreatedAt), toDB(c.ExpiresAt))
	return insertError("create challenge", err)
}

// GetChallenge returns the challenge with that hash.
func (s *Store) GetChallenge(ctx context.Context, hash string) (store.Challenge, error) {
	return challenge("get challenge", s.read.QueryRowContext(ctx, "SELECT "+challengeColumns+" FROM challenges WHERE hash = ?", hash))
}

// AttemptChallenge counts one attempt in one statement.
func (s *Store) AttemptChallenge(ctx context.Context, hash string) (store.Challenge, error) {
	return challenge("attempt challenge", s.write.QueryRowContext(ctx,
		"UPDATE challenges SET attempts = attempts + 1 WHERE hash = ? RETURNING "+challengeColumns, hash))
}

// TakeChallenge deletes and returns the challenge in one statement: of
// parallel callers exactly one deletes the row.
func (s *Store) TakeChallenge(ctx context.Context, hash string) (store.Challenge, error) {
	return challenge("take challenge", s.write.QueryRowContext(ctx,
		"DELETE FROM challenges WHERE hash = ? RETURNING "+challengeColumns, hash))
}

// DeleteExpiredChallenges deletes up to limit expired challenges.
func (s *Store) DeleteExpiredChallenges(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := s.write.ExecContext(ctx,
		"DELETE FROM challenges WHERE hash IN (SELECT hash FROM challenges WHERE expires_at <= ? LIMIT ?)", toDB(now), limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired challenges: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
