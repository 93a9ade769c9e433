package server

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/i18n"
)

// POST /user/_email changes nothing until the link mailed to the new
// address is used from its page (after a scanner looked at it); the old
// address then gets a notice.
func TestEmail_change(t *testing.T) { backends(t, testEmail_change) }

func testEmail_change(t *testing.T, backend harnessOption) {
	m := &recordingMailer{}
	p := newProvider(t, backend, withMailer(m))
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	p.signup(t, "Bob", "bob@example.com", "correct horse")
	m.take()
	bearer := "Bearer " + p.login(t, "alice@example.com", "correct horse")
	for _, tc := range []struct {
		name   string
		body   map[string]string
		header []string
		want   int
	}{
		{"no token", map[string]string{"email": "new@example.com", "password": "correct horse"}, nil, 401},
		{"wrong password", map[string]string{"email": "new@example.com", "password": "wrong"}, []string{"Authorization", bearer}, 403},
		{"taken", map[string]string{"email": "bob@example.com", "password": "correct horse"}, []string{"Authorization", bearer}, 409},
		{"malformed", map[string]string{"email": "new@", "password": "correct horse"}, []string{"Authorization", bearer}, 422},
		{"unchanged", map[string]string{"email": "alice@example.com", "password": "correct horse"}, []string{"Authorization", bearer}, 422},
		{"no password", map[string]string{"email": "new@example.com"}, []string{"Authorization", bearer}, 422},
	} {
		if rec := p.jsonPost(t, "/user/_email", tc.body, tc.header...); rec.Code != tc.want {
			t.Errorf("%s: POST /user/_email = %d %s, want %d", tc.name, rec.Code, rec.Body, tc.want)
		}
	}
	if msgs := m.take(); len(msgs) != 0 {
		t.Fatalf("refused changes sent %+v", msgs)
	}
	rec := p.jsonPost(t, "/user/_email", map[string]string{"email": "New@Example.com", "password": "correct horse"}, "Authorization", bearer)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("POST /user/_email = %d %s", rec.Code, rec.Body)
	}
	msg := m.only(t, account.MailEmailChange, "new@example.com")
	if msg.Data["new_email"] != "new@example.com" {
		t.Errorf("mail = %+v", msg)
	}
	if me := decode(t, p.do(t, "GET", "/user", "", "Authorization", bearer)); me["email"] != "alice@example.com" {
		t.Fatalf("GET /user before confirmation = %v, want the old email", me)
	}
	link := msg.Data["link"]
	if !strings.HasPrefix(link, p.url+"/account/email/confirm?token=") {
		t.Fatalf("link = %q", link)
	}
	scan(t, link)
	b := newBrowser(t)
	status, page, _ := b.get(link)
	if status != 200 || !strings.Contains(page, "new@example.com") {
		t.Fatalf("GET the link = %d:\n%s", status, page)
	}
	form := linkFormOf(t, page)
	if status, page, _ := b.post(p.url+"/account/email/confirm", form); status != 200 || !strings.Contains(page, "new@example.com") {
		t.Fatalf("POST the confirmation = %d:\n%s", status, page)
	}
	if me := decode(t, p.do(t, "GET", "/user", "", "Authorization", bearer)); me["email"] != "new@example.com" {
		t.Errorf("GET /user after confirmation = %v, want the new email", me)
	}
	m.only(t, account.MailEmailChangedNotice, "alice@example.com")
	p.login(t, "new@example.com", "correct horse")
	if status, _, _ := b.post(p.url+"/account/email/confirm", form); status != http.StatusBadRequest {
		t.Errorf("the confirmation again = %d, want 400", status)
	}
}

// The code of the mail confirms with the Bearer token of the user who
// asked, and not another's.
func TestEmail_code(t *testing.T) {
	m := &recordingMailer{}
	h := newHarness(t, withMailer(m))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	h.signup(t, "Bob", "bob@example.com", "correct horse")
	m.take()
	alice := "Bearer " + h.login(t, "alice@example.com", "correct horse")
	bob := "Bearer " + h.login(t, "bob@example.com", "correct horse")
	if rec := h.jsonPost(t, "/user/_email", map[string]string{"email": "new@example.com", "password": "correct horse"}, "Authorization", alice); rec.Code != 202 {
		t.Fatalf("POST /user/_email = %d %s", rec.Code, rec.Body)
	}
	code := m.only(t, account.MailEmailChange, "new@example.com").Data["code"]
	if rec := h.jsonPost(t, "/user/_email/confirm", map[string]string{"code": code}); rec.Code != 401 {
		t.Errorf("code without a token = %d, want 401", rec.Code)
	}
	if rec := h.jsonPost(t, "/user/_email/confirm", map[string]string{"code": code}, "Authorization", bob); rec.Code != 400 {
		t.Errorf("code with bob's token = %d %s, want 400", rec.Code, rec.Body)
	}
	rec := h.jsonPost(t, "/user/_email/confirm", map[string]string{"code": code}, "Authorization", alice)
	if rec.Code != 200 || decode(t, rec)["email"] != "new@example.com" || decode(t, rec)["email_verified"] != true {
		t.Errorf("code with alice's token = %d %s", rec.Code, rec.Body)
	}
}

// The account page's form (POST /account/email) needs the signed-in
// session and its CSRF token.
func TestEmail_accountForm(t *testing.T) {
	m := &recordingMailer{}
	h := newHarness(t, withMailer(m))
	uid := h.signup(t, "Alice", "alice@example.com", "correct horse")["id"].(string)
	m.take()
	raw := h.mustSession(t, uid)
	sess, err := h.store.GetSession(t.Context(), hashToken(raw))
	if err != nil {
		t.Fatal(err)
	}
	pg := pagesOf(t, h.srv)
	csrf := accountCSRF(pg.sessions, sess)
	signedIn := pg.cookies.name(sessionCookie) + "=" + raw
	post := func(form url.Values, cookie string) (int, string) {
		rec := h.do(t, "POST", "/account/email", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie)
		checkPageHeaders(t, rec.Header())
		return rec.Code, rec.Body.String()
	}
	good := url.Values{"csrf": {csrf}, "email": {"new@example.com"}, "password": {"correct horse"}}
	for _, tc := range []struct {
		name   string
		form   url.Values
		cookie string
		want   int
		text   string
	}{
		{"not signed in", good, "", 401, i18n.T("en", "verify.change_signin")},
		{"forged csrf", url.Values{"csrf": {"forged"}, "email": good["email"], "password": good["password"]}, signedIn, 403, i18n.T("en", "verify.form_expired")},
		{"wrong password", url.Values{"csrf": {csrf}, "email": good["email"], "password": {"wrong"}}, signedIn, 403, i18n.T("en", "verify.change_bad_password")},
		{"same email", url.Values{"csrf": {csrf}, "email": {"alice@example.com"}, "password": good["password"]}, signedIn, 422, i18n.T("en", "verify.change_same")},
	} {
		if status, page := post(tc.form, tc.cookie); status != tc.want || !strings.Contains(page, template.HTMLEscapeString(tc.text)) {
			t.Errorf("%s: POST /account/email = %d, want %d saying %q:\n%.500s", tc.name, status, tc.want, tc.text, page)
		}
	}
	if len(m.take()) != 0 {
		t.Fatal("a refused form sent mail")
	}
	if status, page := post(good, signedIn); status != 200 || !strings.Contains(page, "new@example.com") {
		t.Fatalf("POST /account/email = %d:\n%s", status, page)
	}
	m.only(t, account.MailEmailChange, "new@example.com")
}

// pagesOf is the server's pages handler.
func pagesOf(t *testing.T, s *Server) *pages {
	t.Helper()
	for _, h := range s.handlers {
		if p, ok := h.(*pages); ok {
			return p
		}
	}
	t.Fatal("no pages handler")
	return nil
}
