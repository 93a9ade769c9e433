package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/internal/store"
)

// Logout: OpenID Connect RP-Initiated Logout 1.0 at the end_session_endpoint.
//
//   - A valid id_token_hint ends the session its sid names, cookie or not:
//     a relying party's server (oauth2-proxy's --backend-logout-url) can end
//     the user's session from its back channel.
//   - Without one, the browser's own session ends only after the user says
//     so on a confirmation page, whose form carries a CSRF token bound to
//     the session (RP-Initiated Logout §2: the OP asks the End-User), so
//     that no other site can sign the user out.
//   - Ending a session ends its refresh tokens and unredeemed codes, and
//     queues a logout token for each client with a back-channel logout URI
//     (backchannel.go).
//   - The redirect goes only to a post_logout_redirect_uri registered for
//     the client, with state; otherwise a page says the user is signed out.

// logoutRequest is where to go after a logout.
type logoutRequest struct {
	clientID, redirectURI, state string
}

func (lr logoutRequest) params() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"client_id": lr.clientID, "post_logout_redirect_uri": lr.redirectURI, "state": lr.state} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// newHintVerifier is the verifier of id_token_hint (oidc.HintVerifier)
// with the server's issuer, keys and clock.
func newHintVerifier(ctx context.Context, opts Options) (*oidc.HintVerifier, error) {
	return oidc.NewHintVerifier(ctx, oidc.HintConfig{
		Issuer:       opts.Issuer,
		KeySet:       opts.Keys,
		Leeway:       Leeway,
		Now:          opts.Now,
		MaxTokenSize: maxTokenSize,
	})
}

// handleLogout is GET and POST /oauth2/logout.
func (p *pages) handleLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, ok := p.pageParams(w, r)
	if !ok {
		return
	}
	if r.Method == http.MethodPost && q.Has("csrf") {
		p.confirmLogout(w, r)
		return
	}
	lr := logoutRequest{clientID: q.Get("client_id"), redirectURI: q.Get("post_logout_redirect_uri"), state: q.Get("state")}
	var hint oidc.Hint
	valid := false
	if raw := q.Get("id_token_hint"); raw != "" {
		h, err := p.hints.Verify(ctx, raw)
		switch {
		case err != nil:
			p.log.InfoContext(ctx, "logout hint refused", "err", err)
		case lr.clientID != "" && lr.clientID != h.ClientID:
			// RP-Initiated Logout §2: client_id must be the hint's aud.
			p.log.InfoContext(ctx, "logout hint refused", "err", "client_id is not the hint's aud", "client_id", lr.clientID)
		default:
			hint, valid = h, true
			lr.clientID = h.ClientID
		}
	}
	sess, u, signedIn := p.currentSession(r)
	if valid && hint.SessionID != "" {
		p.endSession(events.WithClient(ctx, hint.ClientID), hint.SessionID, hint.Subject, "id_token_hint")
		if !signedIn || sess.ID == hint.SessionID && sess.UserID == hint.Subject {
			p.signedOut(w, r, lr)
			return
		}
		// The browser is signed in to another session, or the hint was not
		// its user's: ask about the browser's own.
	}
	if signedIn {
		p.renderPage(w, r, http.StatusOK, "logout", pageData{
			Title: tr(r, "logout.title"), Client: p.clientName(ctx, lr.clientID), Email: u.Email,
			CSRF: p.logoutCSRF(sess), Request: lr.params().Encode(),
		})
		return
	}
	p.signedOut(w, r, lr) // nothing to end
}

// confirmLogout is the POST of the confirmation page: it ends the
// browser's session if the form's CSRF token is that session's.
func (p *pages) confirmLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	params, err := url.ParseQuery(r.PostForm.Get("request"))
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.malformed_request")
		return
	}
	lr := logoutRequest{clientID: params.Get("client_id"), redirectURI: params.Get("post_logout_redirect_uri"), state: params.Get("state")}
	sess, u, signedIn := p.currentSession(r)
	if !signedIn { // ended meanwhile, in another tab
		p.signedOut(w, r, lr)
		return
	}
	if !equalToken(p.logoutCSRF(sess), r.PostForm.Get("csrf")) {
		p.log.WarnContext(ctx, "logout form refused", "reason", "CSRF token mismatch", "sub", u.ID)
		p.errorPage(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	if r.PostForm.Get("decision") == "stay" {
		messagePage(w, r, p.log, http.StatusOK, "logout.still_title", "logout.still")
		return
	}
	p.endSession(ctx, sess.ID, sess.UserID, "confirmed")
	p.signedOut(w, r, lr)
}

// logoutCSRF is the confirmation form's CSRF token, bound to the session.
func (p *pages) logoutCSRF(sess store.Session) string {
	return p.sessionMAC("inkan logout csrf", sess)
}

// endSession ends a session of userID, with its refresh tokens and
// unredeemed codes.
func (p *pages) endSession(ctx context.Context, sessionID, userID, via string) {
	ctx, cancel := mustFinish(ctx)
	defer cancel()
	err := p.store.EndSession(ctx, sessionID, userID, p.now().UTC().Truncate(time.Microsecond))
	switch {
	case errors.Is(err, store.ErrNotFound):
		p.log.DebugContext(ctx, "logout: the session had ended already", "sub", userID, "via", via)
	case err != nil:
		p.log.ErrorContext(ctx, "end session", "err", err)
	default:
		p.log.InfoContext(ctx, "session ended", "sub", userID, "via", via)
		p.loggedOut()
		events.Record(ctx, p.events, events.Event{Type: events.SessionEnded, UserID: userID, Detail: map[string]string{"sid": sessionID, "via": via}})
	}
}

// signedOut expires the session cookie the request carried (its session
// ended, or was not live), and redirects to the post-logout redirect URI if
// it is registered for the client, or says so on a page. A request without
// the cookie, such as a cross-site POST (SameSite=Lax), gets no Set-Cookie:
// no other site may sign the browser out.
func (p *pages) signedOut(w http.ResponseWriter, r *http.Request, lr logoutRequest) {
	if _, err := r.Cookie(p.cookies.name(sessionCookie)); err == nil {
		http.SetCookie(w, p.cookies.cookie(sessionCookie, "", -1))
	}
	if lr.redirectURI != "" && lr.clientID != "" {
		if c, err := p.store.GetClient(r.Context(), lr.clientID); err == nil && slices.Contains(c.PostLogoutRedirectURIs, lr.redirectURI) {
			v := url.Values{}
			if lr.state != "" {
				v.Set("state", lr.state)
			}
			p.redirectTo(w, r, lr.redirectURI, v)
			return
		}
	}
	messagePage(w, r, p.log, http.StatusOK, "logout.done_title", "logout.done")
}

// clientName is the name of the client, or "" if there is no such client.
func (p *pages) clientName(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	c, err := p.store.GetClient(ctx, id)
	if err != nil {
		return ""
	}
	return c.Name
}
