package keys

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/verify"
)

// Token types a Signer can put in the typ header.
const (
	TypeJWT         = "JWT"
	TypeAccessToken = "at+jwt"     // RFC 9068 §2.1
	TypeLogout      = "logout+jwt" // OpenID Connect Back-Channel Logout 1.0 §2.4
)

// Signer signs with one key.
type Signer struct {
	KeyID       string
	Algorithm   string
	ActivatedAt time.Time              // when it became the active key
	signers     map[string]jose.Signer // by typ header
}

// Sign returns the compact JWS of payload with the header {alg, kid, typ}.
func (s *Signer) Sign(payload []byte, typ string) (string, error) {
	js, ok := s.signers[typ]
	if !ok {
		return "", fmt.Errorf("sign: unknown token type %q", typ)
	}
	obj, err := js.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign with %s: %w", s.KeyID, err)
	}
	return obj.CompactSerialize()
}

// newSigner returns the Signer of priv under kid in alg, which must suit
// the key (the Manager checks it before it stores a key).
func newSigner(kid, alg string, priv crypto.Signer) (*Signer, error) {
	s := &Signer{KeyID: kid, Algorithm: alg, signers: map[string]jose.Signer{}}
	for _, typ := range []string{TypeJWT, TypeAccessToken, TypeLogout} {
		js, err := jose.NewSigner(
			jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: alg}},
			(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
		if err != nil {
			return nil, fmt.Errorf("signer for key %s: %w", kid, err)
		}
		s.signers[typ] = js
	}
	return s, nil
}

// ErrNoKey means the store holds no signing key.
var ErrNoKey = errors.New("no signing key")

// snapshot is one consistent view of the keys at one instant.
type snapshot struct {
	version    int64
	nextChange time.Time // when a key changes state: rebuild then
	active     *Signer
	public     map[string]verify.Key
	jwks       []byte // pre-rendered JWKS document
}

// Set is the server's view of the signing keys: the active signer, the
// published keys that verify, and the JWKS. It rebuilds them when the
// store's keys change (by this process or another) and when a key reaches a
// transition of its lifecycle. It implements verify.KeySet.
type Set struct {
	m     *Manager
	mu    sync.Mutex // serialises reloads
	state atomic.Pointer[snapshot]
}

var _ verify.KeySet = (*Set)(nil)

// NewSet loads the keys of m's store, which must hold at least one (see
// Manager.EnsureKey). A key that does not open with m's master key fails it.
func NewSet(ctx context.Context, m *Manager) (*Set, error) {
	s := &Set{m: m}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload rebuilds the view if the store's keys changed or a transition came.
func (s *Set) Reload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.m.Store.KeysVersion(ctx)
	if err != nil {
		return err
	}
	return s.sync(ctx, v)
}

// Sync is Reload with the counters already read (package watch calls it on
// every poll): it rebuilds the view if v.Keys moved or a transition came.
func (s *Set) Sync(ctx context.Context, v store.Versions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sync(ctx, v.Keys)
}

func (s *Set) sync(ctx context.Context, v int64) error {
	now := s.m.now()
	cur := s.state.Load()
	if cur != nil && cur.version == v && (cur.nextChange.IsZero() || now.Before(cur.nextChange)) {
		return nil
	}
	rows, err := s.m.Store.ListKeys(ctx)
	if err != nil {
		return err
	}
	snap, err := s.build(v, rows, now)
	if err != nil {
		if cur != nil && errors.Is(err, ErrWrongMasterKey) {
			return staleMasterKey(err)
		}
		return err
	}
	s.state.Store(snap)
	if cur != nil && cur.active.KeyID != snap.active.KeyID {
		s.m.Logger.InfoContext(ctx, "active signing key changed", "kid", snap.active.KeyID, "alg", snap.active.Algorithm)
	}
	return nil
}

func (s *Set) build(version int64, rows []store.SigningKey, now time.Time) (*snapshot, error) {
	statuses := Lifecycle(rows, now, s.m.Schedule)
	snap := &snapshot{version: version, public: map[string]verify.Key{}}
	doc := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, st := range statuses {
		if t := st.NextTransition(now); !t.IsZero() && (snap.nextChange.IsZero() || t.Before(snap.nextChange)) {
			snap.nextChange = t
		}
		if !st.State.Published() {
			continue
		}
		priv, err := s.m.Open(st.SigningKey)
		if err != nil {
			return nil, err
		}
		pub := priv.Public()
		if st.State == StateActive {
			if snap.active, err = newSigner(st.ID, st.Algorithm, priv); err != nil {
				return nil, err
			}
			snap.active.ActivatedAt = st.ActivatedAt
		}
		snap.public[st.ID] = verify.Key{ID: st.ID, Algorithm: st.Algorithm, Public: pub}
		jwk, err := PublicJWK(pub, st.ID, st.Algorithm)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", st.ID, err)
		}
		// The active key first: clients that verify with keys[0] (the
		// tutorial's) then check fresh tokens with the right key, whether
		// or not a next key is already published.
		if st.State == StateActive {
			doc.Keys = slices.Insert(doc.Keys, 0, jwk)
		} else {
			doc.Keys = append(doc.Keys, jwk)
		}
	}
	if snap.active == nil {
		return nil, ErrNoKey
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(doc); err != nil {
		return nil, fmt.Errorf("render JWKS: %w", err)
	}
	snap.jwks = buf.Bytes()
	return snap, nil
}

// Active returns the signer of the active key.
func (s *Set) Active() *Signer { return s.state.Load().active }

// JWKS returns the pre-rendered JWKS document, the active key first, then
// the next and retiring keys, most recently activated first. Callers must
// not modify it.
func (s *Set) JWKS() []byte { return s.state.Load().jwks }

// Key implements verify.KeySet over the published keys.
func (s *Set) Key(_ context.Context, kid string) (verify.Key, error) {
	if k, ok := s.state.Load().public[kid]; ok {
		return k, nil
	}
	return verify.Key{}, fmt.Errorf("%w: kid %q", verify.ErrUnknownKey, kid)
}
