package backup

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// The lines of an export. Each record type is the one definition of its
// kind's line: the json tags name the fields, a field tagged omitempty is
// optional on import (exports of earlier releases lack it) and every other
// field is required. Two rows are the same when their records are equal,
// field by field (see differing). So a new column of a stored type is one
// field here plus one line in each of its two conversions, to… and
// from…Record; the tests of every-field round trips fail until it is added.
//
// Times are RFC 3339 in UTC at the stores' precision (microseconds). Lists
// are never null.
const (
	kindKey          = "key"
	kindUser         = "user"
	kindTOTP         = "totp"
	kindRecoveryCode = "recovery_code"
	kindPasskey      = "passkey"
	kindClient       = "client"
	kindConsent      = "consent"
	kindRevocation   = "revocation"
)

// kindOrder is the order of an export: a line refers only to lines before
// it (a second factor to its user, a consent to its user and client), so
// import writes in this order.
var kindOrder = []string{kindKey, kindUser, kindTOTP, kindRecoveryCode, kindPasskey, kindClient, kindConsent, kindRevocation}

// kindPlurals names each kind's rows in Counts.String.
var kindPlurals = map[string]string{
	kindKey: "keys", kindUser: "users", kindTOTP: "TOTPs", kindRecoveryCode: "recovery codes", kindPasskey: "passkeys",
	kindClient: "clients", kindConsent: "consents", kindRevocation: "revocations",
}

// recordTypes maps each kind to its record type.
var recordTypes = map[string]reflect.Type{
	kindKey:          reflect.TypeFor[keyRecord](),
	kindUser:         reflect.TypeFor[userRecord](),
	kindTOTP:         reflect.TypeFor[totpRecord](),
	kindRecoveryCode: reflect.TypeFor[recoveryCodeRecord](),
	kindPasskey:      reflect.TypeFor[passkeyRecord](),
	kindClient:       reflect.TypeFor[clientRecord](),
	kindConsent:      reflect.TypeFor[consentRecord](),
	kindRevocation:   reflect.TypeFor[revocationRecord](),
}

// keyRecord is a "key" line. PrivateKey is the PKCS#8 DER in standard
// base64: in plaintext, so that the file can move to a store sealed under
// another master key. RevokedAt is present only for a revoked key.
type keyRecord struct {
	Kind        string `json:"kind"`
	KID         string `json:"kid"`
	Alg         string `json:"alg"`
	PrivateKey  string `json:"private_key"`
	CreatedAt   string `json:"created_at"`
	ActivatedAt string `json:"activated_at"`
	RevokedAt   string `json:"revoked_at,omitempty"`
}

// userRecord is a "user" line. A field added to store.User goes here, as
// optional (omitempty) so that earlier exports still import, with a line
// in toUserRecord and one in fromUserRecord, as TokensValidAfter has.
// Conflicts (differing) and the field checks of import follow by themselves.
// TokensValidAfter is present once a password change or a disable ended the
// user's earlier tokens, so that they stay refused after a move.
type userRecord struct {
	Kind          string `json:"kind"`
	ID            string `json:"id"`
	Name          string `json:"name"`
	Email         string `json:"email"`
	PasswordHash  string `json:"password_hash"`
	Disabled      bool   `json:"disabled"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	CreatedAt     string `json:"created_at"`
	UpdatedAt     string `json:"updated_at"`

	TokensValidAfter string `json:"tokens_valid_after,omitempty"`
}

// totpRecord is a "totp" line: a user's confirmed TOTP (a pending
// enrolment, no factor yet, stays behind). Secret is the secret itself in
// base32 (RFC 4648, upper case, no padding, as otpauth URIs carry it): in
// plaintext, as a key line's private key, so that the file can move to a
// store sealed under another master key; import seals it under that
// store's. LastStep is the RFC 6238 step of the last code used, so that a
// code used before the move stays used.
type totpRecord struct {
	Kind        string `json:"kind"`
	UserID      string `json:"user_id"`
	Secret      string `json:"secret"`
	ConfirmedAt string `json:"confirmed_at"`
	LastStep    int64  `json:"last_step"`
	CreatedAt   string `json:"created_at"`
}

// recoveryCodeRecord is a "recovery_code" line: one of a user's unused
// recovery codes, by its hash (hex SHA-256), as stored. Used codes stay
// behind: they sign nobody in, and import has no way to store one used.
// A user's codes are made together, so their lines share created_at.
type recoveryCodeRecord struct {
	Kind      string `json:"kind"`
	UserID    string `json:"user_id"`
	Hash      string `json:"hash"`
	CreatedAt string `json:"created_at"`
}

// passkeyRecord is a "passkey" line: a user's WebAuthn credential, every
// field as stored, bytes in base64url without padding (as WebAuthn writes
// them). The public key is public: the file holds no secret of it.
// AAGUID is "" for none.
type passkeyRecord struct {
	Kind            string   `json:"kind"`
	ID              string   `json:"id"`
	UserID          string   `json:"user_id"`
	Name            string   `json:"name"`
	PublicKey       string   `json:"public_key"`
	AttestationType string   `json:"attestation_type"`
	AAGUID          string   `json:"aaguid"`
	SignCount       uint32   `json:"sign_count"`
	Transports      []string `json:"transports"`
	UserVerified    bool     `json:"user_verified"`
	BackupEligible  bool     `json:"backup_eligible"`
	BackupState     bool     `json:"backup_state"`
	CreatedAt       string   `json:"created_at"`
	LastUsedAt      string   `json:"last_used_at,omitempty"`
}

// clientRecord is a "client" line. The field names are those of "inkan
// clients list --json". SecretHash is the stored SHA-256 of the secret in
// standard base64 ("" for a public client): the secret itself is never
// stored, and a moved client keeps authenticating with it.
type clientRecord struct {
	Kind                   string   `json:"kind"`
	ClientID               string   `json:"client_id"`
	Name                   string   `json:"name"`
	SecretHash             string   `json:"secret_hash"`
	Public                 bool     `json:"public"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	GrantTypes             []string `json:"grant_types"`
	Scopes                 []string `json:"scopes"`
	Audience               []string `json:"audience"`
	Trusted                bool     `json:"trusted"`
	BackchannelLogoutURI   string   `json:"backchannel_logout_uri,omitempty"`
	RequireMFA             bool     `json:"require_mfa,omitempty"`
	CreatedAt              string   `json:"created_at"`
	UpdatedAt              string   `json:"updated_at"`
}

// consentRecord is a "consent" line: a user's remembered grant of scopes
// to a client.
type consentRecord struct {
	Kind      string   `json:"kind"`
	UserID    string   `json:"user_id"`
	ClientID  string   `json:"client_id"`
	Scopes    []string `json:"scopes"`
	CreatedAt string   `json:"created_at"`
}

// revocationRecord is a "revocation" line: tokens refused before they
// expire (by jti, or every token of a grant family) until expires_at. A
// move that dropped them would make revoked tokens, signed by the same
// keys, good again.
type revocationRecord struct {
	Kind      string `json:"kind"`
	Type      string `json:"type"` // store.Revocation.Kind: "jti" or "family"
	Value     string `json:"value"`
	ExpiresAt string `json:"expires_at"`
}

// FormatTime is the form of every time in an export: RFC 3339 in UTC,
// with the fraction of a second the stores keep (microseconds).
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// parseTime reads an RFC 3339 time at the stores' precision (microseconds,
// UTC).
func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time", field, s)
	}
	return t.UTC().Truncate(time.Microsecond), nil
}

// formatOptionalTime is FormatTime, or "" for the zero time: the value of
// an omitempty time field that is unset.
func formatOptionalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return FormatTime(t)
}

// parseOptionalTime is parseTime, or the zero time for "".
func parseOptionalTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return parseTime(field, s)
}

func toKeyRecord(k store.SigningKey, der []byte) keyRecord {
	return keyRecord{
		Kind: kindKey, KID: k.ID, Alg: k.Algorithm,
		PrivateKey: base64.StdEncoding.EncodeToString(der),
		CreatedAt:  FormatTime(k.CreatedAt), ActivatedAt: FormatTime(k.ActivatedAt),
		RevokedAt: formatOptionalTime(k.RevokedAt),
	}
}

func toUserRecord(u store.User) userRecord {
	return userRecord{
		Kind: kindUser, ID: u.ID, Name: u.Name, Email: u.Email, PasswordHash: u.PasswordHash,
		Disabled: u.Disabled, EmailVerified: u.EmailVerified,
		CreatedAt: FormatTime(u.CreatedAt), UpdatedAt: FormatTime(u.UpdatedAt),
		TokensValidAfter: formatOptionalTime(u.TokensValidAfter),
	}
}

// fromUserRecord converts a record to a user; parseUserRecord normalises
// the email and checkUser validates the result.
func fromUserRecord(r userRecord) (store.User, error) {
	u := store.User{
		ID: r.ID, Name: r.Name, Email: r.Email, PasswordHash: r.PasswordHash,
		Disabled: r.Disabled, EmailVerified: r.EmailVerified,
	}
	var err error
	if u.CreatedAt, err = parseTime("created_at", r.CreatedAt); err != nil {
		return store.User{}, err
	}
	if u.UpdatedAt, err = parseTime("updated_at", r.UpdatedAt); err != nil {
		return store.User{}, err
	}
	if u.TokensValidAfter, err = parseOptionalTime("tokens_valid_after", r.TokensValidAfter); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// totpSecretEncoding is the base32 of a totp line's secret.
var totpSecretEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// toTOTPRecord is the line of t, whose secret, opened, is secret.
func toTOTPRecord(t store.TOTP, secret []byte) totpRecord {
	return totpRecord{
		Kind: kindTOTP, UserID: t.UserID, Secret: totpSecretEncoding.EncodeToString(secret),
		ConfirmedAt: FormatTime(t.ConfirmedAt), LastStep: t.LastStep, CreatedAt: FormatTime(t.CreatedAt),
	}
}

// fromTOTPRecord converts a record to a TOTP whose Secret is the secret
// in plaintext, to be sealed; checkTOTP validates the result.
func fromTOTPRecord(r totpRecord) (store.TOTP, error) {
	secret, err := totpSecretEncoding.DecodeString(r.Secret)
	if err != nil || totpSecretEncoding.EncodeToString(secret) != r.Secret { // canonical: no stray trailing bits
		err = errors.New("secret is not base32 (RFC 4648, upper case, no padding)")
	}
	if err != nil {
		return store.TOTP{}, err
	}
	t := store.TOTP{UserID: r.UserID, Secret: secret, LastStep: r.LastStep}
	if t.ConfirmedAt, err = parseTime("confirmed_at", r.ConfirmedAt); err != nil {
		return store.TOTP{}, err
	}
	if t.CreatedAt, err = parseTime("created_at", r.CreatedAt); err != nil {
		return store.TOTP{}, err
	}
	return t, nil
}

// The sizes of a TOTP secret that import accepts: RFC 4226 §4 asks for at
// least 128 bits (inkan makes 160); more than 512 is no secret an
// authenticator app was given.
const minTOTPSecret, maxTOTPSecret = 16, 64

// checkTOTP validates a TOTP of a totp line (Secret in plaintext).
func checkTOTP(t store.TOTP) error {
	if err := checkUserID(t.UserID); err != nil {
		return fmt.Errorf("user_id: %w", err)
	}
	if n := len(t.Secret); n < minTOTPSecret || n > maxTOTPSecret {
		return fmt.Errorf("secret: %d bytes, want %d to %d", n, minTOTPSecret, maxTOTPSecret)
	}
	if t.LastStep < 0 {
		return fmt.Errorf("last_step %d is negative", t.LastStep)
	}
	return nil
}

func toRecoveryCodeRecord(c store.RecoveryCode) recoveryCodeRecord {
	return recoveryCodeRecord{Kind: kindRecoveryCode, UserID: c.UserID, Hash: c.Hash, CreatedAt: FormatTime(c.CreatedAt)}
}

// fromRecoveryCodeRecord converts a record to an unused recovery code;
// checkRecoveryCode validates the result.
func fromRecoveryCodeRecord(r recoveryCodeRecord) (store.RecoveryCode, error) {
	c := store.RecoveryCode{UserID: r.UserID, Hash: r.Hash}
	var err error
	if c.CreatedAt, err = parseTime("created_at", r.CreatedAt); err != nil {
		return store.RecoveryCode{}, err
	}
	return c, nil
}

// checkRecoveryCode accepts a code of a user by the hex SHA-256 that
// account stores (lower case, as hex.EncodeToString writes it).
func checkRecoveryCode(c store.RecoveryCode) error {
	if err := checkUserID(c.UserID); err != nil {
		return fmt.Errorf("user_id: %w", err)
	}
	if len(c.Hash) != 2*sha256.Size || strings.ContainsFunc(c.Hash, func(r rune) bool { return !strings.ContainsRune("0123456789abcdef", r) }) {
		return errors.New("hash is not a hex SHA-256 (64 lower-case hex digits)")
	}
	return nil
}

// passkeyBytes is the base64url of a passkey line's bytes.
var passkeyBytes = base64.RawURLEncoding.Strict()

func toPasskeyRecord(p store.Passkey) passkeyRecord {
	return passkeyRecord{
		Kind: kindPasskey, ID: passkeyBytes.EncodeToString(p.ID), UserID: p.UserID, Name: p.Name,
		PublicKey:       passkeyBytes.EncodeToString(p.PublicKey),
		AttestationType: p.AttestationType,
		AAGUID:          passkeyBytes.EncodeToString(p.AAGUID),
		SignCount:       p.SignCount,
		Transports:      list(p.Transports),
		UserVerified:    p.UserVerified, BackupEligible: p.BackupEligible, BackupState: p.BackupState,
		CreatedAt: FormatTime(p.CreatedAt), LastUsedAt: formatOptionalTime(p.LastUsedAt),
	}
}

// fromPasskeyRecord converts a record to a passkey; checkPasskey
// validates the result.
func fromPasskeyRecord(r passkeyRecord) (store.Passkey, error) {
	p := store.Passkey{
		UserID: r.UserID, Name: r.Name, AttestationType: r.AttestationType, SignCount: r.SignCount,
		Transports: r.Transports, UserVerified: r.UserVerified, BackupEligible: r.BackupEligible, BackupState: r.BackupState,
	}
	for _, f := range []struct {
		name string
		s    string
		b    *[]byte
	}{{"id", r.ID, &p.ID}, {"public_key", r.PublicKey, &p.PublicKey}, {"aaguid", r.AAGUID, &p.AAGUID}} {
		b, err := passkeyBytes.DecodeString(f.s)
		if err != nil {
			return store.Passkey{}, fmt.Errorf("%s is not base64url without padding", f.name)
		}
		if len(b) > 0 { // none is nil, as the stores return it
			*f.b = b
		}
	}
	var err error
	if p.CreatedAt, err = parseTime("created_at", r.CreatedAt); err != nil {
		return store.Passkey{}, err
	}
	if p.LastUsedAt, err = parseOptionalTime("last_used_at", r.LastUsedAt); err != nil {
		return store.Passkey{}, err
	}
	return p, nil
}

// The bounds of a passkey line: a credential id of WebAuthn §5.8.3, an
// AAGUID of 16 bytes, and transports and attestation types as
// FinishPasskeyRegistration keeps them.
const (
	maxCredentialID    = 1023
	aaguidSize         = 16
	maxTransports      = 8
	maxTransport       = 32
	maxAttestationType = 64
)

// checkPasskey validates a passkey as FinishPasskeyRegistration stores
// one: a credential id, a COSE public key that WebAuthn parses, a name of
// the account page's rules.
func checkPasskey(p store.Passkey) error {
	if n := len(p.ID); n == 0 || n > maxCredentialID {
		return fmt.Errorf("id: %d bytes, want 1 to %d", n, maxCredentialID)
	}
	if err := checkUserID(p.UserID); err != nil {
		return fmt.Errorf("user_id: %w", err)
	}
	if p.Name == "" {
		return errors.New("name is empty")
	}
	if fp := account.CheckPasskeyName(p.Name); fp != nil {
		return fmt.Errorf("name: %s", fp.Msg)
	}
	if _, err := webauthncose.ParsePublicKey(p.PublicKey); err != nil {
		return errors.New("public_key is not a COSE key that WebAuthn accepts")
	}
	if len(p.AttestationType) > maxAttestationType || !plaintext.Valid(p.AttestationType) {
		return fmt.Errorf("attestation_type: want at most %d characters of plain text", maxAttestationType)
	}
	if n := len(p.AAGUID); n != 0 && n != aaguidSize {
		return fmt.Errorf("aaguid: %d bytes, want none or %d", n, aaguidSize)
	}
	if len(p.Transports) > maxTransports {
		return fmt.Errorf("transports: %d, want at most %d", len(p.Transports), maxTransports)
	}
	for _, t := range p.Transports {
		if t == "" || len(t) > maxTransport || !plaintext.Valid(t) {
			return fmt.Errorf("transports: %q is not 1 to %d bytes of plain text", t, maxTransport)
		}
	}
	return nil
}

func toClientRecord(c store.Client) clientRecord {
	return clientRecord{
		Kind: kindClient, ClientID: c.ID, Name: c.Name,
		SecretHash:             base64.StdEncoding.EncodeToString(c.SecretHash),
		Public:                 c.Public,
		RedirectURIs:           list(c.RedirectURIs),
		PostLogoutRedirectURIs: list(c.PostLogoutRedirectURIs),
		GrantTypes:             list(c.Grants),
		Scopes:                 list(c.Scopes),
		Audience:               list(c.Audience),
		Trusted:                c.Trusted,
		BackchannelLogoutURI:   c.BackchannelLogoutURI,
		RequireMFA:             c.RequireMFA,
		CreatedAt:              FormatTime(c.CreatedAt),
		UpdatedAt:              FormatTime(c.UpdatedAt),
	}
}

// fromClientRecord converts a record to a client; checkClient validates
// the result.
func fromClientRecord(r clientRecord) (store.Client, error) {
	hash, err := base64.StdEncoding.Strict().DecodeString(r.SecretHash)
	if err != nil {
		return store.Client{}, errors.New("secret_hash is not standard base64")
	}
	c := store.Client{
		ID: r.ClientID, Name: r.Name, SecretHash: hash, Public: r.Public,
		RedirectURIs: r.RedirectURIs, PostLogoutRedirectURIs: r.PostLogoutRedirectURIs,
		Grants: r.GrantTypes, Scopes: r.Scopes, Audience: r.Audience, Trusted: r.Trusted,
		BackchannelLogoutURI: r.BackchannelLogoutURI, RequireMFA: r.RequireMFA,
	}
	if c.CreatedAt, err = parseTime("created_at", r.CreatedAt); err != nil {
		return store.Client{}, err
	}
	if c.UpdatedAt, err = parseTime("updated_at", r.UpdatedAt); err != nil {
		return store.Client{}, err
	}
	return c, nil
}

// maxClientID bounds a client id: clients add makes 26 characters.
const maxClientID = 255

// checkClientID returns what is wrong with a client id, or "" (RFC 6749
// Appendix A.1 allows space too, but a client id with one is a mistake).
func checkClientID(id string) string { return checkPrintable(id, maxClientID) }

// checkPrintable returns what is wrong with an identifier, or "": it must
// be 1 to max printable ASCII characters without space.
func checkPrintable(s string, max int) string {
	if s == "" || len(s) > max {
		return fmt.Sprintf("want 1 to %d characters", max)
	}
	for _, ch := range []byte(s) {
		if ch < 0x21 || ch > 0x7e {
			return "only printable ASCII without space"
		}
	}
	return ""
}

// checkSecretHash returns what is wrong with a client's stored secret
// hash, or "": none for a public client, a SHA-256 for a confidential one,
// as clients add makes them.
func checkSecretHash(c store.Client) string {
	switch {
	case c.Public && len(c.SecretHash) != 0:
		return "secret_hash: a public client has no secret"
	case !c.Public && len(c.SecretHash) != sha256.Size:
		return fmt.Sprintf("secret_hash: %d bytes, want the %d of a SHA-256", len(c.SecretHash), sha256.Size)
	}
	return ""
}

func toConsentRecord(c store.Consent) consentRecord {
	return consentRecord{Kind: kindConsent, UserID: c.UserID, ClientID: c.ClientID, Scopes: list(c.Scopes), CreatedAt: FormatTime(c.CreatedAt)}
}

// fromConsentRecord converts a record to a consent; checkConsent validates
// the result.
func fromConsentRecord(r consentRecord) (store.Consent, error) {
	c := store.Consent{UserID: r.UserID, ClientID: r.ClientID, Scopes: r.Scopes}
	var err error
	if c.CreatedAt, err = parseTime("created_at", r.CreatedAt); err != nil {
		return store.Consent{}, err
	}
	return c, nil
}

// checkConsent validates a consent: the ids of a user and a client, and
// scope tokens, each once, as the authorization endpoint parses them.
func checkConsent(c store.Consent) error {
	if err := checkUserID(c.UserID); err != nil {
		return fmt.Errorf("user_id: %w", err)
	}
	if p := checkClientID(c.ClientID); p != "" {
		return fmt.Errorf("client_id: %s", p)
	}
	if parts, err := oauth2.ParseScope(strings.Join(c.Scopes, " ")); err != nil || len(parts) != len(c.Scopes) {
		return errors.New("scopes: not distinct scope tokens (RFC 6749 §3.3: printable ASCII without space, \" or \\)")
	}
	return nil
}

func toRevocationRecord(r store.Revocation) revocationRecord {
	return revocationRecord{Kind: kindRevocation, Type: r.Kind, Value: r.Value, ExpiresAt: FormatTime(r.ExpiresAt)}
}

// fromRevocationRecord converts a record to a revocation; checkRevocation
// validates the result.
func fromRevocationRecord(r revocationRecord) (store.Revocation, error) {
	rv := store.Revocation{Kind: r.Type, Value: r.Value}
	var err error
	if rv.ExpiresAt, err = parseTime("expires_at", r.ExpiresAt); err != nil {
		return store.Revocation{}, err
	}
	return rv, nil
}

// maxRevocationValue bounds what a revocation names: a jti or a family,
// which inkan makes of 43 characters.
const maxRevocationValue = 255

// checkRevocation accepts a type of lower-case letters (the server's kinds,
// whichever it adds) and a value of 1 to 255 printable ASCII characters.
func checkRevocation(r store.Revocation) error {
	if r.Kind == "" || strings.ContainsFunc(r.Kind, func(c rune) bool { return c < 'a' || c > 'z' }) {
		return fmt.Errorf("type %q is not a revocation type such as jti or family", r.Kind)
	}
	if p := checkPrintable(r.Value, maxRevocationValue); p != "" {
		return fmt.Errorf("value: %s", p)
	}
	return nil
}

// checkUserID accepts a UUID in canonical form, as inkan makes them.
func checkUserID(id string) error {
	if !account.IsID(id) {
		return fmt.Errorf("%q is not a UUID in canonical form", id)
	}
	return nil
}

// checkPasswordHash accepts a hash that password verifies (bcrypt or
// argon2id), never a password itself.
func checkPasswordHash(hash string) error {
	if err := password.Check(hash); err != nil {
		return fmt.Errorf("password_hash: %w", err)
	}
	return nil
}

// list returns l, or an empty list for nil, so that records never hold null.
func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// recordFields returns the fields of a record type: by json name, whether
// it is required (not omitempty).
func recordFields(t reflect.Type) map[string]bool {
	fields := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields[name] = !strings.Contains(opts, "omitempty")
	}
	return fields
}

// differing returns the json names of the fields in which two records of
// one type differ.
func differing[R any](a, b R) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var diff []string
	for i := range va.NumField() {
		f := va.Type().Field(i)
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			diff = append(diff, name)
		}
	}
	return diff
}
