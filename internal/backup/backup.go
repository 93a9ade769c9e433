// Package backup is inkan's export format and what moves a store through
// it: Export writes a store's signing keys, users, their second factors
// (TOTPs, recovery codes, passkeys), OAuth clients, consents and
// revocations as JSON Lines; Read checks every line of such a file
// before anything is written; Import adds what Read accepted to a store,
// skipping the rows stored already and stopping at a conflict.
//
// The package reads no file and no environment: the caller opens the
// files, supplies the master key's sealer (which opens the signing keys and,
// through its TokenSecret, the TOTP secrets), and prints what it wants of
// the counts. The rules of the rows are their owners': a user's name and
// email are account's, a client's registration is oauth2's.
package backup

import (
	"fmt"
	"strings"
)

// Counts counts rows of each kind.
type Counts struct {
	Keys, Users, TOTPs, RecoveryCodes, Passkeys, Clients, Consents, Revocations int
}

// ordered returns the counts in export order (kindOrder).
func (c Counts) ordered() []int {
	return []int{c.Keys, c.Users, c.TOTPs, c.RecoveryCodes, c.Passkeys, c.Clients, c.Consents, c.Revocations}
}

// Total is the number of rows of every kind.
func (c Counts) Total() int {
	n := 0
	for _, v := range c.ordered() {
		n += v
	}
	return n
}

// String lists the counts in export order: "2 keys, 3 users, 1 TOTPs,
// 10 recovery codes, 0 passkeys, 0 clients, 0 consents and 0 revocations".
func (c Counts) String() string {
	var parts []string
	for i, n := range c.ordered() {
		parts = append(parts, fmt.Sprintf("%d %s", n, kindPlurals[kindOrder[i]]))
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// Summary is what an Import wrote: the rows created, by kind, and the
// rows skipped because the store held them already, identical.
type Summary struct {
	Written Counts
	Skipped int
}

// String is "imported COUNTS; skipped N identical".
func (s Summary) String() string {
	return fmt.Sprintf("imported %s; skipped %d identical", s.Written, s.Skipped)
}
