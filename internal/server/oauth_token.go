package server

import (
	"errors"
	"mime"
	"net/http"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// secretParams are the parameters held to no text rule: they are hashed,
// never stored or shown.
var secretParams = map[string]bool{"password": true, "client_secret": true}

// readForm parses an application/x-www-form-urlencoded body of at most
// maxBodyBytes and refuses repeated parameters (RFC 6749 §3.2) and, but for
// secrets, parameters that are not plaintext.Valid.
func readForm(w http.ResponseWriter, r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return oauth2.Errorf(oauth2.InvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		return oauth2.Errorf(oauth2.InvalidRequest, "malformed or oversized form body")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return oauth2.Errorf(oauth2.InvalidRequest, "parameter %s given more than once", k)
		}
		if !plaintext.Valid(k) || !secretParams[k] && !plaintext.Valid(r.PostForm.Get(k)) {
			return oauth2.Errorf(oauth2.InvalidRequest, "parameter %q holds control characters or invalid UTF-8", k)
		}
	}
	return nil
}

// authenticateClient reads and checks the client's credentials.
func (o *oauth) authenticateClient(r *http.Request) (store.Client, error) {
	cred, err := oauth2.ReadCredentials(r)
	if err != nil {
		return store.Client{}, err
	}
	if !plaintext.Valid(cred.ClientID) { // from the Authorization header: readForm did not see it
		return store.Client{}, oauth2.Errorf(oauth2.InvalidClient, "malformed client credentials")
	}
	c, err := o.clients.GetClient(r.Context(), cred.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		oauth2.HashSecret(cred.Secret) // the same work as for a known client
		return store.Client{}, oauth2.Errorf(oauth2.InvalidClient, "client authentication failed")
	}
	if err != nil {
		return store.Client{}, err
	}
	if err := oauth2.Authenticate(c, cred); err != nil {
		return store.Client{}, err
	}
	return c, nil
}

// handleToken is POST /oauth2/token (RFC 6749 §3.2): the form, the
// client, then the grant the request names (oauth2.TokenEndpoint).
func (o *oauth) handleToken(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	c, err := o.authenticateClient(r)
	if err != nil {
		return err
	}
	ctx := events.WithClient(r.Context(), c.ID) // the password grant's login events name the client
	resp, err := o.tokens.Exchange(ctx, oauth2.ParseTokenRequest(r.PostForm, c, o.proxies.clientIP(r)))
	if err != nil {
		return err
	}
	o.metrics.tokens.Inc()
	writeJSON(w, http.StatusOK, resp)
	return nil
}
