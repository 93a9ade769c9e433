package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/i18n"
)

// The pages that the links of mails open (verify.go, recover.go,
// email.go): one template of paragraphs and forms, in the request's
// language, with the headers of every page (pageHeaders: no caching, no
// framing, no referrer, which keeps a link's token out of other sites'
// logs). A page a link opens only shows a form; the token is used only by
// that form's POST, which carries it and a CSRF token, so that a mail
// scanner's GET or HEAD uses nothing up.

// linkPage is their template in pageTemplates, inside the head and foot of
// every page (the language switcher, <html lang>).
const linkPageTemplate = `{{define "link"}}{{template "head" .}}{{with .View}}
{{range .Paragraphs}}<p>{{.}}</p>
{{end}}{{if .Error}}<p class="error" role="alert">{{.Error}}</p>
{{end}}{{range .Forms}}{{if .Intro}}<p>{{.Intro}}</p>
{{end}}<form method="post" action="{{.Action}}">
{{range $name, $value := .Hidden}}<input type="hidden" name="{{$name}}" value="{{$value}}">
{{end}}{{range .Fields}}<label for="{{.ID}}">{{.Label}}</label><input id="{{.ID}}" name="{{.Name}}" type="{{.Type}}"{{if .Autocomplete}} autocomplete="{{.Autocomplete}}"{{end}}{{if .Code}} inputmode="numeric" maxlength="16"{{end}} required value="{{.Value}}">
{{end}}<button type="submit">{{.Button}}</button>
</form>
{{end}}{{range .Links}}<p><a href="{{.Href}}">{{.Text}}</a></p>
{{end}}{{end}}{{template "foot" .}}{{end}}
`

// linkPage is what the template shows.
type linkPage struct {
	Lang, Title string
	Paragraphs  []string
	Error       string
	Forms       []linkForm
	Links       []pageLink
}

type linkForm struct {
	Intro, Action, Button string
	Hidden                map[string]string
	Fields                []formField
}

type formField struct {
	ID, Name, Label, Type, Autocomplete, Value string
	Code                                       bool // a one-time code: digits
}

type pageLink struct{ Href, Text string }

// linkCSRFCookie holds the double-submit CSRF token of the forms of these
// pages, which a person may open without being signed in.
const linkCSRFCookie = "inkan_link_csrf"

// linkCSRF is the CSRF token for the forms of a page: the browser's own
// if it has one (so that two such pages open in two tabs both work), else
// a new one, set as a cookie for an hour.
func (p *pages) linkCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(p.cookies.name(linkCSRFCookie)); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return c.Value
	}
	tok := randomToken()
	http.SetCookie(w, p.cookies.cookie(linkCSRFCookie, tok, time.Hour))
	return tok
}

// linkForm reads the form of a POST to one of these pages (within
// maxBodyBytes) and checks its CSRF token against the cookie; on failure it
// answers with a page, and ok is false.
func (p *pages) readLinkForm(w http.ResponseWriter, r *http.Request, lang string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		p.linkMessage(w, r, http.StatusBadRequest, lang, "verify.error_title", "verify.form_expired")
		return false
	}
	c, err := r.Cookie(p.cookies.name(linkCSRFCookie))
	if err != nil || !equalToken(c.Value, r.PostForm.Get("csrf")) {
		p.log.WarnContext(r.Context(), "form refused", "reason", "CSRF token mismatch", "path", r.URL.Path)
		p.linkMessage(w, r, http.StatusForbidden, lang, "verify.error_title", "verify.form_expired")
		return false
	}
	return true
}

// renderLinkPage renders page as every page is (renderPage), in the
// request's language.
func (p *pages) renderLinkPage(w http.ResponseWriter, r *http.Request, status int, page linkPage) {
	renderPage(w, r, p.log, status, "link", pageData{Title: page.Title, View: page})
}

// linkMessage is a page of a title and one paragraph, each a catalogue key.
func (p *pages) linkMessage(w http.ResponseWriter, r *http.Request, status int, lang, title, text string, args ...string) {
	p.renderLinkPage(w, r, status, linkPage{Lang: lang, Title: i18n.T(lang, title), Paragraphs: []string{i18n.T(lang, text, args...)}})
}

// linkError answers a form whose account operation failed with the page
// that says why, in the form's language: prefix picks the catalogue keys of
// the refusal of a link or code ("verify" or "recover").
func (p *pages) linkError(w http.ResponseWriter, r *http.Request, lang, prefix string, err error) {
	var te *account.ThrottledError
	switch {
	case errors.Is(err, account.ErrLinkInvalid):
		page := linkPage{Lang: lang, Title: i18n.T(lang, "verify.invalid_title"), Paragraphs: []string{i18n.T(lang, prefix+".invalid")}}
		if prefix == "recover" {
			page.Links = []pageLink{{Href: account.RecoverPath, Text: i18n.T(lang, "recover.again")}}
		}
		p.renderLinkPage(w, r, http.StatusBadRequest, page)
	case errors.As(err, &te):
		w.Header().Set("Retry-After", strconv.FormatInt(te.Seconds(), 10))
		p.linkMessage(w, r, http.StatusTooManyRequests, lang, "verify.error_title", "verify.throttled")
	case errors.Is(err, account.ErrBusy):
		w.Header().Set("Retry-After", "1")
		p.linkMessage(w, r, http.StatusServiceUnavailable, lang, "verify.error_title", "verify.busy")
	case errors.Is(err, account.ErrMailOff):
		p.linkMessage(w, r, http.StatusServiceUnavailable, lang, "verify.error_title", prefix+".mail_off")
	default:
		p.log.fault(r.Context(), "account page", "path", r.URL.Path, "err", err)
		p.linkMessage(w, r, http.StatusInternalServerError, lang, "verify.error_title", "verify.error")
	}
}

// The JSON routes' side (tutorial): fields of the body, and errors.

// optionalString is a string member of a JSON object: absent or null is
// "", false; a member of another type is a 422 problem.
func optionalString(fields map[string]json.RawMessage, name string, problems *[]account.FieldProblem) (string, bool) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return "", false
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		*problems = append(*problems, account.FieldProblem{Field: name, Type: "string_type", Msg: "Input should be a valid string"})
		return "", false
	}
	return v, true
}

// requiredString is optionalString whose absence is a 422 problem too.
func requiredString(fields map[string]json.RawMessage, name string, problems *[]account.FieldProblem) string {
	v, ok := optionalString(fields, name, problems)
	if _, present := fields[name]; !ok && !present {
		*problems = append(*problems, account.FieldProblem{Field: name, Type: "missing", Msg: "Field required"})
	}
	return v
}

func unprocessable(problems ...account.FieldProblem) error {
	return &detailError{status: http.StatusUnprocessableEntity, detail: fieldErrors(problems)}
}

// Fixed answers of the JSON routes of links and codes.
var (
	errLinkInvalid = detailf(http.StatusBadRequest, "Invalid link or code: it is wrong, was used already, or has expired")
	errMailOff     = detailf(http.StatusServiceUnavailable, "Unavailable: this server sends no mail (no SMTP server is configured)")
)

// linkDetailError is the JSON routes' answer to the account service's
// errors of links, codes and mail; the others are tutorialError's.
func linkDetailError(err error) error {
	var ie *account.InputError
	switch {
	case errors.Is(err, account.ErrLinkInvalid):
		return errLinkInvalid
	case errors.Is(err, account.ErrMailOff):
		return errMailOff
	case errors.As(err, &ie):
		return unprocessable(ie.Problem)
	}
	return tutorialError(err)
}

// verifiedResponse is the answer of a verification or email change.
type verifiedResponse struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
}
