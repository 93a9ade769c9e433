package server

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/inkan-dev/inkan/internal/i18n"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// catalogueKeyRE finds the catalogue keys the server's code and templates
// name, by their prefixes.
var catalogueKeyRE = regexp.MustCompile(`"((?:account|consent|error|lang|login|logout|page|problem|recover|scope|signup|verify)\.[a-z0-9_.]+)"`)

// Every catalogue key the pages name exists: a typo would show the key
// itself on a page.
func TestPages_keysExist(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range catalogueKeyRE.FindAllStringSubmatch(string(src), -1) {
			seen++
			if key := m[1]; !i18n.Has(key) && !strings.HasSuffix(key, ".") {
				t.Errorf("%s names %q, which the catalogues lack", f, key)
			}
		}
	}
	for _, key := range notices {
		if !i18n.Has(key) {
			t.Errorf("notice %q is not in the catalogues", key)
		}
	}
	if seen < 50 {
		t.Errorf("found %d keys in the server's code; the scan is broken", seen)
	}
}

// rawKeyRE is a catalogue key shown as it is: T found no text for it.
var rawKeyRE = regexp.MustCompile(`\b(?:account|consent|error|lang|login|logout|problem|recover|scope|signup|verify)\.[a-z_]+\b`)

// getPage fetches a page as a browser with the given Accept-Language.
func (b *browser) getPage(u, acceptLanguage string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept-Language", acceptLanguage)
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, sb.String()
}

// checkLanguage fails unless the page is in lang: <html lang>,
// Content-Language, Vary, the texts wanted, none of those unwanted, and no
// catalogue key left untranslated.
func checkLanguage(t *testing.T, name string, resp *http.Response, page, lang string, want, unwanted []string) {
	t.Helper()
	if !strings.Contains(page, `<html lang="`+lang+`">`) {
		t.Errorf("%s: no <html lang=%q>:\n%.300s", name, lang, page)
	}
	if got := resp.Header.Get("Content-Language"); got != lang {
		t.Errorf("%s: Content-Language = %q, want %q", name, got, lang)
	}
	if v := strings.Join(resp.Header.Values("Vary"), ", "); !strings.Contains(v, "Accept-Language") {
		t.Errorf("%s: Vary = %q, want Accept-Language", name, v)
	}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("%s: lacks %q:\n%s", name, w, page)
		}
	}
	for _, u := range unwanted {
		if strings.Contains(page, u) {
			t.Errorf("%s: holds %q, in another language", name, u)
		}
	}
	if k := rawKeyRE.FindString(page); k != "" {
		t.Errorf("%s: shows the catalogue key %q", name, k)
	}
}

// Every page speaks Japanese to a browser that asks for it, and English
// otherwise.
func TestPages_japanese(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	conf := newRP(t, p, store.Client{Name: "Shop"})
	ja := "ja-JP,ja;q=0.9,en;q=0.5"

	b := newBrowser(t)
	resp, page := b.getPage(conf.AuthCodeURL("s"), ja)
	checkLanguage(t, "login", resp, page, "ja", []string{"サインイン", "<strong>Shop</strong> に進むにはサインインしてください。", "パスワードをお忘れですか？", "アカウントを作成"}, []string{"Sign in to continue", "Forgot password?"})
	resp, page = b.getPage(conf.AuthCodeURL("s"), "en-US,en;q=0.9")
	checkLanguage(t, "login en", resp, page, "en", []string{"Sign in to continue to <strong>Shop</strong>."}, []string{"サインイン"})

	b.signIn(conf.AuthCodeURL("s"), "alice@example.com", "correct horse", true) // consents
	conf2 := newRP(t, p, store.Client{Name: "Other"})
	resp, page = b.getPage(conf2.AuthCodeURL("s"), ja)
	checkLanguage(t, "consent", resp, page, "ja", []string{"アクセスを許可しますか？", "メールアドレス (email)", "許可", "拒否"}, []string{"Allow access?"})

	resp, page = b.getPage(p.url+"/oauth2/logout", ja)
	checkLanguage(t, "logout", resp, page, "ja", []string{"inkan からサインアウトしますか？", "alice@example.com としてサインインしています。"}, []string{"Sign out?"})

	resp, page = b.getPage(p.url+"/account", ja)
	checkLanguage(t, "account", resp, page, "ja", []string{"アカウント", "名前を保存", "パスワードを変更", "このブラウザ", "すべての場所からサインアウト", "アカウントを削除する", "メールアドレスを変更"}, []string{"Save name", "Your account"})

	resp, page = newBrowser(t).getPage(p.url+"/account/signup", ja)
	checkLanguage(t, "signup", resp, page, "ja", []string{"アカウントの作成", "アカウントを作成"}, []string{"Create an account"})

	resp, page = newBrowser(t).getPage(p.url+"/oauth2/authorize?client_id=nope", ja)
	checkLanguage(t, "error", resp, page, "ja", []string{"続行できません", "このサインイン要求は無効です"}, []string{"Cannot continue"})

	resp, page = newBrowser(t).getPage(p.url+"/oauth2/logout", ja)
	checkLanguage(t, "signed out", resp, page, "ja", []string{"サインアウトしました。"}, []string{"You are signed out"})

	// The pages that mailed links open, too, with the switcher.
	resp, page = newBrowser(t).getPage(p.url+"/account/recover", ja)
	checkLanguage(t, "recovery", resp, page, "ja", []string{"パスワードの再設定", `hreflang="en"`}, []string{"Reset your password"})
}

// The switcher's link sets the lang cookie, which wins over
// Accept-Language, and comes back to the page; only to a page of this
// server.
func TestPages_switcher(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	b := newBrowser(t)
	page := b.accountSignIn(p, "alice@example.com", "correct horse")
	m := regexp.MustCompile(`<a href="([^"]*)" hreflang="ja" lang="ja">日本語</a>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no switcher link to Japanese:\n%s", page)
	}
	link := htmlUnescape(m[1])
	if link != "/lang?lang=ja&return=%2Faccount" {
		t.Errorf("switcher link = %q", link)
	}
	rec := p.do(t, "GET", link, "")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account" {
		t.Errorf("GET %s = %d to %q, want 303 back to /account", link, rec.Code, rec.Header().Get("Location"))
	}
	c := rec.Result().Cookies()
	if len(c) != 1 || c[0].Name != "lang" || c[0].Value != "ja" || c[0].Path != "/" || c[0].MaxAge <= 0 || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode {
		t.Errorf("Set-Cookie = %v, want lang=ja for /, lasting", c)
	}
	_, page, _ = b.get(p.url + link)
	if !strings.Contains(page, `<html lang="ja">`) || !strings.Contains(page, "名前を保存") {
		t.Errorf("after switching: want the account page in Japanese:\n%.600s", page)
	}
	resp, page := b.getPage(p.url+"/account", "en-US,en")
	checkLanguage(t, "account, cookie over Accept-Language", resp, page, "ja", []string{"名前を保存"}, []string{"Save name"})
	_, page, _ = b.get(p.url + "/lang?lang=en&return=%2Faccount")
	if !strings.Contains(page, "Save name") {
		t.Errorf("switching back: want English:\n%.600s", page)
	}

	for _, ret := range []string{"https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"} {
		rec := p.do(t, "GET", "/lang?"+url.Values{"lang": {"ja"}, "return": {ret}}.Encode(), "")
		if rec.Code != 200 || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "表示を日本語にしました。") {
			t.Errorf("GET /lang with return %q = %d to %q, want the page saying so, in Japanese", ret, rec.Code, rec.Header().Get("Location"))
		}
	}
	if rec := p.do(t, "GET", "/lang?lang=fr&return=%2Faccount", ""); rec.Code != http.StatusBadRequest || len(rec.Result().Cookies()) != 0 {
		t.Errorf("GET /lang?lang=fr = %d, cookies %v; want 400 and no cookie", rec.Code, rec.Result().Cookies())
	}
}

func TestLocalPath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"/account", true}, {"/oauth2/authorize?client_id=a&scope=openid+email", true}, {"/", true},
		{"", false}, {"account", false}, {"//evil.example", false}, {"/\\evil.example", false}, {"https://evil.example/", false},
		{"/a\nb", false}, {"/a\x00", false}, {"/" + strings.Repeat("a", maxReturnBytes), false}, {"/%zz", false},
	} {
		if _, ok := localPath(tc.in); ok != tc.want {
			t.Errorf("localPath(%q) = %v, want %v", tc.in, ok, tc.want)
		}
	}
}

// FuzzLocalPath: a return address localPath accepts stays on this server
// however a browser resolves it, and every redirect of the login, sign-up
// and language pages comes from it.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/account", "//evil.example", "/\\evil.example", "/%2F%2Fevil.example", "https://evil.example", "/\t/evil.example", "/account?x=//evil"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://inkan.test/oauth2/login")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := localPath(s)
		if !ok {
			return
		}
		if got != s {
			t.Fatalf("localPath(%q) = %q, want it unchanged", s, got)
		}
		// What a browser would do with the Location header.
		u, err := base.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host != "inkan.test" || u.User != nil {
			t.Errorf("localPath accepted %q, which resolves to %v (%v)", s, u, err)
		}
		if r := accountReturn(s); r != s && r != accountPath {
			t.Errorf("accountReturn(%q) = %q", s, r)
		}
	})
}

// FuzzUserAgent: what a session keeps of a User-Agent is plain text
// within the bound, whatever the browser sent.
func FuzzUserAgent(f *testing.F) {
	for _, s := range []string{"Mozilla/5.0 (X11; Linux x86_64)", "a\x00b\x7f\u0085", "\xff\xfe", strings.Repeat("印", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("User-Agent", s)
		got := userAgent(r)
		if len(got) > store.MaxUserAgentBytes || !plaintext.Valid(got) {
			t.Errorf("userAgent(%q) = %q: over %d bytes, or not plain text", s, got, store.MaxUserAgentBytes)
		}
	})
}
