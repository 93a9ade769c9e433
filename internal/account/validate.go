package account

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/plaintext"
)

// Limits of the user fields (NIST SP 800-63B §5.1.1.2 for the password).
const (
	MaxNameRunes     = 64
	MaxEmailBytes    = 254
	MinPasswordBytes = 8
	MaxPasswordBytes = 1024
)

// SignupInput is a validated, normalised registration.
type SignupInput struct {
	Name     string
	Email    string
	Password string
}

// FieldProblem says what is wrong with one field: the field's name, and a
// type and message in FastAPI's 422 vocabulary (the tutorial's routes
// render them as they are). The message never holds the password.
type FieldProblem struct{ Field, Type, Msg string }

// ValidateSignup checks the name, email and password members of a JSON
// object and reports every problem, in the order name, email, password.
// The name is trimmed and the email normalised (NormalizeEmail). The
// password never appears in a message.
func ValidateSignup(fields map[string]json.RawMessage) (SignupInput, []FieldProblem) {
	var in SignupInput
	var problems []FieldProblem
	str := func(name string) (string, bool) {
		raw, ok := fields[name]
		if !ok {
			problems = append(problems, FieldProblem{Field: name, Type: "missing", Msg: "Field required"})
			return "", false
		}
		var v string
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) || json.Unmarshal(raw, &v) != nil {
			problems = append(problems, FieldProblem{Field: name, Type: "string_type", Msg: "Input should be a valid string"})
			return "", false
		}
		return v, true
	}
	add := func(p *FieldProblem) {
		if p != nil {
			problems = append(problems, *p)
		}
	}
	if v, ok := str("name"); ok {
		in.Name = strings.TrimSpace(v)
		add(CheckName(in.Name))
	}
	if v, ok := str("email"); ok {
		in.Email = NormalizeEmail(v)
		add(CheckEmail(in.Email))
	}
	if v, ok := str("password"); ok {
		in.Password = v
		add(CheckPassword(in.Password))
	}
	return in, problems
}

// CheckName accepts 1 to 64 characters without control characters.
func CheckName(name string) *FieldProblem {
	bad := func(typ, msg string) *FieldProblem { return &FieldProblem{Field: "name", Type: typ, Msg: msg} }
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return bad("value_error", "Name must be valid UTF-8")
	case n < 1:
		return bad("string_too_short", "String should have at least 1 character")
	case n > MaxNameRunes:
		return bad("string_too_long", fmt.Sprintf("String should have at most %d characters", MaxNameRunes))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return bad("value_error", "Name must not contain control characters")
	}
	return nil
}

// NormalizeEmail is the form an email is stored, looked up and compared in,
// by every way in (registration, the three password logins, the CLI,
// import): trimmed, lower-cased, then in Unicode Normalization Form C, so
// that "é" typed precomposed or as e and a combining accent is one address
// (RFC 6532 §3.1; case mapping before normalisation as in RFC 8265 §3.4).
// Its result is valid UTF-8, and NormalizeEmail(NormalizeEmail(e)) ==
// NormalizeEmail(e).
func NormalizeEmail(email string) string {
	return norm.NFC.String(strings.ToLower(strings.TrimSpace(email)))
}

// CheckEmail accepts a plain addr-spec (RFC 5322 §3.4.1) with a dotted
// domain, at most 254 bytes (RFC 5321 §4.5.3.1.3's path less its brackets).
func CheckEmail(email string) *FieldProblem {
	bad := func(why string) *FieldProblem {
		return &FieldProblem{Field: "email", Type: "value_error", Msg: "value is not a valid email address: " + why}
	}
	if len(email) > MaxEmailBytes {
		return bad(fmt.Sprintf("longer than %d characters", MaxEmailBytes))
	}
	if !plaintext.Valid(email) {
		return bad("it contains control characters or invalid UTF-8")
	}
	at := strings.LastIndexByte(email, '@')
	if at < 1 || at == len(email)-1 {
		return bad("an email address must have an @-sign with text on both sides")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return bad("it is not a plain address such as name@example.com")
	}
	local, domain := email[:at], email[at+1:]
	if len(local) > 64 {
		return bad("the part before the @-sign is longer than 64 characters")
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return bad("the domain name must contain a dot")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return bad("the domain name is not valid")
		}
		for _, c := range l {
			if !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '-' {
				return bad("the domain name is not valid")
			}
		}
	}
	return nil
}

// CheckPassword accepts 8 to 1024 bytes that are not one of the most
// common passwords (password.IsCommon; NIST SP 800-63B §5.1.1.2).
func CheckPassword(pw string) *FieldProblem {
	bad := func(typ, msg string) *FieldProblem { return &FieldProblem{Field: "password", Type: typ, Msg: msg} }
	switch {
	case len(pw) < MinPasswordBytes:
		return bad("string_too_short", fmt.Sprintf("Password should have at least %d characters", MinPasswordBytes))
	case len(pw) > MaxPasswordBytes:
		return bad("string_too_long", fmt.Sprintf("Password should have at most %d bytes", MaxPasswordBytes))
	case password.IsCommon(pw):
		return bad("value_error", "Password is too common: it appears in lists of leaked passwords")
	}
	return nil
}
