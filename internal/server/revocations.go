package server

import (
	"context"
	"sync"
)

// revocationSet holds the revoked access-token ids and grant families not
// yet expired, in memory, so that checking a token costs no query. It is
// rebuilt when the store's revocations version changes (a revocation by
// any process), polled by Server.Run, and updated at once by this
// process's own revocations.
type revocationSet struct {
	mu       sync.RWMutex
	jti      map[string]bool
	families map[string]bool
	version  int64
	loaded   bool
}

func (r *revocationSet) revoked(jti, family string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.jti[jti] || (family != "" && r.families[family])
}

func (r *revocationSet) family(f string) bool { return r.revoked("", f) }

func (r *revocationSet) add(kind, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addLocked(kind, value)
}

func (r *revocationSet) addLocked(kind, value string) {
	if r.jti == nil {
		r.jti, r.families = map[string]bool{}, map[string]bool{}
	}
	switch kind {
	case "jti":
		r.jti[value] = true
	case "family":
		r.families[value] = true
	}
}

// refreshRevocations reloads the revocations if any process recorded one.
func (s *Server) refreshRevocations(ctx context.Context) error {
	v, err := s.opts.Store.RevocationsVersion(ctx)
	if err != nil {
		return err
	}
	return s.syncRevocations(ctx, v)
}

// syncRevocations reloads the revocations unless version v is loaded.
func (s *Server) syncRevocations(ctx context.Context, v int64) error {
	r := &s.revocations
	r.mu.RLock()
	same := r.loaded && r.version == v
	r.mu.RUnlock()
	if same {
		return nil
	}
	list, err := s.opts.Store.ListRevocations(ctx, s.opts.Now())
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jti, r.families = map[string]bool{}, map[string]bool{}
	for _, rv := range list {
		r.addLocked(rv.Kind, rv.Value)
	}
	r.version, r.loaded = v, true
	return nil
}
