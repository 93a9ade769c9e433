// Package cache keeps users and OAuth clients in memory in front of a
// store.Store, so that checking a Bearer token's user, or authenticating a
// client, costs no database round trip. It drops what it holds whenever the
// store's UsersVersion or ClientsVersion changes (any process's update or
// delete), which package watch polls for, and at once on this process's own updates
// and deletes.
package cache

import (
	"context"
	"log/slog"
	"sync"

	"github.com/inkan-dev/inkan/internal/store"
)

// MaxUsers bounds each cache (users, clients); when full it starts over.
const MaxUsers = 100_000

// Store is a store.Store whose GetUser and GetClient are cached.
type Store struct {
	store.Store
	logger  *slog.Logger
	users   entries[store.User]
	clients entries[store.Client]
}

// New wraps st. Call Refresh once, and Sync (through package watch) to
// follow other processes.
func New(st store.Store, logger *slog.Logger) *Store {
	return &Store{Store: st, logger: logger}
}

// entries is one read-through cache by id.
type entries[T any] struct {
	mu      sync.RWMutex
	m       map[string]T
	gen     uint64 // bumped on every invalidation: a read older than it is not cached
	version int64  // the store version the cache reflects
}

// get returns the cached value, or loads and caches it. Failed loads (a
// missing row) are not cached.
func (e *entries[T]) get(ctx context.Context, id string, load func(context.Context, string) (T, error)) (T, error) {
	e.mu.RLock()
	v, ok := e.m[id]
	gen := e.gen
	e.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := load(ctx, id)
	if err != nil {
		return v, err
	}
	e.mu.Lock()
	if e.gen == gen { // nothing was invalidated while we read
		if e.m == nil || len(e.m) >= MaxUsers {
			e.m = map[string]T{}
		}
		e.m[id] = v
	}
	e.mu.Unlock()
	return v, nil
}

// drop forgets everything; with a version, only if the store's changed.
func (e *entries[T]) drop(version *int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if version != nil {
		if *version == e.version {
			return
		}
		e.version = *version
	}
	clear(e.m)
	e.gen++
}

// GetUser returns the cached user, or reads it through.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	return s.users.get(ctx, id, s.Store.GetUser)
}

// UpdateUser updates through and forgets the cached users.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(store.User) (store.User, error)) (store.User, error) {
	defer s.users.drop(nil)
	return s.Store.UpdateUser(ctx, id, update)
}

// DeleteUser deletes through and forgets the cached users.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	defer s.users.drop(nil)
	return s.Store.DeleteUser(ctx, id)
}

// GetClient returns the cached client, or reads it through; client
// authentication then costs no query.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	return s.clients.get(ctx, id, s.Store.GetClient)
}

// UpdateClient updates through and forgets the cached clients.
func (s *Store) UpdateClient(ctx context.Context, id string, update func(store.Client) (store.Client, error)) (store.Client, error) {
	defer s.clients.drop(nil)
	return s.Store.UpdateClient(ctx, id, update)
}

// DeleteClient deletes through and forgets the cached clients.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	defer s.clients.drop(nil)
	return s.Store.DeleteClient(ctx, id)
}

// Refresh drops the cached users, or clients, if the store's users, or
// clients, changed since the last call.
func (s *Store) Refresh(ctx context.Context) error {
	v, err := s.Versions(ctx)
	if err != nil {
		return err
	}
	s.Sync(v)
	return nil
}

// Sync drops the cached users, or clients, if their counter in v differs
// from the one the cache reflects (package watch calls it on every poll).
func (s *Store) Sync(v store.Versions) {
	s.users.drop(&v.Users)
	s.clients.drop(&v.Clients)
}

// Stale drops everything: the counters could not be read, so the cache can
// no longer be shown current.
func (s *Store) Stale() {
	s.users.drop(nil)
	s.clients.drop(nil)
}
