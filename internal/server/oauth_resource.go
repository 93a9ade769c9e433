package server

import (
	"net/http"
)

// handleIntrospect is RFC 7662: an authenticated client asks whether a token
// is active (oauth2.Introspector).
func (o *oauth) handleIntrospect(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	c, err := o.authenticateClient(r)
	if err != nil {
		return err
	}
	out, err := o.introspector.Introspect(r.Context(), c, r.PostForm.Get("token"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleRevoke is RFC 7009: the client that holds a token revokes it
// (oauth2.Revoker), and is answered 200 whatever the token was (§2.2).
func (o *oauth) handleRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	c, err := o.authenticateClient(r)
	if err != nil {
		return err
	}
	if err := o.revoker.Revoke(r.Context(), c, r.PostForm.Get("token")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
