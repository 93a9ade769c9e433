package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inkan-dev/inkan/internal/store"
)

const oneTimeColumns = "hash, code_mac, purpose, user_id, email, attempts, created_at, expires_at, used_at"

func scanOneTimeToken(row pgx.Row) (store.OneTimeToken, error) {
	var t store.OneTimeToken
	var used *time.Time
	if err := row.Scan(&t.Hash, &t.CodeMAC, &t.Purpose, &t.UserID, &t.Email, &t.Attempts, &t.CreatedAt, &t.ExpiresAt, &used); err != nil {
		return store.OneTimeToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = utc(t.CreatedAt), utc(t.ExpiresAt), fromNull(used)
	return t, nil
}

// oneTimeToken scans the row of a query, mapping no row to ErrNotFound.
func oneTimeToken(what string, row pgx.Row) (store.OneTimeToken, error) {
	t, err := scanOneTimeToken(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.OneTimeToken{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return store.OneTimeToken{}, fmt.Errorf("%s: %w", what, err)
	}
	return t, nil
}

// CreateOneTimeToken deletes the user's other tokens of the purpose and
// inserts t, in one transaction. Two requests at once each delete what was
// there and insert their own; the user's row is locked first, so that they
// take turns and the later one deletes the earlier one's token.
func (s *Store) CreateOneTimeToken(ctx context.Context, t store.OneTimeToken) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var id string
		if err := tx.QueryRow(ctx, "SELECT id FROM users WHERE id = $1 FOR UPDATE", t.UserID).Scan(&id); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("no such user: %w", store.ErrNotFound)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM one_time_tokens WHERE user_id = $1 AND purpose = $2", t.UserID, t.Purpose); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO one_time_tokens ("+oneTimeColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			t.Hash, t.CodeMAC, t.Purpose, t.UserID, t.Email, t.Attempts, utc(t.CreatedAt), utc(t.ExpiresAt), toNull(t.UsedAt))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("create one-time token: %w", err)
	}
	return insertError("create one-time token", err)
}

// GetOneTimeToken returns the token with the given hash.
func (s *Store) GetOneTimeToken(ctx context.Context, hash string) (store.OneTimeToken, error) {
	return oneTimeToken("get one-time token", s.pool.QueryRow(ctx, "SELECT "+oneTimeColumns+" FROM one_time_tokens WHERE hash = $1", hash))
}

// GetUserOneTimeToken returns the user's newest token of the purpose.
func (s *Store) GetUserOneTimeToken(ctx context.Context, userID, purpose string) (store.OneTimeToken, error) {
	return oneTimeToken("get one-time token", s.pool.QueryRow(ctx,
		"SELECT "+oneTimeColumns+" FROM one_time_tokens WHERE user_id = $1 AND purpose = $2 ORDER BY created_at DESC LIMIT 1", userID, purpose))
}

// UseOneTimeToken marks the token used with one conditional UPDATE: of
// parallel callers, from any replica, exactly one matches the unused row.
func (s *Store) UseOneTimeToken(ctx context.Context, hash string, now time.Time) (store.OneTimeToken, error) {
	t, err := oneTimeToken("use one-time token", s.pool.QueryRow(ctx,
		"UPDATE one_time_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL RETURNING "+oneTimeColumns, hash, utc(now)))
	if !errors.Is(err, store.ErrNotFound) {
		return t, err
	}
	t, err = s.GetOneTimeToken(ctx, hash)
	if err != nil {
		return store.OneTimeToken{}, fmt.Errorf("use one-time token: %w", err)
	}
	return t, fmt.Errorf("use one-time token: used before: %w", store.ErrConflict)
}

// AttemptOneTimeCode counts one code attempt on the token, in one
// statement.
func (s *Store) AttemptOneTimeCode(ctx context.Context, hash string) (store.OneTimeToken, error) {
	return oneTimeToken("attempt one-time code", s.pool.QueryRow(ctx,
		"UPDATE one_time_tokens SET attempts = attempts + 1 WHERE hash = $1 RETURNING "+oneTimeColumns, hash))
}

// DeleteExpiredOneTimeTokens deletes up to limit expired tokens.
func (s *Store) DeleteExpiredOneTimeTokens(ctx context.Context, now time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx,
		"DELETE FROM one_time_tokens WHERE hash IN (SELECT hash FROM one_time_tokens WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
		utc(now), limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired one-time tokens: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
