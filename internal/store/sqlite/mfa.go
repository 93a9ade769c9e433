package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// Second factors (store.MFAStore): not stored yet.

var errNoMFA = errors.ErrUnsupported

func (s *Store) PutTOTP(ctx context.Context, t store.TOTP) error { return errNoMFA }
func (s *Store) GetTOTP(ctx context.Context, userID string) (store.TOTP, error) {
	return store.TOTP{}, store.ErrNotFound
}
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, step int64, now time.Time) error {
	return errNoMFA
}
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error { return errNoMFA }
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error              { return nil }
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, now time.Time) error {
	return errNoMFA
}
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) error {
	return store.ErrNotFound
}
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) { return 0, nil }
func (s *Store) DeleteRecoveryCodes(ctx context.Context, userID string) error       { return nil }
func (s *Store) CreatePasskey(ctx context.Context, p store.Passkey) error           { return errNoMFA }
func (s *Store) GetPasskey(ctx context.Context, id []byte) (store.Passkey, error) {
	return store.Passkey{}, store.ErrNotFound
}
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	return nil, nil
}
func (s *Store) UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, now time.Time) error {
	return errNoMFA
}
func (s *Store) DeletePasskey(ctx context.Context, userID string, id []byte) error {
	return store.ErrNotFound
}
func (s *Store) DeleteMFA(ctx context.Context, userID string) error           { return nil }
func (s *Store) CreateChallenge(ctx context.Context, c store.Challenge) error { return errNoMFA }
func (s *Store) GetChallenge(ctx context.Context, hash string) (store.Challenge, error) {
	return store.Challenge{}, store.ErrNotFound
}
func (s *Store) AttemptChallenge(ctx context.Context, hash string) (store.Challenge, error) {
	return store.Challenge{}, store.ErrNotFound
}
func (s *Store) TakeChallenge(ctx context.Context, hash string) (store.Challenge, error) {
	return store.Challenge{}, store.ErrNotFound
}
func (s *Store) DeleteExpiredChallenges(ctx context.Context, now time.Time, limit int) (int, error) {
	return 0, nil
}
