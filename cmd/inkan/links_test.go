package main

import (
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var linkFieldRE = regexp.MustCompile(`<input type="hidden" name="(csrf|token)" value="([^"]*)">`)

// followLink opens a one-time link in a browser with a cookie jar and
// sends the form of its page with the extra fields; it returns the status
// and the page of the answer.
func followLink(t *testing.T, link string, extra url.Values) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d:\n%s", link, resp.StatusCode, page)
	}
	form := url.Values{}
	for _, m := range linkFieldRE.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	for k, v := range extra {
		form[k] = v
	}
	u, _ := url.Parse(link)
	u.RawQuery = ""
	resp, err = c.PostForm(u.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// For an operator without SMTP: users reset-link prints a link whose page
// sets a new password; users verify-link one that verifies the email,
// which a server with --require-verified-email then lets sign in, as
// users verify-email does.
func TestCLI_links(t *testing.T) {
	dir := dataDir(t)
	p := startInkan(t, dir, nil, "--require-verified-email")
	for _, email := range []string{"alice@example.com", "bob@example.com"} {
		mustInkan(t, "first password\n", "users", "add", "--data-dir", dir, "--email", email, "--name", "A")
	}
	loginCode := func(email, pw string) int {
		code, _, _ := call(t, "POST", p.base+"/user/_authenticate", "", "Authorization", basicAuth(email, pw))
		return code
	}
	if code := loginCode("alice@example.com", "first password"); code != http.StatusForbidden {
		t.Fatalf("unverified login = %d, want 403", code)
	}

	_, err := inkan(t, "", "users", "reset-link", "--data-dir", dir, "alice@example.com")
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--issuer") {
		t.Errorf("reset-link without --issuer = %v, want a usage error naming --issuer", err)
	}
	link := strings.TrimSpace(mustInkan(t, "", "users", "reset-link", "--data-dir", dir, "--issuer", p.base, "alice@example.com"))
	if !strings.HasPrefix(link, p.base+"/account/recover?token=") || strings.Contains(link, "\n") {
		t.Fatalf("reset-link printed %q, want one link to %s/account/recover", link, p.base)
	}
	if code, page := followLink(t, link, url.Values{"password": {"second password"}, "password2": {"second password"}}); code != 200 {
		t.Fatalf("the reset page = %d:\n%s", code, page)
	}
	// The link proved the address: alice is verified, with her new password.
	if code := loginCode("alice@example.com", "second password"); code != 200 {
		t.Errorf("login with the new password = %d, want 200", code)
	}

	link = strings.TrimSpace(mustInkan(t, "", "users", "verify-link", "--data-dir", dir, "--issuer", p.base+"/", "bob@example.com"))
	if !strings.HasPrefix(link, p.base+"/account/verify?token=") {
		t.Fatalf("verify-link printed %q", link)
	}
	if code, page := followLink(t, link, nil); code != 200 {
		t.Fatalf("the verify page = %d:\n%s", code, page)
	}
	if code := loginCode("bob@example.com", "first password"); code != 200 {
		t.Errorf("bob's login once verified = %d, want 200", code)
	}
	if _, err := inkan(t, "", "users", "verify-link", "--data-dir", dir, "--issuer", p.base, "bob@example.com"); err == nil {
		t.Error("verify-link of a verified email succeeded")
	}

	mustInkan(t, "first password\n", "users", "add", "--data-dir", dir, "--email", "carol@example.com", "--name", "C")
	if out := mustInkan(t, "", "users", "verify-email", "--data-dir", dir, "carol@example.com"); !strings.Contains(out, "carol@example.com") {
		t.Errorf("verify-email printed %q", out)
	}
	if code := loginCode("carol@example.com", "first password"); code != 200 {
		t.Errorf("carol's login after verify-email = %d, want 200", code)
	}
}
