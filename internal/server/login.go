package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
)

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// handleAuthenticate is POST /user/_authenticate: HTTP Basic with the email
// as user id → a signed access token. Every failure is the same 401, and an
// unknown email costs one password verification like a known one.
func (s *Server) handleAuthenticate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	email, password, err := parseBasic(r.Header.Get("Authorization"))
	if err != nil || len(password) > maxPasswordBytes {
		s.opts.Logger.InfoContext(ctx, "login failed", "reason", "malformed credentials")
		s.opts.Metrics.logins.WithLabelValues(resultFailure).Inc()
		return errBadCredentials
	}
	u, err := s.checkPassword(r, email, password)
	if err != nil {
		return err
	}
	tok, err := s.tokens.Issue(u)
	if err != nil {
		return err
	}
	s.opts.Metrics.tokens.Inc()
	s.opts.Logger.InfoContext(ctx, "token issued", "sub", u.ID, "kid", tok.KeyID, "jti", tok.Claims.ID)
	noStore(w)
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok.Raw, TokenType: "Bearer", ExpiresIn: tok.ExpiresIn()})
	return nil
}

// checkPassword is every password login (the tutorial's route, the OAuth
// password grant, the login page): it counts the attempt in the shared
// throttle before checking it, so that parallel guesses cannot slip past
// the budget, costs one hash whether or not the email is known, and resets
// the counters on success. It takes the email as given, and normalises it;
// one no account can have (control characters, invalid UTF-8, over 254
// bytes once normalised) fails before any of that. It returns
// errBadCredentials for any failure, a throttledError, or errBusy.
func (s *Server) checkPassword(r *http.Request, email, password string) (store.User, error) {
	return s.authenticate(r.Context(), email, password, s.clientIP(r))
}

// authenticate is checkPassword for a client at from.
func (s *Server) authenticate(ctx context.Context, email, password string, from netip.Addr) (store.User, error) {
	m := s.opts.Metrics.logins
	// No account has such an email (registration refuses it), so it costs
	// no throttle row, lookup or hash. The text is checked as given: the
	// normal form would turn invalid UTF-8 into U+FFFD.
	valid := plaintext.Valid(email)
	if email = NormalizeEmail(email); !valid || len(email) > maxEmailBytes {
		s.opts.Logger.InfoContext(ctx, "login failed", "reason", "malformed email")
		m.WithLabelValues(resultFailure).Inc()
		return store.User{}, errBadCredentials
	}
	counters, err := s.throttle(ctx, s.loginKeys(from, email)...)
	if err != nil {
		if errors.Is(err, errThrottled) {
			m.WithLabelValues(resultThrottled).Inc()
		}
		return store.User{}, err
	}
	u, err := s.opts.Store.GetUserByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	hash := s.dummyHash
	if known {
		hash = u.PasswordHash
	}
	ok, rehash, err := s.opts.Passwords.Verify(ctx, hash, password)
	if errors.Is(err, errHashBusy) {
		m.WithLabelValues(resultBusy).Inc()
		return store.User{}, errBusy
	}
	if err != nil {
		if ctx.Err() != nil {
			return store.User{}, err
		}
		// A stored hash we cannot read: the user cannot log in, and the
		// operator must know.
		s.opts.Logger.ErrorContext(ctx, "verify password", "sub", u.ID, "err", err)
		return store.User{}, errBadCredentials
	}
	if !known || !ok || u.Disabled {
		s.opts.Logger.InfoContext(ctx, "login failed", "reason", "bad credentials")
		m.WithLabelValues(resultFailure).Inc()
		return store.User{}, errBadCredentials
	}
	if err := s.opts.Store.ResetThrottle(ctx, counters...); err != nil {
		s.opts.Logger.WarnContext(ctx, "reset login throttle", "sub", u.ID, "err", err)
	}
	if rehash {
		s.rehash(ctx, u, password)
	}
	m.WithLabelValues(resultSuccess).Inc()
	return u, nil
}

// rehash upgrades a legacy (bcrypt) or outdated hash to the current argon2id
// parameters after a successful login, unless the hash changed meanwhile.
// Failures are logged: the login itself stands.
func (s *Server) rehash(ctx context.Context, u store.User, password string) {
	nh, err := s.opts.Passwords.Hash(ctx, password)
	if err == nil {
		_, err = s.opts.Store.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
			if old.PasswordHash != u.PasswordHash {
				return old, errHashChanged
			}
			old.PasswordHash = nh
			old.UpdatedAt = s.opts.Now().UTC().Truncate(time.Microsecond)
			return old, nil
		})
	}
	if err != nil && !errors.Is(err, errHashChanged) {
		s.opts.Logger.WarnContext(ctx, "rehash password", "sub", u.ID, "err", err)
		return
	}
	s.opts.Logger.InfoContext(ctx, "password rehashed", "sub", u.ID)
}

var errHashChanged = errors.New("password hash changed meanwhile")

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

type meResponse struct {
	Subject string `json:"sub"`
	Name    string `json:"user,omitempty"`
	Email   string `json:"email,omitempty"`
}

// handleMe is GET /user: a valid Bearer token of a current, enabled user →
// that user. The token is never echoed back.
//
// GET /user is the tutorial's resource, whose audience is the issuer URL: an
// OAuth access token counts here only when its aud includes the issuer (a
// client registered with --audience <issuer>), since a token minted for
// another audience must not be accepted by this one (RFC 9068 §4), and it
// sees only what its scopes allow (token.ProfileFor). The tutorial's own
// tokens have no aud and see everything, as they always did.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	raw, err := parseBearer(r.Header.Get("Authorization"), maxTokenSize)
	if errors.Is(err, errNoAuthorization) {
		return errNoToken
	}
	if err != nil {
		s.opts.Logger.InfoContext(ctx, "token refused", "reason", err)
		return errBadToken
	}
	claims, extra, u, err := s.checkAccessToken(ctx, raw)
	if err == nil && u == nil {
		err = errors.New("a client's own token, with no user")
	}
	if err == nil && isRFC9068(claims) && !slices.Contains(claims.Audience, s.opts.Issuer) {
		err = fmt.Errorf("an access token for %q, not for the issuer", claims.Audience)
	}
	if err != nil {
		s.opts.Logger.InfoContext(ctx, "token refused", "reason", fmt.Sprint(err))
		return errBadToken
	}
	p := token.ProfileFor(*u, grantedScope(claims, extra))
	noStore(w)
	writeJSON(w, http.StatusOK, meResponse{Subject: u.ID, Name: p.Name, Email: p.Email})
	return nil
}
