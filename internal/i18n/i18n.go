// Package i18n holds the texts of inkan's pages and emails in every language
// it speaks, and the rule for choosing one.
//
// The catalogues are JSON files that a translator edits without touching
// code: locales/<lang>.json, one flat object of "key": "text", embedded in
// the binary (package locales). A text may hold {placeholders}, filled in by T from its name,
// value pairs. English (en) is complete by definition: a key missing from
// another catalogue falls back to its English text, and the package's tests
// check that every catalogue has every key with the same placeholders.
//
// Keys are grouped by prefix: "mail.", "verify." and "recover." are the
// emails' and the email pages'; every other prefix is the pages' of the
// browser (login, consent, logout, account, sign-up, errors).
package i18n

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/text/language"

	"github.com/inkan-dev/inkan/internal/i18n/locales"
)

// Default is the language of a request that states none inkan speaks.
const Default = "en"

// Cookie is the name of the cookie the language switcher sets: a language
// it names wins over Accept-Language.
const Cookie = "lang"

// maxAcceptLanguage bounds the Accept-Language header Match parses;
// browsers send a few dozen bytes.
const maxAcceptLanguage = 1024

// languages are the languages of the catalogues, Default first.
var languages = []string{"en", "ja"}

// catalogues maps a language to its texts by key.
var catalogues = mustLoad()

// matcher chooses among languages; its order puts Default first, which is
// what it answers when nothing matches.
var matcher = language.NewMatcher(tags())

func tags() []language.Tag {
	ts := make([]language.Tag, len(languages))
	for i, l := range languages {
		ts[i] = language.MustParse(l)
	}
	return ts
}

func mustLoad() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, l := range languages {
		c, err := load(l)
		if err != nil {
			panic(err)
		}
		out[l] = c
	}
	return out
}

func load(lang string) (map[string]string, error) {
	b, err := locales.FS.ReadFile(lang + ".json")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	var c map[string]string
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("i18n: locales/%s.json: %w", lang, err)
	}
	return c, nil
}

// Languages returns the languages inkan speaks, Default first.
func Languages() []string { return slices.Clone(languages) }

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool { return slices.Contains(languages, lang) }

// Match chooses the language of the answer to r: the one the Cookie names,
// if inkan speaks it; else the best of Accept-Language (RFC 9110 §12.5.4,
// with its q-values) among those inkan speaks; else Default. It returns a
// value of Languages.
func Match(r *http.Request) string {
	if c, err := r.Cookie(Cookie); err == nil && Supported(c.Value) {
		return c.Value
	}
	return MatchAcceptLanguage(r.Header.Get("Accept-Language"))
}

// MatchAcceptLanguage is the language of Languages that best suits an
// Accept-Language value, or Default when none does or the value is
// malformed or over 1 KiB.
func MatchAcceptLanguage(header string) string {
	if header == "" || len(header) > maxAcceptLanguage {
		return Default
	}
	prefs, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(prefs) == 0 {
		return Default
	}
	_, i, conf := matcher.Match(prefs...)
	if conf == language.No {
		return Default
	}
	return languages[i]
}

// T is the text of key in lang, with each {name} of args (name, value
// pairs) replaced by its value; a placeholder without a value stays as it
// is. A key missing from lang's catalogue is taken from Default's, and one
// missing from both is returned as it is, so that a page shows which.
func T(lang, key string, args ...string) string {
	text, ok := catalogues[lang][key]
	if !ok {
		if text, ok = catalogues[Default][key]; !ok {
			return key
		}
	}
	if len(args) < 2 || !strings.Contains(text, "{") {
		return text
	}
	pairs := make([]string, 0, len(args)&^1)
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+args[i]+"}", args[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

// Has reports whether Default's catalogue has key.
func Has(key string) bool {
	_, ok := catalogues[Default][key]
	return ok
}

// Keys returns every key of lang's catalogue, sorted.
func Keys(lang string) []string {
	keys := make([]string, 0, len(catalogues[lang]))
	for k := range catalogues[lang] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
