package server

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/store"
)

// Passkeys in the browser (WebAuthn), through the script passkey.js, which
// the pages include with <script src> and configure with data-*
// attributes (the pages' CSP allows scripts and fetches of this origin
// only):
//
//	POST /account/passkeys/options      {}                         → {handle, publicKey}: register one
//	POST /account/passkeys              {handle, name, credential}  → 201 {name, recovery_codes?, redirect}
//	POST /account/passkeys/delete       form {csrf, id}              → 303 /account
//	POST /oauth2/login/passkey/options  {second_factor?}            → {handle, publicKey}: sign in
//	POST /oauth2/login/passkey          {handle, credential, request | return, second_factor?} → {redirect}
//	GET  /oauth2/static/passkey.js
//
// The JSON routes take application/json of at most maxBodyBytes and the
// CSRF token in the X-CSRF-Token header (or a csrf member): the account
// session's (accountCSRF) on the account routes, the login page's
// double-submit cookie on the login routes. They answer errors as
// {"detail": "..."} in the page's language.

// passkeysView is the account page's passkeys section.
type passkeysView struct {
	On   bool // passkeys are configured (account.Service.PasskeysOn)
	List []passkeyView
}

// passkeyView is one passkey of the account page.
type passkeyView struct {
	ID, Name, Created, LastUsed string // ID in base64url
}

// passkeyNotices are the account page's ?done= values of this section.
var passkeyNotices = map[string]string{"passkey_added": "passkey.done.added", "passkey_removed": "passkey.done.removed"}

// fillPasskeys fills in the account page's passkeys section for u.
func (a *accountPages) fillPasskeys(r *http.Request, u store.User, v *accountView) error {
	if !a.accounts.PasskeysOn() {
		return nil
	}
	list, err := a.accounts.Passkeys(r.Context(), u.ID)
	if err != nil {
		return err
	}
	v.Passkeys = passkeysView{On: true}
	for _, p := range list {
		pv := passkeyView{ID: base64.RawURLEncoding.EncodeToString(p.ID), Name: p.Name, Created: p.CreatedAt.UTC().Format(pageTime)}
		if !p.LastUsedAt.IsZero() {
			pv.LastUsed = p.LastUsedAt.UTC().Format(pageTime)
		}
		v.Passkeys.List = append(v.Passkeys.List, pv)
	}
	if key, ok := passkeyNotices[r.URL.Query().Get("done")]; ok && v.Notice == "" && r.Method == http.MethodGet {
		v.Notice = tr(r, key)
	}
	return nil
}

// mountPasskeys registers the passkey routes of the account page.
func (a *accountPages) mountPasskeys(mux *http.ServeMux) {
	mux.HandleFunc("POST /account/passkeys/options", a.passkeyOptions)
	mux.HandleFunc("POST /account/passkeys", a.addPasskey)
	mux.HandleFunc("POST /account/passkeys/delete", a.form(a.removePasskey))
}

// mountPasskeys registers the passkey routes of the login pages.
func (p *pages) mountPasskeys(mux *http.ServeMux) {
	mux.HandleFunc("POST /oauth2/login/passkey/options", p.passkeyLoginOptions)
	mux.HandleFunc("POST /oauth2/login/passkey", p.passkeyLogin)
	mux.HandleFunc("GET /oauth2/static/passkey.js", handlePasskeyScript)
}

//go:embed static/passkey.js
var passkeyScript []byte

// handlePasskeyScript is GET /oauth2/static/passkey.js.
func handlePasskeyScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(passkeyScript)
}

// passkeyBody is what the passkey routes read.
type passkeyBody struct {
	CSRF         string          `json:"csrf"`
	Handle       string          `json:"handle"`
	Name         string          `json:"name"`
	Credential   json.RawMessage `json:"credential"`
	Request      string          `json:"request"`
	Return       *string         `json:"return"`
	SecondFactor bool            `json:"second_factor"`
}

// readPasskeyBody reads a passkey route's JSON body; it answers the
// error itself and returns ok false.
func readPasskeyBody(w http.ResponseWriter, r *http.Request) (passkeyBody, bool) {
	noStore(w)
	fields, err := readJSONObject(w, r)
	var derr *detailError
	if errors.As(err, &derr) {
		writeDetailError(w, derr)
		return passkeyBody{}, false
	} else if err != nil {
		writeDetailError(w, errInternal)
		return passkeyBody{}, false
	}
	var b passkeyBody
	raw, _ := json.Marshal(fields) // the members, read and valid already
	if err := json.Unmarshal(raw, &b); err != nil {
		writeDetailError(w, detailf(http.StatusUnprocessableEntity, "Malformed member in the request body"))
		return passkeyBody{}, false
	}
	return b, true
}

// passkeyCSRFOf is the request's CSRF token: the X-CSRF-Token header, else the
// body's csrf member.
func passkeyCSRFOf(r *http.Request, b passkeyBody) string {
	if h := r.Header.Get("X-CSRF-Token"); h != "" {
		return h
	}
	return b.CSRF
}

// passkeyDetail answers a passkey route's failure in the page's language:
// its status and the catalogue's key. A fault is logged and answered as
// one.
func passkeyDetail(w http.ResponseWriter, r *http.Request, log logs, err error) {
	var ie *account.InvalidError
	status, key := http.StatusInternalServerError, "error.internal"
	switch {
	case errors.As(err, &ie) && len(ie.Problems) > 0:
		status, key = http.StatusUnprocessableEntity, "passkey.error.name"
	case errors.Is(err, account.ErrPasskeysOff):
		status, key = http.StatusNotFound, "passkey.error.off"
	case errors.Is(err, account.ErrChallengeInvalid):
		status, key = http.StatusBadRequest, "passkey.error.expired"
	case errors.Is(err, account.ErrBadCode):
		status, key = http.StatusBadRequest, "passkey.error.refused"
	case errors.Is(err, account.ErrNoFactor):
		status, key = http.StatusNotFound, "passkey.error.unknown"
	case errors.Is(err, account.ErrEmailNotVerified):
		status, key = http.StatusForbidden, "login.not_verified"
	case errors.Is(err, account.ErrUserGone), errors.Is(err, account.ErrBeforeReset):
		status, key = http.StatusUnauthorized, "login.again"
	default:
		log.fault(r.Context(), "passkey", "err", err)
	}
	noStore(w)
	writeJSON(w, status, map[string]string{"detail": tr(r, key)})
}

// passkeyAccountBody reads an account passkey route: the session, its
// CSRF token, the body. It answers the error itself and returns ok false.
func (a *accountPages) passkeyAccountBody(w http.ResponseWriter, r *http.Request) (store.Session, store.User, passkeyBody, bool) {
	b, ok := readPasskeyBody(w, r)
	if !ok {
		return store.Session{}, store.User{}, b, false
	}
	sess, u, ok := a.sessions.current(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": tr(r, "login.again")})
		return sess, u, b, false
	}
	if !equalToken(accountCSRF(a.sessions, sess), passkeyCSRFOf(r, b)) {
		a.log.WarnContext(r.Context(), "passkey request refused", "reason", "CSRF token mismatch", "sub", u.ID, "path", r.URL.Path)
		writeJSON(w, http.StatusForbidden, map[string]string{"detail": tr(r, "error.csrf")})
		return sess, u, b, false
	}
	if !a.recent(sess) {
		a.log.InfoContext(r.Context(), "second-factor change refused", "reason", "sign-in not recent", "sub", u.ID, "form", r.URL.Path)
		writeJSON(w, http.StatusForbidden, map[string]string{"detail": tr(r, "account.reauth"), "login": freshLogin})
		return sess, u, b, false
	}
	return sess, u, b, true
}

// passkeyOptions is POST /account/passkeys/options: the options of
// navigator.credentials.create for a new passkey of the session's user.
func (a *accountPages) passkeyOptions(w http.ResponseWriter, r *http.Request) {
	_, u, _, ok := a.passkeyAccountBody(w, r)
	if !ok {
		return
	}
	handle, opts, err := a.accounts.BeginPasskeyRegistration(r.Context(), u.ID)
	if err != nil {
		passkeyDetail(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"handle": handle, "publicKey": json.RawMessage(opts)})
}

// addPasskey is POST /account/passkeys: the authenticator's answer. The
// passkey is stored, every grant of the user ends (a credential change)
// and the browser gets a new session; the first second factor brings the
// recovery codes, which the browser shows once.
func (a *accountPages) addPasskey(w http.ResponseWriter, r *http.Request) {
	sess, u, b, ok := a.passkeyAccountBody(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	p, codes, err := a.accounts.FinishPasskeyRegistration(ctx, u.ID, b.Handle, b.Name, b.Credential)
	if err != nil {
		passkeyDetail(w, r, a.log, err)
		return
	}
	a.loggedOut()
	if err := a.restart(w, r, u, sess.AMR); err != nil {
		passkeyDetail(w, r, a.log, err)
		return
	}
	res := map[string]any{"name": p.Name, "redirect": accountPath + "?done=passkey_added"}
	if codes != nil {
		res["recovery_codes"] = codes
	}
	writeJSON(w, http.StatusCreated, res)
}

// restart gives the browser a new session of u, authenticated by amr,
// after a credential change ended every other one.
func (a *accountPages) restart(w http.ResponseWriter, r *http.Request, u store.User, amr []string) error {
	nu, err := a.sessions.store.GetUser(r.Context(), u.ID) // TokensValidAfter moved
	if err != nil {
		return err
	}
	_, err = a.sessions.start(w, r, nu, amr)
	return err
}

// removePasskey is POST /account/passkeys/delete: a credential change,
// after which the browser gets a new session.
func (a *accountPages) removePasskey(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if !a.fresh(w, r, sess) {
		return
	}
	id, err := base64.RawURLEncoding.DecodeString(r.PostForm.Get("id"))
	if err != nil || len(id) == 0 || len(id) > 1023 {
		a.render(w, r, http.StatusNotFound, sess, u, "", tr(r, "passkey.error.unknown"))
		return
	}
	if err := a.accounts.RemovePasskey(r.Context(), u.ID, id); errors.Is(err, account.ErrNoFactor) {
		a.render(w, r, http.StatusNotFound, sess, u, "", tr(r, "passkey.error.unknown"))
		return
	} else if err != nil {
		a.failed(w, r, sess, u, err)
		return
	}
	a.loggedOut()
	if err := a.restart(w, r, u, sess.AMR); err != nil {
		a.log.fault(r.Context(), "create session", "err", err)
		errorPage(w, r, a.log, http.StatusInternalServerError, "error.internal")
		return
	}
	a.done(w, r, "passkey_removed")
}

// passkeyLoginBody reads a login passkey route: the body and the CSRF
// token of the login page's double-submit cookie.
func (p *pages) passkeyLoginBody(w http.ResponseWriter, r *http.Request) (passkeyBody, bool) {
	b, ok := readPasskeyBody(w, r)
	if !ok {
		return b, false
	}
	c, err := r.Cookie(p.cookies.name(csrfCookie))
	if err != nil || !equalToken(c.Value, passkeyCSRFOf(r, b)) {
		p.log.WarnContext(r.Context(), "passkey sign-in refused", "reason", "CSRF token mismatch")
		writeJSON(w, http.StatusForbidden, map[string]string{"detail": tr(r, "error.csrf")})
		return b, false
	}
	return b, true
}

// passkeyLoginOptions is POST /oauth2/login/passkey/options: the options
// of navigator.credentials.get for a passwordless sign-in, or, with
// second_factor, for the second factor of the browser's pending login.
func (p *pages) passkeyLoginOptions(w http.ResponseWriter, r *http.Request) {
	b, ok := p.passkeyLoginBody(w, r)
	if !ok {
		return
	}
	userID := ""
	if b.SecondFactor {
		_, u, _, ok := p.pendingLogin(r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": tr(r, "login.again")})
			return
		}
		userID = u.ID
	}
	handle, opts, err := p.accounts.BeginPasskeyLogin(r.Context(), userID)
	if err != nil {
		passkeyDetail(w, r, p.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"handle": handle, "publicKey": json.RawMessage(opts)})
}

// passkeyLogin is POST /oauth2/login/passkey: the authenticator's
// assertion. A passwordless one signs the browser in for what the login
// page was for (its request or return, as the login form carries them);
// a second factor completes the browser's pending login.
func (p *pages) passkeyLogin(w http.ResponseWriter, r *http.Request) {
	b, ok := p.passkeyLoginBody(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if b.SecondFactor {
		pl, pu, _, ok := p.pendingLogin(r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": tr(r, "login.again")})
			return
		}
		u, methods, err := p.accounts.FinishPasskeyLogin(ctx, b.Handle, b.Credential)
		if err == nil && u.ID != pu.ID {
			err = account.ErrBadCode // another user's passkey
		}
		if err != nil {
			passkeyDetail(w, r, p.log, err)
			return
		}
		next, err := p.completePending(w, r, pl, methods)
		if err != nil {
			passkeyDetail(w, r, p.log, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"redirect": next})
		return
	}
	to, ok := p.passkeySignIn(w, r, b)
	if !ok {
		return
	}
	u, methods, err := p.accounts.FinishPasskeyLogin(events.WithClient(ctx, to.clientID), b.Handle, b.Credential)
	if err == nil && !account.MultiFactor(methods) {
		// The ceremony was a second factor's (user verification only
		// preferred): it does not sign in on its own.
		err = account.ErrBadCode
	}
	if err != nil {
		passkeyDetail(w, r, p.log, err)
		return
	}
	next, err := p.signedIn(w, r, u, methods, to)
	if err != nil {
		passkeyDetail(w, r, p.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": next})
}

// passkeySignIn is what a passwordless sign-in is for, read as
// readLoginForm reads the login form: the authorization request, or,
// without one, the page of inkan's own to return to.
func (p *pages) passkeySignIn(w http.ResponseWriter, r *http.Request, b passkeyBody) (signIn, bool) {
	if b.Request == "" && b.Return != nil {
		return signIn{ret: accountReturn(*b.Return)}, true
	}
	bad := func(key string, args ...string) (signIn, bool) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": tr(r, key, args...)})
		return signIn{}, false
	}
	params, err := url.ParseQuery(b.Request)
	if err != nil {
		return bad("error.malformed_request")
	}
	ar, aerr := p.parseAuthRequest(r.Context(), params)
	if aerr != nil {
		return bad("error.invalid_request", "reason", aerr.Err.Description)
	}
	return signIn{client: ar.Client.Name, clientID: ar.Client.ID, params: params}, true
}

// passkeyTemplates are the passkey parts of the pages: the account page's
// section (account-passkeys), the login page's "Sign in with a passkey"
// (login-passkey), and the second-factor page's passkey option
// (mfa-passkey, which its page includes when the user has passkeys).
// Each includes the script; the texts the script shows come in data-*
// attributes.
const passkeyTemplates = `{{define "passkey-texts"}} data-cancelled="{{t .Lang "passkey.error.cancelled"}}" data-unsupported="{{t .Lang "passkey.error.unsupported"}}" data-failed="{{t .Lang "passkey.error.failed"}}"{{end}}

{{define "account-passkeys"}}{{with .View.Passkeys}}{{if .On}}
<h2>{{t $.Lang "passkey.heading"}}</h2>
<section id="passkeys" data-csrf="{{$.CSRF}}"{{template "passkey-texts" $}}>
<p class="hint">{{t $.Lang "passkey.hint"}}</p>
{{if .List}}<ul class="sessions">{{range .List}}
<li><div><span class="agent">{{.Name}}</span><br>
<span class="hint">{{t $.Lang "passkey.created" "time" .Created}} · {{if .LastUsed}}{{t $.Lang "passkey.last_used" "time" .LastUsed}}{{else}}{{t $.Lang "passkey.never_used"}}{{end}}</span></div>
<form method="post" action="/account/passkeys/delete"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><button type="submit" class="small secondary">{{t $.Lang "passkey.remove"}}</button></form></li>{{end}}
</ul>{{else}}<p>{{t $.Lang "passkey.none"}}</p>{{end}}
<form id="passkey-add" hidden>
<label for="passkey-name">{{t $.Lang "passkey.name"}}</label><input id="passkey-name" name="name" type="text" maxlength="64" autocomplete="off">
<button type="submit">{{t $.Lang "passkey.add"}}</button>
</form>
<p class="error" role="alert" id="passkey-error" hidden></p>
<div id="passkey-codes" hidden>
<p class="notice" role="status">{{t $.Lang "passkey.done.added"}}</p>
<p>{{t $.Lang "passkey.codes.hint"}}</p>
<ul class="codes"></ul>
<p class="links"><a href="/account?done=passkey_added">{{t $.Lang "passkey.codes.continue"}}</a></p>
</div>
</section>
<script src="/oauth2/static/passkey.js" defer></script>
{{end}}{{end}}{{end}}

{{define "login-passkey"}}{{if .Passkeys}}
<section id="passkey-login" data-csrf="{{.CSRF}}" data-request="{{.Request}}"{{if .Next}} data-return="{{.Next}}"{{end}}{{template "passkey-texts" .}}>
<p class="hint">{{t .Lang "passkey.login.or"}}</p>
<button type="button" id="passkey-signin" class="secondary" hidden>{{t .Lang "passkey.login.submit"}}</button>
<p class="error" role="alert" id="passkey-error" hidden></p>
</section>
<script src="/oauth2/static/passkey.js" defer></script>
{{end}}{{end}}

{{define "mfa-passkey"}}
<section id="passkey-mfa" data-csrf="{{.CSRF}}"{{template "passkey-texts" .}}>
<button type="button" id="passkey-use" hidden>{{t .Lang "passkey.mfa.submit"}}</button>
<p class="error" role="alert" id="passkey-error" hidden></p>
</section>
<script src="/oauth2/static/passkey.js" defer></script>
{{end}}`
