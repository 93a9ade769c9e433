package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// Limits of the user fields (NIST SP 800-63B for the password).
const (
	maxNameRunes     = 64
	maxEmailBytes    = 254
	minPasswordBytes = 8
	maxPasswordBytes = 1024
)

type userResponse struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// handleSignup is POST /user: {name, email, password} → 201 with the user.
func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) error {
	if !s.opts.Signup {
		return detailf(http.StatusForbidden, "Signup is disabled")
	}
	fields, err := readJSONObject(w, r)
	if err != nil {
		return err
	}
	m := s.opts.Metrics.signups
	// An invalid registration answers 422 before it costs a throttle row
	// or a hash: it creates nothing and tells nothing of who is registered.
	in, problems := ValidateSignup(fields)
	if len(problems) > 0 {
		m.WithLabelValues(resultInvalid).Inc()
		return &detailError{status: http.StatusUnprocessableEntity, detail: problems}
	}
	// Every valid attempt counts: a 409 answers whether an email is
	// registered, so probing for them is what this budget slows down.
	if _, err := s.throttle(r.Context(), s.signupKeys(r)...); err != nil {
		if errors.Is(err, errThrottled) {
			m.WithLabelValues(resultThrottled).Inc()
		}
		return err
	}
	hash, err := s.opts.Passwords.Hash(r.Context(), in.Password)
	if errors.Is(err, errHashBusy) {
		m.WithLabelValues(resultBusy).Inc()
		return errBusy
	}
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	now := s.opts.Now().UTC().Truncate(time.Microsecond)
	u := store.User{
		ID: uuid.NewString(), Name: in.Name, Email: in.Email, PasswordHash: hash,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := s.opts.Store.CreateUser(r.Context(), u); errors.Is(err, store.ErrConflict) {
		m.WithLabelValues(resultConflict).Inc()
		return detailf(http.StatusConflict, "Email already registered")
	} else if err != nil {
		return err
	}
	m.WithLabelValues(resultSuccess).Inc()
	s.opts.Logger.InfoContext(r.Context(), "user registered", "sub", u.ID)
	writeJSON(w, http.StatusCreated, userResponse{ID: u.ID, Name: u.Name, Email: u.Email, CreatedAt: u.CreatedAt})
	return nil
}

// readJSONObject reads a JSON object body of at most maxBodyBytes, keeping
// each member raw for validation.
func readJSONObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return nil, detailf(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, detailf(http.StatusUnsupportedMediaType, "JSON must be UTF-8")
	}
	tooLarge := detailf(http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body exceeds %d bytes", maxBodyBytes))
	if r.ContentLength > maxBodyBytes {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge
	} else if err != nil {
		return nil, detailf(http.StatusBadRequest, "Could not read the request body")
	}
	if !json.Valid(body) {
		return nil, detailf(http.StatusBadRequest, "Malformed JSON in the request body")
	}
	if !utf8.Valid(body) { // RFC 8259 §8.1; the decoder would make U+FFFD of it
		return nil, detailf(http.StatusBadRequest, "The request body is not valid UTF-8")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, &detailError{status: http.StatusUnprocessableEntity, detail: []fieldError{{
			Loc: []string{"body"}, Type: "model_attributes_type",
			Msg: "Input should be a valid dictionary or object to extract fields from",
		}}}
	}
	return fields, nil
}

// SignupInput is a validated, normalised registration.
type SignupInput struct {
	Name     string
	Email    string
	Password string
}

// ValidateSignup checks name, email and password and reports every problem
// in FastAPI's 422 shape. The password never appears in a message.
func ValidateSignup(fields map[string]json.RawMessage) (SignupInput, []fieldError) {
	var in SignupInput
	var problems []fieldError
	str := func(name string) (string, bool) {
		raw, ok := fields[name]
		if !ok {
			problems = append(problems, fieldError{Loc: []string{"body", name}, Msg: "Field required", Type: "missing"})
			return "", false
		}
		var v string
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) || json.Unmarshal(raw, &v) != nil {
			problems = append(problems, fieldError{Loc: []string{"body", name}, Msg: "Input should be a valid string", Type: "string_type"})
			return "", false
		}
		return v, true
	}
	add := func(name, typ, msg string) {
		problems = append(problems, fieldError{Loc: []string{"body", name}, Msg: msg, Type: typ})
	}
	if v, ok := str("name"); ok {
		in.Name = strings.TrimSpace(v)
		if err := CheckName(in.Name); err != nil {
			add("name", err.Type, err.Msg)
		}
	}
	if v, ok := str("email"); ok {
		in.Email = NormalizeEmail(v)
		if err := CheckEmail(in.Email); err != nil {
			add("email", err.Type, err.Msg)
		}
	}
	if v, ok := str("password"); ok {
		in.Password = v
		if err := CheckPassword(in.Password); err != nil {
			add("password", err.Type, err.Msg)
		}
	}
	return in, problems
}

// FieldProblem says what is wrong with one field.
type FieldProblem struct{ Type, Msg string }

// CheckName accepts 1 to 64 characters without control characters.
func CheckName(name string) *FieldProblem {
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return &FieldProblem{"value_error", "Name must be valid UTF-8"}
	case n < 1:
		return &FieldProblem{"string_too_short", "String should have at least 1 character"}
	case n > maxNameRunes:
		return &FieldProblem{"string_too_long", fmt.Sprintf("String should have at most %d characters", maxNameRunes)}
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return &FieldProblem{"value_error", "Name must not contain control characters"}
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

// CheckEmail accepts a plain addr-spec (RFC 5322) with a dotted domain, at
// most 254 bytes.
func CheckEmail(email string) *FieldProblem {
	bad := func(why string) *FieldProblem {
		return &FieldProblem{"value_error", "value is not a valid email address: " + why}
	}
	if len(email) > maxEmailBytes {
		return bad(fmt.Sprintf("longer than %d characters", maxEmailBytes))
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
			if !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '-') {
				return bad("the domain name is not valid")
			}
		}
	}
	return nil
}

// CheckPassword accepts 8 to 1024 bytes that are not one of the most
// common passwords (NIST SP 800-63B).
func CheckPassword(pw string) *FieldProblem {
	switch {
	case len(pw) < minPasswordBytes:
		return &FieldProblem{"string_too_short", fmt.Sprintf("Password should have at least %d characters", minPasswordBytes)}
	case len(pw) > maxPasswordBytes:
		return &FieldProblem{"string_too_long", fmt.Sprintf("Password should have at most %d bytes", maxPasswordBytes)}
	case password.IsCommon(pw):
		return &FieldProblem{"value_error", "Password is too common: it appears in lists of leaked passwords"}
	}
	return nil
}
