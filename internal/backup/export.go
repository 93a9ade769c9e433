package backup

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
)

// errNoSealer is the error of an Export or Import that needs the master
// key and was given no Sealer.
var errNoSealer = errors.New("backup: the signing keys and TOTP secrets need the master key, and no Sealer was given")

// ExportOptions are what Export needs besides the store.
type ExportOptions struct {
	// Sealer returns the sealer of the master key that opens the stored
	// signing keys and, through its TokenSecret (the servers' MFA
	// secret), the TOTP secrets. Export calls it once, and only when a
	// stored key is sealed (a release before sealing stored them in
	// plaintext) or a user has a confirmed TOTP.
	Sealer func(ctx context.Context) (*keys.Sealer, error)
	// Now is the time before which a revocation has expired and is left
	// out; nil means time.Now.
	Now func() time.Time
}

// Export writes the store's signing keys, users, the users' second factors
// (confirmed TOTPs, unused recovery codes, passkeys), OAuth clients,
// consents and revocations to w as JSON Lines, in that order, each kind
// oldest first (second factors in the order of their users), so that
// exporting the same data always gives the same bytes. Sessions, codes,
// refresh tokens, pending TOTP enrolments and used recovery codes stay
// behind. The keys and TOTP secrets are written in plaintext (PKCS#8,
// base32), so that the file can move to a store sealed under another
// master key: whoever holds it holds the keys and every user's TOTP.
//
// On an error, w may hold part of the export: a caller that writes a file
// collects the export first.
func Export(ctx context.Context, st store.Store, w io.Writer, opts ExportOptions) (Counts, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	rows, err := st.ListKeys(ctx)
	if err != nil {
		return Counts{}, err
	}
	m := &keys.Manager{Store: st}
	slices.SortFunc(rows, func(a, b store.SigningKey) int {
		if c := a.ActivatedAt.Compare(b.ActivatedAt); c != 0 {
			return c
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	users, err := st.ListUsers(ctx)
	if err != nil {
		return Counts{}, err
	}
	slices.SortStableFunc(users, func(a, b store.User) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	mfa, err := listMFA(ctx, st, users)
	if err != nil {
		return Counts{}, err
	}
	if len(mfa.totps) > 0 || slices.ContainsFunc(rows, func(k store.SigningKey) bool { return keys.IsSealed(k.PrivateKey) }) {
		if opts.Sealer == nil {
			return Counts{}, errNoSealer
		}
		if m.Sealer, err = opts.Sealer(ctx); err != nil {
			return Counts{}, err
		}
	}
	clients, err := st.ListClients(ctx)
	if err != nil {
		return Counts{}, err
	}
	slices.SortStableFunc(clients, func(a, b store.Client) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	consents, err := st.ListConsents(ctx)
	if err != nil {
		return Counts{}, err
	}
	slices.SortStableFunc(consents, func(a, b store.Consent) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		if c := strings.Compare(a.UserID, b.UserID); c != 0 {
			return c
		}
		return strings.Compare(a.ClientID, b.ClientID)
	})
	revocations, err := st.ListRevocations(ctx, now())
	if err != nil {
		return Counts{}, err
	}
	slices.SortFunc(revocations, func(a, b store.Revocation) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})

	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, k := range rows {
		priv, err := m.Open(k)
		if err != nil {
			return Counts{}, err
		}
		der, err := keys.MarshalPKCS8(priv)
		if err != nil {
			return Counts{}, fmt.Errorf("key %s: %w", k.ID, err)
		}
		if err := enc.Encode(toKeyRecord(k, der)); err != nil {
			return Counts{}, err
		}
	}
	for _, u := range users {
		if err := enc.Encode(toUserRecord(u)); err != nil {
			return Counts{}, err
		}
	}
	for _, t := range mfa.totps {
		secret, err := account.OpenTOTPSecret(m.Sealer.TokenSecret(), t)
		if err != nil {
			return Counts{}, fmt.Errorf("the TOTP of user %s: %w", t.UserID, err)
		}
		if err := enc.Encode(toTOTPRecord(t, secret)); err != nil {
			return Counts{}, err
		}
	}
	for _, c := range mfa.codes {
		if err := enc.Encode(toRecoveryCodeRecord(c)); err != nil {
			return Counts{}, err
		}
	}
	for _, p := range mfa.passkeys {
		if err := enc.Encode(toPasskeyRecord(p)); err != nil {
			return Counts{}, err
		}
	}
	for _, c := range clients {
		if err := enc.Encode(toClientRecord(c)); err != nil {
			return Counts{}, err
		}
	}
	for _, c := range consents {
		if err := enc.Encode(toConsentRecord(c)); err != nil {
			return Counts{}, err
		}
	}
	for _, r := range revocations {
		if err := enc.Encode(toRevocationRecord(r)); err != nil {
			return Counts{}, err
		}
	}
	if err := bw.Flush(); err != nil {
		return Counts{}, err
	}
	return Counts{
		Keys: len(rows), Users: len(users), TOTPs: len(mfa.totps), RecoveryCodes: len(mfa.codes), Passkeys: len(mfa.passkeys),
		Clients: len(clients), Consents: len(consents), Revocations: len(revocations),
	}, nil
}

// secondFactors are the second factors of an export.
type secondFactors struct {
	totps    []store.TOTP // sealed, as stored
	codes    []store.RecoveryCode
	passkeys []store.Passkey
}

// listMFA returns the confirmed TOTPs, unused recovery codes and passkeys
// of users, in their order; a user's codes and passkeys oldest first, as
// the store lists them.
func listMFA(ctx context.Context, st store.Store, users []store.User) (secondFactors, error) {
	var f secondFactors
	for _, u := range users {
		switch t, err := st.GetTOTP(ctx, u.ID); {
		case err == nil && !t.ConfirmedAt.IsZero():
			f.totps = append(f.totps, t)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return secondFactors{}, err
		}
		codes, err := st.ListRecoveryCodes(ctx, u.ID)
		if err != nil {
			return secondFactors{}, err
		}
		for _, c := range codes {
			if c.UsedAt.IsZero() {
				f.codes = append(f.codes, c)
			}
		}
		pks, err := st.ListPasskeys(ctx, u.ID)
		if err != nil {
			return secondFactors{}, err
		}
		f.passkeys = append(f.passkeys, pks...)
	}
	return f, nil
}
