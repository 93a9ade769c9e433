package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// maxForwardedHops bounds how much of X-Forwarded-For is read.
const maxForwardedHops = 32

// proxies are the peers whose forwarding headers are believed
// (HTTPOptions.TrustedProxies): the one rule for who a request comes from
// and whether it came over HTTPS, shared by the handlers that throttle or
// record the client's address and by the middleware (HSTS).
type proxies []netip.Prefix

// clientIP is the address a request comes from: the peer, or, when the peer
// is a trusted proxy, the right-most address of X-Forwarded-For that is not
// itself a trusted proxy (the left part of the header is the client's to
// forge). Anything unparsable stops the walk at the last good hop.
func (p proxies) clientIP(r *http.Request) netip.Addr {
	peer := remoteAddr(r)
	if !p.trusted(peer) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	ip := peer
	var list []string
	for _, h := range hops {
		list = append(list, strings.Split(h, ",")...)
	}
	for i, n := len(list)-1, 0; i >= 0 && n < maxForwardedHops; i, n = i-1, n+1 {
		a, err := netip.ParseAddr(strings.TrimSpace(list[i]))
		if err != nil {
			break
		}
		ip = a.Unmap()
		if !p.trusted(ip) {
			break
		}
	}
	return ip
}

// secure reports whether the client's connection is HTTPS: TLS to us, or
// X-Forwarded-Proto: https from a trusted proxy.
func (p proxies) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if len(p) == 0 { // no proxy to believe: skip parsing the peer's address
		return false
	}
	return p.trusted(remoteAddr(r)) && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

func (p proxies) trusted(a netip.Addr) bool {
	for _, prefix := range p {
		if prefix.Contains(a) {
			return true
		}
	}
	return false
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
