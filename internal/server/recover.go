package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/i18n"
	"github.com/inkan-dev/inkan/internal/store"
)

// Password recovery (OWASP Forgot Password Cheat Sheet).
//
//   - POST /user/_recover {"email"} is answered 202 with one body for every
//     email, known or not, in the same time: the request is checked, counted
//     in the throttles of its client address and of its email (shared by
//     replicas through the store), and the mail is prepared after the answer
//     (account.Service.RequestRecovery). 429 when a throttle is spent, 503
//     when mail is off.
//   - The mail's link opens GET /account/recover?token=…, a page that asks
//     for the new password; only its POST uses the token. Without a token
//     the page asks for the email (a new link), or for the email, the code
//     and the new password.
//   - POST /user/_reset {"token","password"} or {"email","code","password"}
//     does the same for programs.
//   - Success ends every session (with back-channel logouts), refresh token
//     and earlier access token of the user, and mails a notice.

// recoverAccepted is the one answer of POST /user/_recover.
const recoverAccepted = "If an account has this email, a mail to reset its password is on its way"

// handleRecover is POST /user/_recover {"email"}.
func (t *tutorial) handleRecover(w http.ResponseWriter, r *http.Request) error {
	fields, err := readJSONObject(w, r)
	if err != nil {
		return err
	}
	var problems []account.FieldProblem
	email := requiredString(fields, "email", &problems)
	if len(problems) > 0 {
		return unprocessable(problems...)
	}
	if err := t.accounts.RequestRecovery(r.Context(), email, t.proxies.clientIP(r), i18n.Match(r)); err != nil {
		if errors.Is(err, account.ErrMailOff) {
			return detailf(http.StatusServiceUnavailable, "Password recovery is unavailable: this server sends no mail (no SMTP server is configured); an operator can make a reset link with inkan users reset-link")
		}
		return linkDetailError(err)
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"detail": recoverAccepted})
	return nil
}

// handleReset is POST /user/_reset: {"token", "password"} or {"email",
// "code", "password"} → 200; 422 for a password the signup policy refuses
// (the link or code stays usable); 400 for a link or code that does not
// count.
func (t *tutorial) handleReset(w http.ResponseWriter, r *http.Request) error {
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
	pw := requiredString(fields, "password", &problems)
	if len(problems) > 0 {
		return unprocessable(problems...)
	}
	lang := i18n.Match(r)
	if hasToken {
		_, err = t.accounts.CompleteRecovery(r.Context(), tok, pw, lang)
	} else {
		_, err = t.accounts.CompleteRecoveryCode(r.Context(), email, code, pw, t.proxies.clientIP(r), lang)
	}
	if err != nil {
		return linkDetailError(err)
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]string{"detail": "Password changed; every session and token issued before has ended"})
	return nil
}

// handleRecoverPage is GET /account/recover: with a token that counts, the
// form for the new password; with one that does not, a page that says so;
// without one, the forms that ask for a link, or use a code.
func (p *pages) handleRecoverPage(w http.ResponseWriter, r *http.Request) {
	lang := i18n.Match(r)
	csrf := p.linkCSRF(w, r)
	tok := r.URL.Query().Get("token")
	if tok == "" {
		p.renderLinkPage(w, r, http.StatusOK, recoverStartPage(lang, csrf, "", ""))
		return
	}
	u, err := p.accounts.CheckRecovery(r.Context(), tok)
	if err != nil {
		p.linkError(w, r, lang, "recover", err)
		return
	}
	p.renderLinkPage(w, r, http.StatusOK, recoverTokenPage(lang, csrf, tok, u.Email, ""))
}

func passwordFields(lang, prefix string) []formField {
	return []formField{
		{ID: prefix + "password", Name: "password", Label: i18n.T(lang, "recover.password_label"), Type: "password", Autocomplete: "new-password"},
		{ID: prefix + "password2", Name: "password2", Label: i18n.T(lang, "recover.password2_label"), Type: "password", Autocomplete: "new-password"},
	}
}

func recoverTokenPage(lang, csrf, tok, email, msg string) linkPage {
	return linkPage{
		Lang: lang, Title: i18n.T(lang, "recover.title"), Error: msg,
		Forms: []linkForm{{
			Intro: i18n.T(lang, "recover.new_intro", "email", email), Action: account.RecoverPath, Button: i18n.T(lang, "recover.reset_button"),
			Hidden: map[string]string{"csrf": csrf, "token": tok},
			Fields: passwordFields(lang, ""),
		}},
	}
}

func recoverStartPage(lang, csrf, email, msg string) linkPage {
	return linkPage{
		Lang: lang, Title: i18n.T(lang, "recover.title"), Error: msg,
		Forms: []linkForm{
			{
				Intro: i18n.T(lang, "recover.request_intro"), Action: account.RecoverPath, Button: i18n.T(lang, "recover.request_button"),
				Hidden: map[string]string{"csrf": csrf, "action": "request"},
				Fields: []formField{{ID: "email", Name: "email", Label: i18n.T(lang, "recover.email_label"), Type: "email", Autocomplete: "email", Value: email}},
			},
			{
				Intro: i18n.T(lang, "recover.code_intro"), Action: account.RecoverPath, Button: i18n.T(lang, "recover.reset_button"),
				Hidden: map[string]string{"csrf": csrf, "action": "code"},
				Fields: append([]formField{
					{ID: "code-email", Name: "email", Label: i18n.T(lang, "recover.email_label"), Type: "email", Autocomplete: "email", Value: email},
					{ID: "code", Name: "code", Label: i18n.T(lang, "recover.code_label"), Type: "text", Autocomplete: "one-time-code", Code: true},
				}, passwordFields(lang, "code-")...),
			},
		},
	}
}

// handleRecoverPost is POST /account/recover: a request for a link
// (action=request: csrf, email), a new password by link (csrf, token,
// password, password2) or by code (action=code: csrf, email, code,
// password, password2).
func (p *pages) handleRecoverPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := i18n.Match(r)
	if !p.readLinkForm(w, r, lang) {
		return
	}
	f := r.PostForm
	csrf, tok, email := f.Get("csrf"), f.Get("token"), formEmail(f.Get("email"))
	if tok == "" && f.Get("action") == "request" {
		err := p.accounts.RequestRecovery(ctx, f.Get("email"), p.proxies.clientIP(r), lang)
		var ie *account.InputError
		switch {
		case errors.As(err, &ie):
			p.renderLinkPage(w, r, http.StatusUnprocessableEntity, recoverStartPage(lang, csrf, email, i18n.T(lang, "verify.change_bad_email")))
		case err != nil:
			p.linkError(w, r, lang, "recover", err)
		default:
			p.linkMessage(w, r, http.StatusOK, lang, "recover.sent_title", "recover.sent", "minutes", strconv.Itoa(int(p.accounts.RecoveryTTL().Minutes())))
		}
		return
	}
	// Again, with msg, the form that was sent.
	again := func(status int, msg string) {
		if tok != "" {
			u, err := p.accounts.CheckRecovery(ctx, tok)
			if err != nil {
				p.linkError(w, r, lang, "recover", err)
				return
			}
			p.renderLinkPage(w, r, status, recoverTokenPage(lang, csrf, tok, u.Email, msg))
			return
		}
		p.renderLinkPage(w, r, status, recoverStartPage(lang, csrf, email, msg))
	}
	pw := f.Get("password")
	if pw != f.Get("password2") {
		again(http.StatusUnprocessableEntity, i18n.T(lang, "recover.mismatch"))
		return
	}
	var u store.User
	var err error
	if tok != "" {
		u, err = p.accounts.CompleteRecovery(ctx, tok, pw, lang)
	} else {
		u, err = p.accounts.CompleteRecoveryCode(ctx, f.Get("email"), f.Get("code"), pw, p.proxies.clientIP(r), lang)
	}
	var ie *account.InputError
	switch {
	case errors.As(err, &ie):
		msg := i18n.T(lang, "recover.password_rule")
		if lang == "en" {
			msg = ie.Problem.Msg + "."
		}
		again(http.StatusUnprocessableEntity, msg)
		return
	case errors.Is(err, account.ErrLinkInvalid) && tok == "":
		again(http.StatusBadRequest, i18n.T(lang, "recover.invalid"))
		return
	case err != nil:
		p.linkError(w, r, lang, "recover", err)
		return
	}
	p.log.InfoContext(ctx, "password reset by the recovery page", "sub", u.ID)
	// Its session, if this browser had one, ended with the others.
	if _, err := r.Cookie(p.cookies.name(sessionCookie)); err == nil {
		http.SetCookie(w, p.cookies.cookie(sessionCookie, "", -1))
	}
	p.linkMessage(w, r, http.StatusOK, lang, "recover.done_title", "recover.done")
}

// formEmail is an email typed into a form, as shown again: normalised,
// and dropped when longer than any email.
func formEmail(s string) string {
	s = account.NormalizeEmail(s)
	if len(s) > account.MaxEmailBytes {
		return ""
	}
	return s
}
