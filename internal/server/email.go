package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/i18n"
	"github.com/inkan-dev/inkan/internal/store"
)

// Email change.
//
//   - POST /user/_email {"email","password"}, with the Bearer token GET
//     /user takes, or POST /account/email (csrf, email, password) from the
//     account page of a signed-in browser, checks the current password and
//     mails a link and a code to the new address. The email changes only
//     when that is used, and a notice then goes to the old address.
//   - The link opens GET /account/email/confirm?token=…, a page whose
//     button POSTs the token back; POST /user/_email/confirm {"token"}, or
//     {"code"} with the Bearer token, does the same for programs.

// emailAccepted is the answer of a started email change.
const emailAccepted = "A confirmation mail is on its way to the new address; the email changes when it is used"

// bearerUser is the user of the request's Bearer token, as GET /user
// takes it (handleMe): a valid token of a current, enabled user, whose
// audience includes the issuer when it is an OAuth access token.
func (t *tutorial) bearerUser(r *http.Request) (store.User, error) {
	ctx := r.Context()
	raw, err := parseBearer(r.Header.Get("Authorization"), maxTokenSize)
	if errors.Is(err, errNoAuthorization) {
		return store.User{}, errNoToken
	}
	if err != nil {
		t.log.InfoContext(ctx, "token refused", "reason", err)
		return store.User{}, errBadToken
	}
	claims, _, u, err := t.access.check(ctx, raw)
	if err == nil && u == nil {
		err = errors.New("a client's own token, with no user")
	}
	if err == nil && isRFC9068(claims) && !slices.Contains(claims.Audience, t.issuer) {
		err = fmt.Errorf("an access token for %q, not for the issuer", claims.Audience)
	}
	if err != nil {
		t.log.InfoContext(ctx, "token refused", "reason", fmt.Sprint(err))
		return store.User{}, errBadToken
	}
	return *u, nil
}

// handleEmail is POST /user/_email {"email", "password"} with a Bearer
// token → 202; 403 for a wrong password (401 for a bad token); 409 when another
// account has the address; 422 for a malformed or unchanged email; 429;
// 503 when mail is off.
func (t *tutorial) handleEmail(w http.ResponseWriter, r *http.Request) error {
	u, err := t.bearerUser(r)
	if err != nil {
		return err
	}
	fields, err := readJSONObject(w, r)
	if err != nil {
		return err
	}
	var problems []account.FieldProblem
	email := requiredString(fields, "email", &problems)
	pw := requiredString(fields, "password", &problems)
	if len(problems) > 0 {
		return unprocessable(problems...)
	}
	err = t.accounts.RequestEmailChange(r.Context(), u.ID, email, pw, t.proxies.clientIP(r), i18n.Match(r))
	switch {
	case errors.Is(err, account.ErrWrongPassword):
		return errWrongPassword
	case errors.Is(err, account.ErrUserGone):
		return errBadToken
	case err != nil:
		return linkDetailError(err)
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"detail": emailAccepted})
	return nil
}

// handleEmailConfirm is POST /user/_email/confirm: {"token"}, or {"code"}
// with the Bearer token of the user who asked → 200 with the user and
// their new email; 400 for a link or code that does not count; 409 when
// another account took the address meanwhile.
func (t *tutorial) handleEmailConfirm(w http.ResponseWriter, r *http.Request) error {
	fields, err := readJSONObject(w, r)
	if err != nil {
		return err
	}
	var problems []account.FieldProblem
	tok, hasToken := optionalString(fields, "token", &problems)
	var code string
	if !hasToken {
		code = requiredString(fields, "code", &problems)
	}
	if len(problems) > 0 {
		return unprocessable(problems...)
	}
	var u store.User
	if hasToken {
		u, err = t.accounts.ConfirmEmailChange(r.Context(), tok, i18n.Match(r))
	} else {
		who, berr := t.bearerUser(r)
		if berr != nil {
			return berr
		}
		u, err = t.accounts.ConfirmEmailChangeCode(r.Context(), who.ID, code, i18n.Match(r))
	}
	if err != nil {
		return linkDetailError(err)
	}
	noStore(w)
	writeJSON(w, http.StatusOK, verifiedResponse{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified})
	return nil
}

// handleEmailForm is POST /account/email (csrf, email, password): the
// account page's form, from a signed-in browser.
func (p *pages) handleEmailForm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := i18n.Match(r)
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		p.linkMessage(w, r, http.StatusBadRequest, lang, "verify.error_title", "verify.form_expired")
		return
	}
	sess, u, ok := p.currentSession(r)
	if !ok {
		p.renderLinkPage(w, r, http.StatusUnauthorized, linkPage{Lang: lang, Title: i18n.T(lang, "verify.error_title"),
			Paragraphs: []string{i18n.T(lang, "verify.change_signin")}, Links: []pageLink{{Href: "/account", Text: i18n.T(lang, "verify.back")}}})
		return
	}
	if !equalToken(accountCSRF(p.sessions, sess), r.PostForm.Get("csrf")) {
		p.log.WarnContext(ctx, "email form refused", "reason", "CSRF token mismatch", "sub", u.ID)
		p.linkMessage(w, r, http.StatusForbidden, lang, "verify.error_title", "verify.form_expired")
		return
	}
	email := r.PostForm.Get("email")
	err := p.accounts.RequestEmailChange(ctx, u.ID, email, r.PostForm.Get("password"), p.proxies.clientIP(r), lang)
	back := []pageLink{{Href: "/account", Text: i18n.T(lang, "verify.back")}}
	refuse := func(status int, key string) {
		p.renderLinkPage(w, r, status, linkPage{Lang: lang, Title: i18n.T(lang, "verify.change_form_title"),
			Error: i18n.T(lang, key), Links: back})
	}
	var ie *account.InputError
	switch {
	case errors.Is(err, account.ErrWrongPassword):
		refuse(http.StatusForbidden, "verify.change_bad_password")
	case errors.Is(err, account.ErrEmailTaken):
		refuse(http.StatusConflict, "verify.change_taken")
	case errors.As(err, &ie) && account.NormalizeEmail(email) == u.Email:
		refuse(http.StatusUnprocessableEntity, "verify.change_same")
	case errors.As(err, &ie):
		refuse(http.StatusUnprocessableEntity, "verify.change_bad_email")
	case err != nil:
		p.linkError(w, r, lang, "verify", err)
	default:
		p.renderLinkPage(w, r, http.StatusOK, linkPage{Lang: lang, Title: i18n.T(lang, "verify.change_sent_title"),
			Paragraphs: []string{i18n.T(lang, "verify.change_sent", "email", formEmail(email))}, Links: back})
	}
}

// handleEmailConfirmPage is GET /account/email/confirm?token=…: a page
// with a button that confirms the change, if the link counts. It uses
// nothing up.
func (p *pages) handleEmailConfirmPage(w http.ResponseWriter, r *http.Request) {
	lang := i18n.Match(r)
	csrf := p.linkCSRF(w, r)
	tok := r.URL.Query().Get("token")
	_, newEmail, err := p.accounts.CheckEmailChange(r.Context(), tok)
	if err != nil {
		p.linkError(w, r, lang, "verify", err)
		return
	}
	p.renderLinkPage(w, r, http.StatusOK, linkPage{
		Lang: lang, Title: i18n.T(lang, "verify.change_title"),
		Forms: []linkForm{{
			Intro: i18n.T(lang, "verify.change_intro", "email", newEmail), Action: account.EmailChangePath, Button: i18n.T(lang, "verify.change_button"),
			Hidden: map[string]string{"csrf": csrf, "token": tok},
		}},
	})
}

// handleEmailConfirmPost is POST /account/email/confirm (csrf, token).
func (p *pages) handleEmailConfirmPost(w http.ResponseWriter, r *http.Request) {
	lang := i18n.Match(r)
	if !p.readLinkForm(w, r, lang) {
		return
	}
	u, err := p.accounts.ConfirmEmailChange(r.Context(), r.PostForm.Get("token"), lang)
	if errors.Is(err, account.ErrEmailTaken) {
		p.renderLinkPage(w, r, http.StatusConflict, linkPage{Lang: lang, Title: i18n.T(lang, "verify.change_title"), Error: i18n.T(lang, "verify.change_taken")})
		return
	}
	if err != nil {
		p.linkError(w, r, lang, "verify", err)
		return
	}
	p.linkMessage(w, r, http.StatusOK, lang, "verify.changed_title", "verify.changed", "email", u.Email)
}
