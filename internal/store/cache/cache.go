// Package cache keeps users and OAuth clients in memory in front of a
// store.Store, so that checking a Bearer token's user, or authenticating a
// client, costs no database round trip. It drops what
// it holds whenever the store's UsersVersion changes (any process's update
// or delete of a user), which Run polls for, and at once on this process's
// own updates and deletes.
package cache

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/inkan-dev/inkan/internal/periodic"
	"github.com/inkan-dev/inkan/internal/store"
)

// MaxUsers bounds the cache; when full it starts over.
const MaxUsers = 100_000

// Store is a store.Store whose GetUser is cached.
type Store struct {
	store.Store
	logger *slog.Logger

	mu      sync.RWMutex
	users   map[string]store.User
	gen     uint64 // bumped on every invalidation: a read older than it is not cached
	version int64  // the UsersVersion the cache reflects

	cmu      sync.RWMutex
	clients  map[string]store.Client
	cgen     uint64
	cversion int64 // the ClientsVersion the cache reflects
}

// New wraps st. Call Refresh once and Run to follow other processes.
func New(st store.Store, logger *slog.Logger) *Store {
	return &Store{Store: st, logger: logger, users: map[string]store.User{}, clients: map[string]store.Client{}}
}

// GetUser returns the cached user, or reads it through. Missing users are
// not cached.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	s.mu.RLock()
	u, ok := s.users[id]
	gen := s.gen
	s.mu.RUnlock()
	if ok {
		return u, nil
	}
	u, err := s.Store.GetUser(ctx, id)
	if err != nil {
		return u, err
	}
	s.mu.Lock()
	if s.gen == gen { // nothing was invalidated while we read
		if len(s.users) >= MaxUsers {
			clear(s.users)
		}
		s.users[id] = u
	}
	s.mu.Unlock()
	return u, nil
}

// UpdateUser updates through and forgets the cached user.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(store.User) (store.User, error)) (store.User, error) {
	defer s.forget(id)
	return s.Store.UpdateUser(ctx, id, update)
}

// DeleteUser deletes through and forgets the cached user.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	defer s.forget(id)
	return s.Store.DeleteUser(ctx, id)
}

func (s *Store) forget(id string) {
	s.mu.Lock()
	delete(s.users, id)
	s.gen++
	s.mu.Unlock()
}

// Refresh drops every cached user, or client, if the store's users, or
// clients, changed since the last call.
func (s *Store) Refresh(ctx context.Context) error {
	v, err := s.Store.UsersVersion(ctx)
	if err != nil {
		return err
	}
	cv, err := s.Store.ClientsVersion(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if v != s.version {
		clear(s.users)
		s.gen++
		s.version = v
	}
	s.mu.Unlock()
	s.cmu.Lock()
	if cv != s.cversion {
		clear(s.clients)
		s.cgen++
		s.cversion = cv
	}
	s.cmu.Unlock()
	return nil
}

// GetClient returns the cached client, or reads it through; client
// authentication then costs no query.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	s.cmu.RLock()
	c, ok := s.clients[id]
	gen := s.cgen
	s.cmu.RUnlock()
	if ok {
		return c, nil
	}
	c, err := s.Store.GetClient(ctx, id)
	if err != nil {
		return c, err
	}
	s.cmu.Lock()
	if s.cgen == gen {
		if len(s.clients) >= MaxUsers {
			clear(s.clients)
		}
		s.clients[id] = c
	}
	s.cmu.Unlock()
	return c, nil
}

// UpdateClient updates through and forgets the cached client.
func (s *Store) UpdateClient(ctx context.Context, id string, update func(store.Client) (store.Client, error)) (store.Client, error) {
	defer s.forgetClient()
	return s.Store.UpdateClient(ctx, id, update)
}

// DeleteClient deletes through and forgets the cached client.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	defer s.forgetClient()
	return s.Store.DeleteClient(ctx, id)
}

func (s *Store) forgetClient() {
	s.cmu.Lock()
	clear(s.clients)
	s.cgen++
	s.cmu.Unlock()
}

// Run calls Refresh every interval until ctx ends; errors are logged, and the
// cache is dropped, since it can no longer be shown current.
func (s *Store) Run(ctx context.Context, interval time.Duration) {
	periodic.Run(ctx, interval, s.logger, "refresh user cache", func(ctx context.Context) error {
		err := s.Refresh(ctx)
		if err != nil {
			s.mu.Lock()
			clear(s.users)
			s.gen++
			s.mu.Unlock()
			s.forgetClient()
		}
		return err
	})
}
