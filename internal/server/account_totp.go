package server

import (
	"net/http"

	"github.com/inkan-dev/inkan/internal/store"
)

// totpView is the account page's TOTP and recovery-code section.
type totpView struct{}

// fillTOTP fills in the account page's TOTP section for u.
func (a *accountPages) fillTOTP(r *http.Request, u store.User, v *accountView) error { return nil }

// mountTOTP registers the TOTP and recovery-code forms of the account page.
func (a *accountPages) mountTOTP(mux *http.ServeMux) {}

// totpSection is the account page's TOTP section (template account-totp).
const totpSection = `{{define "account-totp"}}{{end}}`
