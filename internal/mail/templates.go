package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/mail"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/inkan-dev/inkan/internal/plaintext"
)

// The templates: for each kind, KIND.subject.txt (one line), KIND.txt (the
// plain-text body) and KIND.html (the HTML body), each body defining
// "body" inside layout.txt or layout.html's "layout"; parts.html defines
// the HTML parts the bodies share ("button", "code"). Text templates are
// text/template, HTML ones html/template, which escapes what they insert.
//
// Each template sees the Message's Data, plus "site" (Options.Site), "lang"
// and, in the bodies, "subject"; and these functions:
//
//	t KEY [NAME VALUE]...   the catalogue's text of KEY in the message's language, {NAME} replaced by VALUE
//	duration D              a Go duration ("90m") in words ("1 hour and 30 minutes")
//	args NAME VALUE...      a map of the pairs, to hand to a {{template}}
//
// --templates-dir overrides them file by file: DIR/LANG/NAME for one
// language, else DIR/NAME for all, else the embedded one.
//
//go:embed templates/*
var embedded embed.FS

// Limits on what a message may carry.
const (
	maxAddress = 254  // RFC 5321's path limit, less the brackets
	maxLink    = 2048 // bytes of a link
	maxValue   = 256  // bytes of any other value
)

// Templates render messages.
type Templates struct {
	set map[string]map[string]*kindTemplates // language → kind → templates
}

type kindTemplates struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// Rendered is a rendered message.
type Rendered struct {
	Subject, Text, HTML string
}

// templateNames are the files of the templates.
func templateNames() []string {
	names := []string{"layout.html", "parts.html", "layout.txt"}
	for _, k := range Kinds() {
		names = append(names, k+".subject.txt", k+".txt", k+".html")
	}
	return names
}

// LoadTemplates parses the embedded templates, each overridden by its file
// in dir, if dir is not empty (DIR/LANG/NAME first, then DIR/NAME), and
// renders every kind in every language once, so that a broken override
// fails here, at start, and not when a message is sent. A file in dir that
// is no template's is an error too (a misspelt override would otherwise be
// ignored).
func LoadTemplates(dir string) (*Templates, error) {
	var override fs.FS
	if dir != "" {
		if fi, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("templates dir: %w", err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("templates dir: %s is not a directory", dir)
		}
		override = os.DirFS(dir)
		if err := checkOverrides(override); err != nil {
			return nil, err
		}
	}
	t := &Templates{set: map[string]map[string]*kindTemplates{}}
	for _, lang := range Languages {
		read := func(name string) (string, string, error) {
			if override != nil {
				for _, p := range []string{lang + "/" + name, name} {
					b, err := fs.ReadFile(override, p)
					if err == nil {
						return string(b), path.Join(dir, p), nil
					} else if !errors.Is(err, fs.ErrNotExist) {
						return "", "", fmt.Errorf("templates dir: %w", err)
					}
				}
			}
			b, err := embedded.ReadFile("templates/" + name)
			return string(b), "embedded " + name, err
		}
		funcs := templateFuncs(lang)
		t.set[lang] = map[string]*kindTemplates{}
		for _, k := range Kinds() {
			var kt kindTemplates
			src, where, err := read(k + ".subject.txt")
			if err != nil {
				return nil, err
			}
			if kt.subject, err = texttemplate.New(k + ".subject.txt").Funcs(funcs).Option("missingkey=zero").Parse(src); err != nil {
				return nil, fmt.Errorf("template %s: %w", where, err)
			}
			kt.text = texttemplate.New(k + " text").Funcs(funcs).Option("missingkey=zero")
			for _, name := range []string{"layout.txt", k + ".txt"} {
				src, where, err := read(name)
				if err != nil {
					return nil, err
				}
				if _, err := kt.text.New(name).Parse(src); err != nil {
					return nil, fmt.Errorf("template %s: %w", where, err)
				}
			}
			kt.html = htmltemplate.New(k + " html").Funcs(htmltemplate.FuncMap(funcs)).Option("missingkey=zero")
			for _, name := range []string{"layout.html", "parts.html", k + ".html"} {
				src, where, err := read(name)
				if err != nil {
					return nil, err
				}
				if _, err := kt.html.New(name).Parse(src); err != nil {
					return nil, fmt.Errorf("template %s: %w", where, err)
				}
			}
			t.set[lang][k] = &kt
		}
	}
	// Every kind in every language renders, with every key it takes.
	for _, lang := range Languages {
		for _, k := range Kinds() {
			m := Message{To: "alice@example.com", Kind: k, Lang: lang, Data: sampleData(k)}
			if _, err := t.Render(m, "id.example.com"); err != nil {
				return nil, fmt.Errorf("templates of %s in %s: %w", k, lang, err)
			}
		}
	}
	return t, nil
}

// checkOverrides refuses files of dir that override no template.
func checkOverrides(dir fs.FS) error {
	names := templateNames()
	var errs []error
	check := func(sub string) error {
		entries, err := fs.ReadDir(dir, sub)
		if err != nil {
			return fmt.Errorf("templates dir: %w", err)
		}
		for _, e := range entries {
			p := path.Join(sub, e.Name())
			switch {
			case e.IsDir() && sub == "." && slices.Contains(Languages, e.Name()):
			case !e.IsDir() && slices.Contains(names, e.Name()):
			case strings.HasPrefix(e.Name(), "."): // editors' and VCS files
			default:
				errs = append(errs, fmt.Errorf("templates dir: %s is not a template (the templates are %s, optionally under %s/)",
					p, strings.Join(names, ", "), strings.Join(Languages, "/, ")))
			}
		}
		return nil
	}
	if err := check("."); err != nil {
		return err
	}
	for _, lang := range Languages {
		if fi, err := fs.Stat(dir, lang); err == nil && fi.IsDir() {
			if err := check(lang); err != nil {
				return err
			}
		}
	}
	return errors.Join(errs...)
}

// sampleData has every key kind k takes.
func sampleData(k string) map[string]string {
	d := map[string]string{}
	for _, key := range append(slices.Clone(kinds[k].required), kinds[k].optional...) {
		switch key {
		case DataLink:
			d[key] = "https://id.example.com/link?token=sample"
		case DataExpiry:
			d[key] = "1h"
		case DataNewEmail:
			d[key] = "new@example.com"
		default:
			d[key] = "sample"
		}
	}
	return d
}

func templateFuncs(lang string) texttemplate.FuncMap {
	return texttemplate.FuncMap{
		"t": func(key string, args ...string) (string, error) { return text(lang, key, args...) },
		"duration": func(d string) (string, error) {
			v, err := time.ParseDuration(d)
			if err != nil {
				return "", err
			}
			return formatDuration(lang, v)
		},
		"args": func(pairs ...any) (map[string]any, error) {
			if len(pairs)%2 != 0 {
				return nil, errors.New("args: name, value pairs")
			}
			m := map[string]any{}
			for i := 0; i < len(pairs); i += 2 {
				name, ok := pairs[i].(string)
				if !ok {
					return nil, errors.New("args: a name is not a string")
				}
				m[name] = pairs[i+1]
			}
			return m, nil
		},
	}
}

// formatDuration says d, rounded to the minute, in hours and minutes.
func formatDuration(lang string, d time.Duration) (string, error) {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	for _, p := range []struct {
		n           int
		one, plural string
	}{{h, "mail.duration.hour", "mail.duration.hours"}, {m, "mail.duration.minute", "mail.duration.minutes"}} {
		if p.n == 0 {
			continue
		}
		key := p.plural
		if p.n == 1 {
			key = p.one
		}
		s, err := text(lang, key, "n", strconv.Itoa(p.n))
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return text(lang, "mail.duration.minutes", "n", "0")
	}
	and, err := text(lang, "mail.duration.and")
	if err != nil {
		return "", err
	}
	return strings.Join(parts, and), nil
}

// language is the template language of a tag: its primary subtag if that
// is one of Languages, else the default.
func language(tag string) string {
	primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	primary, _, _ = strings.Cut(primary, "_")
	if slices.Contains(Languages, primary) {
		return primary
	}
	return Languages[0]
}

// check reports what is wrong with m, if anything.
func (m Message) check() error {
	k, ok := kinds[m.Kind]
	if !ok {
		return fmt.Errorf("mail: unknown kind %q", m.Kind)
	}
	if err := checkAddress(m.To); err != nil {
		return fmt.Errorf("mail: To: %w", err)
	}
	for _, key := range k.required {
		if m.Data[key] == "" {
			return fmt.Errorf("mail: %s needs Data[%q]", m.Kind, key)
		}
	}
	for key, v := range m.Data {
		if !slices.Contains(k.required, key) && !slices.Contains(k.optional, key) {
			return fmt.Errorf("mail: %s takes no Data[%q] (it takes %s)", m.Kind, key, strings.Join(append(slices.Clone(k.required), k.optional...), ", "))
		}
		if !plaintext.Valid(v) {
			return fmt.Errorf("mail: Data[%q] is not one line of text", key)
		}
		limit := maxValue
		if key == DataLink {
			limit = maxLink
		}
		if len(v) > limit {
			return fmt.Errorf("mail: Data[%q] is over %d bytes", key, limit)
		}
		switch key {
		case DataLink:
			if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
				return fmt.Errorf("mail: Data[%q] is not an absolute http(s) URL", key)
			}
		case DataExpiry:
			if d, err := time.ParseDuration(v); v != "" && (err != nil || d <= 0) {
				return fmt.Errorf("mail: Data[%q] is not a positive Go duration such as 1h", key)
			}
		case DataNewEmail:
			if err := checkAddress(v); v != "" && err != nil {
				return fmt.Errorf("mail: Data[%q]: %w", key, err)
			}
		}
	}
	return nil
}

// checkAddress accepts one bare address: no display name, no list, no
// control characters.
func checkAddress(s string) error {
	if s == "" || len(s) > maxAddress || !plaintext.Valid(s) {
		return errors.New("not an email address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return errors.New("not a bare email address")
	}
	return nil
}

// Render renders m, whose templates call the service site. A message that
// Message's rules refuse is an error.
func (t *Templates) Render(m Message, site string) (Rendered, error) {
	if err := m.check(); err != nil {
		return Rendered{}, err
	}
	lang := language(m.Lang)
	kt := t.set[lang][m.Kind]
	data := map[string]string{}
	for k, v := range m.Data {
		data[k] = v
	}
	data["site"], data["lang"] = site, lang
	var b bytes.Buffer
	if err := kt.subject.Execute(&b, data); err != nil {
		return Rendered{}, fmt.Errorf("mail: render %s subject: %w", m.Kind, err)
	}
	subject := strings.Join(strings.Fields(b.String()), " ")
	if subject == "" || !plaintext.Valid(subject) {
		return Rendered{}, fmt.Errorf("mail: the subject of %s renders empty or with control characters", m.Kind)
	}
	data["subject"] = subject
	b.Reset()
	if err := kt.text.ExecuteTemplate(&b, "layout", data); err != nil {
		return Rendered{}, fmt.Errorf("mail: render %s text: %w", m.Kind, err)
	}
	txt := b.String()
	b.Reset()
	if err := kt.html.ExecuteTemplate(&b, "layout", data); err != nil {
		return Rendered{}, fmt.Errorf("mail: render %s html: %w", m.Kind, err)
	}
	return Rendered{Subject: subject, Text: txt, HTML: b.String()}, nil
}
