package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A person signs up on the sign-up page in headless Chromium, lands on the
// account page, and changes their name and password there in English, then
// in Japanese chosen with the switcher; a second browser that asks for
// Japanese (Accept-Language) gets the login page and the account page in
// Japanese. Each step is saved as a screenshot in the test's artifact
// directory (go test -artifacts keeps it; its path is logged).
func TestBrowser_accountPages(t *testing.T) {
	exe := chromium(t)
	onBothBackends(t, func(t *testing.T, p *proc, _ ...string) { browserAccount(t, exe, p) })
}

// chrome is a headless Chromium whose requests carry acceptLanguage.
func chrome(t *testing.T, exe, acceptLanguage string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(profileDir(t)),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("accept-lang", acceptLanguage), chromedp.Flag("lang", acceptLanguage),
		chromedp.WindowSize(900, 1400))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	bctx, cancel = context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(cancel)
	return bctx
}

func browserAccount(t *testing.T, exe string, p *proc) {
	shots := t.ArtifactDir()
	shot := func(name string) chromedp.ActionFunc {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte
			if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
		})
	}
	// fill replaces an input's value (SendKeys appends to it).
	fill := func(sel, value string) chromedp.Tasks {
		return chromedp.Tasks{chromedp.Clear(sel, chromedp.ByQuery), chromedp.SendKeys(sel, value, chromedp.ByQuery)}
	}
	// landed waits, polling with the context's deadline, until the browser
	// is at the account page that says what was done: the redirect of a
	// form's POST (Post/Redirect/Get).
	landed := func(done string) chromedp.ActionFunc {
		return func(ctx context.Context) error {
			for {
				var loc string
				if err := chromedp.Location(&loc).Do(ctx); err != nil {
					return err
				}
				if strings.HasSuffix(loc, "/account?done="+done) {
					return chromedp.WaitVisible(`p.notice`, chromedp.ByQuery).Do(ctx)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(20 * time.Millisecond): // polling interval
				}
			}
		}
	}
	var lang, title, notice, page, name string
	text := func(want ...string) chromedp.ActionFunc {
		return func(ctx context.Context) error {
			if err := chromedp.Text("body", &page, chromedp.ByQuery).Do(ctx); err != nil {
				return err
			}
			for _, w := range want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q:\n%s", w, page)
				}
			}
			return nil
		}
	}

	en := chrome(t, exe, "en-US,en")
	err := chromedp.Run(en,
		chromedp.Navigate(p.base+"/account/signup"),
		chromedp.WaitVisible(`#name`, chromedp.ByID),
		chromedp.AttributeValue(`html`, "lang", &lang, nil, chromedp.ByQuery),
		text("Create an account"),
		shot("1-signup-en"),
		fill(`#name`, "Alice"), fill(`#email`, "alice@example.com"), fill(`#password`, "correct horse battery"),
		chromedp.Click(`form[action="/account/signup"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`form[action="/account/name"]`, chromedp.ByQuery),
		chromedp.Title(&title),
		text("alice@example.com", "this browser", "Sign out everywhere", "Delete account"),
		shot("2-account-en"),

		fill(`#name`, "Alice Liddell"),
		chromedp.Click(`form[action="/account/name"] button`, chromedp.ByQuery),
		landed("name"),
		chromedp.Text(`p.notice`, &notice, chromedp.ByQuery),
		shot("3-name-en"),
	)
	if err != nil {
		t.Fatalf("browser (English): %v", err)
	}
	if lang != "en" || !strings.Contains(title, "Your account") || notice != "Your name was saved." {
		t.Errorf("English: lang %q, title %q, notice %q", lang, title, notice)
	}
	err = chromedp.Run(en,
		fill(`#current_password`, "correct horse battery"), fill(`#new_password`, "staple horse battery"), fill(`#confirm_password`, "staple horse battery"),
		chromedp.Click(`form[action="/account/password"] button`, chromedp.ByQuery),
		landed("password"),
		chromedp.Text(`p.notice`, &notice, chromedp.ByQuery),
		shot("4-password-en"),
	)
	if err != nil {
		t.Fatalf("browser (English password): %v", err)
	}
	if !strings.Contains(notice, "Your password was changed.") {
		t.Errorf("after the password change: notice %q", notice)
	}

	// The switcher: Japanese, kept by the lang cookie over Accept-Language.
	err = chromedp.Run(en,
		chromedp.Click(`nav.lang a[hreflang="ja"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`html[lang="ja"]`, chromedp.ByQuery),
		chromedp.Title(&title),
		text("名前を保存", "パスワードを変更", "このブラウザ"),
		shot("5-account-ja"),
		fill(`#name`, "アリス"),
		chromedp.Click(`form[action="/account/name"] button`, chromedp.ByQuery),
		landed("name"),
		chromedp.Text(`p.notice`, &notice, chromedp.ByQuery),
		shot("6-name-ja"),
	)
	if err != nil {
		t.Fatalf("browser (switched to Japanese): %v", err)
	}
	if title != "アカウント · inkan" || notice != "名前を保存しました。" {
		t.Errorf("Japanese: title %q, notice %q", title, notice)
	}
	err = chromedp.Run(en,
		fill(`#current_password`, "staple horse battery"), fill(`#new_password`, "印鑑 horse battery"), fill(`#confirm_password`, "印鑑 horse battery"),
		chromedp.Click(`form[action="/account/password"] button`, chromedp.ByQuery),
		landed("password"),
		chromedp.Text(`p.notice`, &notice, chromedp.ByQuery),
		shot("7-password-ja"),
	)
	if err != nil {
		t.Fatalf("browser (Japanese password): %v", err)
	}
	if !strings.Contains(notice, "パスワードを変更しました。") {
		t.Errorf("after the Japanese password change: notice %q", notice)
	}

	// A browser that asks for Japanese: the login page, then the account.
	ja := chrome(t, exe, "ja-JP,ja")
	err = chromedp.Run(ja,
		chromedp.Navigate(p.base+"/account"),
		chromedp.WaitVisible(`#email`, chromedp.ByID),
		chromedp.AttributeValue(`html`, "lang", &lang, nil, chromedp.ByQuery),
		chromedp.Title(&title),
		text("アカウントを管理するにはサインインしてください。", "パスワードをお忘れですか？"),
		shot("8-login-ja"),
		fill(`#email`, "alice@example.com"), fill(`#password`, "印鑑 horse battery"),
		chromedp.Click(`form[action="/oauth2/login"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`form[action="/account/name"]`, chromedp.ByQuery),
		text("サインイン中の場所"),
		chromedp.Value(`#name`, &name, chromedp.ByID),
		shot("9-account-ja"),
	)
	if err != nil {
		t.Fatalf("browser (Accept-Language ja): %v", err)
	}
	if lang != "ja" || title != "サインイン · inkan" || name != "アリス" {
		t.Errorf("Accept-Language ja: login page lang %q, title %q; account page's name %q", lang, title, name)
	}

	// What the pages did holds for the API: the name, the password.
	tok := p.login(t, "alice@example.com", "印鑑 horse battery")
	if code, body, _ := call(t, "GET", p.base+"/user", "", "Authorization", "Bearer "+tok); code != 200 || body["user"] != "アリス" {
		t.Errorf("GET /user = %d %v, want the name set on the page", code, body)
	}
	for _, old := range []string{"correct horse battery", "staple horse battery"} {
		if code, _, _ := call(t, "POST", p.base+"/user/_authenticate", "", "Authorization", basicAuth("alice@example.com", old)); code != http.StatusUnauthorized {
			t.Errorf("login with a replaced password = %d, want 401", code)
		}
	}
	t.Logf("screenshots in %s", shots)
}
