// Package keystest gives the tests of other packages a keys.Signer made the
// way the server makes its own: the active key of a keys.Set over a store
// that holds only that key.
package keystest

import (
	"context"
	"crypto"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

// Signer returns the signer of priv for alg as a keys.Set has it once priv
// is its active key: its kid is the key's thumbprint (RFC 7638), and alg
// must suit the key (keys.CheckAlgorithm). The Set's SQLite store lives in
// a temporary directory only while the Set is built; the signer needs it no
// more.
func Signer(priv crypto.Signer, alg string) (*keys.Signer, error) {
	dir, err := os.MkdirTemp("", "inkan-keystest")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "keys.db"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	sealer, err := keys.NewSealer(make([]byte, keys.MasterKeySize))
	if err != nil {
		return nil, err
	}
	m := &keys.Manager{Store: st, Sealer: sealer, Logger: slog.New(slog.DiscardHandler)}
	if _, err := m.Add(ctx, priv, alg, true); err != nil {
		return nil, err
	}
	set, err := keys.NewSet(ctx, m)
	if err != nil {
		return nil, err
	}
	return set.Active(), nil
}
