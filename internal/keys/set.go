package keys

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/verify"
)

// Token types a Signer can put in the typ header.
const (
	TypeJWT = "JWT"
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

// NewSigner returns a Signer that signs with priv under kid in alg, for
// callers that sign without a Set (tests, tools). alg must suit the key (see
// CheckAlgorithm).
func NewSigner(kid, alg string, priv crypto.Signer) (*Signer, error) {
	if err := CheckAlgorithm(priv.Public(), alg); err != nil {
		return nil, err
	}
	return newSigner(kid, alg, priv)
}

func newSigner(kid, alg string, priv crypto.Signer) (*Signer, error) {
	s := &Signer{KeyID: kid, Algorithm: alg, signers: map[string]jose.Signer{}}
	for _, typ := range []string{TypeJWT} {
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

// snapshot is one consistent view of the key table.
type snapshot struct {
	version int64
	active  *Signer
	public  map[string]verify.Key
	jwks    []byte // pre-rendered JWKS document
}

// Set is the server's view of the signing keys: the active signer, the public
// keys that verify, and the JWKS, reloaded when the store's keys change (by
// this process or another). It implements verify.KeySet.
type Set struct {
	store  store.KeyStore
	logger *slog.Logger
	mu     sync.Mutex // serialises reloads
	state  atomic.Pointer[snapshot]
}

var _ verify.KeySet = (*Set)(nil)

// NewSet loads the keys of st. The store must hold at least one key (see
// EnsureKey).
func NewSet(ctx context.Context, st store.KeyStore, logger *slog.Logger) (*Set, error) {
	s := &Set{store: st, logger: logger}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload re-reads the keys if the store's key version changed since the last
// load.
func (s *Set) Reload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.store.KeysVersion(ctx)
	if err != nil {
		return err
	}
	if cur := s.state.Load(); cur != nil && cur.version == v {
		return nil
	}
	rows, err := s.store.ListKeys(ctx)
	if err != nil {
		return err
	}
	snap, err := build(v, rows)
	if err != nil {
		return err
	}
	prev := s.state.Swap(snap)
	if prev != nil && prev.active.KeyID != snap.active.KeyID {
		s.logger.InfoContext(ctx, "active signing key changed", "kid", snap.active.KeyID, "alg", snap.active.Algorithm)
	}
	return nil
}

func build(version int64, rows []store.SigningKey) (*snapshot, error) {
	if len(rows) == 0 {
		return nil, ErrNoKey
	}
	snap := &snapshot{version: version, public: map[string]verify.Key{}}
	doc := jose.JSONWebKeySet{}
	// rows come most recently activated first: the first one signs.
	for _, r := range rows {
		priv, err := ParsePKCS8(r.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", r.ID, err)
		}
		pub := priv.Public()
		if err := CheckAlgorithm(pub, r.Algorithm); err != nil {
			return nil, fmt.Errorf("key %s: %w", r.ID, err)
		}
		if snap.active == nil {
			if snap.active, err = newSigner(r.ID, r.Algorithm, priv); err != nil {
				return nil, err
			}
			snap.active.ActivatedAt = r.ActivatedAt
		}
		snap.public[r.ID] = verify.Key{ID: r.ID, Algorithm: r.Algorithm, Public: pub}
		jwk, err := PublicJWK(pub, r.ID, r.Algorithm)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", r.ID, err)
		}
		doc.Keys = append(doc.Keys, jwk)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(doc); err != nil {
		return nil, fmt.Errorf("render JWKS: %w", err)
	}
	snap.jwks = buf.Bytes()
	return snap, nil
}

// Run reloads the keys every interval until ctx ends. Errors are logged and
// the last good keys kept.
func (s *Set) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Reload(ctx); err != nil && ctx.Err() == nil {
				s.logger.ErrorContext(ctx, "reload signing keys", "err", err)
			}
		}
	}
}

// Active returns the signer of the active key.
func (s *Set) Active() *Signer { return s.state.Load().active }

// JWKS returns the pre-rendered JWKS document. Callers must not modify it.
func (s *Set) JWKS() []byte { return s.state.Load().jwks }

// Key implements verify.KeySet over the published keys.
func (s *Set) Key(_ context.Context, kid string) (verify.Key, error) {
	if k, ok := s.state.Load().public[kid]; ok {
		return k, nil
	}
	return verify.Key{}, fmt.Errorf("%w: kid %q", verify.ErrUnknownKey, kid)
}

// EnsureKey makes an RS256 2048-bit key the active one if the store holds no
// key, and returns its kid, or "" if a key existed. It is safe to race: one
// process wins.
func EnsureKey(ctx context.Context, st store.KeyStore, now time.Time) (string, error) {
	keys, err := st.ListKeys(ctx)
	if err != nil {
		return "", err
	}
	if len(keys) > 0 {
		return "", nil
	}
	row, err := newRow(RS256, 0, now)
	if err != nil {
		return "", err
	}
	if err := st.CreateFirstKey(ctx, row); errors.Is(err, store.ErrConflict) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return row.ID, nil
}

func newRow(alg string, bits int, now time.Time) (store.SigningKey, error) {
	priv, err := Generate(alg, bits)
	if err != nil {
		return store.SigningKey{}, err
	}
	return rowFor(priv, alg, now)
}

func rowFor(priv crypto.Signer, alg string, now time.Time) (store.SigningKey, error) {
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
	now = now.UTC().Truncate(time.Microsecond)
	return store.SigningKey{ID: kid, Algorithm: alg, PrivateKey: der, CreatedAt: now, ActivatedAt: now}, nil
}

// Add stores priv as the active signing key (alg "" means its default
// algorithm) and returns its kid. A key already in the store is made active
// again. Earlier keys stay published, so their tokens keep verifying.
func Add(ctx context.Context, st store.KeyStore, priv crypto.Signer, alg string, now time.Time) (string, error) {
	row, err := rowFor(priv, alg, now)
	if err != nil {
		return "", err
	}
	err = st.CreateKey(ctx, row)
	if errors.Is(err, store.ErrConflict) {
		_, err = st.UpdateKey(ctx, row.ID, func(old store.SigningKey) (store.SigningKey, error) {
			old.Algorithm = row.Algorithm
			old.ActivatedAt = row.ActivatedAt
			return old, nil
		})
	}
	if err != nil {
		return "", err
	}
	return row.ID, nil
}

// Generate-and-add for the CLI.

// AddGenerated makes a new key of alg and bits and stores it as active.
func AddGenerated(ctx context.Context, st store.KeyStore, alg string, bits int, now time.Time) (string, error) {
	priv, err := Generate(alg, bits)
	if err != nil {
		return "", err
	}
	return Add(ctx, st, priv, alg, now)
}
