package password

import (
	_ "embed"
	"strings"
)

// commonLimit is how many entries of the ranked list the set holds, from
// the most frequent down: all 30,000 of zxcvbn's list.
const commonLimit = 30000

// commonPasswords is the set IsCommon checks, in a compact form: the
// entries sorted bytewise, one a line, embedded in the binary (242 KB of
// read-only data), searched in place. Nothing is built or copied to the
// heap, at start-up or at first use. Before, a 1.7 MiB map was built on
// first use, and zxcvbn's package initialisation copied all six of its
// frequency lists (1.5 MB) to the heap at every start; TestCommonPasswords
// checks this file against that list.
//
//go:embed common-passwords.txt
var commonPasswords string

// sortedContains reports whether s is a line of blob, whose lines are
// sorted bytewise and each end in a newline: a binary search over bytes.
func sortedContains(blob, s string) bool {
	lo, hi := 0, len(blob) // blob[lo:hi] is whole lines
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := lo + strings.LastIndexByte(blob[lo:mid], '\n') + 1
		end := start + strings.IndexByte(blob[start:hi], '\n')
		switch c := strings.Compare(s, blob[start:end]); {
		case c == 0:
			return true
		case c < 0:
			hi = start
		default:
			lo = end + 1
		}
	}
	return false
}

// IsCommon reports whether pw is one of the 30,000 most common passwords,
// which NIST SP 800-63B §5.1.1.2 (rev. 3; §3.1.1.2 in rev. 4) says a
// verifier must refuse when a subscriber chooses a password.
//
// The list is the "passwords" frequency list of zxcvbn 4.4.2 (Dropbox),
// ranked by frequency in Mark Burnett's corpus of 10 million leaked
// passwords, as shipped by github.com/trustelem/zxcvbn/frequency. Its
// entries are lower-case, so pw is lower-cased with strings.ToLower and must
// then match an entry exactly. Nothing else is normalised: "Password" and
// "password!" (rank 26,433) are common, but "password2024" and "p@ssword1"
// are not, because the list does not hold them.
//
// IsCommon does not check length (the caller does) and accepts any string,
// including the empty string and invalid UTF-8. It is safe for concurrent
// use, and allocates only for the lower-cased copy of pw.
func IsCommon(pw string) bool {
	if strings.ContainsRune(pw, '\n') {
		return false
	}
	return sortedContains(commonPasswords, strings.ToLower(pw))
}
