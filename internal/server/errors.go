package server

import (
	"encoding/json"
	"net/http"
)

// detailError is an error on the tutorial's routes, rendered in FastAPI's
// shape {"detail": ...} by writeDetailError, the one writer for them.
type detailError struct {
	status int
	detail any            // a string, or []fieldError for 422
	header [2]string      // an optional header: name, value
	extra  map[string]any // members of the body besides detail
}

func (e *detailError) Error() string {
	if s, ok := e.detail.(string); ok {
		return s
	}
	return http.StatusText(e.status)
}

func detailf(status int, detail string) *detailError {
	return &detailError{status: status, detail: detail}
}

// fieldError is one item of FastAPI's 422 body.
type fieldError struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

// Fixed failures of the tutorial's routes.
var (
	errBadCredentials = &detailError{
		status: http.StatusUnauthorized,
		detail: "Incorrect email or password",
		header: [2]string{"WWW-Authenticate", `Basic realm="inkan"`},
	}
	errNoToken = &detailError{
		status: http.StatusUnauthorized,
		detail: "Could not validate token",
		header: [2]string{"WWW-Authenticate", "Bearer"},
	}
	errBadToken = &detailError{
		status: http.StatusUnauthorized,
		detail: "Could not validate token",
		header: [2]string{"WWW-Authenticate", `Bearer error="invalid_token"`},
	}
	errInternal = detailf(http.StatusInternalServerError, "Internal Server Error")
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"detail":"Internal Server Error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// noStore forbids caching an answer that holds a token or a user's data
// (RFC 6749 §5.1).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

func writeDetailError(w http.ResponseWriter, e *detailError) {
	if e.header[0] != "" {
		w.Header().Set(e.header[0], e.header[1])
	}
	body := map[string]any{"detail": e.detail}
	for k, v := range e.extra {
		body[k] = v
	}
	writeJSON(w, e.status, body)
}
