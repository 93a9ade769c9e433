package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// signupForm opens the sign-up page and fills in its form.
func (b *browser) signupForm(p *provider, ret, name, email, password string) url.Values {
	b.t.Helper()
	u := p.url + "/account/signup"
	if ret != "" {
		u += "?" + url.Values{"return": {ret}}.Encode()
	}
	code, page, _ := b.get(u)
	if code != 200 || !strings.Contains(page, `action="/account/signup"`) {
		b.t.Fatalf("GET /account/signup = %d:\n%.600s", code, page)
	}
	m := returnFieldRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no return field:\n%s", page)
	}
	return url.Values{"csrf": {formToken(b.t, page)}, "return": {htmlUnescape(m[1])}, "name": {name}, "email": {email}, "password": {password}}
}

// The sign-up page registers under POST /user's rules, signs the browser
// in and goes to the account page.
func TestSignupPage(t *testing.T) { backends(t, testSignupPage) }

func testSignupPage(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	b := newBrowser(t)
	form := b.signupForm(p, "", "  Alice ", " Alice@Example.com ", "correct horse")
	code, page, _ := b.post(p.url+"/account/signup", form)
	if code != 200 || !strings.Contains(page, `action="/account/name"`) || !strings.Contains(page, "alice@example.com") || !strings.Contains(page, `value="Alice"`) {
		t.Fatalf("POST /account/signup = %d, want the new account's page:\n%.800s", code, page)
	}
	u, err := p.store.GetUserByEmail(context.Background(), "alice@example.com")
	if err != nil || u.Name != "Alice" || u.EmailVerified {
		t.Errorf("registered user = %+v, %v", u, err)
	}
	p.login(t, "alice@example.com", "correct horse")

	for _, tc := range []struct {
		name, uname, email, pw string
		wantCode               int
		want                   []string
	}{
		{"taken", "Alice 2", "alice@example.com", "other horse", 409, []string{"An account with this email exists already."}},
		{"every problem", "", "not-an-email", "short", 422, []string{"Enter a name.", "Enter a valid email address", "at least 8 characters"}},
		{"common password", "Bob", "bob@example.com", "password123", 422, []string{"too common"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t)
			code, page, _ := b.post(p.url+"/account/signup", b.signupForm(p, "", tc.uname, tc.email, tc.pw))
			if code != tc.wantCode {
				t.Errorf("POST /account/signup = %d, want %d", code, tc.wantCode)
			}
			for _, want := range tc.want {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q:\n%.800s", want, page)
				}
			}
			if tc.email != "" && !strings.Contains(page, `value="`+tc.email+`"`) {
				t.Errorf("the form lost the email typed")
			}
			if strings.Contains(page, tc.pw) {
				t.Errorf("the page shows the password")
			}
		})
	}
}

// Without the double-submit CSRF token, a sign-up is refused: no other
// site can sign a browser in to an account of its making (login CSRF).
func TestSignupPage_csrf(t *testing.T) {
	p := newProvider(t)
	b := newBrowser(t)
	form := b.signupForm(p, "", "Alice", "alice@example.com", "correct horse")
	for name, token := range map[string]string{"no token": "", "wrong token": "x" + form.Get("csrf")} {
		f := url.Values{"name": {"Mallory"}, "email": {"mallory@example.com"}, "password": {"mallory horse"}}
		if token != "" {
			f.Set("csrf", token)
		}
		if code, page, _ := b.post(p.url+"/account/signup", f); code != http.StatusForbidden || !strings.Contains(page, "did not come from this site") {
			t.Errorf("POST /account/signup with %s = %d, want 403", name, code)
		}
	}
	if code, _, _ := newBrowser(t).post(p.url+"/account/signup", form); code != http.StatusForbidden {
		t.Errorf("POST /account/signup from a browser without the cookie = %d, want 403", code)
	}
	if _, err := p.store.GetUserByEmail(context.Background(), "mallory@example.com"); err == nil {
		t.Error("a forged sign-up created an account")
	}
}

// From an authorization request's login page, the sign-up page comes back
// to the request: signed in, the client gets its code.
func TestSignupPage_authorize(t *testing.T) {
	p := newProvider(t)
	conf := newRP(t, p, store.Client{Trusted: true})
	b := newBrowser(t)
	code, page, _ := b.get(conf.AuthCodeURL("st"))
	if code != 200 || !strings.Contains(page, "/account/signup?return=%2Foauth2%2Fauthorize") {
		t.Fatalf("login page = %d, want a link to sign up that comes back:\n%.800s", code, page)
	}
	m := regexpHref.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no sign-up link")
	}
	link, _ := url.Parse(htmlUnescape(m[1]))
	form := b.signupForm(p, link.Query().Get("return"), "Alice", "alice@example.com", "correct horse")
	_, _, landed := b.post(p.url+"/account/signup", form)
	if landed == nil || landed.Query().Get("code") == "" || landed.Query().Get("state") != "st" {
		t.Fatalf("after signing up: landed %v, want the client's redirect with a code", landed)
	}
	if _, err := conf.Exchange(t.Context(), landed.Query().Get("code")); err != nil {
		t.Errorf("Exchange() = %v", err)
	}
}

// With sign-up off, the page says so and the login page does not link to
// it.
func TestSignupPage_closed(t *testing.T) {
	p := newProvider(t, withSignup(false))
	for _, method := range []string{"GET", "POST"} {
		rec := p.do(t, method, "/account/signup", "", "Content-Type", "application/x-www-form-urlencoded")
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Sign-up is closed") {
			t.Errorf("%s /account/signup with sign-up off = %d, want 403", method, rec.Code)
		}
	}
	if rec := p.do(t, "GET", "/oauth2/login?return=%2Faccount", ""); strings.Contains(rec.Body.String(), "/account/signup") || !strings.Contains(rec.Body.String(), `href="/account/recover"`) {
		t.Errorf("login page with sign-up off links to sign-up, or not to recovery:\n%s", rec.Body)
	}
}

// Sign-ups from the page count in POST /user's throttle.
func TestSignupPage_throttled(t *testing.T) {
	p := newProvider(t, withOptions(func(o *Options) {
		o.Accounts.SignupPolicy = store.ThrottlePolicy{Free: 1, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	}))
	b := newBrowser(t)
	if code, _, _ := b.post(p.url+"/account/signup", b.signupForm(p, "", "Alice", "alice@example.com", "correct horse")); code != 200 {
		t.Fatalf("first sign-up = %d", code)
	}
	code, page, _ := b.post(p.url+"/account/signup", b.signupForm(p, "", "Bob", "bob@example.com", "bob's horse"))
	if code != http.StatusTooManyRequests || !strings.Contains(page, "Too many attempts") {
		t.Errorf("POST /account/signup past the budget = %d, want 429:\n%.600s", code, page)
	}
}

var regexpHref = regexp.MustCompile(`href="(/account/signup\?[^"]*)"`)
