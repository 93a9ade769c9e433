package account

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// Passkeys (WebAuthn, github.com/go-webauthn/webauthn): registration from
// the account page, and assertions for a second factor (the user known,
// their credentials allowed) or a passwordless sign-in (a discoverable
// credential, whose user handle names the user). Each ceremony's state is
// a store.Challenge kept by the SHA-256 of a random 256-bit handle that
// the browser holds, and taken once.

// MaxPasskeyNameRunes bounds a passkey's name.
const MaxPasskeyNameRunes = 64

// CheckPasskeyName checks a passkey's name, trimmed: plain text
// (internal/plaintext), 1 to MaxPasskeyNameRunes characters. Empty is
// allowed here: FinishPasskeyRegistration then names it "Passkey N".
func CheckPasskeyName(name string) *FieldProblem {
	bad := func(typ, msg string) *FieldProblem { return &FieldProblem{Field: "name", Type: typ, Msg: msg} }
	switch {
	case !plaintext.Valid(name):
		return bad("value_error", "Name must be valid UTF-8 without control characters")
	case utf8.RuneCountInString(name) > MaxPasskeyNameRunes:
		return bad("string_too_long", fmt.Sprintf("String should have at most %d characters", MaxPasskeyNameRunes))
	}
	return nil
}

// passkeyUser is a user and their passkeys as go-webauthn sees them. The
// user handle (WebAuthnID) is the user id's bytes: what a discoverable
// credential gives back to name its user.
type passkeyUser struct {
	u     store.User
	creds []webauthn.Credential
}

func (p passkeyUser) WebAuthnID() []byte   { return []byte(p.u.ID) }
func (p passkeyUser) WebAuthnName() string { return p.u.Email }
func (p passkeyUser) WebAuthnDisplayName() string {
	if p.u.Name != "" {
		return p.u.Name
	}
	return p.u.Email
}
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

// credential is a stored passkey as go-webauthn's credential record.
func credential(p store.Passkey) webauthn.Credential {
	flags := protocol.FlagUserPresent
	if p.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if p.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if p.BackupState {
		flags |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:              p.ID,
		PublicKey:       p.PublicKey,
		AttestationType: p.AttestationType,
		Transport:       transports,
		Flags:           webauthn.NewCredentialFlags(flags),
		Authenticator:   webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
}

// passkeyUserOf loads the user's passkeys into a passkeyUser.
func (s *Service) passkeyUserOf(ctx context.Context, u store.User) (passkeyUser, []store.Passkey, error) {
	pks, err := s.opts.Store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return passkeyUser{}, nil, err
	}
	pu := passkeyUser{u: u, creds: make([]webauthn.Credential, len(pks))}
	for i, p := range pks {
		pu.creds[i] = credential(p)
	}
	return pu, pks, nil
}

// PasskeysOn reports whether passkeys are configured: an RPID that is a
// domain (WebAuthn has none for an IP address, so an issuer such as
// http://127.0.0.1:8000 has no passkeys; http://localhost:8000 has).
func (s *Service) PasskeysOn() bool {
	return s.opts.MFA.RPID != "" && protocol.ValidateRPID(s.opts.MFA.RPID) == nil
}

// relyingParty is the WebAuthn relying party of MFAOptions, or
// ErrPasskeysOff without one (PasskeysOn).
func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	m := s.opts.MFA
	if !s.PasskeysOn() {
		return nil, ErrPasskeysOff
	}
	name := m.RPName
	if name == "" {
		name = "inkan"
	}
	ttl := s.challengeTTL()
	w, err := webauthn.New(&webauthn.Config{
		RPID:          m.RPID,
		RPDisplayName: name,
		RPOrigins:     m.RPOrigins,
		// What the browser is told to wait; the server's own bound is the
		// challenge's ExpiresAt, on the service's clock.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ttl, TimeoutUVD: ttl},
			Registration: webauthn.TimeoutConfig{Timeout: ttl, TimeoutUVD: ttl},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	return w, nil
}

// startCeremony stores a passkey ceremony's session data as a challenge of
// purpose for userID and returns its handle: 256 random bits, base64url;
// the store keeps its SHA-256.
func (s *Service) startCeremony(ctx context.Context, purpose, userID string, session *webauthn.SessionData) (string, error) {
	data, err := json.Marshal(session)
	if err != nil {
		return "", err
	}
	handle := base64URL(randomBytes(32))
	now := s.now()
	c := store.Challenge{Hash: hashLink(handle), Purpose: purpose, UserID: userID, Data: data, CreatedAt: now, ExpiresAt: now.Add(s.challengeTTL())}
	if err := s.opts.Store.CreateChallenge(ctx, c); err != nil {
		return "", err
	}
	return handle, nil
}

// takeCeremony uses up the ceremony of handle, which must be live and of
// purpose: ErrChallengeInvalid otherwise.
func (s *Service) takeCeremony(ctx context.Context, handle, purpose string) (store.Challenge, webauthn.SessionData, error) {
	if handle == "" || len(handle) > 128 || !plaintext.Valid(handle) {
		return store.Challenge{}, webauthn.SessionData{}, ErrChallengeInvalid
	}
	c, err := s.opts.Store.TakeChallenge(ctx, hashLink(handle))
	if errors.Is(err, store.ErrNotFound) {
		return store.Challenge{}, webauthn.SessionData{}, ErrChallengeInvalid
	}
	if err != nil {
		return store.Challenge{}, webauthn.SessionData{}, err
	}
	if c.Purpose != purpose || !s.now().Before(c.ExpiresAt) {
		return store.Challenge{}, webauthn.SessionData{}, ErrChallengeInvalid
	}
	var session webauthn.SessionData
	if err := json.Unmarshal(c.Data, &session); err != nil {
		return store.Challenge{}, webauthn.SessionData{}, fmt.Errorf("passkey ceremony state: %w", err)
	}
	return c, session, nil
}

// BeginPasskeyRegistration starts registering a passkey for user userID:
// the options for navigator.credentials.create (JSON, the publicKey
// member's content) and the ceremony's handle. The credential is to be
// discoverable (a passkey that can sign in without an email), with user
// verification preferred, no attestation, and none of the user's
// existing credentials again.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, userID string) (handle string, options []byte, err error) {
	w, err := s.relyingParty()
	if err != nil {
		return "", nil, err
	}
	u, err := s.user(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	pu, _, err := s.passkeyUserOf(ctx, u)
	if err != nil {
		return "", nil, err
	}
	required := true
	creation, session, err := w.BeginRegistration(pu,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			RequireResidentKey: &required,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationPreferred,
		}),
		webauthn.WithExclusions(webauthn.Credentials(pu.creds).CredentialDescriptors()),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		return "", nil, fmt.Errorf("begin passkey registration: %w", err)
	}
	if options, err = json.Marshal(creation.Response); err != nil {
		return "", nil, err
	}
	if handle, err = s.startCeremony(ctx, store.ChallengePasskeyRegister, u.ID, session); err != nil {
		return "", nil, err
	}
	return handle, options, nil
}

// FinishPasskeyRegistration checks the authenticator's answer (the
// PublicKeyCredential as JSON) to the ceremony handle of user userID and
// stores the passkey under name (trimmed; empty names it "Passkey N").
// When it is the user's first second factor it returns their new
// recovery codes. Every grant issued before ends (endGrants).
//
// A name that breaks CheckPasskeyName is an *InvalidError and leaves the
// ceremony as it was, so that the same answer may come again with another
// name; an unknown, expired or used handle, or one of another user, is
// ErrChallengeInvalid; an answer that does not check out ErrBadCode.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, userID, handle, name string, response []byte) (store.Passkey, []string, error) {
	w, err := s.relyingParty()
	if err != nil {
		return store.Passkey{}, nil, err
	}
	name = strings.TrimSpace(name)
	if p := CheckPasskeyName(name); p != nil {
		return store.Passkey{}, nil, &InvalidError{Problems: []FieldProblem{*p}}
	}
	c, session, err := s.takeCeremony(ctx, handle, store.ChallengePasskeyRegister)
	if err != nil {
		return store.Passkey{}, nil, err
	}
	if c.UserID != userID {
		return store.Passkey{}, nil, ErrChallengeInvalid
	}
	u, err := s.user(ctx, userID)
	if err != nil {
		return store.Passkey{}, nil, err
	}
	pu, pks, err := s.passkeyUserOf(ctx, u)
	if err != nil {
		return store.Passkey{}, nil, err
	}
	fail := func(reason string, err error) (store.Passkey, []string, error) {
		s.opts.Logger.InfoContext(ctx, "passkey registration refused", "sub", u.ID, "reason", reason, "err", err)
		return store.Passkey{}, nil, ErrBadCode
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return fail("malformed", err)
	}
	cred, err := w.CreateCredential(pu, session, parsed)
	if err != nil {
		return fail("invalid", err)
	}
	before, err := s.Factors(ctx, u.ID)
	if err != nil {
		return store.Passkey{}, nil, err
	}
	if name == "" {
		name = defaultPasskeyName(pks)
	}
	transports := make([]string, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		if tt := string(t); plaintext.Valid(tt) && len(tt) <= 32 && len(transports) < 8 {
			transports = append(transports, tt)
		}
	}
	now := s.now()
	p := store.Passkey{
		ID: cred.ID, UserID: u.ID, Name: name, PublicKey: cred.PublicKey,
		AttestationType: cred.AttestationType, AAGUID: cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount,
		Transports: transports, UserVerified: cred.Flags.UserVerified,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		CreatedAt: now,
	}
	if len(p.ID) == 0 || len(p.ID) > 1023 {
		return fail("credential_id", nil)
	}
	// The answer checked out: what follows happens whole even if the
	// client goes away now.
	ctx, cancel := detached(ctx)
	defer cancel()
	if err := s.opts.Store.CreatePasskey(ctx, p); errors.Is(err, store.ErrConflict) {
		return fail("credential_taken", err)
	} else if err != nil {
		return store.Passkey{}, nil, err
	}
	var codes []string
	if !before.Any() {
		if codes, err = s.newRecoveryCodes(ctx, u.ID); err != nil {
			return store.Passkey{}, nil, err
		}
	}
	if err := s.factorsChanged(ctx, u.ID, factorAdded, map[string]string{"factor": factorPasskey, "name": p.Name}); err != nil {
		return store.Passkey{}, nil, err
	}
	return p, codes, nil
}

// factorPasskey names passkeys in the events' detail.
const factorPasskey = "passkey"

// defaultPasskeyName is "Passkey N", N the smallest from the count of the
// user's passkeys plus one that no passkey of theirs is named with.
func defaultPasskeyName(pks []store.Passkey) string {
	taken := make(map[string]bool, len(pks))
	for _, p := range pks {
		taken[p.Name] = true
	}
	for n := len(pks) + 1; ; n++ {
		if name := fmt.Sprintf("Passkey %d", n); !taken[name] {
			return name
		}
	}
}

// BeginPasskeyLogin starts a passkey assertion: for user userID (a second
// factor: their credentials allowed, user verification preferred), or,
// with userID empty, for whoever the authenticator's discoverable
// credential names (a passwordless sign-in, user verification required).
// A user without passkeys is ErrNoFactor.
func (s *Service) BeginPasskeyLogin(ctx context.Context, userID string) (handle string, options []byte, err error) {
	w, err := s.relyingParty()
	if err != nil {
		return "", nil, err
	}
	var (
		assertion *protocol.CredentialAssertion
		session   *webauthn.SessionData
	)
	if userID == "" {
		assertion, session, err = w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	} else {
		u, uerr := s.user(ctx, userID)
		if uerr != nil {
			return "", nil, uerr
		}
		pu, _, uerr := s.passkeyUserOf(ctx, u)
		if uerr != nil {
			return "", nil, uerr
		}
		if len(pu.creds) == 0 {
			return "", nil, ErrNoFactor
		}
		assertion, session, err = w.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	}
	if err != nil {
		return "", nil, fmt.Errorf("begin passkey login: %w", err)
	}
	if options, err = json.Marshal(assertion.Response); err != nil {
		return "", nil, err
	}
	if handle, err = s.startCeremony(ctx, store.ChallengePasskeyLogin, userID, session); err != nil {
		return "", nil, err
	}
	return handle, options, nil
}

// Reasons of a refused passkey assertion, in its event's detail.
const (
	reasonPasskeyMalformed = "malformed"
	reasonPasskeyUnknown   = "unknown_credential"
	reasonPasskeyInvalid   = "invalid_assertion"
	reasonPasskeyCloned    = "sign_count"
	reasonPasskeyNoUV      = "no_user_verification"
)

// FinishPasskeyLogin checks the assertion (JSON) answering ceremony
// handle: the signature, the sign counter, user verification for a
// passwordless sign-in. It returns the user and the methods passed
// ([AMRHardwareKey, AMRUserPresence], with AMRMultiFactor for a
// passwordless one with user verification).
//
// An unknown, expired or used handle is ErrChallengeInvalid; an assertion
// that does not check out (a wrong signature, origin or challenge, a
// credential not the user's or unknown, a sign counter that did not
// increase, no user verification for a passwordless sign-in), or one of
// a disabled or deleted user, is ErrBadCode. A passwordless sign-in of a
// user whose email is not verified is ErrEmailNotVerified under
// RequireVerifiedEmail.
func (s *Service) FinishPasskeyLogin(ctx context.Context, handle string, response []byte) (store.User, []string, error) {
	w, err := s.relyingParty()
	if err != nil {
		return store.User{}, nil, err
	}
	c, session, err := s.takeCeremony(ctx, handle, store.ChallengePasskeyLogin)
	if err != nil {
		return store.User{}, nil, err
	}
	passwordless := c.UserID == ""
	var u store.User // known once the credential names its user
	fail := func(reason string, err error) (store.User, []string, error) {
		s.opts.Logger.InfoContext(ctx, "passkey refused", "sub", u.ID, "reason", reason, "err", err)
		s.record(ctx, events.MFAFailure, u.ID, map[string]string{"factor": factorPasskey, "reason": reason})
		return store.User{}, nil, ErrBadCode
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return fail(reasonPasskeyMalformed, err)
	}
	var cred *webauthn.Credential
	if passwordless {
		var lookupErr error
		handler := func(rawID, userHandle []byte) (webauthn.User, error) {
			id := string(userHandle)
			if !IsID(id) {
				lookupErr = ErrBadCode
				return nil, lookupErr
			}
			var err error
			if u, err = s.opts.Store.GetUser(ctx, id); err != nil {
				lookupErr = err
				return nil, err
			}
			pu, _, err := s.passkeyUserOf(ctx, u)
			if err != nil {
				lookupErr = err
				return nil, err
			}
			return pu, nil
		}
		cred, err = w.ValidateDiscoverableLogin(handler, session, parsed)
		if lookupErr != nil && !errors.Is(lookupErr, store.ErrNotFound) && !errors.Is(lookupErr, ErrBadCode) {
			return store.User{}, nil, lookupErr // the store failed: no verdict on the passkey
		}
		if lookupErr != nil {
			return fail(reasonPasskeyUnknown, lookupErr)
		}
	} else {
		if u, err = s.opts.Store.GetUser(ctx, c.UserID); errors.Is(err, store.ErrNotFound) {
			return fail(reasonDisabled, err)
		} else if err != nil {
			return store.User{}, nil, err
		}
		pu, _, perr := s.passkeyUserOf(ctx, u)
		if perr != nil {
			return store.User{}, nil, perr
		}
		cred, err = w.ValidateLogin(pu, session, parsed)
	}
	if err != nil {
		return fail(reasonPasskeyInvalid, err)
	}
	if u.Disabled {
		return fail(reasonDisabled, nil)
	}
	if cred.Authenticator.CloneWarning {
		// The authenticator counts its signatures and this count did not
		// go up: two copies of the key may exist.
		s.opts.Logger.WarnContext(ctx, "passkey sign count did not increase", "sub", u.ID, "count", parsed.Response.AuthenticatorData.Counter)
		return fail(reasonPasskeyCloned, nil)
	}
	uv := parsed.Response.AuthenticatorData.Flags.HasUserVerified()
	if passwordless && !uv {
		return fail(reasonPasskeyNoUV, nil)
	}
	if passwordless && s.opts.RequireVerifiedEmail && !u.EmailVerified {
		s.opts.Logger.InfoContext(ctx, "login refused", "reason", "email not verified", "sub", u.ID)
		return store.User{}, nil, ErrEmailNotVerified
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	if err := s.opts.Store.UsePasskey(ctx, cred.ID, cred.Authenticator.SignCount, cred.Flags.BackupState, s.now()); errors.Is(err, store.ErrNotFound) {
		return fail(reasonPasskeyUnknown, err) // removed meanwhile
	} else if err != nil {
		return store.User{}, nil, err
	}
	methods := AddAMR(nil, AMRHardwareKey, AMRUserPresence)
	if passwordless {
		methods = AddAMR(methods, AMRMultiFactor)
		s.record(ctx, events.LoginSuccess, u.ID, map[string]string{"method": factorPasskey})
	} else {
		s.record(ctx, events.MFAUsed, u.ID, map[string]string{"factor": factorPasskey})
	}
	return u, methods, nil
}

// Passkeys returns the user's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	return s.opts.Store.ListPasskeys(ctx, userID)
}

// RemovePasskey removes the user's passkey with that id: ErrNoFactor when
// the user has none by that id. When it was their last second factor,
// their recovery codes go too. Every grant issued before ends (endGrants).
func (s *Service) RemovePasskey(ctx context.Context, userID string, id []byte) error {
	p, err := s.opts.Store.GetPasskey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && p.UserID != userID {
		return ErrNoFactor
	}
	if err != nil {
		return err
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	if err := s.opts.Store.DeletePasskey(ctx, userID, id); errors.Is(err, store.ErrNotFound) {
		return ErrNoFactor
	} else if err != nil {
		return err
	}
	return s.factorsChanged(ctx, userID, factorRemoved, map[string]string{"factor": factorPasskey, "name": p.Name})
}

// base64URL is b in unpadded base64url, as WebAuthn's JSON carries bytes.
func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
