// Package oauth2 holds the protocol of inkan's OAuth 2.0 server (RFC 6749,
// RFC 7636, RFC 7009, RFC 7662, RFC 9700): the token endpoint's grants, the
// Issuer of what they return, the refresh-token policy, revocation and
// introspection, client authentication, PKCE, scopes, redirect-URI
// matching, and errors as values. None of it sees an *http.Request but
// ReadCredentials: the server parses each request once into a value
// (TokenRequest), calls in, and one writer renders the errors (RFC 6749
// §5.2).
package oauth2

import (
	"errors"
	"fmt"
	"log/slog"
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
	LoginRequired           = "login_required"       // OpenID Connect Core §3.1.2.6
	ConsentRequired         = "consent_required"     // OpenID Connect Core §3.1.2.6
	InteractionRequired     = "interaction_required" // OpenID Connect Core §3.1.2.6: a second factor is owed
	ServerError             = "server_error"
	TemporarilyUnavailable  = "temporarily_unavailable"
)

// Error is an OAuth 2.0 error response. Description is shown to the client
// and must never hold a secret or internal detail; Cause, which may, is for
// the logs only: Error() includes it, and no writer sends Error().
type Error struct {
	Code        string
	Description string
	// Status is the HTTP status; zero means 400, or 401 for invalid_client.
	Status int
	// RetryAfter, in seconds, for throttled or busy answers.
	RetryAfter int
	// Cause is the error behind this answer, if any: a store failure behind
	// a server_error, a throttle behind a 429.
	Cause error
}

// Error is the code, the description and the cause, for logs.
func (e *Error) Error() string {
	msg := "oauth2: " + e.Code + ": " + e.Description
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Cause }

// LogLevel is the level to log the error at: Error for server_error, a
// fault of the server's; Info for the answers of a normal interactive flow
// (login_required, consent_required, access_denied); Warn for every other
// client mistake or refusal (the model is zitadel's oidc.Error.LogLevel).
func (e *Error) LogLevel() slog.Level {
	switch e.Code {
	case ServerError:
		return slog.LevelError
	case LoginRequired, ConsentRequired, InteractionRequired, AccessDenied:
		return slog.LevelInfo
	}
	return slog.LevelWarn
}

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

// AsError returns err as an *Error, or a server_error whose description
// says nothing of err, which becomes its Cause (for the caller to log).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: ServerError, Description: "the server could not answer", Cause: err}
}
