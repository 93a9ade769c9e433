package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inkan-dev/inkan/internal/account"
)

type userResponse struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// handleSignup is POST /user: {name, email, password} → 201 with the user.
func (t *tutorial) handleSignup(w http.ResponseWriter, r *http.Request) error {
	if !t.signup {
		return detailf(http.StatusForbidden, "Signup is disabled")
	}
	fields, err := readJSONObject(w, r)
	if err != nil {
		return err
	}
	m := t.metrics.signups
	// An invalid registration answers 422 before it costs a throttle row
	// or a hash: it creates nothing and tells nothing of who is registered.
	in, problems := account.ValidateSignup(fields)
	if len(problems) > 0 {
		m.WithLabelValues(resultInvalid).Inc()
		return &detailError{status: http.StatusUnprocessableEntity, detail: fieldErrors(problems)}
	}
	u, err := t.accounts.Register(r.Context(), in, t.proxies.clientIP(r))
	var te *account.ThrottledError
	switch {
	case errors.As(err, &te):
		m.WithLabelValues(resultThrottled).Inc()
	case errors.Is(err, account.ErrBusy):
		m.WithLabelValues(resultBusy).Inc()
	case errors.Is(err, account.ErrEmailTaken):
		m.WithLabelValues(resultConflict).Inc()
	case err == nil:
		m.WithLabelValues(resultSuccess).Inc()
	}
	if err != nil {
		return tutorialError(err)
	}
	t.sendVerification(r, u)
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

// fieldErrors are the account service's field problems in FastAPI's 422
// shape, each located in the body.
func fieldErrors(problems []account.FieldProblem) []fieldError {
	out := make([]fieldError, len(problems))
	for i, p := range problems {
		out[i] = fieldError{Loc: []string{"body", p.Field}, Msg: p.Msg, Type: p.Type}
	}
	return out
}
