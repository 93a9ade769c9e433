package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inkan-dev/inkan/internal/store"
)

const userColumns = "id, name, email, password_hash, disabled, created_at, updated_at, email_verified, tokens_valid_after"

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var validAfter *time.Time
	if err := row.Scan(&u.ID, &u.Name, &u.Email, &u.PasswordHash, &u.Disabled, &u.CreatedAt, &u.UpdatedAt, &u.EmailVerified, &validAfter); err != nil {
		return store.User{}, err
	}
	u.CreatedAt, u.UpdatedAt, u.TokensValidAfter = utc(u.CreatedAt), utc(u.UpdatedAt), fromNull(validAfter)
	return u, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CreateUser inserts u; a taken id or email is store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO users ("+userColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		u.ID, u.Name, u.Email, u.PasswordHash, u.Disabled, utc(u.CreatedAt), utc(u.UpdatedAt), u.EmailVerified, toNull(u.TokensValidAfter))
	if isUnique(err) {
		return fmt.Errorf("create user: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

func getUser(ctx context.Context, q querier, where string, arg any, forUpdate bool) (store.User, error) {
	sql := "SELECT " + userColumns + " FROM users WHERE " + where + " = $1"
	if forUpdate {
		sql += " FOR UPDATE"
	}
	u, err := scanUser(q.QueryRow(ctx, sql, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, fmt.Errorf("get user: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// GetUser returns the user with the given id.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	return getUser(ctx, s.pool, "id", id, false)
}

// GetUserByEmail returns the user with the given (normalised) email.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	return getUser(ctx, s.pool, "email", email, false)
}

// ListUsers returns every user, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+userColumns+" FROM users ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// UpdateUser replaces the user with update(old) under a row lock (SELECT …
// FOR UPDATE), so concurrent updates from any replica apply one after another.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(store.User) (store.User, error)) (store.User, error) {
	var nu store.User
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := getUser(ctx, tx, "id", id, true)
		if err != nil {
			return err
		}
		if nu, err = update(old); err != nil {
			return err
		}
		nu.ID = old.ID
		nu.CreatedAt, nu.UpdatedAt, nu.TokensValidAfter = utc(nu.CreatedAt), utc(nu.UpdatedAt), fromNull(toNull(nu.TokensValidAfter))
		_, err = tx.Exec(ctx,
			"UPDATE users SET name = $1, email = $2, password_hash = $3, disabled = $4, created_at = $5, updated_at = $6, email_verified = $7, tokens_valid_after = $8 WHERE id = $9",
			nu.Name, nu.Email, nu.PasswordHash, nu.Disabled, nu.CreatedAt, nu.UpdatedAt, nu.EmailVerified, toNull(nu.TokensValidAfter), id)
		if isUnique(err) {
			return fmt.Errorf("update user: %w", store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return store.User{}, err
	}
	return nu, nil
}

// DeleteUser removes the user; a missing one is store.ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.deleteRow(ctx, "users", "id", id)
}

func (s *Store) deleteRow(ctx context.Context, table, column, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM "+table+" WHERE "+column+" = $1", id)
	if err != nil {
		return fmt.Errorf("delete from %s: %w", table, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete from %s: %w", table, store.ErrNotFound)
	}
	return nil
}
