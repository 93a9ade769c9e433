package account

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/inkan-dev/inkan/internal/store"
)

// The sealed TOTP secrets outside the service: an export opens them, an
// import seals them under the importing store's secret, and a new master
// key re-seals them (keys rekey). mfaSecret is MFAOptions.Secret, which the
// servers derive from the master key (keys.Sealer.TokenSecret).

// OpenTOTPSecret opens the sealed secret of t under mfaSecret and returns
// the secret itself (the bytes whose base32 an authenticator app holds).
// It returns ErrTOTPOff for a missing mfaSecret, and an error when the
// secret was sealed under another one, for another user, or altered.
func OpenTOTPSecret(mfaSecret []byte, t store.TOTP) ([]byte, error) {
	aead, err := totpAEAD(mfaSecret)
	if err != nil {
		return nil, err
	}
	return openTOTP(aead, t)
}

// SealTOTPSecret seals secret for user userID under mfaSecret, as the
// service stores it (store.TOTP.Secret); ErrTOTPOff for a missing
// mfaSecret.
func SealTOTPSecret(mfaSecret []byte, userID string, secret []byte) ([]byte, error) {
	aead, err := totpAEAD(mfaSecret)
	if err != nil {
		return nil, err
	}
	return sealTOTP(aead, userID, secret), nil
}

// ResealTOTPs re-seals every user's TOTP secret, confirmed or pending,
// from oldSecret to newSecret (the MFA secrets of the old and the new
// master key), keeping ConfirmedAt, LastStep and CreatedAt, and returns
// how many it re-sealed. A secret that opens under newSecret already is
// left alone, so that an interrupted run can be run again. Every secret is
// opened before any is written: one that opens under neither stops it,
// naming its user, with nothing changed.
//
// A TOTP changed while it runs (a code used, an enrolment started or
// removed on a running server) is read again and re-sealed as it is then;
// what a server still holding the old secret writes after it (a new
// enrolment) stays sealed under the old one.
func ResealTOTPs(ctx context.Context, st interface {
	store.UserStore
	store.MFAStore
}, oldSecret, newSecret []byte) (int, error) {
	oldAEAD, err := totpAEAD(oldSecret)
	if err != nil {
		return 0, err
	}
	newAEAD, err := totpAEAD(newSecret)
	if err != nil {
		return 0, err
	}
	users, err := st.ListUsers(ctx)
	if err != nil {
		return 0, err
	}
	// reseal returns t's secret under newSecret, or nil when it is
	// under newSecret already.
	reseal := func(t store.TOTP) ([]byte, error) {
		if _, err := openTOTP(newAEAD, t); err == nil {
			return nil, nil
		}
		secret, err := openTOTP(oldAEAD, t)
		if err != nil {
			return nil, fmt.Errorf("the TOTP of user %s opens under neither the old nor the new secret: %w", t.UserID, err)
		}
		return sealTOTP(newAEAD, t.UserID, secret), nil
	}
	var todo []string
	for _, u := range users {
		t, err := st.GetTOTP(ctx, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return 0, err
		}
		if sealed, err := reseal(t); err != nil {
			return 0, err
		} else if sealed != nil {
			todo = append(todo, u.ID)
		}
	}
	n := 0
	for _, id := range todo {
		done, err := resealOne(ctx, st, id, reseal)
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}

// resealAttempts bounds how often resealOne reads a TOTP that keeps
// changing under it.
const resealAttempts = 5

// resealOne re-seals the TOTP of user userID with reseal, writing it only
// when a second read finds it unchanged, and reports whether it wrote it.
// A TOTP gone meanwhile (removed, or its user deleted) is not an error.
func resealOne(ctx context.Context, st store.MFAStore, userID string, reseal func(store.TOTP) ([]byte, error)) (bool, error) {
	for range resealAttempts {
		t, err := st.GetTOTP(ctx, userID)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		sealed, err := reseal(t)
		if err != nil || sealed == nil {
			return false, err
		}
		again, err := st.GetTOTP(ctx, userID)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		if !slices.Equal(again.Secret, t.Secret) || !again.ConfirmedAt.Equal(t.ConfirmedAt) || again.LastStep != t.LastStep {
			continue // used or replaced between the reads: read it again
		}
		t.Secret = sealed
		switch err := st.PutTOTP(ctx, t); {
		case errors.Is(err, store.ErrNotFound): // the user is gone
			return false, nil
		case err != nil:
			return false, fmt.Errorf("re-seal the TOTP of user %s: %w", userID, err)
		}
		return true, nil
	}
	return false, fmt.Errorf("re-seal the TOTP of user %s: it kept changing; run it again", userID)
}
