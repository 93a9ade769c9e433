package oauth2

import (
	"net"
	"net/url"
	"slices"
)

// MatchRedirectURI returns the registered redirect URI that uri matches:
// by string equality, except that a registered loopback IP-literal http URI
// (http://127.0.0.1/cb, http://[::1]/cb) matches the same URI with any port
// (RFC 8252 §7.3, RFC 9700 §4.1.3). Nothing else is relaxed: no prefix,
// subdomain, path or query matching.
func MatchRedirectURI(registered []string, uri string) (string, bool) {
	if uri == "" {
		return "", false
	}
	if slices.Contains(registered, uri) {
		return uri, true
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.Port() == "" || u.User != nil || u.Fragment != "" {
		return "", false
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", false
	}
	// The same URI without its port.
	u.Host = host
	if ip := net.ParseIP(host); ip.To4() == nil {
		u.Host = "[" + host + "]"
	}
	if slices.Contains(registered, u.String()) {
		return uri, true
	}
	return "", false
}
