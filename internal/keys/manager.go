package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/inkan-dev/inkan/internal/periodic"
	"github.com/inkan-dev/inkan/internal/store"
)

// Manager owns the signing keys of a store: it seals them at rest, and
// creates, rotates and revokes them by the lifecycle's timing rules.
type Manager struct {
	Store     store.Store
	Sealer    *Sealer
	Schedule  Schedule
	Algorithm string           // of new keys (first, rotated); "" means RS256
	Logger    *slog.Logger     //
	Now       func() time.Time // nil means time.Now
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) alg() string {
	if m.Algorithm == "" {
		return RS256
	}
	return m.Algorithm
}

// Open returns the private key of a stored row, sealed or (from a release
// before sealing) plaintext.
func (m *Manager) Open(k store.SigningKey) (crypto.Signer, error) {
	der := k.PrivateKey
	if IsSealed(der) {
		var err error
		if der, err = m.Sealer.Open(k.ID, k.Algorithm, der); err != nil {
			return nil, err
		}
	}
	priv, err := ParsePKCS8(der)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, err)
	}
	if err := CheckAlgorithm(priv.Public(), k.Algorithm); err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, err)
	}
	return priv, nil
}

// row makes a sealed store row for priv, active from activation.
func (m *Manager) row(priv crypto.Signer, alg string, activation time.Time) (store.SigningKey, error) {
	if alg == "" {
		var err error
		if alg, err = DefaultAlgorithm(priv.Public()); err != nil {
			return store.SigningKey{}, err
		}
	}
	if err := CheckAlgorithm(priv.Public(), alg); err != nil {
		return store.SigningKey{}, err
	}
	kid, err := Thumbprint(priv.Public())
	if err != nil {
		return store.SigningKey{}, err
	}
	der, err := MarshalPKCS8(priv)
	if err != nil {
		return store.SigningKey{}, err
	}
	now := m.now().UTC().Truncate(time.Microsecond)
	return store.SigningKey{
		ID: kid, Algorithm: alg, PrivateKey: m.Sealer.Seal(kid, alg, der),
		CreatedAt: now, ActivatedAt: activation.UTC().Truncate(time.Microsecond),
	}, nil
}

// EnsureKey makes a key of the manager's algorithm, active at once, if the
// store holds no key, and returns its kid, or "" if a key existed. Replicas
// may race: the store lets one win.
func (m *Manager) EnsureKey(ctx context.Context) (string, error) {
	keys, err := m.Store.ListKeys(ctx)
	if err != nil || len(keys) > 0 {
		return "", err
	}
	priv, err := Generate(m.alg(), 0)
	if err != nil {
		return "", err
	}
	row, err := m.row(priv, m.alg(), m.now())
	if err != nil {
		return "", err
	}
	if err := m.Store.CreateFirstKey(ctx, row); errors.Is(err, store.ErrConflict) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return row.ID, nil
}

// Add stores priv (alg "" means its default algorithm) as the next key,
// active once it has been published for Schedule.MaxAge, or at once when
// now is set or the store holds no key. A key already stored keeps its
// row, unless it was revoked, which is refused.
func (m *Manager) Add(ctx context.Context, priv crypto.Signer, alg string, now bool) (string, error) {
	existing, err := m.Store.ListKeys(ctx)
	if err != nil {
		return "", err
	}
	activation := m.now()
	if !now && len(existing) > 0 {
		activation = activation.Add(m.Schedule.prePublish())
	}
	row, err := m.row(priv, alg, activation)
	if err != nil {
		return "", err
	}
	if err := m.Store.CreateKey(ctx, row); errors.Is(err, store.ErrConflict) {
		_, err = m.Store.UpdateKey(ctx, row.ID, func(old store.SigningKey) (store.SigningKey, error) {
			if !old.RevokedAt.IsZero() {
				return old, fmt.Errorf("key %s was revoked: it cannot sign again", row.ID)
			}
			old.ActivatedAt = row.ActivatedAt
			return old, nil
		})
		if err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	return row.ID, nil
}

// Generate makes a new key of alg ("" means the manager's) and bits and adds
// it as Add does.
func (m *Manager) Generate(ctx context.Context, alg string, bits int, now bool) (string, error) {
	if alg == "" {
		alg = m.alg()
	}
	priv, err := Generate(alg, bits)
	if err != nil {
		return "", err
	}
	return m.Add(ctx, priv, alg, now)
}

// Rotate generates the next key in the manager's algorithm. Without now it
// activates after Schedule.MaxAge; with now it activates at once, which
// breaks verifiers whose cached JWKS lacks it until they refetch.
func (m *Manager) Rotate(ctx context.Context, now bool) (string, error) {
	return m.Generate(ctx, "", 0, now)
}

// Statuses returns every key with its lifecycle state now.
func (m *Manager) Statuses(ctx context.Context) ([]Status, error) {
	rows, err := m.Store.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	return Lifecycle(rows, m.now(), m.Schedule), nil
}

// AutoRotate creates the next key when the active one has been active for
// every - MaxAge (so that it signs from every on), unless a next key exists.
// One replica at a time checks. It returns the new kid or "".
func (m *Manager) AutoRotate(ctx context.Context, every time.Duration) (string, error) {
	if every <= 0 {
		return "", nil
	}
	var kid string
	_, err := m.Store.Exclusive(ctx, "rotate keys", func(ctx context.Context) error {
		sts, err := m.Statuses(ctx)
		if err != nil {
			return err
		}
		var active *Status
		for i, st := range sts {
			switch st.State {
			case StateNext:
				return nil
			case StateActive:
				active = &sts[i]
			}
		}
		now := m.now()
		if active == nil || now.Before(active.ActivatedAt.Add(every-m.Schedule.prePublish())) {
			return nil
		}
		// A key sealed under a master key that no longer opens the
		// others (they were rekeyed) would stop every restarted server.
		if _, err := m.Open(active.SigningKey); errors.Is(err, ErrWrongMasterKey) {
			return fmt.Errorf("not rotating: %w", staleMasterKey(err))
		} else if err != nil {
			return err
		}
		priv, err := Generate(m.alg(), 0)
		if err != nil {
			return err
		}
		activation := now.Add(m.Schedule.prePublish())
		if due := active.ActivatedAt.Add(every); due.After(activation) {
			activation = due
		}
		row, err := m.row(priv, m.alg(), activation)
		if err != nil {
			return err
		}
		if err := m.Store.CreateKey(ctx, row); err != nil {
			return err
		}
		kid = row.ID
		m.Logger.InfoContext(ctx, "rotation: next signing key published", "kid", kid, "alg", row.Algorithm, "active_from", row.ActivatedAt)
		return nil
	})
	return kid, err
}

// staleMasterKey explains ErrWrongMasterKey in a running server: the keys
// were most likely re-sealed (keys rekey) after it started.
func staleMasterKey(err error) error {
	return fmt.Errorf("%w: if \"inkan keys rekey\" re-sealed them, restart this server with the new master key "+
		"(INKAN_MASTER_KEY or --master-key-file); until then it serves the keys it loaded and adds none", err)
}

// RunRotation checks for a due rotation every interval until ctx ends.
func (m *Manager) RunRotation(ctx context.Context, every, interval time.Duration) {
	if every <= 0 {
		return
	}
	periodic.Run(ctx, interval, m.Logger, "key rotation", func(ctx context.Context) error {
		_, err := m.AutoRotate(ctx, every)
		return err
	})
}

// Revoke marks a compromised key revoked: it leaves the JWKS at once and its
// tokens are refused. If it was the active key, another key signs at once:
// the next key that would have signed, when one is published (it is already
// in the JWKS caches, or has been for longest), and promoted reports that;
// otherwise a new key of the manager's algorithm, which caches of the JWKS
// lack until they refetch. The kid of that key is returned.
func (m *Manager) Revoke(ctx context.Context, kid string) (repl string, promoted bool, err error) {
	sts, err := m.Statuses(ctx)
	if err != nil {
		return "", false, err
	}
	wasActive, next := false, ""
	for _, st := range sts {
		if st.ID == kid && st.State == StateActive {
			wasActive = true
		}
		if st.SignsNext && st.ID != kid {
			next = st.ID
		}
	}
	_, err = m.Store.UpdateKey(ctx, kid, func(old store.SigningKey) (store.SigningKey, error) {
		if old.RevokedAt.IsZero() {
			old.RevokedAt = m.now()
		}
		return old, nil
	})
	if err != nil || !wasActive {
		return "", false, err
	}
	if next != "" {
		now := m.now().UTC().Truncate(time.Microsecond)
		_, err := m.Store.UpdateKey(ctx, next, func(old store.SigningKey) (store.SigningKey, error) {
			if !old.RevokedAt.IsZero() {
				return old, errRevokedMeanwhile
			}
			if old.ActivatedAt.After(now) {
				old.ActivatedAt = now
			}
			return old, nil
		})
		if err == nil {
			m.Logger.InfoContext(ctx, "revoked the active key: the published next key signs from now on", "revoked", kid, "kid", next)
			return next, true, nil
		}
		if !errors.Is(err, errRevokedMeanwhile) && !errors.Is(err, store.ErrNotFound) {
			return "", false, err
		}
	}
	repl, err = m.Generate(ctx, "", 0, true)
	return repl, false, err
}

// errRevokedMeanwhile: the next key was revoked between reading and
// promoting it; Revoke then makes a new key instead.
var errRevokedMeanwhile = errors.New("next key revoked meanwhile")

// SealPlaintext seals the keys that releases before sealing stored in
// plaintext, and returns how many it sealed.
func (m *Manager) SealPlaintext(ctx context.Context) (int, error) {
	return m.reseal(ctx, m.Sealer, func(k store.SigningKey) bool { return !IsSealed(k.PrivateKey) })
}

// Rekey re-seals every key under next (a new master key) and returns how
// many it re-sealed. Keys that already open under next are left alone, so
// an interrupted rekey can be run again; any other key must open under the
// current master key, or nothing is changed.
func (m *Manager) Rekey(ctx context.Context, next *Sealer) (int, error) {
	rows, err := m.Store.ListKeys(ctx)
	if err != nil {
		return 0, err
	}
	done := func(k store.SigningKey) bool {
		_, err := next.Open(k.ID, k.Algorithm, k.PrivateKey)
		return IsSealed(k.PrivateKey) && err == nil
	}
	for _, r := range rows {
		if done(r) {
			continue
		}
		if _, err := m.Open(r); err != nil {
			return 0, err
		}
	}
	return m.reseal(ctx, next, func(k store.SigningKey) bool { return !done(k) })
}

func (m *Manager) reseal(ctx context.Context, to *Sealer, which func(store.SigningKey) bool) (int, error) {
	rows, err := m.Store.ListKeys(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rows {
		if !which(r) {
			continue
		}
		_, err := m.Store.UpdateKey(ctx, r.ID, func(old store.SigningKey) (store.SigningKey, error) {
			priv, err := m.Open(old)
			if err != nil {
				return old, err
			}
			der, err := MarshalPKCS8(priv)
			if err != nil {
				return old, err
			}
			old.PrivateKey = to.Seal(old.ID, old.Algorithm, der)
			return old, nil
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// CheckOpen opens every stored key, so that a wrong master key fails at
// start with a clear message rather than later.
func (m *Manager) CheckOpen(ctx context.Context) error {
	rows, err := m.Store.ListKeys(ctx)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if !r.RevokedAt.IsZero() {
			continue
		}
		if _, err := m.Open(r); err != nil {
			return err
		}
	}
	return nil
}
