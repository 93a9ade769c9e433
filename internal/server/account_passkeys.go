package server

import (
	"net/http"

	"github.com/inkan-dev/inkan/internal/store"
)

// passkeysView is the account page's passkeys section.
type passkeysView struct{}

// fillPasskeys fills in the account page's passkeys section for u.
func (a *accountPages) fillPasskeys(r *http.Request, u store.User, v *accountView) error { return nil }

// mountPasskeys registers the passkey routes of the account page.
func (a *accountPages) mountPasskeys(mux *http.ServeMux) {}

// mountPasskeys registers the passkey routes of the login pages.
func (p *pages) mountPasskeys(mux *http.ServeMux) {}

// passkeyTemplates are the passkey parts of the pages: the account page's
// section (account-passkeys), the login page's "Sign in with a passkey"
// (login-passkey), and the second-factor page's passkey option
// (mfa-passkey).
const passkeyTemplates = `{{define "account-passkeys"}}{{end}}{{define "login-passkey"}}{{end}}{{define "mfa-passkey"}}{{end}}`
