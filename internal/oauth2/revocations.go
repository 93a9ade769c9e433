package oauth2

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// RevocationStore is what Revocations needs of the store.
type RevocationStore interface {
	Revoke(ctx context.Context, r store.Revocation) error
	ListRevocations(ctx context.Context, now time.Time) ([]store.Revocation, error)
	RevocationsVersion(ctx context.Context) (int64, error)
}

// Revocations records revocations in the store and holds the revoked
// access-token ids and grant families not yet expired in memory, so that
// checking a token costs no query. Refresh rebuilds the set when the store's
// revocations version changes (a revocation by any process); this process's
// own revocations update it at once.
type Revocations struct {
	Store  RevocationStore
	Logger *slog.Logger     // required
	Now    func() time.Time // nil means time.Now
	// FamilyTTL is how long a family's revocation is kept: past the end
	// of any refresh or access token of the family.
	FamilyTTL time.Duration

	mu       sync.RWMutex
	jti      map[string]bool
	families map[string]bool
	version  int64
	loaded   bool
}

// Revocation kinds (store.Revocation.Kind).
const (
	KindJTI    = "jti"
	KindFamily = "family"
)

// Revoked reports whether the access token jti, or the grant family (when
// not empty), is revoked.
func (r *Revocations) Revoked(jti, family string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.jti[jti] || (family != "" && r.families[family])
}

// FamilyRevoked reports whether every token of the grant family is revoked.
func (r *Revocations) FamilyRevoked(family string) bool { return r.Revoked("", family) }

func (r *Revocations) add(kind, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addLocked(kind, value)
}

func (r *Revocations) addLocked(kind, value string) {
	if r.jti == nil {
		r.jti, r.families = map[string]bool{}, map[string]bool{}
	}
	switch kind {
	case KindJTI:
		r.jti[value] = true
	case KindFamily:
		r.families[value] = true
	}
}

// RevokeFamily revokes every token of a grant: a replayed code, a reused
// refresh token, a revoked refresh token (RFC 7009 §2.1). The write is
// detached from ctx (MustFinish), so that a client that goes away cannot
// cancel it; a failure to store it is logged, and this process refuses the
// family all the same.
func (r *Revocations) RevokeFamily(ctx context.Context, family string) {
	ctx, cancel := MustFinish(ctx)
	defer cancel()
	exp := nowOf(r.Now).Add(r.FamilyTTL)
	if err := r.Store.Revoke(ctx, store.Revocation{Kind: KindFamily, Value: family, ExpiresAt: exp.UTC().Truncate(time.Microsecond)}); err != nil {
		r.Logger.ErrorContext(ctx, "revoke token family", "err", err)
	}
	r.add(KindFamily, family)
}

// RevokeAccess revokes the access token jti until exp, after which it has
// expired anyway. The write is detached from ctx (MustFinish); only a
// stored revocation counts here.
func (r *Revocations) RevokeAccess(ctx context.Context, jti string, exp time.Time) error {
	wctx, cancel := MustFinish(ctx)
	err := r.Store.Revoke(wctx, store.Revocation{Kind: KindJTI, Value: jti, ExpiresAt: exp.UTC()})
	cancel()
	if err != nil {
		return err
	}
	r.add(KindJTI, jti)
	return nil
}

// Refresh reloads the revocations if any process recorded one since the
// last load.
func (r *Revocations) Refresh(ctx context.Context) error {
	v, err := r.Store.RevocationsVersion(ctx)
	if err != nil {
		return err
	}
	return r.Sync(ctx, v)
}

// Sync reloads the revocations unless those of counter version v are the
// ones loaded (package watch reads the counter with the others).
func (r *Revocations) Sync(ctx context.Context, v int64) error {
	r.mu.RLock()
	same := r.loaded && r.version == v
	r.mu.RUnlock()
	if same {
		return nil
	}
	list, err := r.Store.ListRevocations(ctx, nowOf(r.Now))
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

// MustFinishTimeout bounds a write that MustFinish detaches.
const MustFinishTimeout = 10 * time.Second

// MustFinish detaches ctx from its request for a write that must not be
// lost when the client goes away mid-request: a revocation or the end of a
// session, which a client that disconnects at the right moment could
// otherwise cancel. The write keeps ctx's values (the request id) and gets
// a deadline of its own, MustFinishTimeout.
func MustFinish(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), MustFinishTimeout)
}
