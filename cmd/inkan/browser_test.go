package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/inkan-dev/inkan/internal/testskip"
)

// chromium finds Debian's Chromium, which .ci/run installs.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testskip.Skip(t, "Chromium", "not on PATH; install Debian's chromium, as .ci/run does")
	return ""
}

// A person signs in through the real pages in headless Chromium, consents,
// and lands on the client's redirect URI with a code. Each page is saved as
// a screenshot (screenshotDir).
func TestBrowser_loginAndConsent(t *testing.T) {
	exe := chromium(t)
	onBothBackends(t, func(t *testing.T, p *proc, storeArgs ...string) { browserLogin(t, exe, p, storeArgs...) })
}

func browserLogin(t *testing.T, exe string, p *proc, storeArgs ...string) {
	p.register(t, "Alice", "alice@example.com", "correct horse battery")

	// The client's redirect target: a loopback server that records the code.
	cb := startCallback(t)
	redirect := cb.uri

	out := mustInkan(t, "", append([]string{"clients", "add", "--name", "Browser App", "--redirect-uri", "http://127.0.0.1/cb",
		"--grant", "authorization_code", "--scope", "openid,email"}, storeArgs...)...)
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal([]byte(out), &reg); err != nil {
		t.Fatal(err)
	}

	authURL := p.base + "/oauth2/authorize?" + url.Values{
		"client_id": {reg.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"xyz"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
	}.Encode()

	bctx := headless(t, exe)
	shot := screenshooter(t)
	// The redirect after the consent form goes to another origin: the
	// pages' CSP must not restrict form-action, or Chromium blocks it.
	var loginTitle, consentText string
	err := browse(bctx,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(`#email`, chromedp.ByID),
		chromedp.Title(&loginTitle),
		shot("1-login"),
		chromedp.SendKeys(`#email`, "alice@example.com", chromedp.ByID),
		chromedp.SendKeys(`#password`, "correct horse battery", chromedp.ByID),
		chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[value=allow]`, chromedp.ByQuery),
		chromedp.Text(`main`, &consentText, chromedp.ByQuery),
		shot("2-consent"),
		chromedp.Click(`button[value=allow]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`button[value=allow]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p`, chromedp.ByQuery),
		shot("3-redirected"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(loginTitle, "Sign in") || !strings.Contains(consentText, "Browser App") || !strings.Contains(consentText, "email") {
		t.Errorf("pages: title %q, consent %q", loginTitle, consentText)
	}
	if q := cb.next(t); q.Get("code") == "" || q.Get("state") != "xyz" || q.Get("iss") != p.base {
		t.Errorf("redirect query = %v, want code, state and iss", q)
	}
}

// profileDir is a Chromium profile directory removed after the test.
// Chromium's helper processes (the crash handler) may still write to it for
// a moment after the browser is gone, which t.TempDir's cleanup reports as
// a failure, so the removal is retried until it succeeds or a deadline.
func profileDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "inkan-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := os.RemoveAll(dir)
			if err == nil || time.Now().After(deadline) {
				if err != nil {
					t.Logf("remove Chromium profile %s: %v", dir, err)
				}
				return
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
	})
	return dir
}

// headless starts a headless Chromium for the test, closed when it ends,
// and returns the context of its first tab, for browse.
func headless(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(profileDir(t)),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	return openTab(t, actx)
}

// openTab opens a tab of the browser of parent, or starts the browser when
// parent is an allocator's context, and returns its context, for browse;
// with chromedp.WithNewBrowserContext it is a browser of its own, as a
// private window is, sharing no cookies. It closes when the test ends.
func openTab(t *testing.T, parent context.Context, opts ...chromedp.ContextOption) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	// Without a deadline: the first Run's context is the one the browser
	// and the tab live by.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("open a Chromium tab: %v", err)
	}
	return ctx
}

// browse runs actions in the tab of ctx, within a minute.
func browse(ctx context.Context, actions ...chromedp.Action) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return chromedp.Run(ctx, actions...)
}

// screenshotDir is where a test saves its screenshots: under
// $INKAN_SCREENSHOTS, in a directory named after the test, when that is
// set (kept after the test); otherwise the test's artifact directory,
// which go test -artifacts keeps and which is a temporary directory
// without it.
func screenshotDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("INKAN_SCREENSHOTS")
	if root == "" {
		return t.ArtifactDir()
	}
	dir := filepath.Join(root, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshooter returns an action that saves a full-page screenshot as
// NAME.png in the test's screenshotDir, which it logs once.
func screenshooter(t *testing.T) func(name string) chromedp.Action {
	t.Helper()
	dir := screenshotDir(t)
	t.Logf("screenshots in %s", dir)
	return func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte
			if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
		})
	}
}
