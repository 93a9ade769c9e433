package server

import (
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/i18n"
	"github.com/inkan-dev/inkan/internal/plaintext"
)

// The pages' languages: every text of a page is the catalogue's (package
// i18n), in the language i18n.Match chooses for the request (the lang
// cookie the switcher sets, then Accept-Language), named in <html lang>
// and Content-Language; a switcher at the foot of every page links to the
// other languages.

// parsePages parses the pages' templates with the functions of the
// catalogues:
//
//	{{t .Lang "key" "name" value ...}}   the text, escaped as any value
//	{{th .Lang "key" "name" value ...}}  the text, with each value in <strong>
//	{{scope .Lang "email"}}              a scope, described
func parsePages(sources ...string) *template.Template {
	t := template.New("pages").Funcs(template.FuncMap{
		"t":     i18n.T,
		"th":    strongText,
		"scope": scopeText,
	})
	for _, src := range sources {
		t = template.Must(t.Parse(src))
	}
	return t
}

// tr is the text of key in the language of r.
func tr(r *http.Request, key string, args ...string) string {
	return i18n.T(i18n.Match(r), key, args...)
}

// strongText is the text of key with each argument's value set in
// <strong>: the catalogue's text and the values are escaped, so that
// neither a translator nor a client's name can put markup on a page.
func strongText(lang, key string, args ...string) template.HTML {
	pairs := make([]string, 0, len(args)&^1)
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+args[i]+"}", "<strong>"+html.EscapeString(args[i+1])+"</strong>")
	}
	text := html.EscapeString(i18n.T(lang, key))
	return template.HTML(strings.NewReplacer(pairs...).Replace(text)) //nolint:gosec // every part is escaped above
}

// scopeText describes a scope of the consent page: "your email address
// (email)"; a scope the catalogue does not describe is shown as it is.
func scopeText(lang, scope string) string {
	if key := "scope." + scope; i18n.Has(key) {
		return i18n.T(lang, key) + " (" + scope + ")"
	}
	return scope
}

// pageLanguage is the language of the page answering r, announced in
// Content-Language; since it depends on the request's Accept-Language and
// cookie, so does the answer (Vary).
func pageLanguage(w http.ResponseWriter, r *http.Request) string {
	lang := i18n.Match(r)
	h := w.Header()
	h.Set("Content-Language", lang)
	h.Add("Vary", "Accept-Language")
	h.Add("Vary", "Cookie")
	return lang
}

// languageLink is one language of the switcher.
type languageLink struct {
	Code, Name, Href string
	Current          bool
}

// languageLinks are the switcher's links: each language, named in
// itself, linking to GET /lang, which sets the cookie and comes back to
// ret (when it is a page of this server).
func languageLinks(current, ret string) []languageLink {
	var links []languageLink
	for _, l := range i18n.Languages() {
		v := url.Values{"lang": {l}}
		if ret != "" {
			v.Set("return", ret)
		}
		links = append(links, languageLink{Code: l, Name: i18n.T(l, "lang.self"), Href: "/lang?" + v.Encode(), Current: l == current})
	}
	return links
}

// maxReturnBytes bounds a return address: an authorization request's
// parameters with room to spare.
const maxReturnBytes = 8 << 10

// localPath returns s if it is a path of this server (an absolute path,
// with a query or not), and false for anything a browser could take to
// another origin: a scheme, a host, "//host", "/\host", control
// characters. It guards every redirect to an address the request names.
func localPath(s string) (string, bool) {
	if s == "" || len(s) > maxReturnBytes || !plaintext.Valid(s) || s[0] != '/' ||
		strings.HasPrefix(s, "//") || strings.ContainsRune(s, '\\') {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	return s, true
}

// languages serves the switcher: GET /lang?lang=ja&return=/account.
type languages struct {
	cookies cookies
	log     logs
}

// Mount registers the switcher on mux.
func (l *languages) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /lang", l.handleLang)
}

// langCookieTTL is how long the switcher's choice is kept.
const langCookieTTL = 365 * 24 * time.Hour

// handleLang sets the lang cookie to a language inkan speaks and goes
// back to return, a page of this server (localPath); without one, or with
// one of another site, it says which language the pages are now in. A GET
// that changes a preference and nothing else, which no other site can
// turn to harm.
func (l *languages) handleLang(w http.ResponseWriter, r *http.Request) {
	lang := r.URL.Query().Get("lang")
	if !i18n.Supported(lang) {
		errorPage(w, r, l.log, http.StatusBadRequest, "error.malformed_request")
		return
	}
	// The cookie's name is the one i18n.Match reads, on every scheme: a
	// preference, not a credential, so no __Host- prefix.
	http.SetCookie(w, &http.Cookie{
		Name: i18n.Cookie, Value: lang, Path: "/", MaxAge: int(langCookieTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: l.cookies.https,
	})
	if ret, ok := localPath(r.URL.Query().Get("return")); ok {
		pageHeaders(w)
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	// The cookie reaches the next request; this page is in the new
	// language already.
	r = r.Clone(r.Context())
	r.Header.Set("Cookie", i18n.Cookie+"="+lang)
	messagePage(w, r, l.log, http.StatusOK, "lang.set_title", "lang.set")
}
