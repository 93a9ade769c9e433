package backup

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
)

// ImportOptions are what Import needs besides the store and the file.
type ImportOptions struct {
	// Sealer returns the sealer of the store's master key, under which the
	// imported keys are sealed (and stored keys opened, to compare them).
	// Import calls it once, and only when the file holds keys, after
	// checking that every consent's user and client exists: a caller that
	// makes a master key on first use makes none for a refused import.
	Sealer func(ctx context.Context) (*keys.Sealer, error)
}

// Import adds the rows of f to st in export order: keys, users, clients,
// consents, revocations, keeping their ids, hashes, settings and times. A
// row stored already (by kid, id, client id, or user and client for a
// consent) is skipped when identical, so that an import can run again; one
// that differs, or a user whose email belongs to another user, stops the
// import with an error wrapping store.ErrConflict that names its line and
// fields. A revocation is merged: the later expiry stays, and one stored as
// late is skipped.
//
// Before writing, Import checks that every consent's user and client is in
// the file or the store; a stop after that, or a store failure, leaves
// the rows before it written. The Summary says what was written and
// skipped, also with an error.
func Import(ctx context.Context, st store.Store, f *File, opts ImportOptions) (Summary, error) {
	sum := Summary{}
	if err := checkReferences(ctx, st, f); err != nil {
		return sum, err
	}
	// written counts a created row in n, skips an identical one, and
	// names the line of any other outcome.
	written := func(n *int, line int, what string, err error, same func() error) error {
		if errors.Is(err, store.ErrConflict) {
			if err = same(); err == nil {
				sum.Skipped++
				return nil
			}
		}
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", line, what, err)
		}
		*n++
		return nil
	}
	if len(f.keys) > 0 {
		if opts.Sealer == nil {
			return sum, errNoSealer
		}
		sealer, err := opts.Sealer(ctx)
		if err != nil {
			return sum, err
		}
		m := &keys.Manager{Store: st, Sealer: sealer}
		for _, k := range f.keys {
			row := k.row
			row.PrivateKey = sealer.Seal(row.ID, row.Algorithm, k.row.PrivateKey)
			err := st.CreateKey(ctx, row)
			if err := written(&sum.Written.Keys, k.line, "key "+k.row.ID, err, func() error { return sameKey(ctx, m, k) }); err != nil {
				return sum, err
			}
		}
	}
	for _, u := range f.users {
		err := st.CreateUser(ctx, u.row)
		what := fmt.Sprintf("user %s (%s)", u.row.ID, u.row.Email)
		if err := written(&sum.Written.Users, u.line, what, err, func() error { return sameUser(ctx, st, u.row) }); err != nil {
			return sum, err
		}
	}
	for _, c := range f.clients {
		err := st.CreateClient(ctx, c.row)
		same := func() error {
			old, err := st.GetClient(ctx, c.row.ID)
			if err != nil {
				return err
			}
			return differs(toClientRecord(old), toClientRecord(c.row))
		}
		if err := written(&sum.Written.Clients, c.line, "client "+c.row.ID, err, same); err != nil {
			return sum, err
		}
	}
	for _, c := range f.consents {
		// PutConsent replaces: look first, so that a stored consent that
		// differs is a conflict, as for every other kind.
		old, err := st.GetConsent(ctx, c.row.UserID, c.row.ClientID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			err = st.PutConsent(ctx, c.row)
		case err == nil:
			err = fmt.Errorf("stored already: %w", store.ErrConflict)
		}
		same := func() error { return differs(toConsentRecord(old), toConsentRecord(c.row)) }
		what := fmt.Sprintf("consent of user %s to client %s", c.row.UserID, c.row.ClientID)
		if err := written(&sum.Written.Consents, c.line, what, err, same); err != nil {
			return sum, err
		}
	}
	if len(f.revoked) > 0 {
		// Revoking merges (the later expiry stays), so a revocation is
		// never a conflict: one stored already, as late, is skipped.
		stored, err := st.ListRevocations(ctx, time.Time{})
		if err != nil {
			return sum, err
		}
		until := map[string]time.Time{}
		for _, r := range stored {
			until[r.Kind+"\x00"+r.Value] = r.ExpiresAt
		}
		for _, r := range f.revoked {
			if t, ok := until[r.row.Kind+"\x00"+r.row.Value]; ok && !t.Before(r.row.ExpiresAt) {
				sum.Skipped++
				continue
			}
			if err := st.Revoke(ctx, r.row); err != nil {
				return sum, fmt.Errorf("line %d: revocation of %s %s: %w", r.line, r.row.Kind, r.row.Value, err)
			}
			sum.Written.Revocations++
		}
	}
	return sum, nil
}

// checkReferences checks, before anything is written, that every consent's
// user and client is in the file or already in the store.
func checkReferences(ctx context.Context, st store.Store, f *File) error {
	users, clients := map[string]bool{}, map[string]bool{}
	for _, u := range f.users {
		users[u.row.ID] = true
	}
	for _, c := range f.clients {
		clients[c.row.ID] = true
	}
	var problems []error
	for _, c := range f.consents {
		if !users[c.row.UserID] {
			if _, err := st.GetUser(ctx, c.row.UserID); errors.Is(err, store.ErrNotFound) {
				problems = append(problems, fmt.Errorf("line %d: consent: user %s is neither in the file nor in the store", c.line, c.row.UserID))
			} else if err != nil {
				return err
			}
		}
		if !clients[c.row.ClientID] {
			if _, err := st.GetClient(ctx, c.row.ClientID); errors.Is(err, store.ErrNotFound) {
				problems = append(problems, fmt.Errorf("line %d: consent: client %s is neither in the file nor in the store", c.line, c.row.ClientID))
			} else if err != nil {
				return err
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing imported:\n%w", errors.Join(problems...))
	}
	return nil
}

// differs returns nil when two records are equal, and otherwise a conflict
// naming the fields in which the stored one (old) differs.
func differs[R any](old, imported R) error {
	if diff := differing(old, imported); len(diff) > 0 {
		return fmt.Errorf("differs from the stored one in %s: %w", strings.Join(diff, ", "), store.ErrConflict)
	}
	return nil
}

// sameKey reports, as nil, whether the stored key of k's kid is k, and
// otherwise a conflict naming what differs.
func sameKey(ctx context.Context, m *keys.Manager, k keyRow) error {
	old, err := m.Store.GetKey(ctx, k.row.ID)
	if err != nil {
		return err
	}
	priv, err := m.Open(old)
	if err != nil {
		return err
	}
	// The private keys compare as keys, not as encodings.
	a, b := toKeyRecord(old, nil), toKeyRecord(k.row, nil)
	if eq, ok := priv.(interface{ Equal(crypto.PrivateKey) bool }); !ok || !eq.Equal(k.priv) {
		b.PrivateKey = "differs"
	}
	return differs(a, b)
}

// sameUser reports, as nil, whether the stored user of u's id is u, and
// otherwise a conflict naming what differs.
func sameUser(ctx context.Context, st store.Store, u store.User) error {
	old, err := st.GetUser(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		other, err := st.GetUserByEmail(ctx, u.Email)
		if err != nil {
			return fmt.Errorf("the id or email is taken: %w", store.ErrConflict)
		}
		return fmt.Errorf("the email belongs to another user, %s: %w", other.ID, store.ErrConflict)
	} else if err != nil {
		return err
	}
	return differs(toUserRecord(old), toUserRecord(u))
}
