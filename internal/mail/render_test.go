package mail

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenData fills every key each kind takes.
var goldenData = map[string]map[string]string{
	KindVerify:             {DataLink: "https://id.example.com/verify?token=Tok3n&lang=ja", DataCode: "042917", DataExpiry: "24h"},
	KindRecover:            {DataLink: "https://id.example.com/recover?token=Tok3n", DataCode: "730155", DataExpiry: "1h"},
	KindPasswordChanged:    {DataLink: "https://id.example.com/recover"},
	KindEmailChange:        {DataLink: "https://id.example.com/email?token=Tok3n", DataCode: "118034", DataExpiry: "90m", DataNewEmail: "alice.new@example.com"},
	KindEmailChangedNotice: {DataNewEmail: "alice.new@example.com"},
	KindMFAChanged:         {DataChange: "added", DataLink: "https://id.example.com/recover"},
}

func mustLoadTemplates(tb testing.TB, dir string) *Templates {
	tb.Helper()
	ts, err := LoadTemplates(dir)
	if err != nil {
		tb.Fatalf("LoadTemplates(%q) = %v", dir, err)
	}
	return ts
}

// Every kind renders in both languages as its golden file says.
func TestTemplates_golden(t *testing.T) {
	ts := mustLoadTemplates(t, "")
	for _, k := range Kinds() {
		for _, lang := range Languages {
			t.Run(k+"."+lang, func(t *testing.T) {
				r, err := ts.Render(Message{To: "alice@example.com", Kind: k, Lang: lang, Data: goldenData[k]}, "id.example.com")
				if err != nil {
					t.Fatalf("Render() = %v", err)
				}
				got := "Subject: " + r.Subject + "\n\n----- text/plain\n" + r.Text + "\n----- text/html\n" + r.HTML
				path := filepath.Join("testdata", k+"."+lang+".golden")
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./internal/mail -update)", err)
				}
				if got != string(want) {
					t.Errorf("Render(%s, %s) differs from %s:\n%s", k, lang, path, got)
				}
				for key, v := range goldenData[k] {
					if key == DataLink && !strings.Contains(r.Text, v) {
						t.Errorf("text lacks the link %q", v)
					}
				}
			})
		}
	}
}

// A message the rules refuse is an error at Render (so at Enqueue), and
// renders nothing.
func TestTemplates_refuses(t *testing.T) {
	ts := mustLoadTemplates(t, "")
	ok := func() Message {
		return Message{To: "alice@example.com", Kind: KindVerify, Data: map[string]string{DataLink: "https://id.example.com/v?t=1"}}
	}
	for _, tc := range []struct {
		name   string
		change func(*Message)
	}{
		{"unknown kind", func(m *Message) { m.Kind = "welcome" }},
		{"no link", func(m *Message) { delete(m.Data, DataLink) }},
		{"unknown key", func(m *Message) { m.Data["url"] = "https://x.example" }},
		{"javascript link", func(m *Message) { m.Data[DataLink] = "javascript:alert(1)" }},
		{"relative link", func(m *Message) { m.Data[DataLink] = "/verify?t=1" }},
		{"newline in code", func(m *Message) { m.Data[DataCode] = "1234\r\nBcc: x@example.com" }},
		{"long value", func(m *Message) { m.Data[DataCode] = strings.Repeat("1", maxValue+1) }},
		{"long link", func(m *Message) { m.Data[DataLink] = "https://x.example/" + strings.Repeat("a", maxLink) }},
		{"bad expiry", func(m *Message) { m.Data[DataExpiry] = "tomorrow" }},
		{"negative expiry", func(m *Message) { m.Data[DataExpiry] = "-1h" }},
		{"display name", func(m *Message) { m.To = "Alice <alice@example.com>" }},
		{"two recipients", func(m *Message) { m.To = "alice@example.com, bob@example.com" }},
		{"header injection", func(m *Message) { m.To = "alice@example.com\r\nBcc: eve@example.com" }},
		{"no address", func(m *Message) { m.To = "" }},
		{"notice without new email", func(m *Message) { m.Kind = KindEmailChangedNotice; m.Data = map[string]string{} }},
		{"bad new email", func(m *Message) {
			m.Kind = KindEmailChangedNotice
			m.Data = map[string]string{DataNewEmail: "not an address"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ok()
			tc.change(&m)
			if r, err := ts.Render(m, "id.example.com"); err == nil {
				t.Errorf("Render(%+v) = %+v, nil; want an error", m, r)
			}
		})
	}
	if _, err := ts.Render(ok(), "id.example.com"); err != nil {
		t.Errorf("Render(the valid message) = %v", err)
	}
}

// The HTML body escapes what Data brings, and the link stays a link.
func TestTemplates_htmlEscapes(t *testing.T) {
	ts := mustLoadTemplates(t, "")
	evil := "o'brien&co@example.com" // a valid address
	r, err := ts.Render(Message{To: "alice@example.com", Kind: KindEmailChangedNotice, Data: map[string]string{DataNewEmail: evil}}, "id.example.com")
	if err != nil {
		t.Fatalf("Render() = %v", err)
	}
	if strings.Contains(r.HTML, evil) || !strings.Contains(r.HTML, "o&#39;brien&amp;co@example.com") {
		t.Errorf("HTML does not escape the new email:\n%s", r.HTML)
	}
	if !strings.Contains(r.Text, evil) {
		t.Errorf("text lacks the new email as it is:\n%s", r.Text)
	}
	r, err = ts.Render(Message{To: "alice@example.com", Kind: KindRecover, Data: map[string]string{DataLink: `https://id.example.com/r?t=1&x="><b>bold</b>`}}, "id.example.com")
	if err != nil {
		t.Fatalf("Render() = %v", err)
	}
	if strings.Contains(r.HTML, "<b>") || strings.Contains(r.HTML, `"><b`) {
		t.Errorf("HTML does not escape the link:\n%s", r.HTML)
	}
	// An overriding template that shows the name gets it escaped too.
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "verify.html"), `{{define "body"}}<p>Hello {{.name}}</p>{{end}}`)
	ts = mustLoadTemplates(t, dir)
	r, err = ts.Render(Message{To: "alice@example.com", Kind: KindVerify, Data: map[string]string{DataLink: "https://id.example.com/v", DataName: "<img src=x onerror=alert(1)>"}}, "id.example.com")
	if err != nil {
		t.Fatalf("Render() = %v", err)
	}
	if strings.Contains(r.HTML, "<img") || !strings.Contains(r.HTML, "Hello &lt;img") {
		t.Errorf("HTML does not escape the name:\n%s", r.HTML)
	}
}

// The language comes from the tag's primary subtag, English by default.
func TestTemplates_language(t *testing.T) {
	ts := mustLoadTemplates(t, "")
	for _, tc := range []struct{ lang, want string }{
		{"ja", "id.example.com のパスワードの再設定"}, {"ja-JP", "id.example.com のパスワードの再設定"}, {"JA_jp", "id.example.com のパスワードの再設定"},
		{"en-GB", "Reset your password for id.example.com"}, {"fr", "Reset your password for id.example.com"}, {"", "Reset your password for id.example.com"},
	} {
		r, err := ts.Render(Message{To: "a@example.com", Kind: KindRecover, Lang: tc.lang, Data: map[string]string{DataLink: "https://id.example.com/r"}}, "id.example.com")
		if err != nil || r.Subject != tc.want {
			t.Errorf("Render(Lang %q).Subject = %q, %v; want %q", tc.lang, r.Subject, err, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		lang string
		d    time.Duration
		want string
	}{
		{"en", time.Hour, "1 hour"}, {"en", 24 * time.Hour, "24 hours"}, {"en", 90 * time.Minute, "1 hour and 30 minutes"},
		{"en", time.Minute, "1 minute"}, {"en", 15 * time.Minute, "15 minutes"}, {"en", 10 * time.Second, "0 minutes"},
		{"ja", 90 * time.Minute, "1時間30分"}, {"ja", 24 * time.Hour, "24時間"}, {"ja", 5 * time.Minute, "5分"},
	} {
		if got, err := formatDuration(tc.lang, tc.d); err != nil || got != tc.want {
			t.Errorf("formatDuration(%s, %v) = %q, %v; want %q", tc.lang, tc.d, got, err, tc.want)
		}
	}
}

// --templates-dir overrides file by file: DIR/LANG/NAME for one language,
// DIR/NAME for all; the rest stay embedded.
func TestLoadTemplates_overrides(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "verify.subject.txt"), `Welcome to {{.site}}`)
	mustWrite(t, filepath.Join(dir, "ja", "verify.subject.txt"), `{{.site}} へようこそ`)
	mustWrite(t, filepath.Join(dir, "layout.html"), `{{define "layout"}}<main>{{template "body" .}}</main>{{end}}`)
	ts := mustLoadTemplates(t, dir)
	m := Message{To: "a@example.com", Kind: KindVerify, Data: map[string]string{DataLink: "https://id.example.com/v"}}
	en, _ := ts.Render(m, "id.example.com")
	m.Lang = "ja"
	ja, _ := ts.Render(m, "id.example.com")
	if en.Subject != "Welcome to id.example.com" || ja.Subject != "id.example.com へようこそ" {
		t.Errorf("subjects = %q, %q; want the overrides", en.Subject, ja.Subject)
	}
	if !strings.HasPrefix(en.HTML, "<main><p>An account at") {
		t.Errorf("HTML = %q, want the overriding layout around the embedded body", en.HTML)
	}
	if !strings.Contains(en.Text, "-- \n") {
		t.Errorf("text = %q, want the embedded layout", en.Text)
	}
	r, _ := ts.Render(Message{To: "a@example.com", Kind: KindRecover, Data: map[string]string{DataLink: "https://id.example.com/r"}}, "id.example.com")
	if r.Subject != "Reset your password for id.example.com" {
		t.Errorf("recover subject = %q, want the embedded one", r.Subject)
	}
}

// A broken or misspelt override fails at load, naming the file.
func TestLoadTemplates_badOverrides(t *testing.T) {
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"syntax", "recover.html", `{{define "body"}}{{if}}{{end}}`, "recover.html"},
		{"unknown text key", "ja/verify.txt", `{{define "body"}}{{t "mail.nope"}}{{end}}`, "mail.nope"},
		{"no body", "verify.html", `<p>hello</p>`, "body"},
		{"misspelt", "verfy.html", `x`, "verfy.html"},
		{"unknown language", "fr/verify.html", `x`, "fr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustWrite(t, filepath.Join(dir, tc.file), tc.content)
			if _, err := LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadTemplates() = %v, want an error naming %q", err, tc.want)
			}
		})
	}
	if _, err := LoadTemplates(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("LoadTemplates(a missing dir) = nil, want an error")
	}
}

func mustWrite(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}
