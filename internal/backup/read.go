package backup

import (
	"bufio"
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
)

// MaxLineBytes bounds one line of an export file.
const MaxLineBytes = 1 << 20

// maxProblems is how many bad lines Read reports before giving up.
const maxProblems = 20

// checkUser validates a user as signup and "users add" do
// (account.CheckName, account.CheckEmail), and its password hash.
func checkUser(u store.User) error {
	if p := account.CheckName(u.Name); p != nil {
		return fmt.Errorf("name: %s", p.Msg)
	}
	if p := account.CheckEmail(u.Email); p != nil {
		return fmt.Errorf("email: %s", p.Msg)
	}
	return checkPasswordHash(u.PasswordHash)
}

// checkClient validates a client as "clients add" does (the same code:
// oauth2.Registration.Check), and also refuses what clients add would
// have stored otherwise (a default filled in, a name trimmed), so that an
// import stores exactly what its file says. The id and secret hash, which
// clients add makes, must look like what it makes.
func checkClient(c store.Client) error {
	valid, found := oauth2.Registration{
		Name: c.Name, RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		Grants: c.Grants, Scopes: c.Scopes, Audience: c.Audience,
		BackchannelLogoutURI: c.BackchannelLogoutURI, Public: c.Public, Trusted: c.Trusted, RequireMFA: c.RequireMFA,
	}.Check()
	var problems []string
	for _, p := range found {
		problems = append(problems, p.String())
	}
	if p := checkClientID(c.ID); p != "" {
		problems = append(problems, "client_id: "+p)
	}
	if p := checkSecretHash(c); p != "" {
		problems = append(problems, p)
	}
	if len(problems) == 0 {
		valid.ID, valid.SecretHash, valid.CreatedAt, valid.UpdatedAt = c.ID, c.SecretHash, c.CreatedAt, c.UpdatedAt
		for _, f := range differing(toClientRecord(c), toClientRecord(valid)) {
			problems = append(problems, f+": clients add would store it otherwise (empty, or with spaces around it)")
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// File is a whole export that Read checked, ready for Import.
type File struct {
	keys     []keyRow
	users    []row[store.User]
	totps    []row[store.TOTP] // Secret is the plaintext secret
	codes    []row[store.RecoveryCode]
	passkeys []row[store.Passkey]
	clients  []row[store.Client]
	consents []row[store.Consent]
	revoked  []row[store.Revocation]
}

// keyRow is a checked key line.
type keyRow struct {
	line int
	row  store.SigningKey // PrivateKey is the plaintext PKCS#8 DER
	priv crypto.Signer
}

// row is a checked line of another kind.
type row[T any] struct {
	line int
	row  T
}

// Counts counts the file's rows by kind.
func (f *File) Counts() Counts {
	return Counts{
		Keys: len(f.keys), Users: len(f.users), TOTPs: len(f.totps), RecoveryCodes: len(f.codes), Passkeys: len(f.passkeys),
		Clients: len(f.clients), Consents: len(f.consents), Revocations: len(f.revoked),
	}
}

// Read reads and checks every line of an export: JSON objects of a known
// kind with exactly the kind's fields, rows that hold to the rules of
// signup and "inkan clients add" (emails normalised as signup does) and of
// second factors as the account service makes them, and no row twice (by
// kid, id, client id, email, user and client, the user of a TOTP, user and
// hash, credential id), a user's recovery codes made at one time. It reports
// up to 20 bad lines, each by number, in an error that begins
// "nothing imported". An export of an earlier release, which lacks kinds
// and optional fields, reads too.
func Read(r io.Reader) (*File, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes+2) // room for "\r\n"
	var (
		f        File
		problems []error
		seen     = map[string]int{} // kind and key of a row → its line
		emails   = map[string]int{}
		codesOf  = map[string]row[store.RecoveryCode]{} // a user's first code line
		n        int
	)
	bad := func(line int, format string, a ...any) {
		problems = append(problems, fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, a...)))
	}
	// first records the row's key, reporting a duplicate.
	first := func(kind, what, key string) bool {
		if line, dup := seen[kind+"\x00"+key]; dup {
			bad(n, "%s is on line %d already", what, line)
			return false
		}
		seen[kind+"\x00"+key] = n
		return true
	}
	for sc.Scan() && len(problems) < maxProblems {
		n++
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if len(line) > MaxLineBytes {
			bad(n, "longer than %d bytes", MaxLineBytes)
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !utf8.Valid(line) { // the JSON decoder would make U+FFFD of it
			bad(n, "not valid UTF-8")
			continue
		}
		kind, err := checkFields(line)
		if err != nil {
			bad(n, "%v", err)
			continue
		}
		switch kind {
		case kindKey:
			k, err := parseKeyRecord(line)
			if err != nil {
				bad(n, "key: %v", err)
			} else if first(kind, "key "+k.row.ID, k.row.ID) {
				k.line = n
				f.keys = append(f.keys, k)
			}
		case kindUser:
			u, err := parseUserRecord(line)
			switch {
			case err != nil:
				bad(n, "user: %v", err)
			case emails[u.Email] != 0:
				bad(n, "user email %s is on line %d already", u.Email, emails[u.Email])
			case first(kind, "user "+u.ID, u.ID):
				emails[u.Email] = n
				f.users = append(f.users, row[store.User]{n, u})
			}
		case kindTOTP:
			t, err := parseTOTPRecord(line)
			if err != nil {
				bad(n, "totp: %v", err)
			} else if first(kind, "the TOTP of user "+t.UserID, t.UserID) {
				f.totps = append(f.totps, row[store.TOTP]{n, t})
			}
		case kindRecoveryCode:
			c, err := parseRecoveryCodeRecord(line)
			switch {
			case err != nil:
				bad(n, "recovery_code: %v", err)
			case codesOf[c.UserID].line != 0 && !codesOf[c.UserID].row.CreatedAt.Equal(c.CreatedAt):
				bad(n, "recovery_code of user %s: created_at differs from line %d's: a user's codes are made together", c.UserID, codesOf[c.UserID].line)
			case first(kind, "recovery code "+c.Hash+" of user "+c.UserID, c.UserID+"\x00"+c.Hash):
				if codesOf[c.UserID].line == 0 {
					codesOf[c.UserID] = row[store.RecoveryCode]{n, c}
				}
				f.codes = append(f.codes, row[store.RecoveryCode]{n, c})
			}
		case kindPasskey:
			p, err := parsePasskeyRecord(line)
			if id := passkeyBytes.EncodeToString(p.ID); err != nil {
				bad(n, "passkey: %v", err)
			} else if first(kind, "passkey "+id, id) {
				f.passkeys = append(f.passkeys, row[store.Passkey]{n, p})
			}
		case kindClient:
			c, err := parseClientRecord(line)
			if err != nil {
				bad(n, "client: %v", err)
			} else if first(kind, "client "+c.ID, c.ID) {
				f.clients = append(f.clients, row[store.Client]{n, c})
			}
		case kindConsent:
			c, err := parseConsentRecord(line)
			if err != nil {
				bad(n, "consent: %v", err)
			} else if first(kind, "the consent of user "+c.UserID+" to client "+c.ClientID, c.UserID+"\x00"+c.ClientID) {
				f.consents = append(f.consents, row[store.Consent]{n, c})
			}
		case kindRevocation:
			r, err := parseRevocationRecord(line)
			if err != nil {
				bad(n, "revocation: %v", err)
			} else if first(kind, "the revocation of "+r.Kind+" "+r.Value, r.Kind+"\x00"+r.Value) {
				f.revoked = append(f.revoked, row[store.Revocation]{n, r})
			}
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		bad(n+1, "longer than %d bytes", MaxLineBytes)
	} else if err != nil {
		return nil, err
	}
	if len(problems) >= maxProblems {
		problems = append(problems, fmt.Errorf("stopped checking after %d bad lines", maxProblems))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("nothing imported:\n%w", errors.Join(problems...))
	}
	return &f, nil
}

// kindFields holds each kind's fields, by json name, and whether they are
// required (see records.go).
var kindFields = func() map[string]map[string]bool {
	m := map[string]map[string]bool{}
	for kind, t := range recordTypes {
		m[kind] = recordFields(t)
	}
	return m
}()

// checkFields checks that line is one JSON object with a known kind, the
// kind's required fields, non-null, and no other field (names match
// exactly, unlike encoding/json's), and returns the kind.
func checkFields(line []byte) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return "", fmt.Errorf("not a JSON object: %w", err)
	}
	var kind string
	if raw, ok := obj["kind"]; !ok {
		return "", errors.New(`no "kind"`)
	} else if err := json.Unmarshal(raw, &kind); err != nil {
		return "", fmt.Errorf(`"kind" is not a string: %s`, raw)
	}
	fields, ok := kindFields[kind]
	if !ok {
		return "", fmt.Errorf("unknown kind %q (want one of %s)", kind, strings.Join(kindOrder, ", "))
	}
	for name := range obj {
		if _, ok := fields[name]; !ok {
			return "", fmt.Errorf("%s: unknown field %q", kind, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		raw, ok := obj[name]
		if fields[name] && (!ok || string(raw) == "null") {
			return "", fmt.Errorf("%s: %q is required", kind, name)
		}
	}
	return kind, nil
}

func parseKeyRecord(line []byte) (keyRow, error) {
	var rec keyRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return keyRow{}, err
	}
	if rec.KID == "" {
		return keyRow{}, errors.New(`"kid" is empty`)
	}
	der, err := base64.StdEncoding.Strict().DecodeString(rec.PrivateKey)
	if err != nil {
		return keyRow{}, fmt.Errorf("%s: private_key is not standard base64", rec.KID)
	}
	priv, err := keys.ParsePKCS8(der)
	if err != nil {
		return keyRow{}, fmt.Errorf("%s: private_key: %w", rec.KID, err)
	}
	if err := keys.CheckAlgorithm(priv.Public(), rec.Alg); err != nil {
		return keyRow{}, fmt.Errorf("%s: %w", rec.KID, err)
	}
	if kid, err := keys.Thumbprint(priv.Public()); err != nil {
		return keyRow{}, fmt.Errorf("%s: %w", rec.KID, err)
	} else if kid != rec.KID {
		return keyRow{}, fmt.Errorf("kid %s is not the thumbprint of its key (%s)", rec.KID, kid)
	}
	// Store the canonical encoding, whatever produced the file.
	if der, err = keys.MarshalPKCS8(priv); err != nil {
		return keyRow{}, fmt.Errorf("%s: %w", rec.KID, err)
	}
	row := store.SigningKey{ID: rec.KID, Algorithm: rec.Alg, PrivateKey: der}
	if row.CreatedAt, err = parseTime("created_at", rec.CreatedAt); err != nil {
		return keyRow{}, fmt.Errorf("%s: %w", rec.KID, err)
	}
	if row.ActivatedAt, err = parseTime("activated_at", rec.ActivatedAt); err != nil {
		return keyRow{}, fmt.Errorf("%s: %w", rec.KID, err)
	}
	if row.RevokedAt, err = parseOptionalTime("revoked_at", rec.RevokedAt); err != nil {
		return keyRow{}, fmt.Errorf("%s: %w", rec.KID, err)
	}
	return keyRow{row: row, priv: priv}, nil
}

// parseUserRecord reads a user line, normalising the email as signup does.
func parseUserRecord(line []byte) (store.User, error) {
	var rec userRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return store.User{}, err
	}
	if err := checkUserID(rec.ID); err != nil {
		return store.User{}, fmt.Errorf("id %w", err)
	}
	u, err := fromUserRecord(rec)
	if err == nil {
		u.Email = account.NormalizeEmail(u.Email)
		err = checkUser(u)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("%s: %w", rec.ID, err)
	}
	return u, nil
}

func parseTOTPRecord(line []byte) (store.TOTP, error) {
	var rec totpRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return store.TOTP{}, err
	}
	t, err := fromTOTPRecord(rec)
	if err == nil {
		err = checkTOTP(t)
	}
	if err != nil {
		return store.TOTP{}, fmt.Errorf("of user %s: %w", rec.UserID, err)
	}
	return t, nil
}

func parseRecoveryCodeRecord(line []byte) (store.RecoveryCode, error) {
	var rec recoveryCodeRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return store.RecoveryCode{}, err
	}
	c, err := fromRecoveryCodeRecord(rec)
	if err == nil {
		err = checkRecoveryCode(c)
	}
	if err != nil {
		return store.RecoveryCode{}, fmt.Errorf("of user %s: %w", rec.UserID, err)
	}
	return c, nil
}

func parsePasskeyRecord(line []byte) (store.Passkey, error) {
	var rec passkeyRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return store.Passkey{}, err
	}
	p, err := fromPasskeyRecord(rec)
	if err == nil {
		err = checkPasskey(p)
	}
	if err != nil {
		return store.Passkey{}, fmt.Errorf("%q of user %s: %w", rec.ID, rec.UserID, err)
	}
	return p, nil
}

func parseClientRecord(line []byte) (store.Client, error) {
	var rec clientRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return store.Client{}, err
	}
	c, err := fromClientRecord(rec)
	if err == nil {
		err = checkClient(c)
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("%q: %w", rec.ClientID, err)
	}
	return c, nil
}

func parseConsentRecord(line []byte) (store.Consent, error) {
	var rec consentRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return store.Consent{}, err
	}
	c, err := fromConsentRecord(rec)
	if err == nil {
		err = checkConsent(c)
	}
	if err != nil {
		return store.Consent{}, fmt.Errorf("of user %s to client %q: %w", rec.UserID, rec.ClientID, err)
	}
	return c, nil
}

func parseRevocationRecord(line []byte) (store.Revocation, error) {
	var rec revocationRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return store.Revocation{}, err
	}
	r, err := fromRevocationRecord(rec)
	if err == nil {
		err = checkRevocation(r)
	}
	if err != nil {
		return store.Revocation{}, fmt.Errorf("%s %q: %w", rec.Type, rec.Value, err)
	}
	return r, nil
}
