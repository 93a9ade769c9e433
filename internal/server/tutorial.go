package server

import (
	"net/http"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/token"
)

// tutorial serves the tutorial-compatible routes: registration (signup.go),
// the password login and the user's own record (login.go), and beside
// them email verification (verify.go), password recovery (recover.go) and
// email change (email.go), with the tutorial's {"detail": ...} errors.
type tutorial struct {
	signup   bool             // AccountOptions.Signup: POST /user is open
	issuer   string           // the audience of GET /user
	accounts *account.Service // registration and password logins
	tokens   *token.Issuer    // the tutorial's access tokens
	access   *accessTokens    // the Bearer token of GET /user
	proxies  proxies          // the client's address, for the throttle
	metrics  *Metrics
	log      logs
}

// Mount registers the tutorial's routes on mux.
func (t *tutorial) Mount(mux *http.ServeMux) {
	mux.Handle("POST /user", t.handle(t.handleSignup))
	mux.Handle("GET /user", t.handle(t.handleMe))
	mux.Handle("POST /user/_authenticate", t.handle(t.handleAuthenticate))
	mux.Handle("POST /user/_authenticate/mfa", t.handle(t.handleAuthenticateMFA))
	mux.Handle("POST /user/_verify", t.handle(t.handleVerify))
	mux.Handle("POST /user/_verify/resend", t.handle(t.handleVerifyResend))
	mux.Handle("POST /user/_recover", t.handle(t.handleRecover))
	mux.Handle("POST /user/_reset", t.handle(t.handleReset))
	mux.Handle("POST /user/_email", t.handle(t.handleEmail))
	mux.Handle("POST /user/_email/confirm", t.handle(t.handleEmailConfirm))
}

// handle adapts a handler of the tutorial's routes (detailRoute): its
// errors are rendered as {"detail": ...}.
func (t *tutorial) handle(h handlerFunc) http.Handler { return detailRoute(t.log, h) }

// errBusy is the tutorial routes' answer to account.ErrBusy.
var errBusy = &detailError{
	status: http.StatusServiceUnavailable,
	detail: "Server busy, retry shortly",
	header: [2]string{"Retry-After", "1"},
}
