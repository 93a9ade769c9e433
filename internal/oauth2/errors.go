// Package oauth2 holds the protocol pieces of inkan's OAuth 2.0 server
// (RFC 6749, RFC 7636, RFC 9700): errors as values, client authentication,
// PKCE, scopes and redirect-URI matching. HTTP handlers compute with these
// and one writer renders the errors (RFC 6749 §5.2).
package oauth2

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes of RFC 6749 §4.1.2.1 and §5.2 that inkan answers.
const (
	InvalidRequest          = "invalid_request"
	InvalidClient           = "invalid_client"
	InvalidGrant            = "invalid_grant"
	UnauthorizedClient      = "unauthorized_client"
	UnsupportedGrantType    = "unsupported_grant_type"
	InvalidScope            = "invalid_scope"
	AccessDenied            = "access_denied"
	UnsupportedResponseType = "unsupported_response_type"
	LoginRequired           = "login_required"   // OpenID Connect Core §3.1.2.6
	ConsentRequired         = "consent_required" // OpenID Connect Core §3.1.2.6
	ServerError             = "server_error"
	TemporarilyUnavailable  = "temporarily_unavailable"
)

// Error is an OAuth 2.0 error response. Description is shown to the client
// and must never hold a secret or internal detail.
type Error struct {
	Code        string
	Description string
	// Status is the HTTP status; zero means 400, or 401 for invalid_client.
	Status int
	// RetryAfter, in seconds, for throttled or busy answers.
	RetryAfter int
}

func (e *Error) Error() string { return "oauth2: " + e.Code + ": " + e.Description }

// HTTPStatus is the status to answer with.
func (e *Error) HTTPStatus() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.Code == InvalidClient:
		return http.StatusUnauthorized
	case e.Code == ServerError:
		return http.StatusInternalServerError
	case e.Code == TemporarilyUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// Errorf returns an *Error with a formatted description.
func Errorf(code, format string, a ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, a...)}
}

// AsError returns err as an *Error, or a server_error that says nothing of
// err (which the caller logs).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: ServerError, Description: "the server could not answer"}
}
