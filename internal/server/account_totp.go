package server

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/store"
)

// The account page's two-step verification (TOTP) and recovery codes,
// without JavaScript:
//
//	POST /account/totp/begin          {csrf}: a new secret, pending; to GET /account/totp
//	GET  /account/totp                the pending enrolment: QR code, secret, code field
//	GET  /account/totp/qr.png         the pending enrolment's QR code
//	POST /account/totp/confirm        {csrf, code}: enrolled; the recovery codes, shown once
//	POST /account/totp/recovery-codes {csrf, code}: ten new recovery codes, shown once
//	POST /account/totp/remove         {csrf, password, code}: TOTP removed
//
// Enrolling and removing change the user's credentials: every session
// and token issued before ends (account.Service.ConfirmTOTP, RemoveTOTP),
// and this browser gets a new session, whose AMR is the old one's with
// the code just passed. The pages with recovery codes answer the POST
// itself: the codes are shown once, and kept nowhere to redirect to.

// totpView is the account page's TOTP and recovery-code section.
type totpView struct {
	Confirmed     bool
	Since         string // when it was confirmed (pageTime)
	Pending       bool   // an enrolment begun and not confirmed
	RecoveryCodes int    // unused ones
	Notice        string // what the last action of the section did
}

// totpEnrolView is the enrolment page: the secret in groups of four for
// typing (groupsOfFour), the otpauth URI for a phone's own browser.
type totpEnrolView struct {
	Secret string
	URL    template.URL // otpauth: ours, not a client's
}

// recoveryCodesView is the page that shows new recovery codes once.
type recoveryCodesView struct {
	Codes []string
	Done  string // the account page's ?done= to go back with
}

// totpNotices are the ?done= values of the section, each the catalogue's
// key of what it says.
var totpNotices = map[string]string{
	"totp": "account.totp.done.enrolled", "totp-removed": "account.totp.done.removed", "recovery-codes": "account.recovery.done",
}

// fillTOTP fills in the account page's TOTP section for u.
func (a *accountPages) fillTOTP(r *http.Request, u store.User, v *accountView) error {
	ctx := r.Context()
	st, err := a.accounts.TOTPStatus(ctx, u.ID)
	if err != nil {
		return err
	}
	f, err := a.accounts.Factors(ctx, u.ID)
	if err != nil {
		return err
	}
	v.TOTP = totpView{Confirmed: st.Confirmed(), Pending: st.Pending, RecoveryCodes: f.RecoveryCodes}
	if st.Confirmed() {
		v.TOTP.Since = st.ConfirmedAt.UTC().Format(pageTime)
	}
	if key, ok := totpNotices[r.URL.Query().Get("done")]; ok {
		v.TOTP.Notice = tr(r, key)
	}
	return nil
}

// mountTOTP registers the TOTP and recovery-code forms of the account page.
func (a *accountPages) mountTOTP(mux *http.ServeMux) {
	mux.HandleFunc("POST /account/totp/begin", a.form(a.beginTOTP))
	mux.HandleFunc("GET /account/totp", a.handleEnrolTOTP)
	mux.HandleFunc("GET /account/totp/qr.png", a.handleTOTPQR)
	mux.HandleFunc("POST /account/totp/confirm", a.form(a.confirmTOTP))
	mux.HandleFunc("POST /account/totp/recovery-codes", a.form(a.newRecoveryCodes))
	mux.HandleFunc("POST /account/totp/remove", a.form(a.removeTOTP))
}

// totpPath is the enrolment page.
const totpPath = "/account/totp"

// totpError is what the pages say of an error of the TOTP methods: its
// status and the catalogue's key; ok is false for the errors that
// pageError knows.
func totpError(err error) (status int, key string, ok bool) {
	switch {
	case errors.Is(err, account.ErrBadCode):
		return http.StatusForbidden, "account.totp.bad_code", true
	case errors.Is(err, account.ErrTOTPEnrolled):
		return http.StatusConflict, "account.totp.enrolled", true
	case errors.Is(err, account.ErrNoFactor):
		return http.StatusConflict, "account.totp.none", true
	case errors.Is(err, account.ErrTOTPOff):
		return http.StatusNotFound, "account.totp.off", true
	}
	return 0, "", false
}

// totpFailed renders the account page again with what err means, as
// failed does, knowing the TOTP methods' errors too.
func (a *accountPages) totpFailed(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User, err error) {
	if status, key, ok := totpError(err); ok {
		a.render(w, r, status, sess, u, "", tr(r, key))
		return
	}
	a.failed(w, r, sess, u, err)
}

// beginTOTP is POST /account/totp/begin: a new secret, pending, shown on
// the enrolment page.
func (a *accountPages) beginTOTP(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if !a.fresh(w, r, sess) {
		return
	}
	if _, err := a.accounts.BeginTOTP(r.Context(), u.ID); err != nil {
		a.totpFailed(w, r, sess, u, err)
		return
	}
	pageHeaders(w)
	http.Redirect(w, r, totpPath, http.StatusSeeOther)
}

// handleEnrolTOTP is GET /account/totp: the pending enrolment of the
// session's user, or the account page when there is none.
func (a *accountPages) handleEnrolTOTP(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := a.sessions.current(r)
	if !ok {
		pageHeaders(w)
		http.Redirect(w, r, loginForAccount, http.StatusSeeOther)
		return
	}
	a.renderEnrol(w, r, http.StatusOK, sess, u, "")
}

// renderEnrol renders the enrolment page, with problem (in the page's
// language) when a code was refused.
func (a *accountPages) renderEnrol(w http.ResponseWriter, r *http.Request, status int, sess store.Session, u store.User, problem string) {
	e, err := a.accounts.PendingTOTP(r.Context(), u.ID)
	if errors.Is(err, account.ErrNoFactor) || errors.Is(err, account.ErrTOTPEnrolled) {
		pageHeaders(w)
		http.Redirect(w, r, accountPath, http.StatusSeeOther)
		return
	}
	if err != nil {
		a.totpFailed(w, r, sess, u, err)
		return
	}
	renderPage(w, r, a.log, status, "account-totp-enrol", pageData{
		Title: tr(r, "account.totp.enrol.title"), Email: u.Email, Error: problem, CSRF: accountCSRF(a.sessions, sess),
		View: totpEnrolView{Secret: groupsOfFour(e.Secret), URL: template.URL(e.URL)}, Return: totpPath,
	})
}

// handleTOTPQR is GET /account/totp/qr.png: the QR code of the session's
// user's pending enrolment, never cached; 404 when there is none.
func (a *accountPages) handleTOTPQR(w http.ResponseWriter, r *http.Request) {
	_, u, ok := a.sessions.current(r)
	if !ok {
		http.Error(w, "not signed in", http.StatusNotFound)
		return
	}
	serveTOTPQR(w, r, a.accounts, a.log, u.ID)
}

// serveTOTPQR answers with the QR code of the pending TOTP enrolment of
// user userID (the account page's, or the login's when a second factor is
// required), never cached; 404 when there is none.
func serveTOTPQR(w http.ResponseWriter, r *http.Request, accounts *account.Service, log logs, userID string) {
	e, err := accounts.PendingTOTP(r.Context(), userID)
	if errors.Is(err, account.ErrNoFactor) || errors.Is(err, account.ErrTOTPEnrolled) || errors.Is(err, account.ErrTOTPOff) {
		http.Error(w, "no enrolment pending", http.StatusNotFound)
		return
	}
	if err != nil {
		log.fault(r.Context(), "TOTP QR code", "err", err, "sub", userID)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(e.QR)))
	w.Write(e.QR)
}

// confirmTOTP is POST /account/totp/confirm: a code of the pending
// enrolment enrols it; the browser gets a new session, and the first
// second factor's recovery codes are shown once.
func (a *accountPages) confirmTOTP(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if !a.fresh(w, r, sess) {
		return
	}
	codes, err := a.accounts.ConfirmTOTP(r.Context(), u.ID, r.PostForm.Get("code"))
	if err != nil {
		if status, key, ok := totpError(err); ok && errors.Is(err, account.ErrBadCode) {
			a.renderEnrol(w, r, status, sess, u, tr(r, key))
			return
		}
		var te *account.ThrottledError
		if errors.As(err, &te) {
			w.Header().Set("Retry-After", strconv.FormatInt(te.Seconds(), 10))
			a.renderEnrol(w, r, http.StatusTooManyRequests, sess, u, tr(r, "login.throttled"))
			return
		}
		a.totpFailed(w, r, sess, u, err)
		return
	}
	if !a.restartTOTP(w, r, sess, u) {
		return
	}
	if len(codes) == 0 { // a passkey came first: the user has codes
		a.totpDone(w, r, "totp")
		return
	}
	a.showRecoveryCodes(w, r, codes, "totp")
}

// newRecoveryCodes is POST /account/totp/recovery-codes: a current code
// (of the TOTP, or a recovery code) gets ten new recovery codes, shown
// once, in place of the old.
func (a *accountPages) newRecoveryCodes(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	ctx := r.Context()
	if _, err := a.accounts.VerifyCode(ctx, u.ID, r.PostForm.Get("code")); err != nil {
		a.totpFailed(w, r, sess, u, err)
		return
	}
	codes, err := a.accounts.NewRecoveryCodes(ctx, u.ID)
	if err != nil {
		a.totpFailed(w, r, sess, u, err)
		return
	}
	a.showRecoveryCodes(w, r, codes, "recovery-codes")
}

// removeTOTP is POST /account/totp/remove: the password and a code remove
// the TOTP; the browser gets a new session.
func (a *accountPages) removeTOTP(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	f := r.PostForm
	if err := a.accounts.RemoveTOTP(r.Context(), u.ID, f.Get("password"), f.Get("code"), a.proxies.clientIP(r)); err != nil {
		a.totpFailed(w, r, sess, u, err)
		return
	}
	if a.restartTOTP(w, r, sess, u) {
		a.totpDone(w, r, "totp-removed")
	}
}

// restartTOTP starts the browser a new session (restart) after a change
// of the user's TOTP ended every session: its AMR is the old session's with
// the code just passed. ok is false when the answer has been sent.
func (a *accountPages) restartTOTP(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) (ok bool) {
	a.loggedOut()
	if err := a.restart(w, r, u, account.AddAMR(sess.AMR, account.AMROTP)); err != nil {
		a.log.fault(r.Context(), "create session", "err", err, "sub", u.ID)
		errorPage(w, r, a.log, http.StatusInternalServerError, "error.internal")
		return false
	}
	return true
}

// totpDone goes back to the account page, whose TOTP section says what
// was done.
func (a *accountPages) totpDone(w http.ResponseWriter, r *http.Request, what string) {
	pageHeaders(w)
	http.Redirect(w, r, accountPath+"?done="+what+"#totp", http.StatusSeeOther)
}

// showRecoveryCodes renders the page that shows codes, once; its link
// goes back to the account page, which says done (a totpNotices key).
func (a *accountPages) showRecoveryCodes(w http.ResponseWriter, r *http.Request, codes []string, done string) {
	renderPage(w, r, a.log, http.StatusOK, "account-recovery-codes", pageData{
		Title: tr(r, "account.recovery.title"), View: recoveryCodesView{Codes: codes, Done: done}, Return: accountPath,
	})
}

// totpSection is the account page's TOTP section (template account-totp),
// the enrolment page (account-totp-enrol) and the page of new recovery
// codes (account-recovery-codes).
const totpSection = `{{define "account-totp"}}{{with .View.TOTP}}
<h2 id="totp">{{t $.Lang "account.totp.heading"}}</h2>
{{if .Notice}}<p class="notice" role="status">{{.Notice}}</p>{{end}}
{{if .Confirmed}}
<p>{{th $.Lang "account.totp.on" "time" .Since}}</p>
<p>{{t $.Lang "account.recovery.left" "count" (print .RecoveryCodes)}}</p>
<form method="post" action="/account/totp/recovery-codes">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label for="recovery-code">{{t $.Lang "account.totp.code"}}</label><input id="recovery-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="64">
<p class="hint">{{t $.Lang "account.recovery.new_hint"}}</p>
<button type="submit" class="secondary">{{t $.Lang "account.recovery.new"}}</button>
</form>
<form method="post" action="/account/totp/remove">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<input type="text" name="username" autocomplete="username" value="{{$.Email}}" hidden>
<label for="totp-password">{{t $.Lang "account.totp.password"}}</label><input id="totp-password" name="password" type="password" autocomplete="current-password" required>
<label for="totp-code">{{t $.Lang "account.totp.code"}}</label><input id="totp-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="64">
<p class="hint">{{t $.Lang "account.totp.remove_hint"}}</p>
<button type="submit">{{t $.Lang "account.totp.remove"}}</button>
</form>
{{else}}
<p>{{t $.Lang "account.totp.off_hint"}}</p>
<form method="post" action="/account/totp/begin">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<button type="submit">{{if .Pending}}{{t $.Lang "account.totp.restart"}}{{else}}{{t $.Lang "account.totp.begin"}}{{end}}</button>
</form>
{{if .Pending}}<p class="links"><a href="/account/totp">{{t $.Lang "account.totp.continue"}}</a></p>{{end}}
{{end}}
{{end}}{{end}}

{{define "account-totp-enrol"}}{{template "head" .}}{{with .View}}
{{if $.Error}}<p class="error" role="alert">{{$.Error}}</p>{{end}}
<p>{{t $.Lang "account.totp.enrol.scan"}}</p>
<p><img src="/account/totp/qr.png" width="256" height="256" alt="{{t $.Lang "account.totp.enrol.qr_alt"}}"></p>
<p>{{t $.Lang "account.totp.enrol.type"}}</p>
<p><code class="secret">{{.Secret}}</code></p>
<p class="hint"><a href="{{.URL}}">{{t $.Lang "account.totp.enrol.open"}}</a></p>
<form method="post" action="/account/totp/confirm">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label for="code">{{t $.Lang "account.totp.enrol.code"}}</label><input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="16" autofocus>
<button type="submit">{{t $.Lang "account.totp.enrol.submit"}}</button>
</form>
<p class="links"><a href="/account">{{t $.Lang "account.totp.enrol.cancel"}}</a></p>
{{end}}{{template "foot" .}}{{end}}

{{define "account-recovery-codes"}}{{template "head" .}}{{with .View}}
<p>{{t $.Lang "account.recovery.intro"}}</p>
<ul class="codes">{{range .Codes}}<li><code>{{.}}</code></li>{{end}}</ul>
<p class="hint">{{t $.Lang "account.recovery.hint"}}</p>
<p class="links"><a href="/account?done={{.Done}}#totp">{{t $.Lang "account.recovery.continue"}}</a></p>
{{end}}{{template "foot" .}}{{end}}
`
