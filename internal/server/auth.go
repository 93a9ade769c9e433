package server

import (
	"encoding/base64"
	"errors"
	"strings"
)

// Errors of the Authorization header parsers. They describe the header's
// shape only and never quote it.
var (
	errNoAuthorization      = errors.New("no Authorization header")
	errBadScheme            = errors.New("wrong authorization scheme")
	errMalformedCredentials = errors.New("malformed credentials")
)

// authScheme splits an Authorization value (RFC 9110 §11.6.2) into its scheme,
// compared case-insensitively, and its credentials.
func authScheme(header, scheme string) (string, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", errNoAuthorization
	}
	s, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(s, scheme) {
		return "", errBadScheme
	}
	cred = strings.TrimLeft(cred, " ")
	if cred == "" {
		return "", errMalformedCredentials
	}
	return cred, nil
}

// parseBearer returns the token of "Bearer <token>" (RFC 6750 §2.1). A token
// must be b64token characters; anything longer than max is refused unread.
func parseBearer(header string, max int) (string, error) {
	if len(header) > max+len("Bearer ")+16 {
		return "", errMalformedCredentials
	}
	tok, err := authScheme(header, "Bearer")
	if err != nil {
		return "", err
	}
	if len(tok) > max {
		return "", errMalformedCredentials
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=') {
			return "", errMalformedCredentials
		}
	}
	return tok, nil
}

// maxBasicBytes bounds a Basic credential: an email (254) and a password
// (1024 bytes), base64-encoded, with room to spare.
const maxBasicBytes = 2048

// parseBasic returns the user id and password of "Basic base64(user:pass)"
// (RFC 7617). The user id may not contain a colon; the password may.
func parseBasic(header string) (user, pass string, err error) {
	if len(header) > maxBasicBytes+len("Basic ")+16 {
		return "", "", errMalformedCredentials
	}
	cred, err := authScheme(header, "Basic")
	if err != nil {
		return "", "", err
	}
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(cred); err != nil {
			return "", "", errMalformedCredentials
		}
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" {
		return "", "", errMalformedCredentials
	}
	return user, pass, nil
}
