package mail

import (
	"fmt"

	"github.com/inkan-dev/inkan/internal/i18n"
)

// The texts of the templates come from the message catalogues
// (internal/i18n/locales/*.json), under keys that start with "mail.",
// through package i18n, which serves the pages from the same files.

// text returns the catalogue's text of key in lang (else in English) with
// each {name} of the args (name, value pairs) replaced by its value. A key
// that no catalogue has is an error: a template's mistake.
func text(lang, key string, args ...string) (string, error) {
	if len(args)%2 != 0 {
		return "", fmt.Errorf("t %q: arguments must be name, value pairs", key)
	}
	if !i18n.Has(key) {
		return "", fmt.Errorf("t %q: no such text in the catalogue", key)
	}
	return i18n.T(lang, key, args...), nil
}
