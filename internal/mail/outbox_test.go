package mail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inkan-dev/inkan/internal/mail"
	"github.com/inkan-dev/inkan/internal/mail/mailpittest"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
	"github.com/inkan-dev/inkan/internal/testskip"
)

func TestMain(m *testing.M) { os.Exit(testskip.Main(m)) }

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuffer collects every log line, at every level.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "inkan.db"))
	if err != nil {
		t.Fatalf("sqlite.Open() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type outboxOptions struct {
	url     string
	clock   *clock
	logs    *logBuffer
	mp      *mailpittest.Server // its RootCAs, if any
	timeout time.Duration       // of one delivery; zero: 5 s
}

func mustOutbox(t *testing.T, st store.Store, o outboxOptions) (*mail.Outbox, *mail.Metrics) {
	t.Helper()
	smtp, err := mail.ParseURL(o.url)
	if err != nil {
		t.Fatalf("ParseURL() = %v", err)
	}
	if o.logs == nil {
		o.logs = &logBuffer{}
	}
	opts := mail.Options{
		Store: st, SMTP: smtp, From: "inkan <no-reply@id.example.com>", Site: "id.example.com",
		Logger: o.logs.logger(), Timeout: 5 * time.Second, Metrics: mail.NewMetrics(st),
	}
	if o.timeout != 0 {
		opts.Timeout = o.timeout
	}
	if o.clock != nil {
		opts.Now = o.clock.Now
	}
	if o.mp != nil && o.mp.RootCAs != nil {
		opts.TLSConfig = tlsConfig(o.mp)
	}
	ob, err := mail.New(opts)
	if err != nil {
		t.Fatalf("mail.New() = %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("outbox log:\n%s", o.logs.String())
		}
	})
	return ob, opts.Metrics
}

func verifyMessage(to string) mail.Message {
	return mail.Message{To: to, Kind: mail.KindVerify, Lang: "en", Data: map[string]string{
		mail.DataLink: "https://id.example.com/verify?token=" + to, mail.DataCode: "123456", mail.DataExpiry: "24h",
	}}
}

func mustEnqueue(t *testing.T, ob mail.Mailer, m mail.Message) {
	t.Helper()
	if err := ob.Enqueue(context.Background(), m); err != nil {
		t.Fatalf("Enqueue(%s) = %v", m.To, err)
	}
}

func mustDeliver(t *testing.T, ob *mail.Outbox) {
	t.Helper()
	if err := ob.Deliver(context.Background()); err != nil {
		t.Fatalf("Deliver() = %v", err)
	}
}

func mustCount(t *testing.T, st store.Store) store.MailCounts {
	t.Helper()
	c, err := st.CountMail(context.Background())
	if err != nil {
		t.Fatalf("CountMail() = %v", err)
	}
	return c
}

// queuedID is the ID of the one message in the outbox, due at now.
func queuedID(t *testing.T, st store.Store, now time.Time) string {
	t.Helper()
	list, err := st.ClaimMail(context.Background(), now, 0, 10) // a lease of 0 leaves it due
	if err != nil || len(list) != 1 {
		t.Fatalf("the outbox holds %d messages due (%v), want 1", len(list), err)
	}
	return list[0].ID
}

func mustGetMail(t *testing.T, st store.Store, id string) store.Mail {
	t.Helper()
	m, err := st.GetMail(context.Background(), id)
	if err != nil {
		t.Fatalf("GetMail(%s) = %v", id, err)
	}
	return m
}

// byMessageID counts the received messages by Message-ID.
func byMessageID(msgs []mailpittest.Message) map[string]int {
	n := map[string]int{}
	for _, m := range msgs {
		n[m.MessageID]++
	}
	return n
}

// A message arrives as rendered: from, to, subject, both bodies, and a
// Message-ID of its outbox row at the From domain.
func TestOutbox_delivers(t *testing.T) {
	mp := mailpittest.Start(t)
	st := openSQLite(t)
	ob, metrics := mustOutbox(t, st, outboxOptions{url: mp.SMTPURL})
	m := verifyMessage("alice@example.com")
	m.Lang = "ja"
	mustEnqueue(t, ob, m)
	mustDeliver(t, ob)
	got := mp.Wait(t, "alice@example.com", 1, 10*time.Second)
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	r := got[0]
	if r.From != "no-reply@id.example.com" || strings.Join(r.To, ",") != "alice@example.com" {
		t.Errorf("From, To = %q, %v", r.From, r.To)
	}
	if r.Subject != "id.example.com のメールアドレスの確認" {
		t.Errorf("Subject = %q", r.Subject)
	}
	if !strings.Contains(r.Text, m.Data[mail.DataLink]) || !strings.Contains(r.Text, "123456") {
		t.Errorf("Text lacks the link or code:\n%s", r.Text)
	}
	if !strings.Contains(r.HTML, `href="https://id.example.com/verify?token=alice@example.com"`) {
		t.Errorf("HTML lacks the link:\n%s", r.HTML)
	}
	if !strings.HasSuffix(r.MessageID, "@id.example.com") || len(r.MessageID) != 32+len("@id.example.com") {
		t.Errorf("MessageID = %q, want <32 hex>@id.example.com", r.MessageID)
	}
	if c := mustCount(t, st); c != (store.MailCounts{}) {
		t.Errorf("outbox after delivery = %+v, want empty", c)
	}
	if n := metricValue(t, metrics, "inkan_mail_sent_total"); n != 1 {
		t.Errorf("inkan_mail_sent_total = %v, want 1", n)
	}
}

// metricValue sums the samples of one metric family of m.
func metricValue(t *testing.T, m *mail.Metrics, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() = %v", err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// Enqueue commits the message and returns without a word to the SMTP
// server, which here accepts connections and never answers: an outage
// cannot slow a request.
func TestOutbox_enqueueNeverTalksToSMTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			defer c.Close() // held open, silent, until the test ends
		}
	}()
	st := openSQLite(t)
	ob, _ := mustOutbox(t, st, outboxOptions{url: "smtp://" + ln.Addr().String()})
	for i := range 20 {
		mustEnqueue(t, ob, verifyMessage(fmt.Sprintf("user%d@example.com", i)))
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("Enqueue opened %d connections to the SMTP server, want 0", n)
	}
	if c := mustCount(t, st); c.Pending != 20 {
		t.Errorf("outbox = %+v, want 20 pending", c)
	}
}

// A server that takes the connection and never answers costs a delivery
// pass one timeout, spends no message's attempts, and leaves the mail
// pending.
func TestOutbox_silentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	st := openSQLite(t)
	ob, _ := mustOutbox(t, st, outboxOptions{url: "smtp://" + ln.Addr().String(), timeout: 200 * time.Millisecond})
	mustEnqueue(t, ob, verifyMessage("ivan@example.com"))
	id := queuedID(t, st, time.Now())
	mustDeliver(t, ob) // returns: the greeting timed out
	if m := mustGetMail(t, st, id); m.Attempts != 0 || m.FailedAt != (time.Time{}) || !strings.Contains(m.LastError, "unreachable") {
		t.Errorf("after a silent server: %d attempts, failed at %v, error %q; want 0, pending, unreachable", m.Attempts, m.FailedAt, m.LastError)
	}
}

// Mail queued while the SMTP server is down waits, spending none of its
// attempts; once the server is back, every message arrives exactly once.
func TestOutbox_outage(t *testing.T) {
	mp := mailpittest.Start(t)
	mp.Stop(t)
	st := openSQLite(t)
	clk := newClock()
	logs := &logBuffer{}
	ob, metrics := mustOutbox(t, st, outboxOptions{url: mp.SMTPURL, clock: clk, logs: logs})
	const n = 12 // more than one batch
	for i := range n {
		mustEnqueue(t, ob, verifyMessage(fmt.Sprintf("user%d@example.com", i%4)))
	}
	for range 3 {
		mustDeliver(t, ob)
		clk.Add(2 * time.Minute) // past any pause
	}
	if c := mustCount(t, st); c.Pending != n {
		t.Fatalf("outbox during the outage = %+v, want %d pending", c, n)
	}
	list, _ := st.ClaimMail(context.Background(), clk.Now(), 0, 100)
	for _, m := range list {
		if m.Attempts != 0 {
			t.Errorf("%s has %d attempts after an outage, want 0: an unreachable server spends none", m.ID, m.Attempts)
		}
	}
	if k := strings.Count(logs.String(), "SMTP server unreachable"); k != 1 {
		t.Errorf("the outage was logged %d times at warn, want once:\n%s", k, logs.String())
	}

	mp.Resume(t)
	clk.Add(2 * time.Minute)
	mustDeliver(t, ob)
	mustDeliver(t, ob) // nothing is left to send twice
	got := mp.Wait(t, "", n, 10*time.Second)
	ids := byMessageID(got)
	if len(got) != n || len(ids) != n {
		t.Errorf("received %d messages with %d Message-IDs, want %d of each", len(got), len(ids), n)
	}
	for id, k := range ids {
		if k != 1 {
			t.Errorf("Message-ID %s arrived %d times, want once", id, k)
		}
	}
	if c := mustCount(t, st); c != (store.MailCounts{}) {
		t.Errorf("outbox after the outage = %+v, want empty", c)
	}
	if !strings.Contains(logs.String(), "SMTP server reachable again") {
		t.Errorf("the end of the outage was not logged")
	}
	if v := metricValue(t, metrics, "inkan_mail_smtp_unreachable_total"); v < 1 {
		t.Errorf("inkan_mail_smtp_unreachable_total = %v, want at least 1", v)
	}
}

// A refused delivery (5xx) is tried again after FirstRetry, then twice as
// long, on the outbox's clock, and not before; once the server takes it,
// it arrives once.
func TestOutbox_retriesWithBackoff(t *testing.T) {
	mp := mailpittest.Start(t)
	mp.Refuse(t, 550)
	st := openSQLite(t)
	clk := newClock()
	ob, metrics := mustOutbox(t, st, outboxOptions{url: mp.SMTPURL, clock: clk})
	mustEnqueue(t, ob, verifyMessage("bob@example.com"))
	t0 := clk.Now()
	id := queuedID(t, st, t0)

	mustDeliver(t, ob)
	m := mustGetMail(t, st, id)
	if m.Attempts != 1 || !m.DueAt.Equal(t0.Add(mail.FirstRetry)) || !strings.Contains(m.LastError, "550") {
		t.Fatalf("after a 550: attempts %d, due %v, error %q; want 1, %v, the 550", m.Attempts, m.DueAt, m.LastError, t0.Add(mail.FirstRetry))
	}
	clk.Set(t0.Add(mail.FirstRetry - time.Second))
	mustDeliver(t, ob)
	if m := mustGetMail(t, st, id); m.Attempts != 1 {
		t.Errorf("before its retry time: attempts %d, want 1 (not tried)", m.Attempts)
	}
	clk.Set(t0.Add(mail.FirstRetry))
	mustDeliver(t, ob)
	m = mustGetMail(t, st, id)
	if want := clk.Now().Add(2 * mail.FirstRetry); m.Attempts != 2 || !m.DueAt.Equal(want) {
		t.Errorf("after a second 550: attempts %d, due %v; want 2, %v (twice as long)", m.Attempts, m.DueAt, want)
	}
	if got := mp.Messages(t, ""); len(got) != 0 {
		t.Fatalf("received %d messages while refusing", len(got))
	}

	mp.Accept(t)
	clk.Set(m.DueAt)
	mustDeliver(t, ob)
	mustDeliver(t, ob)
	got := mp.Wait(t, "bob@example.com", 1, 10*time.Second)
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	if want := id + "@id.example.com"; got[0].MessageID != want {
		t.Errorf("Message-ID after two refusals = %q, want %q, the row's: the same on every attempt", got[0].MessageID, want)
	}
	if v := metricValue(t, metrics, "inkan_mail_attempt_errors_total"); v != 2 {
		t.Errorf("inkan_mail_attempt_errors_total = %v, want 2", v)
	}
}

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {7, 30 * time.Minute}, {20, 30 * time.Minute}} {
		if got := mail.RetryDelay(tc.attempts); got != tc.want {
			t.Errorf("RetryDelay(%d) = %v, want %v", tc.attempts, got, tc.want)
		}
	}
}

// After MaxAttempts refusals a message is given up: it stays in the
// outbox, marked failed and without its bodies, is logged once, and is
// never tried again.
func TestOutbox_givesUp(t *testing.T) {
	mp := mailpittest.Start(t)
	mp.Refuse(t, 554)
	st := openSQLite(t)
	clk := newClock()
	logs := &logBuffer{}
	ob, metrics := mustOutbox(t, st, outboxOptions{url: mp.SMTPURL, clock: clk, logs: logs})
	mustEnqueue(t, ob, verifyMessage("carol@example.com"))
	id := queuedID(t, st, clk.Now())
	for range mail.MaxAttempts + 3 {
		mustDeliver(t, ob)
		clk.Add(mail.MaxRetry)
	}
	m, err := st.GetMail(context.Background(), id)
	if err != nil {
		t.Fatalf("GetMail() = %v: a failed message stays", err)
	}
	if m.FailedAt.IsZero() || m.Attempts != mail.MaxAttempts || m.Text != "" || m.HTML != "" || !strings.Contains(m.LastError, "554") {
		t.Errorf("given up: failed at %v, %d attempts, text %q, html %q, error %q; want failed, %d attempts, no bodies, the 554",
			m.FailedAt, m.Attempts, m.Text, m.HTML, m.LastError, mail.MaxAttempts)
	}
	if k := strings.Count(logs.String(), "given up"); k != 1 {
		t.Errorf("the failure was logged %d times, want once:\n%s", k, logs.String())
	}
	if c := mustCount(t, st); c != (store.MailCounts{Failed: 1}) {
		t.Errorf("CountMail() = %+v, want 1 failed", c)
	}
	if v := metricValue(t, metrics, "inkan_mail_failed_total"); v != 1 {
		t.Errorf("inkan_mail_failed_total = %v, want 1", v)
	}
	if v := metricValue(t, metrics, "inkan_mail_outbox_failed"); v != 1 {
		t.Errorf("inkan_mail_outbox_failed = %v, want 1", v)
	}
}

// Mail still undelivered MaxAge after it was queued is given up: its
// links have expired.
func TestOutbox_givesUpOldMail(t *testing.T) {
	mp := mailpittest.Start(t)
	st := openSQLite(t)
	clk := newClock()
	ob, _ := mustOutbox(t, st, outboxOptions{url: mp.SMTPURL, clock: clk})
	mustEnqueue(t, ob, verifyMessage("dave@example.com"))
	clk.Add(mail.MaxAge + time.Second)
	mustDeliver(t, ob)
	if c := mustCount(t, st); c != (store.MailCounts{Failed: 1}) {
		t.Errorf("CountMail() = %+v, want 1 failed", c)
	}
	if got := mp.Messages(t, ""); len(got) != 0 {
		t.Errorf("received %d messages, want none", len(got))
	}
}

// Run sends at once after an Enqueue, not at its next tick.
func TestOutbox_runWakesOnEnqueue(t *testing.T) {
	mp := mailpittest.Start(t)
	st := openSQLite(t)
	ob, _ := mustOutbox(t, st, outboxOptions{url: mp.SMTPURL})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ob.Run(ctx, time.Hour); close(done) }()
	defer func() { cancel(); <-done }()
	mustEnqueue(t, ob, verifyMessage("erin@example.com"))
	mp.Wait(t, "erin@example.com", 1, 30*time.Second)
}

// Two replicas on one PostgreSQL database, each with its own sender
// running at once, never send a message twice.
func TestOutbox_twoReplicasPostgres(t *testing.T) {
	url := pgtest.Database(t)
	mp := mailpittest.Start(t)
	var stores []store.Store
	var boxes []*mail.Outbox
	for range 2 {
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatalf("postgres.Open() = %v", err)
		}
		t.Cleanup(func() { st.Close() })
		ob, _ := mustOutbox(t, st, outboxOptions{url: mp.SMTPURL})
		stores, boxes = append(stores, st), append(boxes, ob)
	}
	const n = 30
	for i := range n {
		mustEnqueue(t, boxes[i%2], verifyMessage(fmt.Sprintf("user%d@example.com", i)))
	}
	var wg sync.WaitGroup
	for _, ob := range boxes {
		wg.Go(func() {
			for range 20 {
				if err := ob.Deliver(context.Background()); err != nil {
					t.Errorf("Deliver() = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for mustCount(t, stores[0]).Pending > 0 && time.Now().Before(deadline) {
		for _, ob := range boxes {
			mustDeliver(t, ob)
		}
	}
	got := mp.Wait(t, "", n, 10*time.Second)
	ids := byMessageID(got)
	if len(got) != n || len(ids) != n {
		t.Errorf("received %d messages with %d Message-IDs, want %d of each", len(got), len(ids), n)
	}
	for id, k := range ids {
		if k != 1 {
			t.Errorf("Message-ID %s arrived %d times, want once", id, k)
		}
	}
}

func TestOff(t *testing.T) {
	if err := mail.Off.Enqueue(context.Background(), verifyMessage("a@example.com")); !errors.Is(err, mail.ErrDisabled) {
		t.Errorf("Off.Enqueue() = %v, want %v", err, mail.ErrDisabled)
	}
}
