package mail

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// SMTP is the server mail goes through: a parsed --smtp-url. Its password
// is unexported and never printed: String, GoString and LogValue show the
// server without it.
type SMTP struct {
	Host string
	Port int
	// ImplicitTLS is smtps://: TLS from the first byte (RFC 8314).
	// Otherwise (smtp://) the connection is upgraded with STARTTLS, which
	// is mandatory unless Host is a loopback address, where it is used
	// when the server offers it.
	ImplicitTLS bool
	Username    string // empty: no authentication
	password    string
}

// ParseURL parses an SMTP URL: smtp://[user[:password]@]host[:port]
// (port 587 by default) or smtps://… (port 465). The user and password are
// percent-encoded. Errors never hold the password, nor any part of the URL
// that might be one.
func ParseURL(raw string) (SMTP, error) {
	const form = "must be smtp://user:password@host:port or smtps://user:password@host:port"
	u, err := url.Parse(raw)
	if err != nil {
		return SMTP{}, errors.New("not a URL: " + form) // url.Parse's error quotes the URL
	}
	var s SMTP
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		s.Port = 587
	case "smtps":
		s.Port, s.ImplicitTLS = 465, true
	default:
		return SMTP{}, errors.New(form)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return SMTP{}, errors.New("has a path, query or fragment: " + form)
	}
	s.Host = u.Hostname()
	if s.Host == "" {
		return SMTP{}, errors.New("has no host: " + form)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SMTP{}, errors.New("has a port outside 1 to 65535")
		}
		s.Port = n
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.password, _ = u.User.Password()
		if s.Username == "" {
			return SMTP{}, errors.New("has a password but no user name")
		}
	}
	return s, nil
}

// Loopback reports whether Host is this machine (localhost, 127.0.0.0/8,
// ::1), the one case where STARTTLS is optional.
func (s SMTP) Loopback() bool {
	if strings.EqualFold(s.Host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(s.Host)
	return err == nil && a.IsLoopback()
}

// Addr is host:port.
func (s SMTP) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// String is the URL without the password.
func (s SMTP) String() string {
	scheme := "smtp"
	if s.ImplicitTLS {
		scheme = "smtps"
	}
	user := ""
	if s.Username != "" {
		user = url.User(s.Username).String() + "@"
	}
	return scheme + "://" + user + s.Addr()
}

// GoString is String, so that %#v shows no password either.
func (s SMTP) GoString() string { return fmt.Sprintf("mail.SMTP(%s)", s.String()) }

// LogValue is the server without the password.
func (s SMTP) LogValue() slog.Value { return slog.StringValue(s.String()) }

// tlsMode describes how the connection is protected, for the log.
func (s SMTP) tlsMode() string {
	switch {
	case s.ImplicitTLS:
		return "implicit TLS"
	case s.Loopback():
		return "STARTTLS if offered (loopback)"
	}
	return "STARTTLS required"
}
