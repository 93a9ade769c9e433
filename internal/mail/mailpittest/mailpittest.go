// Package mailpittest runs a real SMTP server for tests: Mailpit
// (github.com/axllent/mailpit, which .ci/run installs with go install), on
// free loopback ports, read back through its HTTP API. A test whose
// machine lacks the binary skips through testskip, naming .ci/run.
package mailpittest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"go/build"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/testskip"
)

// Version is the Mailpit that .ci/run installs.
const Version = "v1.33.1"

// Username and Password are the credentials Mailpit accepts (and the only
// ones): SMTPURL carries them.
const (
	Username = "inkan"
	Password = "mailpit-Pa55word-never-logged"
)

// TLS is how the SMTP side is protected.
type TLS int

const (
	// NoTLS offers no STARTTLS: plain SMTP, as on loopback.
	NoTLS TLS = iota
	// STARTTLS offers and requires it, with a certificate of RootCAs.
	STARTTLS
	// ImplicitTLS is TLS from the first byte (smtps://), with a
	// certificate of RootCAs.
	ImplicitTLS
)

// Server is a running Mailpit.
type Server struct {
	// SMTPURL is where to send: smtp://inkan:PASSWORD@127.0.0.1:PORT
	// (smtps:// with ImplicitTLS).
	SMTPURL string
	// SMTPAddr and APIURL are the SMTP side's host:port and the HTTP
	// API's base URL.
	SMTPAddr, APIURL string
	// RootCAs holds the certificate of the SMTP side, for STARTTLS and
	// ImplicitTLS.
	RootCAs *x509.CertPool

	bin  string
	args []string
	dir  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  bytes.Buffer
}

// Message is a message Mailpit received.
type Message struct {
	ID        string   // Mailpit's
	MessageID string   // the Message-ID header, without the angle brackets
	From      string   // the address
	To        []string // the addresses
	Subject   string
	Text      string // the plain-text body
	HTML      string // the HTML body
}

// binary finds Mailpit: on PATH, else in GOPATH/bin, where go install puts it.
func binary() (string, error) {
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, nil
	}
	p := filepath.Join(build.Default.GOPATH, "bin", "mailpit")
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// Start runs Mailpit without TLS on free loopback ports, accepting
// Username and Password, until the test ends.
func Start(tb testing.TB) *Server { return StartTLS(tb, NoTLS) }

// StartTLS runs Mailpit with its SMTP side protected as tls says.
func StartTLS(tb testing.TB, mode TLS) *Server {
	tb.Helper()
	bin, err := binary()
	if err != nil {
		testskip.Skip(tb, "Mailpit", "no mailpit binary on PATH or in GOPATH/bin: .ci/run installs it with go install github.com/axllent/mailpit@"+Version)
	}
	dir := tb.TempDir()
	authFile := filepath.Join(dir, "smtp-auth")
	if err := os.WriteFile(authFile, []byte(Username+":"+Password+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	smtpAddr, apiAddr := freeAddr(tb), freeAddr(tb)
	s := &Server{
		SMTPAddr: smtpAddr, APIURL: "http://" + apiAddr, bin: bin, dir: dir,
		args: []string{
			"--smtp", smtpAddr, "--listen", apiAddr, "--database", filepath.Join(dir, "mailpit.db"),
			"--smtp-auth-file", authFile, "--smtp-disable-rdns", "--disable-version-check", "--enable-chaos",
			"--max", "0",
		},
	}
	scheme := "smtp"
	switch mode {
	case NoTLS:
		s.args = append(s.args, "--smtp-auth-allow-insecure")
	case STARTTLS, ImplicitTLS:
		cert, key, pool := selfSigned(tb)
		certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if err := errors.Join(os.WriteFile(certFile, cert, 0o600), os.WriteFile(keyFile, key, 0o600)); err != nil {
			tb.Fatal(err)
		}
		s.RootCAs = pool
		s.args = append(s.args, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile)
		if mode == ImplicitTLS {
			s.args, scheme = append(s.args, "--smtp-require-tls"), "smtps"
		} else {
			s.args = append(s.args, "--smtp-require-starttls")
		}
	}
	s.SMTPURL = (&url.URL{Scheme: scheme, User: url.UserPassword(Username, Password), Host: smtpAddr}).String()
	tb.Cleanup(func() {
		s.stop()
		if tb.Failed() {
			tb.Logf("mailpit log:\n%s", s.logText())
		}
	})
	s.Resume(tb)
	return s
}

// freeAddr is a loopback address with a port that was free a moment ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Stop ends the Mailpit process, SMTP and API alike: an outage. What it
// received stays in its database for Resume.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	s.stop()
}

func (s *Server) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill() // its database is written per message
	<-done
}

// Resume starts Mailpit (again) on the same ports and database, and waits,
// with a deadline, until both its sides answer.
func (s *Server) Resume(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = (*lockedWriter)(s), (*lockedWriter)(s)
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		tb.Fatalf("start mailpit: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			tb.Fatalf("mailpit exited at start:\n%s", s.logText())
		default:
		}
		if s.ready() {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("mailpit did not answer within 30 s:\n%s", s.logText())
		}
		time.Sleep(20 * time.Millisecond) // polling interval while it starts
	}
}

// ready reports whether the API answers and the SMTP port accepts.
func (s *Server) ready() bool {
	resp, err := http.Get(s.APIURL + "/api/v1/info")
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	c, err := net.DialTimeout("tcp", s.SMTPAddr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

type lockedWriter Server

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.Write(p)
}

func (s *Server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Refuse makes the SMTP side answer every RCPT TO with code (400 to 599),
// until Accept. (Mailpit's chaos triggers.)
func (s *Server) Refuse(tb testing.TB, code int) {
	tb.Helper()
	s.chaos(tb, code, 100)
}

// Accept ends Refuse.
func (s *Server) Accept(tb testing.TB) {
	tb.Helper()
	s.chaos(tb, 451, 0)
}

func (s *Server) chaos(tb testing.TB, code, probability int) {
	tb.Helper()
	body := fmt.Sprintf(`{"Recipient":{"ErrorCode":%d,"Probability":%d}}`, code, probability)
	req, _ := http.NewRequest(http.MethodPut, s.APIURL+"/api/v1/chaos", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("mailpit chaos: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("mailpit chaos: %s: %s", resp.Status, b)
	}
}

// Messages returns the messages received for to (every one, if to is
// empty), the oldest first.
func (s *Server) Messages(tb testing.TB, to string) []Message {
	tb.Helper()
	var list struct {
		Messages []struct {
			ID string
			To []struct{ Address string }
		} `json:"messages"`
	}
	s.getJSON(tb, "/api/v1/messages?limit=10000", &list)
	var out []Message
	for i := len(list.Messages) - 1; i >= 0; i-- { // the API lists the newest first
		m := list.Messages[i]
		if to != "" && !slices.ContainsFunc(m.To, func(a struct{ Address string }) bool { return strings.EqualFold(a.Address, to) }) {
			continue
		}
		var full struct {
			ID, MessageID, Subject, Text, HTML string
			From                               struct{ Address string }
			To                                 []struct{ Address string }
		}
		s.getJSON(tb, "/api/v1/message/"+url.PathEscape(m.ID), &full)
		msg := Message{ID: full.ID, MessageID: full.MessageID, From: full.From.Address, Subject: full.Subject, Text: full.Text, HTML: full.HTML}
		for _, a := range full.To {
			msg.To = append(msg.To, a.Address)
		}
		out = append(out, msg)
	}
	return out
}

// Wait polls, with a deadline, until at least n messages for to have
// arrived, and returns them.
func (s *Server) Wait(tb testing.TB, to string, n int, within time.Duration) []Message {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		got := s.Messages(tb, to)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("mailpit: %d messages for %q within %v, want %d", len(got), to, within, n)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

func (s *Server) getJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	resp, err := http.Get(s.APIURL + path)
	if err != nil {
		tb.Fatalf("mailpit GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("mailpit GET %s: %s: %s", path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		tb.Fatalf("mailpit GET %s: %v", path, err)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, its key, and
// a pool that trusts it.
func selfSigned(tb testing.TB) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailpittest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), pool
}
