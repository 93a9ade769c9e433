package server

import (
	"net/url"

	"github.com/inkan-dev/inkan/internal/account"
)

// mfaOptions are the account service's second factors as the server
// configures them: the WebAuthn relying party is the issuer's host, its
// pages are served from the issuer's origin.
func mfaOptions(opts Options) account.MFAOptions {
	o := account.MFAOptions{
		Require: opts.Accounts.RequireMFA,
		Secret:  opts.Tokens.Secret,
		Policy:  opts.Accounts.MFAPolicy,
		Issuer:  "inkan",
		RPName:  "inkan",
	}
	if u, err := url.Parse(opts.Issuer); err == nil && u.Hostname() != "" {
		o.Issuer = u.Hostname()
		o.RPID = u.Hostname()
		o.RPOrigins = []string{u.Scheme + "://" + u.Host}
	}
	return o
}
