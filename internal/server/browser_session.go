package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/inkan-dev/inkan/internal/store"
)

// browserSessions are the browser's login sessions: the cookie, its row
// (stored by the cookie's SHA-256, with the public id that ID tokens name
// as sid), and the CSRF tokens of the forms that act within a session. The
// login page, the sign-up page and the account pages share them.
type browserSessions struct {
	store   store.Store
	ttl     time.Duration // TokenOptions.SessionTTL
	now     func() time.Time
	cookies cookies
	proxies proxies // the client's address, kept with the session
	secret  []byte  // TokenOptions.Secret: the forms' CSRF MACs
}

// current returns the browser's login session, if it has a live one of an
// enabled user.
func (b *browserSessions) current(r *http.Request) (store.Session, store.User, bool) {
	c, err := r.Cookie(b.cookies.name(sessionCookie))
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return store.Session{}, store.User{}, false
	}
	ctx := r.Context()
	sess, err := b.store.GetSession(ctx, hashToken(c.Value))
	if err != nil || !b.now().Before(sess.ExpiresAt) {
		return store.Session{}, store.User{}, false
	}
	u, err := b.store.GetUser(ctx, sess.UserID)
	if err != nil || u.Disabled {
		return store.Session{}, store.User{}, false
	}
	return sess, u, true
}

// start signs the browser in as u, authenticated by amr (RFC 8176): a new session, whose cookie it sets,
// with the browser's User-Agent and address for the user's list of
// sessions. The session id is new at every sign-in, so that a cookie
// planted by someone else (session fixation) is never adopted: the one the
// browser had is deleted.
func (b *browserSessions) start(w http.ResponseWriter, r *http.Request, u store.User, amr []string) (store.Session, error) {
	ctx := r.Context()
	if old, err := r.Cookie(b.cookies.name(sessionCookie)); err == nil {
		_ = b.store.DeleteSession(ctx, hashToken(old.Value)) // best effort: it is never adopted, and expires
	}
	raw := randomToken()
	now := b.now().UTC().Truncate(time.Microsecond)
	// A sign-in right after the user's credentials changed counts from
	// then on, even when TokensValidAfter runs a moment ahead of now
	// (token.ValidAfter), so that its codes are live.
	authTime := now
	if u.TokensValidAfter.After(now) {
		authTime = u.TokensValidAfter
	}
	sess := store.Session{
		Hash: hashToken(raw), ID: rand.Text(), UserID: u.ID, AuthTime: authTime, AMR: amr, CreatedAt: now, ExpiresAt: now.Add(b.ttl),
		UserAgent: userAgent(r), Address: b.address(r),
	}
	if err := b.store.CreateSession(ctx, sess); err != nil {
		return store.Session{}, err
	}
	http.SetCookie(w, b.cookies.cookie(sessionCookie, raw, b.ttl))
	http.SetCookie(w, b.cookies.cookie(csrfCookie, "", -1))
	return sess, nil
}

// clear expires the session cookie the request carried, if it did.
func (b *browserSessions) clear(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(b.cookies.name(sessionCookie)); err == nil {
		http.SetCookie(w, b.cookies.cookie(sessionCookie, "", -1))
	}
}

// mac is a form's CSRF token, bound to the session and to one form, so
// that the token of one form is worthless for another.
func (b *browserSessions) mac(form string, sess store.Session) string {
	m := hmac.New(sha256.New, b.secret)
	m.Write([]byte(form + "\x00" + sess.Hash))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// address is the client's address as a session keeps it; empty when there
// is none (a test's request).
func (b *browserSessions) address(r *http.Request) string {
	if a := b.proxies.clientIP(r); a.IsValid() {
		return a.String()
	}
	return ""
}

// userAgent is the request's User-Agent as a session keeps it, to show to
// its user: valid UTF-8, without control characters, cut to
// store.MaxUserAgentBytes.
func userAgent(r *http.Request) string {
	ua := strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return -1
		}
		return c
	}, strings.ToValidUTF8(r.UserAgent(), ""))
	ua = strings.TrimSpace(ua)
	if len(ua) > store.MaxUserAgentBytes {
		ua = ua[:store.MaxUserAgentBytes]
		for !utf8.ValidString(ua) {
			ua = ua[:len(ua)-1]
		}
	}
	return ua
}
