package password

import (
	"strings"
	"sync"

	"github.com/trustelem/zxcvbn/frequency"
)

// commonLimit is how many entries of the ranked list IsCommon checks, from
// the most frequent down. The list that zxcvbn ships has exactly 30,000
// entries, so today IsCommon uses all of it.
const commonLimit = 30000

// commonPasswords is the set IsCommon checks. It is built on first use, not
// at import: the map holds 30,000 keys that point into the dependency's
// strings (no copies) and takes about 1.7 MiB of heap on amd64
// (TestCommonPasswords logs the measured figure).
//
// The dependency's own package initialisation is not lazy: any binary in
// which IsCommon is reachable copies zxcvbn's frequency lists (all six, not
// only "passwords") to the heap at start-up, about 1.5 MB and 1 ms, and
// carries about 2 MB more of read-only data.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	return newCommonSet(frequency.FrequencyLists["passwords"], commonLimit)
})

// newCommonSet returns the first n entries of list as a set.
func newCommonSet(list []string, n int) map[string]struct{} {
	list = list[:min(n, len(list))]
	set := make(map[string]struct{}, len(list))
	for _, pw := range list {
		set[pw] = struct{}{}
	}
	return set
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
// use. The first call builds the set, which takes about a millisecond.
func IsCommon(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok
}
