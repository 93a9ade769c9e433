package backup

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/password"
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
	kindKey        = "key"
	kindUser       = "user"
	kindClient     = "client"
	kindConsent    = "consent"
	kindRevocation = "revocation"
)

// kindOrder is the order of an export: a line refers only to lines before
// it (a consent to its user and client), so import writes in this order.
var kindOrder = []string{kindKey, kindUser, kindClient, kindConsent, kindRevocation}

// recordTypes maps each kind to its record type.
var recordTypes = map[string]reflect.Type{
	kindKey:        reflect.TypeFor[keyRecord](),
	kindUser:       reflect.TypeFor[userRecord](),
	kindClient:     reflect.TypeFor[clientRecord](),
	kindConsent:    reflect.TypeFor[consentRecord](),
	kindRevocation: reflect.TypeFor[revocationRecord](),
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
