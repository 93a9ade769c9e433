package i18n

import (
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)

func placeholders(text string) []string {
	var names []string
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Every catalogue has every key of every other, each with the same
// placeholders, and no empty English text: a translator's omission fails here
// rather than showing English on a Japanese page.
func TestCatalogues_complete(t *testing.T) {
	for _, a := range languages {
		for _, b := range languages {
			if a == b {
				continue
			}
			for _, key := range Keys(a) {
				other, ok := catalogues[b][key]
				if !ok {
					t.Errorf("locales/%s.json lacks %q (in locales/%s.json)", b, key, a)
					continue
				}
				if pa, pb := placeholders(catalogues[a][key]), placeholders(other); !slices.Equal(pa, pb) {
					t.Errorf("%q: placeholders %v in %s, %v in %s", key, pa, a, pb, b)
				}
			}
		}
	}
	// English says something for every key; another language may leave a
	// text empty where it needs no word ("mail.duration.and" in Japanese).
	for key, text := range catalogues[Default] {
		if strings.TrimSpace(text) == "" {
			t.Errorf("locales/%s.json: %q is empty", Default, key)
		}
	}
	if len(Keys(Default)) < 50 {
		t.Errorf("the English catalogue has %d keys; the load is broken", len(Keys(Default)))
	}
}

// Braces that are not a placeholder ({Name}, {a b}) would be shown to
// people as they are: a catalogue holds none.
func TestCatalogues_braces(t *testing.T) {
	stray := regexp.MustCompile(`[{}]`)
	for _, l := range languages {
		for key, text := range catalogues[l] {
			if rest := placeholderRE.ReplaceAllString(text, ""); stray.MatchString(rest) {
				t.Errorf("locales/%s.json %q: a brace outside a {placeholder}: %q", l, key, text)
			}
		}
	}
}

func TestT(t *testing.T) {
	catalogues["en"]["test.only_en"] = "Only {what} in English" // a key the Japanese catalogue lacks
	t.Cleanup(func() { delete(catalogues["en"], "test.only_en") })
	tests := []struct {
		name, lang, key string
		args            []string
		want            string
	}{
		{"english", "en", "login.title", nil, "Sign in"},
		{"japanese", "ja", "login.title", nil, "サインイン"},
		{"placeholder", "en", "login.continue", []string{"client", "Shop"}, "Sign in to continue to Shop."},
		{"placeholder ja", "ja", "login.continue", []string{"client", "Shop"}, "Shop に進むにはサインインしてください。"},
		{"two placeholders", "en", "consent.asks", []string{"client", "Shop", "email", "a@example.com"}, "Shop asks to access your account (a@example.com):"},
		{"no value", "en", "login.continue", nil, "Sign in to continue to {client}."},
		{"odd args", "en", "login.continue", []string{"client"}, "Sign in to continue to {client}."},
		{"unknown arg", "en", "login.continue", []string{"other", "x", "client", "Shop"}, "Sign in to continue to Shop."},
		{"value not expanded again", "en", "consent.asks", []string{"client", "{email}", "email", "e"}, "{email} asks to access your account (e):"},
		{"missing in ja falls back", "ja", "test.only_en", []string{"what", "this"}, "Only this in English"},
		{"unknown language", "fr", "login.title", nil, "Sign in"},
		{"unknown key", "en", "no.such.key", nil, "no.such.key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := T(tc.lang, tc.key, tc.args...); got != tc.want {
				t.Errorf("T(%q, %q, %q) = %q, want %q", tc.lang, tc.key, tc.args, got, tc.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name, cookie, accept, want string
	}{
		{"nothing", "", "", "en"},
		{"japanese", "", "ja", "ja"},
		{"japanese region", "", "ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7", "ja"},
		{"english first", "", "en-US,en;q=0.9,ja;q=0.8", "en"},
		{"q values", "", "en;q=0.5,ja;q=0.9", "ja"},
		{"q zero", "", "ja;q=0,en;q=0.1", "en"},
		{"unspoken", "", "fr-FR,de;q=0.9", "en"},
		{"unspoken then ja", "", "fr-FR,ja;q=0.5", "ja"},
		{"wildcard", "", "*", "en"},
		{"malformed", "", "ja;q=x;;;,,", "en"},
		{"too long", "", "ja," + string(make([]byte, 2000)), "en"},
		{"cookie wins", "ja", "en-US,en", "ja"},
		{"cookie english wins", "en", "ja", "en"},
		{"cookie unknown ignored", "fr", "ja", "ja"},
		{"cookie garbage ignored", "ja-JP<script>", "", "en"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.accept != "" {
				r.Header.Set("Accept-Language", tc.accept)
			}
			if tc.cookie != "" {
				r.Header.Set("Cookie", Cookie+"="+tc.cookie)
			}
			if got := Match(r); got != tc.want {
				t.Errorf("Match(cookie %q, Accept-Language %q) = %q, want %q", tc.cookie, tc.accept, got, tc.want)
			}
		})
	}
}

// Whatever a client sends, Match answers a language inkan speaks, and
// never panics.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"", "ja", "ja-JP,ja;q=0.9,en;q=0.8", "*", "en;q=0.5,ja;q=0.9", "x-klingon", "ja;q=1.5", "zh-Hant-TW-u-ca-chinese"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := MatchAcceptLanguage(header)
		if !Supported(got) {
			t.Errorf("MatchAcceptLanguage(%q) = %q, not a language of %v", header, got, languages)
		}
	})
}
