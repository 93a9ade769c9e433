package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inkan-dev/inkan/internal/store"
)

const keyColumns = "kid, alg, private_key, created_at, activated_at, revoked_at"

func scanKey(row pgx.Row) (store.SigningKey, error) {
	var k store.SigningKey
	var revoked *time.Time
	if err := row.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &k.CreatedAt, &k.ActivatedAt, &revoked); err != nil {
		return store.SigningKey{}, err
	}
	k.CreatedAt, k.ActivatedAt = utc(k.CreatedAt), utc(k.ActivatedAt)
	if revoked != nil {
		k.RevokedAt = utc(*revoked)
	}
	return k, nil
}

func keyArgs(k store.SigningKey) []any {
	var revoked *time.Time
	if !k.RevokedAt.IsZero() {
		t := utc(k.RevokedAt)
		revoked = &t
	}
	return []any{k.ID, k.Algorithm, k.PrivateKey, utc(k.CreatedAt), utc(k.ActivatedAt), revoked}
}

// CreateKey inserts k; a taken kid is store.ErrConflict.
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO signing_keys ("+keyColumns+") VALUES ($1, $2, $3, $4, $5, $6)", keyArgs(k)...)
	if isUnique(err) {
		return fmt.Errorf("create key: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	return nil
}

// CreateFirstKey inserts k only into an empty key table. Replicas starting
// together serialise on an advisory transaction lock, so one wins.
func (s *Store) CreateFirstKey(ctx context.Context, k store.SigningKey) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockFirstKey); err != nil {
			return fmt.Errorf("create first key: %w", err)
		}
		tag, err := tx.Exec(ctx,
			"INSERT INTO signing_keys ("+keyColumns+") SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
			keyArgs(k)...)
		if err != nil {
			return fmt.Errorf("create first key: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("create first key: a key exists: %w", store.ErrConflict)
		}
		return nil
	})
}

func getKey(ctx context.Context, q querier, id string, forUpdate bool) (store.SigningKey, error) {
	sql := "SELECT " + keyColumns + " FROM signing_keys WHERE kid = $1"
	if forUpdate {
		sql += " FOR UPDATE"
	}
	k, err := scanKey(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.SigningKey{}, fmt.Errorf("get key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("get key %q: %w", id, err)
	}
	return k, nil
}

// GetKey returns the key with the given kid.
func (s *Store) GetKey(ctx context.Context, id string) (store.SigningKey, error) {
	return getKey(ctx, s.pool, id, false)
}

// ListKeys returns every key, most recently activated first.
func (s *Store) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+keyColumns+" FROM signing_keys ORDER BY activated_at DESC, created_at DESC, kid")
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SigningKey, error) { return scanKey(r) })
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

// UpdateKey replaces the key with update(old) under a row lock.
func (s *Store) UpdateKey(ctx context.Context, id string, update func(store.SigningKey) (store.SigningKey, error)) (store.SigningKey, error) {
	var nk store.SigningKey
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := getKey(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if nk, err = update(old); err != nil {
			return err
		}
		nk.ID = old.ID
		nk.CreatedAt, nk.ActivatedAt = utc(nk.CreatedAt), utc(nk.ActivatedAt)
		if !nk.RevokedAt.IsZero() {
			nk.RevokedAt = utc(nk.RevokedAt)
		}
		a := keyArgs(nk)
		_, err = tx.Exec(ctx, "UPDATE signing_keys SET alg = $1, private_key = $2, created_at = $3, activated_at = $4, revoked_at = $5 WHERE kid = $6",
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

// KeysVersion returns the counter a trigger bumps on every change to the
// key table, by any replica.
func (s *Store) KeysVersion(ctx context.Context) (int64, error) {
	return s.version(ctx, "keys_version")
}

// UsersVersion returns the counter a trigger bumps on every update or delete
// of a user, by any replica.
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
	err := s.pool.QueryRow(ctx, versionsQuery).Scan(&v.Users, &v.Clients, &v.Keys, &v.Revocations)
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
	if err := s.pool.QueryRow(ctx, "SELECT value FROM meta WHERE name = $1", name).Scan(&v); err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}
