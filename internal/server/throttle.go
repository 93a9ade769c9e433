package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/inkan-dev/inkan/internal/store"
)

// errThrottled marks a *detailError that answers 429.
var errThrottled = errors.New("throttled")

type throttledError struct{ *detailError }

func (e throttledError) Unwrap() []error { return []error{e.detailError, errThrottled} }

// loginKeys are the counters of a login: per (account, client address),
// strictly, and per account from anywhere, more loosely, so that one
// address cannot lock the account's owner out.
func (s *Server) loginKeys(from netip.Addr, email string) []store.ThrottleKey {
	var keys []store.ThrottleKey
	if p := s.opts.LoginPolicy; p.Free > 0 {
		keys = append(keys, store.ThrottleKey{Key: s.throttleKey("login:pair", email, from.String()), Policy: p})
	}
	if p := s.opts.AccountPolicy; p.Free > 0 {
		keys = append(keys, store.ThrottleKey{Key: s.throttleKey("login:acct", email), Policy: p})
	}
	return keys
}

// signupKeys is the counter of registrations from the client's address.
func (s *Server) signupKeys(r *http.Request) []store.ThrottleKey {
	if p := s.opts.SignupPolicy; p.Free > 0 {
		return []store.ThrottleKey{{Key: s.throttleKey("signup", s.clientIP(r).String()), Policy: p}}
	}
	return nil
}

// throttleKey names a counter: its kind, then the hex HMAC-SHA256 of its
// parts under TokenSecret, which replicas share. Every key has the same
// size whatever the email, and the table names no email and no address (a
// plain hash of an IPv4 address is undone by trying all 2³² of them).
func (s *Server) throttleKey(kind string, parts ...string) string {
	m := hmac.New(sha256.New, s.opts.TokenSecret)
	m.Write([]byte("inkan throttle\x00" + kind))
	for _, p := range parts { // length-prefixed: no two part lists collide
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(p))))
		m.Write([]byte(p))
	}
	return kind + ":" + hex.EncodeToString(m.Sum(nil))
}

// throttle takes one attempt on keys in the shared store and returns their
// names, or a 429 with Retry-After when any is blocked.
func (s *Server) throttle(ctx context.Context, keys ...store.ThrottleKey) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	wait, err := s.opts.Store.Take(ctx, s.opts.Now(), keys...)
	if err != nil {
		return nil, fmt.Errorf("throttle: %w", err)
	}
	if wait > 0 {
		secs := int64(math.Ceil(wait.Seconds()))
		s.opts.Logger.InfoContext(ctx, "throttled", "retry_after_s", secs)
		return nil, throttledError{&detailError{
			status: http.StatusTooManyRequests,
			detail: "Too many attempts, retry in " + seconds(secs),
			header: [2]string{"Retry-After", strconv.FormatInt(secs, 10)},
		}}
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Key
	}
	return names, nil
}

// seconds spells a count of seconds for people: "1 second", "2 seconds".
func seconds(n int64) string {
	if n == 1 {
		return "1 second"
	}
	return strconv.FormatInt(n, 10) + " seconds"
}
