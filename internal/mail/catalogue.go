package mail

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/inkan-dev/inkan/internal/i18n/locales"
)

// The texts of the templates come from the message catalogues
// (internal/i18n/locales/*.json), under keys that start with "mail.".
// This small loader reads them until package i18n, whose i18n.T serves the
// pages from the same files, takes its place.

var (
	catalogueOnce sync.Once
	catalogue     map[string]map[string]string // language → key → text
	catalogueErr  error
)

func loadCatalogue() (map[string]map[string]string, error) {
	catalogueOnce.Do(func() {
		catalogue = map[string]map[string]string{}
		for _, lang := range Languages {
			b, err := locales.FS.ReadFile(lang + ".json")
			if err != nil {
				catalogueErr = err
				return
			}
			texts := map[string]string{}
			if err := json.Unmarshal(b, &texts); err != nil {
				catalogueErr = fmt.Errorf("catalogue %s.json: %w", lang, err)
				return
			}
			catalogue[lang] = texts
		}
	})
	return catalogue, catalogueErr
}

// text returns the catalogue's text of key in lang (else in English) with
// each {name} of the args (name, value pairs) replaced by its value. A key
// that no catalogue has is an error: a template's mistake.
func text(lang, key string, args ...string) (string, error) {
	cat, err := loadCatalogue()
	if err != nil {
		return "", err
	}
	if len(args)%2 != 0 {
		return "", fmt.Errorf("t %q: arguments must be name, value pairs", key)
	}
	s, ok := cat[lang][key]
	if !ok {
		if s, ok = cat[Languages[0]][key]; !ok {
			return "", fmt.Errorf("t %q: no such text in the catalogue", key)
		}
	}
	if len(args) == 0 {
		return s, nil
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i < len(args); i += 2 {
		pairs = append(pairs, "{"+args[i]+"}", args[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(s), nil
}
