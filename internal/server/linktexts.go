package server

import (
	"net/http"
	"strings"

	"golang.org/x/text/language"
)

// The texts of the pages that mailed links open (verify.go, recover.go,
// email.go), by language and catalogue key: the "verify." and "recover."
// keys of internal/i18n/locales/en.json and ja.json, which a test keeps
// equal to these. This is a stand-in for package i18n (i18n.T, i18n.Match):
// once it is there, tr and matchLang are those, and this table goes.
var linkTexts = map[string]map[string]string{
	"en": {
		"verify.title":               "Verify your email",
		"verify.confirm_intro":       "Confirm that {email} is your email address.",
		"verify.confirm_button":      "Confirm",
		"verify.code_intro":          "Enter your email address and the 6-digit code from the mail we sent you.",
		"verify.email_label":         "Email",
		"verify.code_label":          "Code",
		"verify.code_button":         "Verify",
		"verify.done_title":          "Email verified",
		"verify.done":                "Thank you: {email} is verified.",
		"verify.invalid_title":       "Link not valid",
		"verify.invalid":             "This link or code is not valid: it is wrong, was used already, or has expired.",
		"verify.form_expired":        "This form has expired or did not come from this site. Go back and try again.",
		"verify.throttled":           "Too many attempts. Wait a moment and try again.",
		"verify.busy":                "The server is busy. Try again in a moment.",
		"verify.error_title":         "Something went wrong",
		"verify.error":               "Something went wrong. Try again later.",
		"verify.mail_off":            "This server sends no mail, so email addresses cannot be verified or changed here. Ask its operator.",
		"verify.change_title":        "Confirm your new email",
		"verify.change_form_title":   "Change your email",
		"verify.change_intro":        "Change your account's email address to {email}?",
		"verify.change_button":       "Change email",
		"verify.changed_title":       "Email changed",
		"verify.changed":             "Your account's email address is now {email}.",
		"verify.change_sent_title":   "Check your inbox",
		"verify.change_sent":         "We sent a link to {email}. Your email address changes when you open it.",
		"verify.change_taken":        "Another account has this email address.",
		"verify.change_same":         "This is already your account's email address.",
		"verify.change_bad_email":    "This is not a valid email address.",
		"verify.change_bad_password": "Incorrect password.",
		"verify.change_signin":       "Sign in again to change your email address.",
		"verify.back":                "Back to your account",

		"recover.title":           "Reset your password",
		"recover.request_intro":   "Enter your account's email address. If an account has it, we send it a link and a code to choose a new password.",
		"recover.email_label":     "Email",
		"recover.request_button":  "Send link",
		"recover.sent_title":      "Check your inbox",
		"recover.sent":            "If an account has this email address, a link to reset its password is on its way. It expires in {minutes} minutes.",
		"recover.code_intro":      "Have a code from the mail? Enter it with your email address and a new password.",
		"recover.code_label":      "Code",
		"recover.password_label":  "New password",
		"recover.password2_label": "Repeat the new password",
		"recover.reset_button":    "Set password",
		"recover.new_intro":       "Choose a new password for {email}.",
		"recover.password_rule":   "Choose a password of 8 to 1024 characters that is not one of the common ones.",
		"recover.mismatch":        "The two passwords differ.",
		"recover.done_title":      "Password changed",
		"recover.done":            "Your password is changed, and you are signed out everywhere. Sign in again with the new password.",
		"recover.invalid":         "This link or code is not valid: it is wrong, was used already, or has expired. Ask for a new one.",
		"recover.again":           "Ask for a new link",
		"recover.mail_off":        "Password recovery is unavailable: this server sends no mail. Ask its operator for a reset link.",
	},
	"ja": {
		"verify.title":               "メールアドレスの確認",
		"verify.confirm_intro":       "{email} があなたのメールアドレスであることを確認してください。",
		"verify.confirm_button":      "確認する",
		"verify.code_intro":          "メールアドレスと、お送りしたメールに記載の6桁のコードを入力してください。",
		"verify.email_label":         "メールアドレス",
		"verify.code_label":          "コード",
		"verify.code_button":         "確認する",
		"verify.done_title":          "確認しました",
		"verify.done":                "ありがとうございます。{email} を確認しました。",
		"verify.invalid_title":       "無効なリンク",
		"verify.invalid":             "このリンクまたはコードは無効です。誤っているか、使用済みか、有効期限が切れています。",
		"verify.form_expired":        "このフォームは有効期限切れか、このサイトからのものではありません。戻ってもう一度お試しください。",
		"verify.throttled":           "試行回数が多すぎます。しばらく待ってからもう一度お試しください。",
		"verify.busy":                "サーバーが混み合っています。しばらくしてからもう一度お試しください。",
		"verify.error_title":         "エラーが発生しました",
		"verify.error":               "エラーが発生しました。後でもう一度お試しください。",
		"verify.mail_off":            "このサーバーはメールを送信しないため、ここではメールアドレスの確認や変更はできません。管理者にお問い合わせください。",
		"verify.change_title":        "新しいメールアドレスの確認",
		"verify.change_form_title":   "メールアドレスの変更",
		"verify.change_intro":        "アカウントのメールアドレスを {email} に変更しますか？",
		"verify.change_button":       "変更する",
		"verify.changed_title":       "メールアドレスを変更しました",
		"verify.changed":             "アカウントのメールアドレスは {email} になりました。",
		"verify.change_sent_title":   "受信箱をご確認ください",
		"verify.change_sent":         "{email} にリンクを送りました。リンクを開くとメールアドレスが変更されます。",
		"verify.change_taken":        "このメールアドレスは別のアカウントで使われています。",
		"verify.change_same":         "これはすでにアカウントのメールアドレスです。",
		"verify.change_bad_email":    "有効なメールアドレスではありません。",
		"verify.change_bad_password": "パスワードが正しくありません。",
		"verify.change_signin":       "メールアドレスを変更するには、もう一度サインインしてください。",
		"verify.back":                "アカウントに戻る",

		"recover.title":           "パスワードの再設定",
		"recover.request_intro":   "アカウントのメールアドレスを入力してください。そのアドレスのアカウントがあれば、新しいパスワードを設定するためのリンクとコードを送ります。",
		"recover.email_label":     "メールアドレス",
		"recover.request_button":  "リンクを送る",
		"recover.sent_title":      "受信箱をご確認ください",
		"recover.sent":            "このメールアドレスのアカウントがあれば、パスワード再設定用のリンクを送りました。有効期限は {minutes} 分です。",
		"recover.code_intro":      "メールに記載のコードをお持ちの場合は、メールアドレスと新しいパスワードと一緒に入力してください。",
		"recover.code_label":      "コード",
		"recover.password_label":  "新しいパスワード",
		"recover.password2_label": "新しいパスワード（確認）",
		"recover.reset_button":    "パスワードを設定する",
		"recover.new_intro":       "{email} の新しいパスワードを決めてください。",
		"recover.password_rule":   "8〜1024文字で、よく使われるものではないパスワードを選んでください。",
		"recover.mismatch":        "2つのパスワードが一致しません。",
		"recover.done_title":      "パスワードを変更しました",
		"recover.done":            "パスワードを変更し、すべての端末からサインアウトしました。新しいパスワードでもう一度サインインしてください。",
		"recover.invalid":         "このリンクまたはコードは無効です。誤っているか、使用済みか、有効期限が切れています。新しいリンクをお申し込みください。",
		"recover.again":           "新しいリンクを申し込む",
		"recover.mail_off":        "このサーバーはメールを送信しないため、パスワードの再設定はできません。管理者に再設定用リンクをお問い合わせください。",
	},
}

// tr is the text of key in lang (English when lang lacks it), with each
// {name} of the args (name, value pairs) filled in.
func tr(lang, key string, args ...string) string {
	s, ok := linkTexts[lang][key]
	if !ok {
		s = linkTexts["en"][key]
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+args[i]+"}", args[i+1])
	}
	return s
}

var langMatcher = language.NewMatcher([]language.Tag{language.English, language.Japanese})

// matchLang is the language of a request's pages and mails: a lang cookie
// (set by the language switcher) of a language we have, else the best of
// Accept-Language, else English.
func matchLang(r *http.Request) string {
	if c, err := r.Cookie("lang"); err == nil {
		if _, ok := linkTexts[c.Value]; ok {
			return c.Value
		}
	}
	accept := r.Header.Get("Accept-Language")
	if len(accept) > 1024 {
		return "en"
	}
	tags, _, err := language.ParseAcceptLanguage(accept)
	if err != nil || len(tags) == 0 {
		return "en"
	}
	_, i, _ := langMatcher.Match(tags...)
	return []string{"en", "ja"}[i]
}
