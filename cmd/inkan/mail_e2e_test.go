package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/mail"
	"github.com/inkan-dev/inkan/internal/mail/mailpittest"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

const mailFrom = "inkan <no-reply@inkan.test>"

// enqueueFrom queues n verification messages in st as another process
// sharing the database would (a replica, whose sender is not this one),
// through the same outbox code a server runs.
func enqueueFrom(t *testing.T, st store.Store, smtpURL string, n int) {
	t.Helper()
	s, err := mail.ParseURL(smtpURL)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := mail.New(mail.Options{Store: st, SMTP: s, From: mailFrom, Site: "inkan.test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m := mail.Message{To: fmt.Sprintf("user%d@example.com", i), Kind: mail.KindVerify, Lang: []string{"en", "ja"}[i%2],
			Data: map[string]string{mail.DataLink: fmt.Sprintf("https://inkan.test/verify?t=%d", i), mail.DataCode: "123456", mail.DataExpiry: "24h"}}
		if err := ob.Enqueue(context.Background(), m); err != nil {
			t.Fatalf("Enqueue() = %v", err)
		}
	}
}

// exactlyOnce checks that n messages arrived, each Message-ID once.
func exactlyOnce(t *testing.T, got []mailpittest.Message, n int) {
	t.Helper()
	ids := map[string]int{}
	for _, m := range got {
		ids[m.MessageID]++
	}
	if len(got) != n || len(ids) != n {
		t.Errorf("received %d messages with %d Message-IDs, want %d of each", len(got), len(ids), n)
	}
	for id, k := range ids {
		if k != 1 {
			t.Errorf("Message-ID %s arrived %d times, want once", id, k)
		}
	}
}

// A full outbox survives kill -9 of the server while the SMTP server is
// down: after a restart, with the SMTP server back, every message arrives
// exactly once. The SMTP password (read from INKAN_SMTP_URL_FILE) shows in
// no log line.
func TestServe_mailSurvivesKill(t *testing.T) {
	mp := mailpittest.Start(t)
	mp.Stop(t)
	dir := dataDir(t)
	urlFile := filepath.Join(t.TempDir(), "smtp-url")
	if err := os.WriteFile(urlFile, []byte(mp.SMTPURL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"INKAN_SMTP_URL_FILE=" + urlFile, "INKAN_SMTP_FROM=" + mailFrom, "INKAN_LOG_LEVEL=debug"}
	p := startInkan(t, dir, env)

	db, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 20
	enqueueFrom(t, db, mp.SMTPURL, n)
	// The server's sender has tried, and found the SMTP server down; it
	// pauses at least a second before it tries again, and is killed then.
	eventually(t, 30*time.Second, "the server tries the SMTP server", func() bool {
		return strings.Contains(p.logText(), "SMTP server unreachable")
	})
	p.kill(t)
	if c, err := db.CountMail(context.Background()); err != nil || c.Pending != n {
		t.Fatalf("outbox after kill -9 = %+v, %v; want %d pending", c, err, n)
	}

	mp.Resume(t)
	p2 := startInkan(t, dir, env)
	exactlyOnce(t, mp.Wait(t, "", n, 60*time.Second), n)
	eventually(t, 30*time.Second, "the outbox empties", func() bool {
		c, err := db.CountMail(context.Background())
		return err == nil && c == (store.MailCounts{})
	})
	exactlyOnce(t, mp.Messages(t, ""), n) // and no more come
	for _, log := range []string{p.logText(), p2.logText()} {
		if strings.Contains(log, mailpittest.Password) {
			t.Errorf("the SMTP password shows in the server's log:\n%s", log)
		}
	}
	body, err := httpGet(p2.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`inkan_mail_sent_total{kind="verify"} 20`, "inkan_mail_outbox_pending 0"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// Two replicas on one PostgreSQL database, both running their senders,
// never send a message twice.
func TestServe_mailReplicasPostgres(t *testing.T) {
	url := pgtest.Database(t)
	mp := mailpittest.Start(t)
	ps := startReplicas(t, url, masterKeyFile(t), 2, "--smtp-url", mp.SMTPURL, "--smtp-from", mailFrom)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 40
	enqueueFrom(t, db, mp.SMTPURL, n)
	exactlyOnce(t, mp.Wait(t, "", n, 60*time.Second), n)
	eventually(t, 30*time.Second, "the outbox empties", func() bool {
		c, err := db.CountMail(context.Background())
		return err == nil && c == (store.MailCounts{})
	})
	exactlyOnce(t, mp.Messages(t, ""), n)
	for i, p := range ps {
		if !strings.Contains(p.logText(), "mail sender started") {
			t.Errorf("replica %d runs no sender", i)
		}
	}
}

// Without --smtp-url email is off, and the server says so at start; a bad
// --smtp-url stops it, naming the flag but not the password.
func TestServe_mailSettings(t *testing.T) {
	p := startInkan(t, dataDir(t), nil)
	if !strings.Contains(p.logText(), "email is off") {
		t.Errorf("the log does not say that email is off:\n%s", p.logText())
	}
	const pw = "Sm7p-secret-in-url"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--smtp-url", "smtp://u:" + pw + "@mail example.com", "--smtp-from", "a@example.com"}, "--smtp-url:"},
		{[]string{"--smtp-url", "smtp://u:" + pw + "@mail.example.com"}, "--smtp-from: required"},
		{[]string{"--smtp-url", "smtp://u:" + pw + "@mail.example.com", "--smtp-from", "a@example.com", "--templates-dir", filepath.Join(t.TempDir(), "none")}, "--templates-dir:"},
	} {
		out, err := inkan(t, "", append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir(t)}, tc.args...)...)
		if err == nil {
			t.Errorf("serve %v = nil, want an error", tc.args)
			continue
		}
		if msg := out + err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, pw) {
			t.Errorf("serve %v: %s; want %q without the password", tc.args, msg, tc.want)
		}
	}
}
