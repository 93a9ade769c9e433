package server

import (
	"errors"
	"net/http"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/i18n"
	"github.com/inkan-dev/inkan/internal/store"
)

// Email verification.
//
//   - Registration (POST /user) mails a link and a 6-digit code when mail
//     is on; it succeeds all the same when mail is off or the mail fails.
//   - The link opens GET /account/verify?token=…: a page with a button,
//     whose form POSTs the token back with a CSRF token. Only that POST
//     uses it: a scanner's GET or HEAD leaves it usable.
//   - GET /account/verify without a token shows a form for the email and
//     the code; it POSTs to the same place.
//   - POST /user/_verify {"token"} or {"email","code"} does the same for
//     programs; POST /user/_verify/resend {"email"} asks for a new mail,
//     and is answered 202 alike for every email.

// sendVerification mails a new user their verification link and code,
// when mail is on. A failure is logged: the registration stands.
func (t *tutorial) sendVerification(r *http.Request, u store.User) {
	err := t.accounts.StartVerification(r.Context(), u, i18n.Match(r))
	if err != nil && !errors.Is(err, account.ErrMailOff) {
		t.log.fault(r.Context(), "send verification", "sub", u.ID, "err", err)
	}
}

// handleVerify is POST /user/_verify: {"token"} or {"email", "code"} →
// 200 with the verified user; 400 for a link or code that is wrong, used
// or expired (one answer for all); 429 when the account's codes are spent.
func (t *tutorial) handleVerify(w http.ResponseWriter, r *http.Request) error {
	fields, err := readJSONObject(w, r)
	if err != nil {
		return err
	}
	var problems []account.FieldProblem
	tok, hasToken := optionalString(fields, "token", &problems)
	var email, code string
	if !hasToken {
		email = requiredString(fields, "email", &problems)
		code = requiredString(fields, "code", &problems)
	}
	if len(problems) > 0 {
		return unprocessable(problems...)
	}
	var u store.User
	if hasToken {
		u, err = t.accounts.ConfirmVerification(r.Context(), tok)
	} else {
		u, err = t.accounts.ConfirmVerificationCode(r.Context(), email, code, t.proxies.clientIP(r))
	}
	if err != nil {
		return linkDetailError(err)
	}
	noStore(w)
	writeJSON(w, http.StatusOK, verifiedResponse{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified})
	return nil
}

// resendAccepted is the one answer of POST /user/_verify/resend.
const resendAccepted = "If an account with this email is not verified yet, a new verification mail is on its way"

// handleVerifyResend is POST /user/_verify/resend {"email"}: 202 with the
// same body whether or not an unverified account has the email; 429 when
// the client address or the email asked too often; 503 when mail is off.
func (t *tutorial) handleVerifyResend(w http.ResponseWriter, r *http.Request) error {
	fields, err := readJSONObject(w, r)
	if err != nil {
		return err
	}
	var problems []account.FieldProblem
	email := requiredString(fields, "email", &problems)
	if len(problems) > 0 {
		return unprocessable(problems...)
	}
	if err := t.accounts.ResendVerification(r.Context(), email, t.proxies.clientIP(r), i18n.Match(r)); err != nil {
		return linkDetailError(err)
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"detail": resendAccepted})
	return nil
}

// handleVerifyPage is GET /account/verify: with a token that counts, a
// page with a button that confirms it; with one that does not, a page
// that says so; without one, the form for the email and the code. It
// uses nothing up.
func (p *pages) handleVerifyPage(w http.ResponseWriter, r *http.Request) {
	lang := i18n.Match(r)
	csrf := p.linkCSRF(w, r)
	tok := r.URL.Query().Get("token")
	if tok == "" {
		p.renderLinkPage(w, r, http.StatusOK, p.verifyCodePage(lang, csrf, "", ""))
		return
	}
	u, err := p.accounts.CheckVerification(r.Context(), tok)
	if err != nil {
		p.linkError(w, r, lang, "verify", err)
		return
	}
	p.renderLinkPage(w, r, http.StatusOK, linkPage{
		Lang: lang, Title: i18n.T(lang, "verify.title"),
		Forms: []linkForm{{
			Intro: i18n.T(lang, "verify.confirm_intro", "email", u.Email), Action: account.VerifyPath, Button: i18n.T(lang, "verify.confirm_button"),
			Hidden: map[string]string{"csrf": csrf, "token": tok},
		}},
	})
}

func (p *pages) verifyCodePage(lang, csrf, email, msg string) linkPage {
	return linkPage{
		Lang: lang, Title: i18n.T(lang, "verify.title"), Error: msg,
		Forms: []linkForm{{
			Intro: i18n.T(lang, "verify.code_intro"), Action: account.VerifyPath, Button: i18n.T(lang, "verify.code_button"),
			Hidden: map[string]string{"csrf": csrf},
			Fields: []formField{
				{ID: "email", Name: "email", Label: i18n.T(lang, "verify.email_label"), Type: "email", Autocomplete: "email", Value: email},
				{ID: "code", Name: "code", Label: i18n.T(lang, "verify.code_label"), Type: "text", Autocomplete: "one-time-code", Code: true},
			},
		}},
	}
}

// handleVerifyPost is POST /account/verify: the button of a link's page
// (csrf, token) or the code form (csrf, email, code).
func (p *pages) handleVerifyPost(w http.ResponseWriter, r *http.Request) {
	lang := i18n.Match(r)
	if !p.readLinkForm(w, r, lang) {
		return
	}
	var u store.User
	var err error
	if tok := r.PostForm.Get("token"); tok != "" {
		u, err = p.accounts.ConfirmVerification(r.Context(), tok)
	} else {
		email := r.PostForm.Get("email")
		u, err = p.accounts.ConfirmVerificationCode(r.Context(), email, r.PostForm.Get("code"), p.proxies.clientIP(r))
		if errors.Is(err, account.ErrLinkInvalid) {
			p.renderLinkPage(w, r, http.StatusBadRequest, p.verifyCodePage(lang, r.PostForm.Get("csrf"), formEmail(email), i18n.T(lang, "verify.invalid")))
			return
		}
	}
	if err != nil {
		p.linkError(w, r, lang, "verify", err)
		return
	}
	p.linkMessage(w, r, http.StatusOK, lang, "verify.done_title", "verify.done", "email", u.Email)
}

// The answers to a sign-in whose password was right but whose email is
// not verified yet (--require-verified-email): the tutorial's route, and
// the login page.
var errNotVerified = detailf(http.StatusForbidden,
	"Email address not verified: open the link mailed to it, or ask for a new one with POST /user/_verify/resend")
