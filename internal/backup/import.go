package backup

import (
	"context"
	"crypto"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
)

// ImportOptions are what Import needs besides the store and the file.
type ImportOptions struct {
	// Sealer returns the sealer of the store's master key, under which the
	// imported keys are sealed (and stored keys opened, to compare them),
	// and, under its TokenSecret (the servers' MFA secret), the imported
	// TOTP secrets. Import calls it once, and only when the file holds
	// keys or TOTPs, after checking that every row's user and client
	// exists: a caller that makes a master key on first use makes none for
	// a refused import.
	Sealer func(ctx context.Context) (*keys.Sealer, error)
}

// Import adds the rows of f to st in export order: keys, users, TOTPs,
// recovery codes, passkeys, clients, consents, revocations, keeping their
// ids, hashes, settings and times; TOTP secrets are sealed under st's
// master key. A row stored already (by kid, id, client id, the user of a
// TOTP, the user of recovery codes, credential id, or user and client for
// a consent) is skipped when identical, so that an import can run again;
// one that differs, or a user whose email belongs to another user, stops
// the import with an error wrapping store.ErrConflict that names its line
// and fields. A user's recovery codes are one row set: stored ones that
// are not the file's exactly (one used since is not) are a conflict. A
// revocation is merged: the later expiry stays, and one stored as late is
// skipped.
//
// Before writing, Import checks that the user of every second factor and
// consent, and every consent's client, is in the file or the store; a stop
// after that, or a store failure, leaves the rows before it written. The
// Summary says what was written and skipped, also with an error.
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
	var sealer *keys.Sealer
	if len(f.keys) > 0 || len(f.totps) > 0 {
		if opts.Sealer == nil {
			return sum, errNoSealer
		}
		var err error
		if sealer, err = opts.Sealer(ctx); err != nil {
			return sum, err
		}
	}
	if len(f.keys) > 0 {
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
	if err := importMFA(ctx, st, f, sealer, &sum, written); err != nil {
		return sum, err
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

// importMFA adds the second factors of f to st (see Import), counting in
// sum through written.
func importMFA(ctx context.Context, st store.Store, f *File, sealer *keys.Sealer, sum *Summary,
	written func(n *int, line int, what string, err error, same func() error) error) error {
	for _, t := range f.totps {
		// PutTOTP replaces: look first, so that a stored TOTP that
		// differs is a conflict.
		what := "the TOTP of user " + t.row.UserID
		old, err := st.GetTOTP(ctx, t.row.UserID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			row := t.row
			if row.Secret, err = account.SealTOTPSecret(sealer.TokenSecret(), row.UserID, t.row.Secret); err == nil {
				err = st.PutTOTP(ctx, row)
			}
		case err == nil:
			err = fmt.Errorf("stored already: %w", store.ErrConflict)
		}
		same := func() error { return sameTOTP(sealer, old, t.row) }
		if err := written(&sum.Written.TOTPs, t.line, what, err, same); err != nil {
			return err
		}
	}
	// A user's recovery codes are replaced together: group them.
	var order []string
	byUser := map[string][]row[store.RecoveryCode]{}
	for _, c := range f.codes {
		if byUser[c.row.UserID] == nil {
			order = append(order, c.row.UserID)
		}
		byUser[c.row.UserID] = append(byUser[c.row.UserID], c)
	}
	for _, userID := range order {
		codes := byUser[userID]
		what := "the recovery codes of user " + userID
		old, err := st.ListRecoveryCodes(ctx, userID)
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", codes[0].line, what, err)
		}
		if len(old) > 0 {
			if err := sameRecoveryCodes(old, codes); err != nil {
				return fmt.Errorf("line %d: %s: %w", codes[0].line, what, err)
			}
			sum.Skipped += len(codes)
			continue
		}
		hashes := make([]string, len(codes))
		for i, c := range codes {
			hashes[i] = c.row.Hash
		}
		if err := st.ReplaceRecoveryCodes(ctx, userID, hashes, codes[0].row.CreatedAt); err != nil {
			return fmt.Errorf("line %d: %s: %w", codes[0].line, what, err)
		}
		sum.Written.RecoveryCodes += len(codes)
	}
	for _, p := range f.passkeys {
		err := st.CreatePasskey(ctx, p.row)
		same := func() error {
			old, err := st.GetPasskey(ctx, p.row.ID)
			if err != nil {
				return err
			}
			return differs(toPasskeyRecord(old), toPasskeyRecord(p.row))
		}
		what := fmt.Sprintf("passkey %s of user %s", passkeyBytes.EncodeToString(p.row.ID), p.row.UserID)
		if err := written(&sum.Written.Passkeys, p.line, what, err, same); err != nil {
			return err
		}
	}
	return nil
}

// sameTOTP reports, as nil, whether the stored TOTP old is t (whose Secret
// is in plaintext), and otherwise a conflict naming what differs. The
// secrets compare in constant time, and neither is in the error.
func sameTOTP(sealer *keys.Sealer, old, t store.TOTP) error {
	secret, err := account.OpenTOTPSecret(sealer.TokenSecret(), old)
	if err != nil {
		return fmt.Errorf("the stored TOTP does not open under this store's master key: %w", err)
	}
	a, b := toTOTPRecord(old, nil), toTOTPRecord(t, nil)
	if subtle.ConstantTimeCompare(secret, t.Secret) != 1 {
		b.Secret = "differs"
	}
	return differs(a, b)
}

// sameRecoveryCodes reports, as nil, whether the stored codes of a user
// (old, used ones too) are the file's, and otherwise a conflict.
func sameRecoveryCodes(old []store.RecoveryCode, codes []row[store.RecoveryCode]) error {
	stored := map[string]store.RecoveryCode{}
	for _, c := range old {
		stored[c.Hash] = c
	}
	var problems []string
	if len(old) != len(codes) {
		problems = append(problems, fmt.Sprintf("%d stored, %d in the file", len(old), len(codes)))
	}
	var used, missing, created int
	for _, c := range codes {
		o, ok := stored[c.row.Hash]
		switch {
		case !ok:
			missing++
		case !o.UsedAt.IsZero():
			used++
		case !o.CreatedAt.Equal(c.row.CreatedAt):
			created++
		}
	}
	for _, p := range []struct {
		n    int
		what string
	}{{missing, "not stored"}, {used, "used since"}, {created, "stored with another created_at"}} {
		if p.n > 0 {
			problems = append(problems, fmt.Sprintf("%d of the file's are %s", p.n, p.what))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("differ from the stored ones: %s: %w", strings.Join(problems, ", "), store.ErrConflict)
	}
	return nil
}

// checkReferences checks, before anything is written, that the user of
// every second factor and consent, and every consent's client, is in the
// file or already in the store.
func checkReferences(ctx context.Context, st store.Store, f *File) error {
	users, clients := map[string]bool{}, map[string]bool{}
	for _, u := range f.users {
		users[u.row.ID] = true
	}
	for _, c := range f.clients {
		clients[c.row.ID] = true
	}
	var problems []error
	// userKnown reports a user of the row of line that is nowhere.
	userKnown := func(line int, kind, userID string) error {
		if users[userID] {
			return nil
		}
		switch _, err := st.GetUser(ctx, userID); {
		case errors.Is(err, store.ErrNotFound):
			problems = append(problems, fmt.Errorf("line %d: %s: user %s is neither in the file nor in the store", line, kind, userID))
		case err != nil:
			return err
		default:
			users[userID] = true // stored: ask the store once
		}
		return nil
	}
	for _, t := range f.totps {
		if err := userKnown(t.line, kindTOTP, t.row.UserID); err != nil {
			return err
		}
	}
	for _, c := range f.codes {
		if err := userKnown(c.line, kindRecoveryCode, c.row.UserID); err != nil {
			return err
		}
	}
	for _, p := range f.passkeys {
		if err := userKnown(p.line, kindPasskey, p.row.UserID); err != nil {
			return err
		}
	}
	for _, c := range f.consents {
		if err := userKnown(c.line, kindConsent, c.row.UserID); err != nil {
			return err
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
