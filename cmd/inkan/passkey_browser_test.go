package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// A person registers a passkey on the account page in headless Chromium,
// with the DevTools protocol's virtual authenticator (CTAP2, internal,
// resident keys, user verification, presence simulated), sees the
// recovery codes once, signs out, signs in with the passkey alone, uses
// it as the second factor after the password, and removes it. WebAuthn wants a secure context and a domain as relying
// party: the issuer is http://localhost:PORT. Screenshots go to
// screenshotDir.
func TestBrowser_passkeys(t *testing.T) {
	exe := chromium(t)
	var issuer string
	onBothBackendsWith(t, func(t *testing.T) []string {
		port := freePort(t)
		issuer = fmt.Sprintf("http://localhost:%d", port)
		return []string{"--addr", fmt.Sprintf("127.0.0.1:%d", port), "--issuer", issuer}
	}, func(t *testing.T, p *proc, _ ...string) { browserPasskeys(t, exe, p, issuer) })
}

// freePort is a loopback port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func browserPasskeys(t *testing.T, exe string, p *proc, issuer string) {
	p.register(t, "Alice", "alice@example.com", "correct horse battery")
	ctx := headless(t, exe)
	shot := screenshooter(t)
	var authenticator webauthn.AuthenticatorID
	var codes int
	var text string
	err := browse(ctx,
		webauthn.Enable(),
		chromedp.ActionFunc(func(ctx context.Context) (err error) {
			authenticator, err = webauthn.AddVirtualAuthenticator(&webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
				Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: true,
			}).Do(ctx)
			return err
		}),
		chromedp.Navigate(issuer+"/account"),
		chromedp.WaitVisible(`#password`, chromedp.ByID),
		chromedp.SendKeys(`#email`, "alice@example.com", chromedp.ByID),
		chromedp.SendKeys(`#password`, "correct horse battery", chromedp.ByID),
		chromedp.Click(`form[action="/oauth2/login"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#passkey-add`, chromedp.ByID),
		shot("1-account"),
		chromedp.SendKeys(`#passkey-name`, "Laptop", chromedp.ByID),
		chromedp.Click(`#passkey-add button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#passkey-codes`, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll("#passkey-codes li").length`, &codes),
		shot("2-recovery-codes"),
		chromedp.Click(`#passkey-codes a`, chromedp.ByQuery),
		chromedp.WaitVisible(`form[action="/account/passkeys/delete"]`, chromedp.ByQuery),
		chromedp.Text(`#passkeys`, &text, chromedp.ByID),
		shot("3-passkey-listed"),
	)
	if err != nil {
		t.Fatalf("register a passkey: %v", err)
	}
	if codes != 10 || !strings.Contains(text, "Laptop") || !strings.Contains(text, "never used") {
		t.Errorf("after registering: %d recovery codes shown, section %q; want 10 and Laptop listed", codes, text)
	}
	var creds []*webauthn.Credential
	err = browse(ctx,
		chromedp.ActionFunc(func(ctx context.Context) (err error) {
			creds, err = webauthn.GetCredentials(authenticator).Do(ctx)
			return err
		}),
		// Sign out, then in with the passkey alone.
		chromedp.Navigate(issuer+"/oauth2/logout"),
		chromedp.Click(`button[value=logout]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`button[value=logout]`, chromedp.ByQuery),
		// The login page asks for a passkey with conditional mediation,
		// which the virtual authenticator, simulating presence, answers
		// at once: signed in without a click.
		chromedp.Navigate(issuer+"/oauth2/login?return=%2Faccount"),
		chromedp.WaitVisible(`form[action="/account/passkeys/delete"]`, chromedp.ByQuery),
		chromedp.Text(`#passkeys`, &text, chromedp.ByID),
		shot("4-signed-in-with-passkey"),
	)
	if err != nil {
		t.Fatalf("sign in with the passkey: %v", err)
	}
	if len(creds) != 1 || !creds[0].IsResidentCredential || !strings.Contains(text, "last used") {
		t.Errorf("credentials %+v, section %q: want one resident credential, used", creds, text)
	}
	// The passkey as the second factor after the password. With the
	// person's presence not simulated, the login page's passwordless
	// request waits unanswered while the password is typed; on the second
	// step, presence is back and the passkey button completes the sign-in.
	var url, second string
	err = browse(ctx,
		chromedp.Navigate(issuer+"/oauth2/logout"),
		chromedp.Click(`button[value=logout]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`button[value=logout]`, chromedp.ByQuery),
		webauthn.SetAutomaticPresenceSimulation(authenticator, false),
		chromedp.Navigate(issuer+"/oauth2/login?return=%2Faccount"),
		chromedp.WaitVisible(`#password`, chromedp.ByID),
		chromedp.SendKeys(`#email`, "alice@example.com", chromedp.ByID),
		chromedp.SendKeys(`#password`, "correct horse battery", chromedp.ByID),
		chromedp.Click(`form[action="/oauth2/login"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#passkey-use`, chromedp.ByID),
		chromedp.Location(&second),
		shot("4b-second-factor"),
		webauthn.SetAutomaticPresenceSimulation(authenticator, true),
		chromedp.Click(`#passkey-use`, chromedp.ByID),
		chromedp.WaitVisible(`form[action="/account/passkeys/delete"]`, chromedp.ByQuery),
		chromedp.Location(&url),
	)
	if err != nil {
		t.Fatalf("the passkey as a second factor: %v", err)
	}
	if !strings.HasSuffix(second, "/oauth2/login") || !strings.HasSuffix(url, "/account") {
		t.Errorf("second step at %s, then %s; want the login's second step, then the account page", second, url)
	}
	err = browse(ctx,
		chromedp.Click(`form[action="/account/passkeys/delete"] button`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`form[action="/account/passkeys/delete"]`, chromedp.ByQuery),
		chromedp.Text(`main`, &text, chromedp.ByQuery),
		shot("5-removed"),
	)
	if err != nil {
		t.Fatalf("remove the passkey: %v", err)
	}
	if !strings.Contains(text, "The passkey was removed.") || !strings.Contains(text, "You have no passkeys.") {
		t.Errorf("after removing: %q", text)
	}
}
