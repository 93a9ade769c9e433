package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"

	"github.com/inkan-dev/inkan/internal/store"
)

// loginKeys are the counters of a login: per (account, client address),
// strictly, and per account from anywhere, more loosely, so that one
// address cannot lock the account's owner out.
func (s *Service) loginKeys(email string, from netip.Addr) []store.ThrottleKey {
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
func (s *Service) signupKeys(from netip.Addr) []store.ThrottleKey {
	if p := s.opts.SignupPolicy; p.Free > 0 {
		return []store.ThrottleKey{{Key: s.throttleKey("signup", from.String()), Policy: p}}
	}
	return nil
}

// throttleKey names a counter: its kind, then the hex HMAC-SHA256 of its
// parts under ThrottleSecret, which replicas share. Every key has the same
// size whatever the email, and the table names no email and no address (a
// plain hash of an IPv4 address is undone by trying all 2³² of them).
func (s *Service) throttleKey(kind string, parts ...string) string {
	m := hmac.New(sha256.New, s.opts.ThrottleSecret)
	m.Write([]byte("inkan throttle\x00" + kind))
	for _, p := range parts { // length-prefixed: no two part lists collide
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(p))))
		m.Write([]byte(p))
	}
	return kind + ":" + hex.EncodeToString(m.Sum(nil))
}

// throttle takes one attempt on keys in the shared store and returns their
// names, or a *ThrottledError when any is blocked.
func (s *Service) throttle(ctx context.Context, keys ...store.ThrottleKey) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	wait, err := s.opts.Store.Take(ctx, s.opts.Now(), keys...)
	if err != nil {
		return nil, fmt.Errorf("throttle: %w", err)
	}
	if wait > 0 {
		e := &ThrottledError{RetryAfter: wait}
		s.opts.Logger.InfoContext(ctx, "throttled", "retry_after_s", e.Seconds())
		return nil, e
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Key
	}
	return names, nil
}
