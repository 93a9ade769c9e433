// Package plaintext holds the one rule for text inkan takes from outside
// and stores or shows: an email, a name, a client_id, a redirect URI, a
// scope, a state or nonce, a code or token, a kid.
package plaintext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Valid reports whether s is valid UTF-8 without control characters
// (Unicode Cc: C0, DEL, C1). Every identifier inkan takes from outside must
// be before it reaches the store: PostgreSQL's text type refuses NUL and
// invalid UTF-8 (which would answer 500), and control characters have no
// place in any of them, nor in the logs and pages that show them. Secrets
// (passwords, client secrets) are hashed, never stored as text, and are
// not held to it.
func Valid(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}
