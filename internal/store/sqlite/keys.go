package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/inkan-dev/inkan/internal/store"
)

const keyColumns = "kid, alg, private_key, created_at, activated_at, revoked_at"

func scanKey(row scanner) (store.SigningKey, error) {
	var k store.SigningKey
	var created, activated int64
	var revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &created, &activated, &revoked); err != nil {
		return store.SigningKey{}, err
	}
	k.CreatedAt, k.ActivatedAt = fromDB(created), fromDB(activated)
	if revoked.Valid {
		k.RevokedAt = fromDB(revoked.Int64)
	}
	return k, nil
}

func keyArgs(k store.SigningKey) []any {
	var revoked sql.NullInt64
	if !k.RevokedAt.IsZero() {
		revoked = sql.NullInt64{Int64: toDB(k.RevokedAt), Valid: true}
	}
	return []any{k.ID, k.Algorithm, k.PrivateKey, toDB(k.CreatedAt), toDB(k.ActivatedAt), revoked}
}

// CreateKey inserts k; a taken kid is store.ErrConflict.
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	_, err := s.write.ExecContext(ctx, "INSERT INTO signing_keys ("+keyColumns+") VALUES (?, ?, ?, ?, ?, ?)", keyArgs(k)...)
	if isUnique(err) {
		return fmt.Errorf("create key: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	return nil
}

// CreateFirstKey inserts k only into an empty key table. One INSERT … SELECT
// statement is atomic in SQLite, across processes too.
func (s *Store) CreateFirstKey(ctx context.Context, k store.SigningKey) error {
	res, err := s.write.ExecContext(ctx,
		"INSERT INTO signing_keys ("+keyColumns+") SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
		keyArgs(k)...)
	if err != nil {
		return fmt.Errorf("create first key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("create first key: %w", err)
	} else if n == 0 {
		return fmt.Errorf("create first key: a key exists: %w", store.ErrConflict)
	}
	return nil
}

func (s *Store) getKey(ctx context.Context, q queryer, id string) (store.SigningKey, error) {
	k, err := scanKey(q.QueryRowContext(ctx, "SELECT "+keyColumns+" FROM signing_keys WHERE kid = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.SigningKey{}, fmt.Errorf("get key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("get key %q: %w", id, err)
	}
	return k, nil
}

// GetKey returns the key with the given kid.
func (s *Store) GetKey(ctx context.Context, id string) (store.SigningKey, error) {
	return s.getKey(ctx, s.read, id)
}

// ListKeys returns every key, most recently activated first.
func (s *Store) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+keyColumns+" FROM signing_keys ORDER BY activated_at DESC, created_at DESC, kid")
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var keys []store.SigningKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

// UpdateKey replaces the key with update(old) in one write transaction.
func (s *Store) UpdateKey(ctx context.Context, id string, update func(store.SigningKey) (store.SigningKey, error)) (store.SigningKey, error) {
	var nk store.SigningKey
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := s.getKey(ctx, tx, id)
		if err != nil {
			return err
		}
		if nk, err = update(old); err != nil {
			return err
		}
		nk.ID = old.ID
		a := keyArgs(nk)
		_, err = tx.ExecContext(ctx,
			"UPDATE signing_keys SET alg = ?, private_key = ?, created_at = ?, activated_at = ?, revoked_at = ? WHERE kid = ?",
			append(a[1:], id)...)
		return err
	})
	if err != nil {
		return store.SigningKey{}, err
	}
	return nk, nil
}

// DeleteKey removes the key; a missing one is store.ErrNotFound.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	return s.deleteRow(ctx, "signing_keys", "kid", id)
}

// KeysVersion returns a counter that triggers bump on every change to the
// key table, whichever process made it.
func (s *Store) KeysVersion(ctx context.Context) (int64, error) {
	return s.version(ctx, "keys_version")
}

// UsersVersion returns a counter that triggers bump on every update or
// delete of a user, whichever process made it.
func (s *Store) UsersVersion(ctx context.Context) (int64, error) {
	return s.version(ctx, "users_version")
}

// ClientsVersion returns the counter a trigger bumps on every update or
// delete of a client.
func (s *Store) ClientsVersion(ctx context.Context) (int64, error) {
	return s.version(ctx, "clients_version")
}

// Versions reads the four change counters in one query.
func (s *Store) Versions(ctx context.Context) (store.Versions, error) {
	var v store.Versions
	err := s.read.QueryRowContext(ctx, versionsQuery).Scan(&v.Users, &v.Clients, &v.Keys, &v.Revocations)
	if err != nil {
		return store.Versions{}, fmt.Errorf("versions: %w", err)
	}
	return v, nil
}

const versionsQuery = `SELECT
	(SELECT value FROM meta WHERE name = 'users_version'),
	(SELECT value FROM meta WHERE name = 'clients_version'),
	(SELECT value FROM meta WHERE name = 'keys_version'),
	(SELECT value FROM meta WHERE name = 'revocations_version')`

func (s *Store) version(ctx context.Context, name string) (int64, error) {
	var v int64
	if err := s.read.QueryRowContext(ctx, "SELECT value FROM meta WHERE name = ?", name).Scan(&v); err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}
