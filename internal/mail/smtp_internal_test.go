package mail

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want SMTP
	}{
		{"smtp://mail.example.com", SMTP{Host: "mail.example.com", Port: 587}},
		{"SMTP://mail.example.com:25/", SMTP{Host: "mail.example.com", Port: 25}},
		{"smtps://mail.example.com", SMTP{Host: "mail.example.com", Port: 465, ImplicitTLS: true}},
		{"smtp://user%40example.com:p%40ss%3Aword@[2001:db8::1]:2525", SMTP{Host: "2001:db8::1", Port: 2525, Username: "user@example.com", password: "p@ss:word"}},
		{"smtp://apikey@127.0.0.1:1025", SMTP{Host: "127.0.0.1", Port: 1025, Username: "apikey"}},
	} {
		got, err := ParseURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %#v (password %q), %v; want %#v (password %q)", tc.in, got, got.password, err, tc.want, tc.want.password)
		}
	}
	for _, in := range []string{
		"", "mail.example.com", "smtp:mail.example.com", "smtp://", "smtp://:587", "smtp://host:0", "smtp://host:65536", "smtp://host:x",
		"smtp://host/path", "smtp://host?starttls=no", "smtp://host#x", "smtp://:pw@host", "lmtp://host", "http://host", "smtp://ho st",
	} {
		if got, err := ParseURL(in); err == nil {
			t.Errorf("ParseURL(%q) = %v, nil; want an error", in, got)
		}
	}
	s, _ := ParseURL("smtps://user:hunter22@mail.example.com")
	if got := s.String(); got != "smtps://user@mail.example.com:465" {
		t.Errorf("String() = %q", got)
	}
}

// ParseURL never panics, and neither its errors nor the printed form of
// what it parsed show the URL's password. Seeds: testdata/fuzz/FuzzParseURL.
func FuzzParseURL(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := ParseURL(raw)
		pw := passwordOf(raw)
		const fixed = "not a URL: must be smtp://user:password@host:port or smtps://user:password@host:port " +
			"has a path, query or fragment: has no host: has a port outside 1 to 65535 has a password but no user name"
		if len(pw) < 6 || strings.Contains(fixed, pw) {
			return // too short to tell from other text, or part of the fixed text
		}
		if err != nil {
			if strings.Contains(err.Error(), pw) {
				t.Errorf("ParseURL(%q) error %q shows the password", raw, err)
			}
			return
		}
		if strings.Contains(s.Host, pw) || strings.Contains(s.Username, pw) || strings.Contains("smtps://"+s.Addr(), pw) {
			return
		}
		for _, shown := range []string{s.String(), s.GoString(), s.LogValue().String()} {
			if strings.Contains(shown, pw) {
				t.Errorf("ParseURL(%q) prints as %q, with the password", raw, shown)
			}
		}
	})
}

// passwordOf is the text between the first ':' after "://" and the last
// '@' before the host, as a person would read it.
func passwordOf(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return ""
	}
	_, pw, ok := strings.Cut(rest[:at], ":")
	if !ok {
		return ""
	}
	return pw
}
