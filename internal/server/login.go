package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/oidc"
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
// unknown email costs one password verification like a known one
// (account.Service.Authenticate).
func (t *tutorial) handleAuthenticate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	email, password, err := parseBasic(r.Header.Get("Authorization"))
	if err != nil || len(password) > account.MaxPasswordBytes {
		t.log.InfoContext(ctx, "login failed", "reason", "malformed credentials")
		t.metrics.logins.WithLabelValues(resultFailure).Inc()
		return errBadCredentials
	}
	u, err := t.accounts.Authenticate(ctx, email, password, t.proxies.clientIP(r))
	if err != nil {
		return tutorialError(err)
	}
	need, err := t.accounts.NeedsSecondFactor(ctx, u, false)
	if err != nil {
		return err
	}
	if need {
		return t.secondFactorOwed(ctx, u)
	}
	return t.issueToken(w, r, u)
}

// secondFactorOwed answers a login of u that must pass a second factor:
// 401 with an mfa_token when u has one, 403 when u must enrol one first,
// which only the account page does.
func (t *tutorial) secondFactorOwed(ctx context.Context, u store.User) error {
	f, err := t.accounts.Factors(ctx, u.ID)
	if err != nil {
		return err
	}
	if !f.TOTP && f.RecoveryCodes == 0 {
		if f.Any() { // passkeys only: this route takes codes
			return detailf(http.StatusForbidden, "A second factor is required, and this account's (a passkey) works only on the login page: sign in through the browser")
		}
		return detailf(http.StatusForbidden, "A second factor is required: set one up on the account page (/account), then sign in again")
	}
	pl, err := t.accounts.StartLogin(ctx, u.ID, []string{account.AMRPassword}, nil)
	if err != nil {
		return err
	}
	t.log.InfoContext(ctx, "second factor owed", "sub", u.ID)
	return &detailError{
		status: http.StatusUnauthorized,
		detail: "A second factor is required: POST the mfa_token and a code to /user/_authenticate/mfa",
		extra:  map[string]any{"mfa_token": pl.Handle, "expires_in": int64(t.accounts.ChallengeTTL() / time.Second)},
	}
}

// handleAuthenticateMFA is POST /user/_authenticate/mfa {"mfa_token",
// "code"}: the second step of a login that owes a second factor; a TOTP
// code or a recovery code → the access token.
func (t *tutorial) handleAuthenticateMFA(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	fields, err := readJSONObject(w, r)
	if err != nil {
		return err
	}
	var problems []account.FieldProblem
	handle := requiredString(fields, "mfa_token", &problems)
	code := requiredString(fields, "code", &problems)
	if len(problems) > 0 {
		return unprocessable(problems...)
	}
	pl, err := t.accounts.PassCode(ctx, handle, code)
	var te *account.ThrottledError
	switch {
	case errors.Is(err, account.ErrBadCode):
		return &detailError{status: http.StatusUnauthorized, detail: "Incorrect code"}
	case errors.Is(err, account.ErrChallengeInvalid), errors.Is(err, account.ErrUserGone), errors.Is(err, account.ErrBeforeReset):
		return &detailError{status: http.StatusUnauthorized, detail: "The mfa_token is invalid, expired or used: sign in again"}
	case errors.As(err, &te):
		return tutorialError(err)
	case err != nil:
		return err
	}
	u, err := t.accounts.User(ctx, pl.UserID)
	if err != nil {
		return &detailError{status: http.StatusUnauthorized, detail: "The mfa_token is invalid, expired or used: sign in again"}
	}
	return t.issueToken(w, r, u)
}

// issueToken answers a login of u with its access token.
func (t *tutorial) issueToken(w http.ResponseWriter, r *http.Request, u store.User) error {
	ctx := r.Context()
	tok, err := t.tokens.Issue(token.User{ID: u.ID, Email: u.Email, Name: u.Name, ValidAfter: u.TokensValidAfter})
	if err != nil {
		return err
	}
	t.metrics.tokens.Inc()
	t.log.InfoContext(ctx, "token issued", "sub", u.ID, "kid", tok.KeyID, "jti", tok.Claims.ID)
	noStore(w)
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok.Raw, TokenType: "Bearer", ExpiresIn: tok.ExpiresIn()})
	return nil
}

// tutorialError is the tutorial routes' answer to the account service's
// errors: the one 401 of a failed login, 503 when the hash pool is
// saturated, 409 for a taken email, and 429 with Retry-After when
// throttled, 403 for a right password of an email not verified yet
// (--require-verified-email). Any other error passes as it is (a 500).
func tutorialError(err error) error {
	var te *account.ThrottledError
	switch {
	case errors.Is(err, account.ErrBadCredentials):
		return errBadCredentials
	case errors.Is(err, account.ErrBusy):
		return errBusy
	case errors.Is(err, account.ErrEmailTaken):
		return detailf(http.StatusConflict, "Email already registered")
	case errors.Is(err, account.ErrEmailNotVerified):
		return errNotVerified
	case errors.As(err, &te):
		secs := te.Seconds()
		return &detailError{
			status: http.StatusTooManyRequests,
			detail: "Too many attempts, retry in " + seconds(secs),
			header: [2]string{"Retry-After", strconv.FormatInt(secs, 10)},
		}
	}
	return err
}

// seconds spells a count of seconds for people: "1 second", "2 seconds".
func seconds(n int64) string {
	if n == 1 {
		return "1 second"
	}
	return strconv.FormatInt(n, 10) + " seconds"
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
// sees only what its scopes allow (oidc.ProfileFor). The tutorial's own
// tokens have no aud and see everything, as they always did.
func (t *tutorial) handleMe(w http.ResponseWriter, r *http.Request) error {
	claims, extra, u, err := t.access.bearerUser(r, t.issuer, t.log)
	if err != nil {
		return err
	}
	p := oidc.ProfileFor(u, grantedScope(claims, extra))
	noStore(w)
	writeJSON(w, http.StatusOK, meResponse{Subject: u.ID, Name: p.Name, Email: p.Email})
	return nil
}
