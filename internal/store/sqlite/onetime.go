package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

const oneTimeColumns = "hash, code_mac, purpose, user_id, email, attempts, created_at, expires_at, used_at"

func scanOneTimeToken(row scanner) (store.OneTimeToken, error) {
	var t store.OneTimeToken
	var created, expires int64
	var used sql.NullInt64
	if err := row.Scan(&t.Hash, &t.CodeMAC, &t.Purpose, &t.UserID, &t.Email, &t.Attempts, &created, &expires, &used); err != nil {
		return store.OneTimeToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromDB(created), fromDB(expires), fromNullDB(used)
	return t, nil
}

func getOneTimeToken(ctx context.Context, q queryer, what, where string, args ...any) (store.OneTimeToken, error) {
	t, err := scanOneTimeToken(q.QueryRowContext(ctx, "SELECT "+oneTimeColumns+" FROM one_time_tokens WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return store.OneTimeToken{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return store.OneTimeToken{}, fmt.Errorf("%s: %w", what, err)
	}
	return t, nil
}

// CreateOneTimeToken deletes the user's other tokens of the purpose and
// inserts t, in one write transaction.
func (s *Store) CreateOneTimeToken(ctx context.Context, t store.OneTimeToken) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM one_time_tokens WHERE user_id = ? AND purpose = ?", t.UserID, t.Purpose); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO one_time_tokens ("+oneTimeColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			t.Hash, t.CodeMAC, t.Purpose, t.UserID, t.Email, t.Attempts, toDB(t.CreatedAt), toDB(t.ExpiresAt), toNullDB(t.UsedAt))
		return err
	})
	return insertError("create one-time token", err)
}

// GetOneTimeToken returns the token with the given hash.
func (s *Store) GetOneTimeToken(ctx context.Context, hash string) (store.OneTimeToken, error) {
	return getOneTimeToken(ctx, s.read, "get one-time token", "hash = ?", hash)
}

// GetUserOneTimeToken returns the user's newest token of the purpose.
func (s *Store) GetUserOneTimeToken(ctx context.Context, userID, purpose string) (store.OneTimeToken, error) {
	return getOneTimeToken(ctx, s.read, "get one-time token", "user_id = ? AND purpose = ? ORDER BY created_at DESC LIMIT 1", userID, purpose)
}

// UseOneTimeToken marks the token used in one write transaction: of
// parallel callers, from any process, exactly one finds it unused.
func (s *Store) UseOneTimeToken(ctx context.Context, hash string, now time.Time) (store.OneTimeToken, error) {
	var t store.OneTimeToken
	var used bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE one_time_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL", toDB(now), hash)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		used = n == 0
		t, err = getOneTimeToken(ctx, tx, "use one-time token", "hash = ?", hash)
		return err
	})
	switch {
	case err != nil:
		return store.OneTimeToken{}, err
	case used:
		return t, fmt.Errorf("use one-time token: used before: %w", store.ErrConflict)
	}
	return t, nil
}

// AttemptOneTimeCode counts one code attempt on the token, in one
// statement.
func (s *Store) AttemptOneTimeCode(ctx context.Context, hash string) (store.OneTimeToken, error) {
	t, err := scanOneTimeToken(s.write.QueryRowContext(ctx,
		"UPDATE one_time_tokens SET attempts = attempts + 1 WHERE hash = ? RETURNING "+oneTimeColumns, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.OneTimeToken{}, fmt.Errorf("attempt one-time code: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.OneTimeToken{}, fmt.Errorf("attempt one-time code: %w", err)
	}
	return t, nil
}

// DeleteExpiredOneTimeTokens deletes up to limit expired tokens.
func (s *Store) DeleteExpiredOneTimeTokens(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := s.write.ExecContext(ctx,
		"DELETE FROM one_time_tokens WHERE hash IN (SELECT hash FROM one_time_tokens WHERE expires_at <= ? LIMIT ?)", toDB(now), limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired one-time tokens: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
