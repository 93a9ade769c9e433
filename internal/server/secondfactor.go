package server

import (
	"errors"
	"net/http"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/store"
)

// mountSecondFactor registers the login's second-factor step.
func (p *pages) mountSecondFactor(mux *http.ServeMux) {}

// secondFactorPages are the second-factor step's pages.
const secondFactorPages = ``

// signedIn finishes a sign-in of u authenticated by amr, for to: the
// browser gets a new session, and next is where it goes now (to.next()).
func (p *pages) signedIn(w http.ResponseWriter, r *http.Request, u store.User, amr []string, to signIn) (next string, err error) {
	if _, err := p.sessions.start(w, r, u, amr); err != nil {
		return "", err
	}
	return to.next(), nil
}

// pendingLogin returns the browser's pending login (its cookie), the user
// and what the sign-in is for; ok is false when there is none live.
func (p *pages) pendingLogin(r *http.Request) (pl account.PendingLogin, u store.User, to signIn, ok bool) {
	return pl, u, to, false
}

// completePending finishes the browser's pending login pl once a second
// factor other than a code (a passkey) passed with methods: the pending
// login is used up, the browser gets its session, and next is where it
// goes now.
func (p *pages) completePending(w http.ResponseWriter, r *http.Request, pl account.PendingLogin, methods []string) (next string, err error) {
	return "", errors.ErrUnsupported
}
