package server

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/store"
)

// The login's second step: once the password checked out (or a session
// of one factor must step up), a user who has a second factor, or must
// have one, passes it before any session or code is theirs.
//
//	POST /oauth2/login/mfa        {csrf, code}: a TOTP or recovery code
//	POST /oauth2/login/mfa/enrol  {csrf, code}: the first TOTP of a user who must have one
//	GET  /oauth2/login/mfa/qr.png the QR code of that TOTP
//
// The pending login (account.PendingLogin) is held by the browser in the
// mfaCookie, for account.MFAOptions.ChallengeTTL; what the sign-in is for
// (signIn) is kept with it on the server. Passkeys are the other way
// through (account_passkeys.go: pendingLogin, completePending).

// mfaCookie holds the handle of the browser's pending login.
const mfaCookie = "inkan_mfa"

// mountSecondFactor registers the login's second-factor step.
func (p *pages) mountSecondFactor(mux *http.ServeMux) {
	mux.HandleFunc("POST /oauth2/login/mfa", p.handleSecondFactor)
	mux.HandleFunc("POST /oauth2/login/mfa/enrol", p.handleEnrol)
	mux.HandleFunc("GET /oauth2/login/mfa/qr.png", p.handleEnrolQR)
}

// handleEnrolQR is GET /oauth2/login/mfa/qr.png: the QR code of the TOTP
// that the browser's pending login is enrolling.
func (p *pages) handleEnrolQR(w http.ResponseWriter, r *http.Request) {
	_, u, _, ok := p.pendingLogin(r)
	if !ok || p.hasFactor(r, u) {
		http.Error(w, "no enrolment pending", http.StatusNotFound)
		return
	}
	serveTOTPQR(w, r, p.accounts, p.log, u.ID)
}

// hasFactor reports whether u has a second factor already (or whether
// that cannot be told): the login's enrolment is then closed, so that a
// password alone cannot read or confirm a TOTP enrolment the user began
// on the account page and take it as their second factor.
func (p *pages) hasFactor(r *http.Request, u store.User) bool {
	f, err := p.accounts.Factors(r.Context(), u.ID)
	if err != nil {
		p.log.fault(r.Context(), "second factors", "err", err)
		return true
	}
	return f.Any()
}

// pendingFor is what a pending login keeps of what the sign-in is for.
type pendingFor struct {
	Client   string `json:"client,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Request  string `json:"request,omitempty"` // the authorization request's parameters, encoded
	Return   string `json:"return,omitempty"`
	MFA      bool   `json:"mfa,omitempty"`
}

func (s signIn) pending() pendingFor {
	f := pendingFor{Client: s.client, ClientID: s.clientID, Return: s.ret, MFA: s.mfa}
	if s.params != nil {
		f.Request = s.params.Encode()
	}
	return f
}

func (f pendingFor) signIn() (signIn, error) {
	s := signIn{client: f.Client, clientID: f.ClientID, ret: f.Return, mfa: f.MFA}
	if f.Request != "" || f.Return == "" {
		params, err := url.ParseQuery(f.Request)
		if err != nil {
			return signIn{}, err
		}
		s.params = params
	}
	return s, nil
}

// signedIn finishes a sign-in of u authenticated by amr, for to: the
// browser gets a new session, and next is where it goes now (to.next()).
// Its pending login, if it had one, is forgotten.
func (p *pages) signedIn(w http.ResponseWriter, r *http.Request, u store.User, amr []string, to signIn) (next string, err error) {
	if _, err := p.sessions.start(w, r, u, amr); err != nil {
		return "", err
	}
	if _, err := r.Cookie(p.cookies.name(mfaCookie)); err == nil {
		http.SetCookie(w, p.cookies.cookie(mfaCookie, "", -1))
	}
	return to.next(), nil
}

// afterFirstFactor goes on with a sign-in of u whose first factor (amr)
// checked out, or with a session of one factor (amr its methods) that
// must step up: to the second factor when u must pass one, otherwise
// straight to what the sign-in is for, with a new session. fresh is false
// for a step-up, whose session stays until the second factor passes.
func (p *pages) afterFirstFactor(w http.ResponseWriter, r *http.Request, u store.User, amr []string, to signIn) {
	ctx := r.Context()
	need, err := p.accounts.NeedsSecondFactor(ctx, u, to.mfa)
	if err != nil {
		p.log.fault(ctx, "second factors", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "error.internal")
		return
	}
	if !need || account.MultiFactor(amr) {
		next, err := p.signedIn(w, r, u, amr, to)
		if err != nil {
			p.log.fault(ctx, "create session", "err", err)
			p.errorPage(w, r, http.StatusInternalServerError, "error.internal")
			return
		}
		pageHeaders(w)
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	data, _ := json.Marshal(to.pending()) // plain strings: never fails
	pl, err := p.accounts.StartLogin(ctx, u.ID, amr, data)
	if err != nil {
		p.log.fault(ctx, "start second factor", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "error.internal")
		return
	}
	http.SetCookie(w, p.cookies.cookie(mfaCookie, pl.Handle, time.Until(pl.ExpiresAt).Round(time.Second)))
	p.secondFactorPage(w, r, u, to, "", http.StatusOK)
}

// secondFactorView is what the second-factor and enrolment pages show.
type secondFactorView struct {
	TOTP     bool // the user has a TOTP: the code form
	Passkeys bool // the user has passkeys: the passkey button (template mfa-passkey)
	Recovery bool // the user has recovery codes left
	// Enrol is the TOTP to enrol when the user must have a second factor
	// and has none.
	Enrol *enrolView
	// Codes are the recovery codes to show once, after an enrolment.
	Codes []string
	Next  string // where the recovery codes page goes on to
}

type enrolView struct {
	Secret string       // in groups of four
	URL    template.URL // the otpauth URI, for a phone's link handler
}

// secondFactorPage renders the second-factor page (or, for a user who must
// have a factor and has none, the enrolment page) of the browser's pending
// login of u; msgKey, when not empty, says what went wrong.
func (p *pages) secondFactorPage(w http.ResponseWriter, r *http.Request, u store.User, to signIn, msgKey string, status int) {
	ctx := r.Context()
	f, err := p.accounts.Factors(ctx, u.ID)
	if err != nil {
		p.log.fault(ctx, "second factors", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "error.internal")
		return
	}
	token := randomToken()
	http.SetCookie(w, p.cookies.cookie(csrfCookie, token, time.Hour))
	v := secondFactorView{TOTP: f.TOTP, Passkeys: f.Passkeys > 0, Recovery: f.RecoveryCodes > 0}
	d := pageData{Title: tr(r, "mfa.title"), Client: to.client, Email: u.Email, CSRF: token, Return: to.next(), View: &v}
	if msgKey != "" {
		d.Error = tr(r, msgKey)
	}
	name := "second-factor"
	if !f.Any() {
		e, err := p.accounts.BeginTOTP(ctx, u.ID)
		if err != nil {
			p.log.fault(ctx, "begin TOTP", "err", err)
			p.errorPage(w, r, http.StatusInternalServerError, "error.internal")
			return
		}
		// The otpauth: URI as a link, for a phone's authenticator app;
		// html/template would refuse the scheme.
		v.Enrol = &enrolView{Secret: groupsOfFour(e.Secret), URL: template.URL(e.URL)}
		d.Title, name = tr(r, "mfa.enrol.title"), "mfa-enrol"
	}
	p.renderPage(w, r, status, name, d)
}

// groupsOfFour spells a secret for reading and typing.
func groupsOfFour(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// pendingLogin returns the browser's pending login (its cookie), the user
// and what the sign-in is for; ok is false when there is none live.
func (p *pages) pendingLogin(r *http.Request) (pl account.PendingLogin, u store.User, to signIn, ok bool) {
	c, err := r.Cookie(p.cookies.name(mfaCookie))
	if err != nil || c.Value == "" {
		return pl, u, to, false
	}
	ctx := r.Context()
	if pl, err = p.accounts.PendingLogin(ctx, c.Value); err != nil {
		return pl, u, to, false
	}
	if u, err = p.accounts.User(ctx, pl.UserID); err != nil {
		return pl, u, to, false
	}
	var f pendingFor
	if json.Unmarshal(pl.Data, &f) != nil {
		return pl, u, to, false
	}
	if to, err = f.signIn(); err != nil {
		return pl, u, to, false
	}
	return pl, u, to, true
}

// completePending finishes the browser's pending login pl once a second
// factor other than a code (a passkey) passed with methods: the pending
// login is used up, the browser gets its session, and next is where it
// goes now.
func (p *pages) completePending(w http.ResponseWriter, r *http.Request, pl account.PendingLogin, methods []string) (next string, err error) {
	pl, err = p.accounts.TakeLogin(r.Context(), pl.Handle, pl.UserID, methods)
	if err != nil {
		return "", err
	}
	return p.finishPending(w, r, pl)
}

// finishPending gives the browser the session of its completed pending
// login pl and returns where it goes now.
func (p *pages) finishPending(w http.ResponseWriter, r *http.Request, pl account.PendingLogin) (string, error) {
	u, err := p.accounts.User(r.Context(), pl.UserID)
	if err != nil {
		return "", err
	}
	var f pendingFor
	if err := json.Unmarshal(pl.Data, &f); err != nil {
		return "", err
	}
	to, err := f.signIn()
	if err != nil {
		return "", err
	}
	return p.signedIn(w, r, u, pl.AMR, to)
}

// readPendingForm reads a form of the second step: its CSRF token (the
// double-submit cookie of the page that showed it) and the browser's
// pending login. ok is false when the answer has been sent: the error page
// for a bad token, the login page again when the pending login is gone.
func (p *pages) readPendingForm(w http.ResponseWriter, r *http.Request) (pl account.PendingLogin, u store.User, to signIn, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.unreadable_form")
		return pl, u, to, false
	}
	c, err := r.Cookie(p.cookies.name(csrfCookie))
	if err != nil || !equalToken(c.Value, r.PostForm.Get("csrf")) {
		p.log.WarnContext(r.Context(), "second-factor form refused", "reason", "CSRF token mismatch")
		p.errorPage(w, r, http.StatusForbidden, "error.csrf")
		return pl, u, to, false
	}
	if pl, u, to, ok = p.pendingLogin(r); !ok {
		http.SetCookie(w, p.cookies.cookie(mfaCookie, "", -1))
		p.loginPage(w, r, signIn{ret: accountPath}, "", "mfa.expired", http.StatusUnauthorized)
		return pl, u, to, false
	}
	return pl, u, to, true
}

// handleSecondFactor is POST /oauth2/login/mfa: a code of the user's TOTP,
// or a recovery code.
func (p *pages) handleSecondFactor(w http.ResponseWriter, r *http.Request) {
	pl, u, to, ok := p.readPendingForm(w, r)
	if !ok {
		return
	}
	done, err := p.accounts.PassCode(r.Context(), pl.Handle, r.PostForm.Get("code"))
	if err != nil {
		p.secondFactorFailed(w, r, u, to, err)
		return
	}
	next, err := p.finishPending(w, r, done)
	if err != nil {
		p.secondFactorFailed(w, r, u, to, err)
		return
	}
	pageHeaders(w)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// handleEnrol is POST /oauth2/login/mfa/enrol: the code that confirms the
// TOTP of a user who must have a second factor and had none. The user is
// signed in, and shown their recovery codes once.
func (p *pages) handleEnrol(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pl, u, to, ok := p.readPendingForm(w, r)
	if !ok {
		return
	}
	if p.hasFactor(r, u) {
		p.log.WarnContext(ctx, "login enrolment refused", "reason", "the user has a second factor", "sub", u.ID)
		p.errorPage(w, r, http.StatusForbidden, "mfa.enrol.closed")
		return
	}
	codes, err := p.accounts.ConfirmTOTP(ctx, u.ID, r.PostForm.Get("code"))
	if err != nil {
		p.secondFactorFailed(w, r, u, to, err)
		return
	}
	// Confirming ended every grant of the user's, and proved the factor:
	// the pending login completes with it (TakeLogin checks that the
	// user is still live, which a login begun before does not count as).
	done, err := p.accounts.TakeLogin(ctx, pl.Handle, u.ID, []string{account.AMROTP})
	if errors.Is(err, account.ErrBeforeReset) {
		done, err = pl, nil
		done.AMR = account.AddAMR(pl.AMR, account.AMROTP)
	}
	if err != nil {
		p.secondFactorFailed(w, r, u, to, err)
		return
	}
	next, err := p.finishPending(w, r, done)
	if err != nil {
		p.secondFactorFailed(w, r, u, to, err)
		return
	}
	p.renderPage(w, r, http.StatusOK, "recovery-codes", pageData{
		Title: tr(r, "mfa.codes.title"), Return: next, View: &secondFactorView{Codes: codes, Next: next},
	})
}

// secondFactorFailed answers a refused second step: the page again with
// what went wrong, or the login page when the pending login is gone.
func (p *pages) secondFactorFailed(w http.ResponseWriter, r *http.Request, u store.User, to signIn, err error) {
	var te *account.ThrottledError
	switch {
	case errors.Is(err, account.ErrBadCode):
		p.secondFactorPage(w, r, u, to, "mfa.bad_code", http.StatusUnauthorized)
	case errors.As(err, &te):
		w.Header().Set("Retry-After", strconv.FormatInt(te.Seconds(), 10))
		p.secondFactorPage(w, r, u, to, "login.throttled", http.StatusTooManyRequests)
	case errors.Is(err, account.ErrChallengeInvalid), errors.Is(err, account.ErrUserGone), errors.Is(err, account.ErrBeforeReset):
		http.SetCookie(w, p.cookies.cookie(mfaCookie, "", -1))
		p.loginPage(w, r, to, "", "mfa.expired", http.StatusUnauthorized)
	default:
		p.log.fault(r.Context(), "second factor", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "error.internal")
	}
}

// secondFactorPages are the second step's pages: the code (with the
// passkey's button, template mfa-passkey), the enrolment of a TOTP, and
// the recovery codes shown once.
const secondFactorPages = `{{define "second-factor"}}{{template "head" .}}{{with .View}}
<p>{{if $.Client}}{{th $.Lang "login.continue" "client" $.Client}}{{else}}{{t $.Lang "login.continue_account"}}{{end}}</p>
{{if $.Error}}<p class="error" role="alert">{{$.Error}}</p>{{end}}
{{if .Passkeys}}{{template "mfa-passkey" $}}{{end}}
{{if or .TOTP .Recovery}}<form method="post" action="/oauth2/login/mfa">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label for="code">{{if .TOTP}}{{t $.Lang "mfa.code"}}{{else}}{{t $.Lang "mfa.recovery_code"}}{{end}}</label>
<input id="code" name="code" type="text" inputmode="{{if .TOTP}}numeric{{else}}text{{end}}" autocomplete="one-time-code" required maxlength="32" autofocus>
<p class="hint">{{if .TOTP}}{{t $.Lang "mfa.hint"}}{{else}}{{t $.Lang "mfa.hint_recovery"}}{{end}}</p>
<button type="submit">{{t $.Lang "mfa.submit"}}</button>
</form>{{end}}
{{end}}{{template "foot" .}}{{end}}

{{define "mfa-enrol"}}{{template "head" .}}{{with .View}}{{with .Enrol}}
<p>{{t $.Lang "mfa.enrol.required"}}</p>
{{if $.Error}}<p class="error" role="alert">{{$.Error}}</p>{{end}}
<p><a href="{{.URL}}"><img src="/oauth2/login/mfa/qr.png" width="256" height="256" alt="{{t $.Lang "mfa.enrol.qr"}}"></a></p>
<p>{{t $.Lang "mfa.enrol.key"}}: <code>{{.Secret}}</code></p>
<form method="post" action="/oauth2/login/mfa/enrol">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label for="code">{{t $.Lang "mfa.code"}}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="32" autofocus>
<button type="submit">{{t $.Lang "mfa.enrol.submit"}}</button>
</form>
{{end}}{{end}}{{template "foot" .}}{{end}}

{{define "recovery-codes"}}{{template "head" .}}{{with .View}}
<p>{{t $.Lang "mfa.codes.hint"}}</p>
<ul class="codes">{{range .Codes}}<li><code>{{.}}</code></li>{{end}}</ul>
<p class="links"><a href="{{.Next}}">{{t $.Lang "mfa.codes.continue"}}</a></p>
{{end}}{{template "foot" .}}{{end}}
`
