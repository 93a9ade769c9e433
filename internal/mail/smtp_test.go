package mail_test

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/mail"
	"github.com/inkan-dev/inkan/internal/mail/mailpittest"
)

func tlsConfig(mp *mailpittest.Server) *tls.Config {
	return &tls.Config{RootCAs: mp.RootCAs, MinVersion: tls.VersionTLS12}
}

// smtp:// with STARTTLS, and smtps:// with TLS from the first byte, both
// deliver, with the server's certificate checked.
func TestOutbox_tls(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode mailpittest.TLS
	}{{"starttls", mailpittest.STARTTLS}, {"smtps", mailpittest.ImplicitTLS}} {
		t.Run(tc.name, func(t *testing.T) {
			mp := mailpittest.StartTLS(t, tc.mode)
			st := openSQLite(t)
			ob, _ := mustOutbox(t, st, outboxOptions{url: mp.SMTPURL, mp: mp})
			mustEnqueue(t, ob, verifyMessage("frank@example.com"))
			mustDeliver(t, ob)
			mp.Wait(t, "frank@example.com", 1, 10*time.Second)
		})
	}
}

// A server whose certificate the outbox does not trust gets nothing: the
// mail waits.
func TestOutbox_untrustedCertificate(t *testing.T) {
	mp := mailpittest.StartTLS(t, mailpittest.STARTTLS)
	st := openSQLite(t)
	ob, _ := mustOutbox(t, st, outboxOptions{url: mp.SMTPURL}) // the system's roots
	mustEnqueue(t, ob, verifyMessage("grace@example.com"))
	mustDeliver(t, ob)
	if c := mustCount(t, st); c.Pending != 1 {
		t.Errorf("outbox = %+v, want the message still pending", c)
	}
	if got := mp.Messages(t, ""); len(got) != 0 {
		t.Errorf("received %d messages over an untrusted connection", len(got))
	}
}

// The SMTP password appears in no log line at any level, no error kept in
// the outbox, and no printed form of the parsed URL: through an outage, a
// refusal, a wrong password and a malformed URL.
func TestOutbox_passwordNeverShown(t *testing.T) {
	mp := mailpittest.Start(t)
	st := openSQLite(t)
	clk := newClock()
	logs := &logBuffer{}
	var shown []string // everything printed or kept

	ob, _ := mustOutbox(t, st, outboxOptions{url: mp.SMTPURL, clock: clk, logs: logs})
	mp.Refuse(t, 535)
	mustEnqueue(t, ob, verifyMessage("heidi@example.com"))
	id := queuedID(t, st, clk.Now())
	mustDeliver(t, ob)
	mp.Accept(t)
	mp.Stop(t)
	clk.Add(time.Hour)
	mustDeliver(t, ob)
	mp.Resume(t)

	const wrong = "Wr0ng-secret-password"
	bad := strings.Replace(mp.SMTPURL, mailpittest.Password, wrong, 1)
	badBox, _ := mustOutbox(t, st, outboxOptions{url: bad, clock: clk, logs: logs})
	clk.Add(time.Hour)
	mustDeliver(t, badBox)
	m := mustGetMail(t, st, id)
	shown = append(shown, m.LastError)
	if !strings.Contains(m.LastError, "535") && !strings.Contains(strings.ToLower(m.LastError), "auth") {
		t.Errorf("a wrong password's error = %q, want the server's refusal", m.LastError)
	}

	for _, raw := range []string{mp.SMTPURL, bad} {
		s, err := mail.ParseURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		shown = append(shown, fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s.String()))
	}
	for _, raw := range []string{
		"smtp://inkan:" + wrong + "@host:99999", "smtp://inkan:" + wrong + "@ho st:25", "smtp://inkan:" + wrong + "@host:25/path",
		"http://inkan:" + wrong + "@host", "smtp://inkan:" + wrong + "@:25", "smtp://:" + wrong + "@host", "smtp://inkan:" + wrong + "@host:25?x=1",
		"smtp://inkan:" + wrong + "%zz@host",
	} {
		if _, err := mail.ParseURL(raw); err == nil {
			t.Errorf("ParseURL(%q) = nil, want an error", raw)
		} else {
			shown = append(shown, err.Error())
		}
	}
	shown = append(shown, logs.String())
	for _, s := range shown {
		for _, pw := range []string{mailpittest.Password, wrong} {
			if strings.Contains(s, pw) {
				t.Errorf("the password %q shows in:\n%s", pw, s)
			}
		}
	}
}

// smtp:// to a host that is not this machine requires STARTTLS; to
// loopback it takes it when offered.
func TestNew_tlsPolicy(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want string
	}{
		{"smtp://mail.example.com", "TLSMandatory"},
		{"smtp://user:pw@192.0.2.1:25", "TLSMandatory"},
		{"smtp://127.0.0.1:1025", "TLSOpportunistic"},
		{"smtp://localhost", "TLSOpportunistic"},
		{"smtp://[::1]:25", "TLSOpportunistic"},
	} {
		s, err := mail.ParseURL(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := mail.TLSPolicyOf(s); got != tc.want {
			t.Errorf("TLS policy of %s = %s, want %s", tc.url, got, tc.want)
		}
	}
}
