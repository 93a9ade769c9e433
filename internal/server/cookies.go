package server

import (
	"net/http"
	"strings"
	"time"
)

// Cookies of the browser flow.
const (
	sessionCookie = "inkan_session"
	csrfCookie    = "inkan_csrf"
)

// cookies are the rules of the browser flow's cookies, which follow from
// the issuer's scheme.
type cookies struct {
	https bool // the issuer is https: the cookies are Secure and __Host-
}

func newCookies(issuer string) cookies {
	return cookies{https: strings.HasPrefix(issuer, "https://")}
}

// cookie is one of the flow's cookies; a negative ttl deletes it (Max-Age=0).
func (c cookies) cookie(name, value string, ttl time.Duration) *http.Cookie {
	maxAge := int(ttl / time.Second)
	if ttl < 0 {
		maxAge = -1
	}
	return &http.Cookie{
		Name: c.name(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.https,
	}
}

// name adds the __Host- prefix when the issuer is https: such a cookie is
// Secure, for path / and this host only, so that a sibling subdomain cannot
// plant a session or a CSRF pair (login CSRF).
func (c cookies) name(name string) string {
	if c.https {
		return "__Host-" + name
	}
	return name
}
