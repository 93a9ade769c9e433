package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/inkan-dev/inkan/internal/store"
)

const userColumns = "id, name, email, password_hash, disabled, created_at, updated_at, email_verified, tokens_valid_after"

func scanUser(row scanner) (store.User, error) {
	var u store.User
	var created, updated int64
	var validAfter sql.NullInt64
	if err := row.Scan(&u.ID, &u.Name, &u.Email, &u.PasswordHash, &u.Disabled, &created, &updated, &u.EmailVerified, &validAfter); err != nil {
		return store.User{}, err
	}
	u.CreatedAt, u.UpdatedAt, u.TokensValidAfter = fromDB(created), fromDB(updated), fromNullDB(validAfter)
	return u, nil
}

// CreateUser inserts u; a taken id or email is store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.write.ExecContext(ctx,
		"INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.Name, u.Email, u.PasswordHash, u.Disabled, toDB(u.CreatedAt), toDB(u.UpdatedAt), u.EmailVerified, toNullDB(u.TokensValidAfter))
	if isUnique(err) {
		return fmt.Errorf("create user: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

func (s *Store) getUser(ctx context.Context, q queryer, where string, arg any) (store.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE "+where+" = ?", arg))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("get user: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// GetUser returns the user with the given id.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	return s.getUser(ctx, s.read, "id", id)
}

// GetUserByEmail returns the user with the given (normalised) email.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	return s.getUser(ctx, s.read, "email", email)
}

// ListUsers returns every user, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+userColumns+" FROM users ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var users []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// UpdateUser replaces the user with update(old) in one write transaction.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(store.User) (store.User, error)) (store.User, error) {
	var nu store.User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := s.getUser(ctx, tx, "id", id)
		if err != nil {
			return err
		}
		nu, err = update(old)
		if err != nil {
			return err
		}
		nu.ID = old.ID
		_, err = tx.ExecContext(ctx,
			"UPDATE users SET name = ?, email = ?, password_hash = ?, disabled = ?, created_at = ?, updated_at = ?, email_verified = ?, tokens_valid_after = ? WHERE id = ?",
			nu.Name, nu.Email, nu.PasswordHash, nu.Disabled, toDB(nu.CreatedAt), toDB(nu.UpdatedAt), nu.EmailVerified, toNullDB(nu.TokensValidAfter), id)
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
	res, err := s.write.ExecContext(ctx, "DELETE FROM "+table+" WHERE "+column+" = ?", id)
	if err != nil {
		return fmt.Errorf("delete from %s: %w", table, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete from %s: %w", table, err)
	} else if n == 0 {
		return fmt.Errorf("delete from %s: %w", table, store.ErrNotFound)
	}
	return nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
