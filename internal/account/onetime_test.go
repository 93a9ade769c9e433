package account

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// recordingMailer records the messages the service enqueues; fail, when
// set, is returned instead.
type recordingMailer struct {
	mu   sync.Mutex
	msgs []Message
	fail error
}

// mailKeys are the Data keys package mail takes for each kind: required
// ones first, then the optional ones after a "|".
var mailKeys = map[string]string{
	MailVerify:             "link|code expiry name",
	MailRecover:            "link|code expiry name",
	MailEmailChange:        "link|code expiry name new_email",
	MailPasswordChanged:    "|link name",
	MailEmailChangedNotice: "new_email|link name",
	MailMFAChanged:         "change|link name",
}

func (m *recordingMailer) Enqueue(_ context.Context, msg Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	keys, ok := mailKeys[msg.Kind]
	if !ok {
		return fmt.Errorf("unknown kind %q", msg.Kind)
	}
	required, optional, _ := strings.Cut(keys, "|")
	for _, k := range strings.Fields(required) {
		if msg.Data[k] == "" {
			return fmt.Errorf("%s lacks Data[%q]", msg.Kind, k)
		}
	}
	for k := range msg.Data {
		if !slices.Contains(strings.Fields(required+" "+optional), k) {
			return fmt.Errorf("%s takes no Data[%q]", msg.Kind, k)
		}
	}
	if d, ok := msg.Data["expiry"]; ok {
		if v, err := time.ParseDuration(d); err != nil || v <= 0 {
			return fmt.Errorf("Data[expiry] %q is not a positive duration", d)
		}
	}
	m.msgs = append(m.msgs, msg)
	return nil
}

// take returns the messages recorded since the last call.
func (m *recordingMailer) take() []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.msgs
	m.msgs = nil
	return out
}

// only returns the one message recorded since the last call, of kind.
func (m *recordingMailer) only(tb testing.TB, kind, to string) Message {
	tb.Helper()
	msgs := m.take()
	if len(msgs) != 1 || msgs[0].Kind != kind || msgs[0].To != to {
		tb.Fatalf("mails sent = %+v, want one %s to %s", msgs, kind, to)
	}
	return msgs[0]
}

// linkToken is the token of the link a mail carries, checked to open the
// page at path.
func linkToken(tb testing.TB, m Message, path string) string {
	tb.Helper()
	u, err := url.Parse(m.Data["link"])
	if err != nil || u.Scheme != "https" || u.Host != "id.example.com" || u.Path != path {
		tb.Fatalf("link %q does not open https://id.example.com%s", m.Data["link"], path)
	}
	tok := u.Query().Get("token")
	if len(tok) != 43 {
		tb.Fatalf("link token %q has %d characters, want 43 (256 bits)", tok, len(tok))
	}
	return tok
}

var (
	testCodeSecret = bytes.Repeat([]byte{9}, 32)
	codePolicy     = store.ThrottlePolicy{Free: 20, Base: time.Minute, Max: time.Hour, Window: time.Hour}
)

// mailFixture is a fixture whose service sends mail to a recording mailer.
func mailFixture(tb testing.TB, edit func(*Options)) (*fixture, *recordingMailer) {
	tb.Helper()
	m := &recordingMailer{}
	f := mustFixture(tb, func(o *Options) {
		o.Mailer, o.LinkBase, o.CodeSecret = m, "https://id.example.com/", testCodeSecret
		o.CodePolicy = codePolicy
		if edit != nil {
			edit(o)
		}
	})
	return f, m
}

func TestService_verification(t *testing.T) {
	ctx := context.Background()
	f, m := mailFixture(t, nil)
	u := mustUser(t, f, "ann@example.com", "correct horse")
	if err := f.svc.StartVerification(ctx, u, "ja"); err != nil {
		t.Fatalf("StartVerification() = %v", err)
	}
	msg := m.only(t, MailVerify, u.Email)
	if msg.Lang != "ja" || msg.Data["name"] != "U" || len(msg.Data["code"]) != 6 || msg.Data["expiry"] != "24h0m0s" {
		t.Errorf("verification mail = %+v, want lang ja, the name, a 6-digit code, expiry 24h", msg)
	}
	tok := linkToken(t, msg, VerifyPath)

	// Looking does not use it: a mail scanner's GET leaves it usable.
	for range 3 {
		if _, err := f.svc.CheckVerification(ctx, tok); err != nil {
			t.Fatalf("CheckVerification() = %v", err)
		}
	}
	got, err := f.svc.ConfirmVerification(ctx, tok)
	if err != nil || !got.EmailVerified {
		t.Fatalf("ConfirmVerification() = %+v, %v; want verified", got, err)
	}
	if stored, _ := f.store.GetUser(ctx, u.ID); !stored.EmailVerified {
		t.Error("stored user not verified")
	}
	for _, op := range []struct {
		name string
		fn   func() error
	}{
		{"check", func() error { _, err := f.svc.CheckVerification(ctx, tok); return err }},
		{"confirm", func() error { _, err := f.svc.ConfirmVerification(ctx, tok); return err }},
		{"code", func() error {
			_, err := f.svc.ConfirmVerificationCode(ctx, u.Email, msg.Data["code"], from)
			return err
		}},
	} {
		if err := op.fn(); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("%s after use = %v, want %v", op.name, err, ErrLinkInvalid)
		}
	}
	// A verified user is sent nothing more.
	if err := f.svc.StartVerification(ctx, got, "en"); err != nil || len(m.take()) != 0 {
		t.Errorf("StartVerification(verified) = %v, sent something", err)
	}
	if log := f.takeLog(); strings.Contains(log, tok) || strings.Contains(log, msg.Data["code"]) || strings.Contains(log, hashLink(tok)) {
		t.Error("the log holds the token or the code")
	}
}

func TestService_verificationRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// after runs between sending the link and using it.
		after func(t *testing.T, f *fixture, m *recordingMailer, u store.User)
	}{
		{"expired", func(t *testing.T, f *fixture, _ *recordingMailer, _ store.User) { f.advance(DefaultVerifyTTL) }},
		{"voided by a newer", func(t *testing.T, f *fixture, m *recordingMailer, u store.User) {
			if err := f.svc.StartVerification(ctx, u, "en"); err != nil {
				t.Fatal(err)
			}
		}},
		{"address changed", func(t *testing.T, f *fixture, _ *recordingMailer, u store.User) {
			if _, err := f.store.UpdateUser(ctx, u.ID, func(o store.User) (store.User, error) { o.Email = "other@example.com"; return o, nil }); err != nil {
				t.Fatal(err)
			}
		}},
		{"user disabled", func(t *testing.T, f *fixture, _ *recordingMailer, u store.User) {
			if _, err := f.svc.Disable(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"user deleted", func(t *testing.T, f *fixture, _ *recordingMailer, u store.User) {
			if err := f.svc.Delete(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, m := mailFixture(t, nil)
			u := mustUser(t, f, "ann@example.com", "correct horse")
			if err := f.svc.StartVerification(ctx, u, "en"); err != nil {
				t.Fatal(err)
			}
			msg := m.only(t, MailVerify, u.Email)
			tok := linkToken(t, msg, VerifyPath)
			tc.after(t, f, m, u)
			if _, err := f.svc.CheckVerification(ctx, tok); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("CheckVerification() = %v, want %v", err, ErrLinkInvalid)
			}
			if _, err := f.svc.ConfirmVerification(ctx, tok); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("ConfirmVerification() = %v, want %v", err, ErrLinkInvalid)
			}
			if _, err := f.svc.ConfirmVerificationCode(ctx, u.Email, msg.Data["code"], from); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("ConfirmVerificationCode() = %v, want %v", err, ErrLinkInvalid)
			}
		})
	}
	t.Run("another purpose", func(t *testing.T) {
		f, m := mailFixture(t, nil)
		u := mustUser(t, f, "ann@example.com", "correct horse")
		if err := f.svc.RequestRecovery(ctx, u.Email, from, "en"); err != nil {
			t.Fatal(err)
		}
		f.svc.Wait()
		tok := linkToken(t, m.only(t, MailRecover, u.Email), RecoverPath)
		if _, err := f.svc.ConfirmVerification(ctx, tok); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("ConfirmVerification(recovery link) = %v, want %v", err, ErrLinkInvalid)
		}
		if _, err := f.svc.CheckRecovery(ctx, tok); err != nil {
			t.Errorf("CheckRecovery() after a refused use of another purpose = %v, want it usable", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		f, _ := mailFixture(t, nil)
		for _, tok := range []string{"", "x", strings.Repeat("a", 43), strings.Repeat("a", 10000)} {
			if _, err := f.svc.ConfirmVerification(ctx, tok); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("ConfirmVerification(%.10q) = %v, want %v", tok, err, ErrLinkInvalid)
			}
		}
	})
}

// A code is refused once MaxCodeAttempts codes were tried against its
// token, even the right one, and its link still works; the codes tried for
// an account count in its throttle, unknown emails too.
func TestService_verificationCode(t *testing.T) {
	ctx := context.Background()
	f, m := mailFixture(t, nil)
	u := mustUser(t, f, "ann@example.com", "correct horse")
	if err := f.svc.StartVerification(ctx, u, "en"); err != nil {
		t.Fatal(err)
	}
	msg := m.only(t, MailVerify, u.Email)
	code := msg.Data["code"]
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := range MaxCodeAttempts {
		if _, err := f.svc.ConfirmVerificationCode(ctx, " ANN@example.com ", wrong, from); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("wrong code #%d = %v, want %v", i+1, err, ErrLinkInvalid)
		}
	}
	if _, err := f.svc.ConfirmVerificationCode(ctx, u.Email, code, from); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("right code after %d wrong ones = %v, want %v", MaxCodeAttempts, err, ErrLinkInvalid)
	}
	if _, err := f.svc.ConfirmVerification(ctx, linkToken(t, msg, VerifyPath)); err != nil {
		t.Errorf("link after the codes were spent = %v, want it to work", err)
	}

	// A fresh code, typed with a space, works.
	f2, m2 := mailFixture(t, nil)
	u2 := mustUser(t, f2, "bob@example.com", "correct horse")
	if err := f2.svc.StartVerification(ctx, u2, "en"); err != nil {
		t.Fatal(err)
	}
	c := m2.only(t, MailVerify, u2.Email).Data["code"]
	if got, err := f2.svc.ConfirmVerificationCode(ctx, u2.Email, c[:3]+" "+c[3:], from); err != nil || !got.EmailVerified {
		t.Errorf("ConfirmVerificationCode(right) = %v, %v", got.EmailVerified, err)
	}
}

func TestService_codeThrottle(t *testing.T) {
	ctx := context.Background()
	f, m := mailFixture(t, func(o *Options) {
		o.CodePolicy = store.ThrottlePolicy{Free: 3, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	})
	u := mustUser(t, f, "ann@example.com", "correct horse")
	for _, email := range []string{u.Email, "nobody@example.com"} {
		if email == u.Email {
			if err := f.svc.StartVerification(ctx, u, "en"); err != nil {
				t.Fatal(err)
			}
			m.take()
		}
		for i := range 3 {
			if _, err := f.svc.ConfirmVerificationCode(ctx, email, "123456", from); !errors.Is(err, ErrLinkInvalid) {
				t.Fatalf("%s: code #%d = %v, want %v", email, i+1, err, ErrLinkInvalid)
			}
		}
		var te *ThrottledError
		if _, err := f.svc.ConfirmVerificationCode(ctx, email, "123456", from); !errors.As(err, &te) || te.RetryAfter != time.Minute {
			t.Errorf("%s: 4th code within the minute = %v, want a 1m *ThrottledError", email, err)
		}
	}
}

func TestService_recovery(t *testing.T) {
	ctx := context.Background()
	var ended int
	f, m := mailFixture(t, func(o *Options) { o.OnSessionsEnded = func() { ended++ } })
	u := mustUser(t, f, "ann@example.com", "old password")
	mustCreateClientWithGrants(t, f.store, u)

	// An unknown email and a disabled user get nothing, alike.
	dis := mustUser(t, f, "dis@example.com", "old password")
	if _, err := f.svc.Disable(ctx, dis.ID); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"nobody@example.com", dis.Email} {
		if err := f.svc.RequestRecovery(ctx, email, from, "en"); err != nil {
			t.Fatalf("RequestRecovery(%s) = %v, want nil", email, err)
		}
	}
	f.svc.Wait()
	if msgs := m.take(); len(msgs) != 0 {
		t.Fatalf("mails for an unknown email and a disabled user: %+v", msgs)
	}

	if err := f.svc.RequestRecovery(ctx, " Ann@Example.com", from, "ja"); err != nil {
		t.Fatalf("RequestRecovery() = %v", err)
	}
	f.svc.Wait()
	msg := m.only(t, MailRecover, u.Email)
	if msg.Data["expiry"] != "1h0m0s" || len(msg.Data["code"]) != 6 || msg.Lang != "ja" {
		t.Errorf("recovery mail = %+v, want expiry 1h, a code, lang ja", msg)
	}
	tok := linkToken(t, msg, RecoverPath)

	// A password the signup policy refuses leaves the link usable.
	var ie *InputError
	if _, err := f.svc.CompleteRecovery(ctx, tok, "password", "en"); !errors.As(err, &ie) || ie.Problem.Field != "password" {
		t.Fatalf("CompleteRecovery(common password) = %v, want an *InputError of the password", err)
	}
	f.advance(time.Minute)
	got, err := f.svc.CompleteRecovery(ctx, tok, "new password!", "ja")
	if err != nil {
		t.Fatalf("CompleteRecovery() = %v", err)
	}
	if !got.EmailVerified || !got.TokensValidAfter.After(t0) {
		t.Errorf("recovered user = %+v, want verified, TokensValidAfter moved", got)
	}
	if _, err := f.svc.Live(ctx, u.ID, t0); !errors.Is(err, ErrBeforeReset) {
		t.Errorf("Live(issued before) = %v, want %v", err, ErrBeforeReset)
	}
	if _, err := f.svc.Authenticate(ctx, u.Email, "old password", from); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("old password = %v, want %v", err, ErrBadCredentials)
	}
	if _, err := f.svc.Authenticate(ctx, u.Email, "new password!", from); err != nil {
		t.Errorf("new password = %v", err)
	}
	if sessions, _ := f.store.ListSessions(ctx, u.ID); len(sessions) != 0 {
		t.Errorf("sessions after recovery: %v", sessions)
	}
	for _, h := range []string{"rt-session", "rt-password-grant"} {
		if _, err := f.store.GetRefreshToken(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refresh token %s after recovery: %v, want %v", h, err, store.ErrNotFound)
		}
	}
	if q, _ := f.store.ListBackchannelLogouts(ctx, f.Now().Add(time.Hour), 10); len(q) != 1 || q[0].SessionID != "sid-1" {
		t.Errorf("back-channel logouts queued = %+v, want the session's", q)
	}
	if ended != 1 {
		t.Errorf("OnSessionsEnded called %d times, want 1", ended)
	}
	notice := m.only(t, MailPasswordChanged, u.Email)
	if notice.Lang != "ja" {
		t.Errorf("notice in %q, want ja", notice.Lang)
	}
	if _, err := f.svc.CompleteRecovery(ctx, tok, "another password", "en"); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("CompleteRecovery() again = %v, want %v", err, ErrLinkInvalid)
	}
}

// mustCreateClientWithGrants gives u a session with a refresh token, at a
// client that wants back-channel logouts, and a password-grant refresh
// token.
func mustCreateClientWithGrants(tb testing.TB, st store.Store, u store.User) {
	tb.Helper()
	ctx := context.Background()
	c := store.Client{ID: "c1", Name: "C", RedirectURIs: []string{"https://app.example.com/cb"}, Grants: []string{"authorization_code", "refresh_token", "password"},
		BackchannelLogoutURI: "https://app.example.com/bc", CreatedAt: t0, UpdatedAt: t0}
	if err := st.CreateClient(ctx, c); err != nil {
		tb.Fatal(err)
	}
	if err := st.CreateSession(ctx, store.Session{Hash: "sh1", ID: "sid-1", UserID: u.ID, AuthTime: t0, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}); err != nil {
		tb.Fatal(err)
	}
	for _, rt := range []store.RefreshToken{
		{Hash: "rt-session", Family: "f1", ClientID: c.ID, UserID: u.ID, SessionID: "sid-1", AuthTime: t0, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{Hash: "rt-password-grant", Family: "f2", ClientID: c.ID, UserID: u.ID, AuthTime: t0, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
	} {
		if err := st.CreateRefreshToken(ctx, rt); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestService_recoveryCode(t *testing.T) {
	ctx := context.Background()
	f, m := mailFixture(t, nil)
	u := mustUser(t, f, "ann@example.com", "old password")
	if err := f.svc.RequestRecovery(ctx, u.Email, from, "en"); err != nil {
		t.Fatal(err)
	}
	f.svc.Wait()
	code := m.only(t, MailRecover, u.Email).Data["code"]
	hashes := f.hasher.hashes.Load()
	if _, err := f.svc.CompleteRecoveryCode(ctx, u.Email, "abcdef", "new password!", from, "en"); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("CompleteRecoveryCode(not a code) = %v, want %v", err, ErrLinkInvalid)
	}
	if n := f.hasher.hashes.Load() - hashes; n != 0 {
		t.Errorf("a refused code cost %d hashes, want 0", n)
	}
	if _, err := f.svc.CompleteRecoveryCode(ctx, u.Email, code, "new password!", from, "en"); err != nil {
		t.Fatalf("CompleteRecoveryCode() = %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, u.Email, "new password!", from); err != nil {
		t.Errorf("new password = %v", err)
	}
}

// Recovery requests are throttled per client address and per email,
// known or not, before anything else.
func TestService_recoveryThrottle(t *testing.T) {
	ctx := context.Background()
	f, m := mailFixture(t, func(o *Options) {
		o.MailEmailPolicy = store.ThrottlePolicy{Free: 2, Base: time.Minute, Max: time.Hour, Window: time.Hour}
		o.MailAddressPolicy = store.ThrottlePolicy{Free: 5, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	})
	mustUser(t, f, "ann@example.com", "old password")
	var te *ThrottledError
	for _, email := range []string{"ann@example.com", "nobody@example.com"} {
		for i := range 2 {
			if err := f.svc.RequestRecovery(ctx, email, from, "en"); err != nil {
				t.Fatalf("%s #%d = %v", email, i+1, err)
			}
		}
		if err := f.svc.RequestRecovery(ctx, email, from, "en"); !errors.As(err, &te) {
			t.Errorf("%s #3 = %v, want a *ThrottledError", email, err)
		}
	}
	// The address has 4 of 5: one more email passes, the next is refused.
	if err := f.svc.RequestRecovery(ctx, "carol@example.com", from, "en"); err != nil {
		t.Errorf("5th from the address = %v", err)
	}
	if err := f.svc.RequestRecovery(ctx, "dave@example.com", from, "en"); !errors.As(err, &te) {
		t.Errorf("6th from the address = %v, want a *ThrottledError", err)
	}
	f.svc.Wait()
	if n := len(m.take()); n != 2 {
		t.Errorf("%d mails sent, want 2 (the known email's)", n)
	}
}

func TestService_mailOff(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t, nil)
	u := mustUser(t, f, "ann@example.com", "correct horse")
	for name, err := range map[string]error{
		"StartVerification":  f.svc.StartVerification(ctx, u, "en"),
		"ResendVerification": f.svc.ResendVerification(ctx, u.Email, from, "en"),
		"RequestRecovery":    f.svc.RequestRecovery(ctx, u.Email, from, "en"),
		"RequestEmailChange": f.svc.RequestEmailChange(ctx, u.ID, "new@example.com", "correct horse", from, "en"),
	} {
		if !errors.Is(err, ErrMailOff) {
			t.Errorf("%s without a Mailer = %v, want %v", name, err, ErrMailOff)
		}
	}
}

func TestService_emailChange(t *testing.T) {
	ctx := context.Background()
	f, m := mailFixture(t, func(o *Options) {
		o.AccountPolicy = store.ThrottlePolicy{Free: 3, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	})
	u := mustUser(t, f, "ann@example.com", "correct horse")
	mustUser(t, f, "taken@example.com", "correct horse")
	var ie *InputError
	for _, tc := range []struct {
		name, email, password string
		check                 func(error) bool
	}{
		{"wrong password", "new@example.com", "wrong", func(err error) bool { return errors.Is(err, ErrWrongPassword) }},
		{"malformed", "not an email", "correct horse", func(err error) bool { return errors.As(err, &ie) }},
		{"same", " ANN@example.com", "correct horse", func(err error) bool { return errors.As(err, &ie) }},
		{"taken", "taken@example.com", "correct horse", func(err error) bool { return errors.Is(err, ErrEmailTaken) }},
	} {
		if err := f.svc.RequestEmailChange(ctx, u.ID, tc.email, tc.password, from, "en"); !tc.check(err) {
			t.Errorf("%s: RequestEmailChange() = %v", tc.name, err)
		}
	}
	if len(m.take()) != 0 {
		t.Fatal("a refused change sent mail")
	}
	if err := f.svc.RequestEmailChange(ctx, u.ID, "New@Example.com", "correct horse", from, "ja"); err != nil {
		t.Fatalf("RequestEmailChange() = %v", err)
	}
	msg := m.only(t, MailEmailChange, "new@example.com")
	if msg.Data["new_email"] != "new@example.com" || len(msg.Data["code"]) != 6 {
		t.Errorf("email change mail = %+v", msg)
	}
	if now, _ := f.store.GetUser(ctx, u.ID); now.Email != u.Email {
		t.Fatalf("email changed to %s before confirmation", now.Email)
	}
	tok := linkToken(t, msg, EmailChangePath)
	if got, addr, err := f.svc.CheckEmailChange(ctx, tok); err != nil || got.ID != u.ID || addr != "new@example.com" {
		t.Errorf("CheckEmailChange() = %v, %s, %v", got.ID, addr, err)
	}
	got, err := f.svc.ConfirmEmailChange(ctx, tok, "ja")
	if err != nil || got.Email != "new@example.com" || !got.EmailVerified {
		t.Fatalf("ConfirmEmailChange() = %+v, %v", got, err)
	}
	notice := m.only(t, MailEmailChangedNotice, u.Email)
	if notice.Data["new_email"] != "new@example.com" || notice.Lang != "ja" {
		t.Errorf("notice = %+v", notice)
	}
	if _, err := f.svc.Authenticate(ctx, "new@example.com", "correct horse", from); err != nil {
		t.Errorf("login with the new email = %v", err)
	}
	if _, err := f.svc.ConfirmEmailChange(ctx, tok, "en"); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("ConfirmEmailChange() again = %v, want %v", err, ErrLinkInvalid)
	}

	// By code; the address taken meanwhile is refused.
	if err := f.svc.RequestEmailChange(ctx, u.ID, "third@example.com", "correct horse", from, "en"); err != nil {
		t.Fatal(err)
	}
	code := m.only(t, MailEmailChange, "third@example.com").Data["code"]
	mustUser(t, f, "third@example.com", "correct horse")
	if _, err := f.svc.ConfirmEmailChangeCode(ctx, u.ID, code, "en"); !errors.Is(err, ErrEmailTaken) {
		t.Errorf("ConfirmEmailChangeCode(taken meanwhile) = %v, want %v", err, ErrEmailTaken)
	}

	// Wrong passwords count in the account's login throttle.
	var te *ThrottledError
	for range 4 {
		err = f.svc.RequestEmailChange(ctx, u.ID, "fourth@example.com", "wrong", from, "en")
	}
	if !errors.As(err, &te) {
		t.Errorf("4th wrong password = %v, want a *ThrottledError", err)
	}
}

// A credential change voids the links and codes issued before it: an
// email change asked for with the old password (by whoever learnt it, to
// their own address) cannot be confirmed once the owner has reset the
// password, or an operator set it, or disabled and enabled the account;
// one asked for afterwards can.
func TestService_credentialChangeVoidsLinks(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		change   func(t *testing.T, f *fixture, m *recordingMailer, u store.User)
		password string // the password afterwards
	}{
		{"password reset", func(t *testing.T, f *fixture, m *recordingMailer, u store.User) {
			if err := f.svc.RequestRecovery(ctx, u.Email, from, "en"); err != nil {
				t.Fatal(err)
			}
			f.svc.Wait()
			tok := linkToken(t, m.only(t, MailRecover, u.Email), RecoverPath)
			if _, err := f.svc.CompleteRecovery(ctx, tok, "new password!", "en"); err != nil {
				t.Fatalf("CompleteRecovery() = %v", err)
			}
			m.only(t, MailPasswordChanged, u.Email)
		}, "new password!"},
		{"password set", func(t *testing.T, f *fixture, _ *recordingMailer, u store.User) {
			if _, err := f.svc.SetPassword(ctx, u.ID, "new password!"); err != nil {
				t.Fatal(err)
			}
		}, "new password!"},
		{"disabled and enabled", func(t *testing.T, f *fixture, _ *recordingMailer, u store.User) {
			if _, err := f.svc.Disable(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Enable(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
		}, "old password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, m := mailFixture(t, nil)
			u := mustUser(t, f, "ann@example.com", "old password")
			if err := f.svc.RequestEmailChange(ctx, u.ID, "mallory@example.net", "old password", from, "en"); err != nil {
				t.Fatal(err)
			}
			msg := m.only(t, MailEmailChange, "mallory@example.net")
			tok, code := linkToken(t, msg, EmailChangePath), msg.Data["code"]
			f.advance(time.Minute)
			tc.change(t, f, m, u)

			if _, _, err := f.svc.CheckEmailChange(ctx, tok); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("CheckEmailChange(link from before) = %v, want %v", err, ErrLinkInvalid)
			}
			if _, err := f.svc.ConfirmEmailChange(ctx, tok, "en"); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("ConfirmEmailChange(link from before) = %v, want %v", err, ErrLinkInvalid)
			}
			if _, err := f.svc.ConfirmEmailChangeCode(ctx, u.ID, code, "en"); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("ConfirmEmailChangeCode(code from before) = %v, want %v", err, ErrLinkInvalid)
			}
			if got, err := f.store.GetUser(ctx, u.ID); err != nil || got.Email != u.Email {
				t.Fatalf("the user's email = %q, %v; want %s still", got.Email, err, u.Email)
			}
			if msgs := m.take(); len(msgs) != 0 {
				t.Errorf("mails sent: %+v, want none", msgs)
			}

			f.advance(time.Second)
			if err := f.svc.RequestEmailChange(ctx, u.ID, "ann.new@example.com", tc.password, from, "en"); err != nil {
				t.Fatal(err)
			}
			tok = linkToken(t, m.only(t, MailEmailChange, "ann.new@example.com"), EmailChangePath)
			if got, err := f.svc.ConfirmEmailChange(ctx, tok, "en"); err != nil || got.Email != "ann.new@example.com" {
				t.Errorf("ConfirmEmailChange(link from after) = %q, %v; want the change", got.Email, err)
			}
		})
	}
}

func TestService_emailChangeCode(t *testing.T) {
	ctx := context.Background()
	f, m := mailFixture(t, nil)
	u := mustUser(t, f, "ann@example.com", "correct horse")
	other := mustUser(t, f, "bob@example.com", "correct horse")
	if err := f.svc.RequestEmailChange(ctx, u.ID, "new@example.com", "correct horse", from, "en"); err != nil {
		t.Fatal(err)
	}
	code := m.only(t, MailEmailChange, "new@example.com").Data["code"]
	if _, err := f.svc.ConfirmEmailChangeCode(ctx, other.ID, code, "en"); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("another user's ConfirmEmailChangeCode() = %v, want %v", err, ErrLinkInvalid)
	}
	if got, err := f.svc.ConfirmEmailChangeCode(ctx, u.ID, code, "en"); err != nil || got.Email != "new@example.com" {
		t.Errorf("ConfirmEmailChangeCode() = %v, %v", got.Email, err)
	}
}

// With RequireVerifiedEmail, a login is refused for an unverified email
// only once the password is right: a wrong one is refused as any is.
func TestService_requireVerifiedEmail(t *testing.T) {
	ctx := context.Background()
	f, _ := mailFixture(t, func(o *Options) { o.RequireVerifiedEmail = true })
	u := mustUser(t, f, "ann@example.com", "correct horse")
	if _, err := f.svc.Authenticate(ctx, u.Email, "wrong", from); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("wrong password = %v, want %v", err, ErrBadCredentials)
	}
	if _, err := f.svc.Authenticate(ctx, "nobody@example.com", "correct horse", from); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("unknown email = %v, want %v", err, ErrBadCredentials)
	}
	if _, err := f.svc.Authenticate(ctx, u.Email, "correct horse", from); !errors.Is(err, ErrEmailNotVerified) {
		t.Errorf("right password, unverified = %v, want %v", err, ErrEmailNotVerified)
	}
	if r := f.takeResults(); len(r) != 3 || r[2] != LoginUnverified {
		t.Errorf("login results = %v, want the last %s", r, LoginUnverified)
	}
	if _, err := f.svc.MarkVerified(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, u.Email, "correct horse", from); err != nil {
		t.Errorf("verified = %v", err)
	}
}

func TestService_IssueLink(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t, func(o *Options) { o.LinkBase = "https://id.example.com" })
	u := mustUser(t, f, "ann@example.com", "correct horse")
	link, exp, err := f.svc.IssueLink(ctx, u.ID, store.PurposeRecover)
	if err != nil {
		t.Fatalf("IssueLink() = %v", err)
	}
	if !exp.Equal(t0.Add(DefaultRecoveryTTL)) {
		t.Errorf("expires %v, want %v", exp, t0.Add(DefaultRecoveryTTL))
	}
	tok := linkToken(t, Message{Data: map[string]string{"link": link}}, RecoverPath)
	if _, err := f.svc.CompleteRecovery(ctx, tok, "new password!", "en"); err != nil {
		t.Errorf("CompleteRecovery(issued link) = %v", err)
	}
	if _, _, err := f.svc.IssueLink(ctx, u.ID, store.PurposeEmailChange); err == nil {
		t.Error("IssueLink(email-change) = nil, want an error")
	}
	link, _, err = f.svc.IssueLink(ctx, u.ID, store.PurposeVerify)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.svc.ConfirmVerification(ctx, linkToken(t, Message{Data: map[string]string{"link": link}}, VerifyPath)); err != nil || !got.EmailVerified {
		t.Errorf("ConfirmVerification(issued link) = %v", err)
	}
	if tok, _ := f.store.GetUserOneTimeToken(ctx, u.ID, store.PurposeVerify); tok.CodeMAC != "" {
		t.Error("an operator's link has a code")
	}
}

func TestNormalizeCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"123456", "123456", true},
		{"123 456", "123456", true},
		{" 123-456 ", "123456", true},
		{"12345", "", false},
		{"1234567", "", false},
		{"12345a", "", false},
		{"１２３４５６", "", false}, // full-width digits
		{strings.Repeat(" ", 20) + "123456", "", false},
	} {
		got, ok := normalizeCode(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("normalizeCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// A code as typed is six ASCII digits once spaces and hyphens are dropped,
// or no code; what normalizeCode accepts it accepts again unchanged.
func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "12-34-56", "１２３４５６", "12345\x00", "٣٣٣٣٣٣", strings.Repeat("-", 16)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := normalizeCode(s)
		if !ok {
			if got != "" {
				t.Fatalf("normalizeCode(%q) = %q, false; want no code", s, got)
			}
			return
		}
		if len(got) != 6 || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("normalizeCode(%q) = %q: not six ASCII digits", s, got)
		}
		if again, ok := normalizeCode(got); !ok || again != got {
			t.Fatalf("normalizeCode(%q) = %q, %v; want it unchanged", got, again, ok)
		}
	})
}
