package account

import (
	"context"
	"errors"

	"github.com/inkan-dev/inkan/internal/store"
)

// BeginPasskeyRegistration starts registering a passkey for user userID:
// the options for navigator.credentials.create (JSON, the publicKey
// member's content) and the ceremony's handle.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, userID string) (handle string, options []byte, err error) {
	return "", nil, errors.ErrUnsupported
}

// FinishPasskeyRegistration checks the authenticator's answer (the
// PublicKeyCredential as JSON) to the ceremony handle of user userID and
// stores the passkey under name. When it is the user's first second
// factor it returns their new recovery codes. Every grant issued before
// ends (endGrants).
func (s *Service) FinishPasskeyRegistration(ctx context.Context, userID, handle, name string, response []byte) (store.Passkey, []string, error) {
	return store.Passkey{}, nil, errors.ErrUnsupported
}

// BeginPasskeyLogin starts a passkey assertion: for user userID (a second
// factor), or, with userID empty, for whoever the authenticator's
// discoverable credential names (a passwordless sign-in).
func (s *Service) BeginPasskeyLogin(ctx context.Context, userID string) (handle string, options []byte, err error) {
	return "", nil, errors.ErrUnsupported
}

// FinishPasskeyLogin checks the assertion (JSON) answering ceremony
// handle: the signature, the sign counter, user verification for a
// passwordless sign-in. It returns the user and the methods passed
// ([AMRHardwareKey, AMRUserPresence], with AMRMultiFactor for a
// passwordless one with user verification).
func (s *Service) FinishPasskeyLogin(ctx context.Context, handle string, response []byte) (store.User, []string, error) {
	return store.User{}, nil, errors.ErrUnsupported
}

// Passkeys returns the user's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	return s.opts.Store.ListPasskeys(ctx, userID)
}

// RemovePasskey removes the user's passkey with that id.
func (s *Service) RemovePasskey(ctx context.Context, userID string, id []byte) error {
	return errors.ErrUnsupported
}
