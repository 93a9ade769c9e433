package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// One-time tokens: what proves, once, that a person controls an address.
// A mail carries a link with a 256-bit random token and, when the service
// has a CodeSecret, a 6-digit code for those who read mail on another
// device. The store keeps the SHA-256 of the token and an HMAC of the code
// under CodeSecret (a plain hash of one of a million codes is undone by
// trying them all). A token is bound to its user, its purpose and the
// address it was sent to, expires, and is used once, by a compare-and-swap
// in the store; a new one of the same user and purpose voids the older.
// A code is counted before it is checked, at most MaxCodeAttempts times per
// token, and in the per-account CodePolicy throttle, so six digits cannot be
// guessed.

// Defaults of the tokens' lifetimes.
const (
	DefaultVerifyTTL      = 24 * time.Hour
	DefaultRecoveryTTL    = time.Hour
	DefaultEmailChangeTTL = 24 * time.Hour
)

// MaxCodeAttempts is how many codes may be tried against one token; after
// that only its link works.
const MaxCodeAttempts = 5

// MaxTokenLen bounds a link token as received: the ones made here have 43
// characters.
const MaxTokenLen = 64

// The paths of the pages the links open, under LinkBase (the server mounts
// them there).
const (
	VerifyPath      = "/account/verify"
	RecoverPath     = "/account/recover"
	EmailChangePath = "/account/email/confirm"
)

var linkPaths = map[string]string{
	store.PurposeVerify:      VerifyPath,
	store.PurposeRecover:     RecoverPath,
	store.PurposeEmailChange: EmailChangePath,
}

// ErrLinkInvalid is every refusal of a link or code: unknown, of another
// purpose, used, expired, voided by a newer one, bound to an address the
// user no longer has, of a disabled or deleted user, a wrong code, or too
// many codes tried. A caller tells the client no more than that.
var ErrLinkInvalid = errors.New("the link or code is invalid, used or expired")

// ErrMailOff means no Mailer is configured: the features that need mail are off.
var ErrMailOff = errors.New("mail is not configured")

// InputError is a field of the request that the rules refuse: a new
// password or email.
type InputError struct{ Problem FieldProblem }

func (e *InputError) Error() string { return e.Problem.Field + ": " + e.Problem.Msg }

// issued is a token as sent: the link's token and the code.
type issued struct {
	raw, code string
	tok       store.OneTimeToken
}

// issue makes a token of purpose for u, bound to email, and stores it,
// voiding the older ones of u and purpose. The code is empty when the
// service has no CodeSecret, or noCode asks for none.
func (s *Service) issue(ctx context.Context, u store.User, purpose, email string, ttl time.Duration, noCode bool) (issued, error) {
	raw := base64.RawURLEncoding.EncodeToString(randomBytes(32)) // 256 bits
	now := s.now()
	t := store.OneTimeToken{
		Hash: hashLink(raw), Purpose: purpose, UserID: u.ID, Email: email,
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	}
	var code string
	if len(s.opts.CodeSecret) > 0 && !noCode {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return issued{}, err
		}
		code = fmt.Sprintf("%06d", n.Int64())
		t.CodeMAC = s.codeMAC(t.Hash, code)
	}
	if err := s.opts.Store.CreateOneTimeToken(ctx, t); err != nil {
		return issued{}, err
	}
	return issued{raw: raw, code: code, tok: t}, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return b
}

// hashLink is the stored form of a link token: hex SHA-256.
func hashLink(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}

// codeMAC is the stored form of a code: hex HMAC-SHA256 under CodeSecret,
// bound to its token.
func (s *Service) codeMAC(hash, code string) string {
	m := hmac.New(sha256.New, s.opts.CodeSecret)
	m.Write([]byte("inkan one-time code\x00" + hash + "\x00" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// link is the URL a mail carries for a token.
func (s *Service) link(purpose, raw string) string {
	return strings.TrimRight(s.opts.LinkBase, "/") + linkPaths[purpose] + "?" + url.Values{"token": {raw}}.Encode()
}

// mailData is what the mail of an issued token carries.
func (s *Service) mailData(u store.User, is issued) map[string]string {
	d := map[string]string{
		"name":   u.Name,
		"link":   s.link(is.tok.Purpose, is.raw),
		"expiry": is.tok.ExpiresAt.Sub(is.tok.CreatedAt).String(),
	}
	if is.code != "" {
		d["code"] = is.code
	}
	return d
}

// send enqueues a mail.
func (s *Service) send(ctx context.Context, m Message) error {
	if s.opts.Mailer == nil {
		return ErrMailOff
	}
	if err := s.opts.Mailer.Enqueue(ctx, m); err != nil {
		return fmt.Errorf("enqueue %s mail: %w", m.Kind, err)
	}
	return nil
}

// check is the one rule for whether token t, found for purpose, counts
// now: of that purpose, unused, unexpired, issued to a user who is Live at
// its creation (enabled, and no credential change since: a password reset,
// change or set, a disable) and who still has the address it is bound to
// (an email change's new address is the user's only once it is confirmed,
// so that one is not checked). It returns the user.
//
// Live is what makes a password reset void an email change asked for
// before it, with the old password, by whoever learnt it: confirmed at
// their own address, it would take the account back.
func (s *Service) check(ctx context.Context, t store.OneTimeToken, purpose string) (store.User, error) {
	if t.Purpose != purpose || !t.UsedAt.IsZero() || !s.now().Before(t.ExpiresAt) {
		return store.User{}, ErrLinkInvalid
	}
	u, err := s.Live(ctx, t.UserID, t.CreatedAt)
	if errors.Is(err, ErrUserGone) || errors.Is(err, ErrBeforeReset) {
		return store.User{}, ErrLinkInvalid
	}
	if err != nil {
		return store.User{}, err
	}
	if purpose != store.PurposeEmailChange && u.Email != t.Email {
		return store.User{}, ErrLinkInvalid
	}
	return u, nil
}

// peek returns the token of a link and its user if the link counts,
// without using it: what a page shows before its form is sent.
func (s *Service) peek(ctx context.Context, raw, purpose string) (store.OneTimeToken, store.User, error) {
	if raw == "" || len(raw) > MaxTokenLen {
		return store.OneTimeToken{}, store.User{}, ErrLinkInvalid
	}
	t, err := s.opts.Store.GetOneTimeToken(ctx, hashLink(raw))
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeToken{}, store.User{}, ErrLinkInvalid
	}
	if err != nil {
		return store.OneTimeToken{}, store.User{}, err
	}
	u, err := s.check(ctx, t, purpose)
	return t, u, err
}

// useLink uses the token of a link if it counts: of parallel uses, one
// succeeds.
func (s *Service) useLink(ctx context.Context, raw, purpose string) (store.OneTimeToken, store.User, error) {
	t, u, err := s.peek(ctx, raw, purpose)
	if err != nil {
		return store.OneTimeToken{}, store.User{}, err
	}
	return s.use(ctx, t, u)
}

func (s *Service) use(ctx context.Context, t store.OneTimeToken, u store.User) (store.OneTimeToken, store.User, error) {
	t, err := s.opts.Store.UseOneTimeToken(ctx, t.Hash, s.now())
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return store.OneTimeToken{}, store.User{}, ErrLinkInvalid
	}
	if err != nil {
		return store.OneTimeToken{}, store.User{}, err
	}
	return t, u, nil
}

// codeKeys is the counter of the codes tried for one account: by the
// email they were sent with (known or not), or the user id when the
// request is authenticated.
func (s *Service) codeKeys(purpose, account string) []store.ThrottleKey {
	if p := s.opts.CodePolicy; p.Free > 0 {
		return []store.ThrottleKey{{Key: s.throttleKey("code", purpose, account), Policy: p}}
	}
	return nil
}

// normalizeCode takes a code as typed: digits, with spaces or hyphens
// between groups; anything else is no code.
func normalizeCode(code string) (string, bool) {
	if len(code) > 16 {
		return "", false
	}
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return "", false
	}
	return code, true
}

// useCode uses the token of purpose of the user userID (empty: none is
// known) if code is its code and it counts. throttleAs names the account
// in the code throttle. Whether or not there is such a user, or a token
// with a code, it does the same reads and writes (the code is counted
// against a token that does not exist), so that neither the answer nor its
// time tells which.
func (s *Service) useCode(ctx context.Context, userID, purpose, code, throttleAs string) (store.OneTimeToken, store.User, error) {
	code, ok := normalizeCode(code)
	if !ok {
		return store.OneTimeToken{}, store.User{}, ErrLinkInvalid
	}
	counters, err := s.throttle(ctx, s.codeKeys(purpose, throttleAs)...)
	if err != nil {
		return store.OneTimeToken{}, store.User{}, err
	}
	t, err := s.opts.Store.GetUserOneTimeToken(ctx, userID, purpose)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.OneTimeToken{}, store.User{}, err
	}
	hash := t.Hash
	if err != nil || t.CodeMAC == "" {
		hash = absentHash
	}
	// Counted before it is checked: parallel guesses cannot pass the budget.
	t, err = s.opts.Store.AttemptOneTimeCode(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		_, _ = s.opts.Store.GetUser(ctx, userID) // as check does
		return store.OneTimeToken{}, store.User{}, ErrLinkInvalid
	}
	if err != nil {
		return store.OneTimeToken{}, store.User{}, err
	}
	u, err := s.check(ctx, t, purpose)
	if err != nil {
		return store.OneTimeToken{}, store.User{}, err
	}
	want := s.codeMAC(t.Hash, code)
	if t.Attempts > MaxCodeAttempts || subtle.ConstantTimeCompare([]byte(want), []byte(t.CodeMAC)) != 1 {
		s.opts.Logger.InfoContext(ctx, "one-time code refused", "sub", u.ID, "purpose", purpose, "attempts", t.Attempts)
		return store.OneTimeToken{}, store.User{}, ErrLinkInvalid
	}
	t, u, err = s.use(ctx, t, u)
	if err != nil {
		return t, u, err
	}
	if len(counters) > 0 {
		if err := s.opts.Store.ResetThrottle(ctx, counters...); err != nil {
			s.opts.Logger.WarnContext(ctx, "reset code throttle", "sub", u.ID, "err", err)
		}
	}
	return t, u, nil
}

// absentHash names no token (no SHA-256 is all zeros): a code checked
// where there is none is counted against it, at the cost of a real one.
var absentHash = strings.Repeat("0", 64)

// IssueLink makes a one-time link of purpose (store.PurposeVerify or
// store.PurposeRecover) for the user, without a code and without sending
// it, for an operator to pass on (inkan users verify-link, reset-link). It
// voids the user's older links of that purpose.
func (s *Service) IssueLink(ctx context.Context, userID, purpose string) (string, time.Time, error) {
	ttl := s.opts.VerifyTTL
	switch purpose {
	case store.PurposeVerify:
	case store.PurposeRecover:
		ttl = s.opts.RecoveryTTL
	default:
		return "", time.Time{}, fmt.Errorf("account: no links of purpose %q", purpose)
	}
	if s.opts.LinkBase == "" {
		return "", time.Time{}, errors.New("account: a link needs LinkBase, the server's issuer URL")
	}
	u, err := s.opts.Store.GetUser(ctx, userID)
	if err != nil {
		return "", time.Time{}, err
	}
	is, err := s.issue(ctx, u, purpose, u.Email, ttl, true)
	if err != nil {
		return "", time.Time{}, err
	}
	s.opts.Logger.InfoContext(ctx, "one-time link issued", "sub", u.ID, "purpose", purpose)
	return s.link(purpose, is.raw), is.tok.ExpiresAt, nil
}
