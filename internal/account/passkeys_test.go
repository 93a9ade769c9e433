package account

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/inkan-dev/inkan/internal/account/passkeytest"
	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/store"
)

const (
	testRPID   = "id.example.com"
	testOrigin = "https://id.example.com"
)

type softAuthenticator = passkeytest.Authenticator

// mustAuthenticator makes an authenticator for the test relying party.
func mustAuthenticator(tb testing.TB) *softAuthenticator {
	tb.Helper()
	return passkeytest.New(tb, testRPID, testOrigin)
}

func b64(b []byte) string { return passkeytest.B64(b) }

// passkeyFixture is a service with passkeys on for the test relying party
// and its events stored.
func passkeyFixture(tb testing.TB, edit func(*Options)) *fixture {
	tb.Helper()
	var f *fixture
	f = mustFixture(tb, func(o *Options) {
		o.MFA.RPID = testRPID
		o.MFA.RPOrigins = []string{testOrigin}
		o.MFA.RPName = "inkan test"
		o.Events = events.New(events.Options{Store: o.Store.(store.Store), Now: func() time.Time { return f.Now() }})
		if edit != nil {
			edit(o)
		}
	})
	return f
}

// mustRegister registers a's credential for u under name and returns the
// passkey and the recovery codes.
func mustRegister(tb testing.TB, f *fixture, u store.User, a *softAuthenticator, name string) (store.Passkey, []string) {
	tb.Helper()
	ctx := context.Background()
	handle, opts, err := f.svc.BeginPasskeyRegistration(ctx, u.ID)
	if err != nil {
		tb.Fatalf("BeginPasskeyRegistration() = %v", err)
	}
	p, codes, err := f.svc.FinishPasskeyRegistration(ctx, u.ID, handle, name, a.Create(tb, opts))
	if err != nil {
		tb.Fatalf("FinishPasskeyRegistration() = %v", err)
	}
	return p, codes
}

// login runs a passkey assertion of a for userID ("" passwordless).
func login(tb testing.TB, f *fixture, userID string, a *softAuthenticator) (store.User, []string, error) {
	tb.Helper()
	ctx := context.Background()
	handle, opts, err := f.svc.BeginPasskeyLogin(ctx, userID)
	if err != nil {
		tb.Fatalf("BeginPasskeyLogin(%q) = %v", userID, err)
	}
	return f.svc.FinishPasskeyLogin(ctx, handle, a.Get(tb, opts))
}

func TestService_passkeysOff(t *testing.T) {
	for _, rpID := range []string{"", "127.0.0.1", "::1"} {
		f := mustFixture(t, func(o *Options) { o.MFA.RPID, o.MFA.RPOrigins = rpID, []string{"http://" + rpID} })
		if f.svc.PasskeysOn() {
			t.Errorf("PasskeysOn(RPID %q) = true, want false", rpID)
		}
		testPasskeysOff(t, f)
	}
	if f := passkeyFixture(t, nil); !f.svc.PasskeysOn() {
		t.Errorf("PasskeysOn(RPID %q) = false, want true", testRPID)
	}
}

func testPasskeysOff(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	if _, _, err := f.svc.BeginPasskeyRegistration(ctx, alice.ID); !errors.Is(err, ErrPasskeysOff) {
		t.Errorf("BeginPasskeyRegistration() = %v, want ErrPasskeysOff", err)
	}
	if _, _, err := f.svc.BeginPasskeyLogin(ctx, ""); !errors.Is(err, ErrPasskeysOff) {
		t.Errorf("BeginPasskeyLogin() = %v, want ErrPasskeysOff", err)
	}
	if _, _, err := f.svc.FinishPasskeyLogin(ctx, "x", []byte("{}")); !errors.Is(err, ErrPasskeysOff) {
		t.Errorf("FinishPasskeyLogin() = %v, want ErrPasskeysOff", err)
	}
}

func TestService_PasskeyRegistration(t *testing.T) {
	f := passkeyFixture(t, nil)
	ctx := context.Background()
	mustClient(t, f, "app")
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	mustSession(t, f, alice, "s1", "app")

	handle, opts, err := f.svc.BeginPasskeyRegistration(ctx, alice.ID)
	if err != nil {
		t.Fatalf("BeginPasskeyRegistration() = %v", err)
	}
	var o protocol.PublicKeyCredentialCreationOptions
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	sel := o.AuthenticatorSelection
	if sel.ResidentKey != protocol.ResidentKeyRequirementRequired || sel.RequireResidentKey == nil || !*sel.RequireResidentKey ||
		sel.UserVerification != protocol.VerificationPreferred || o.Attestation != protocol.PreferNoAttestation {
		t.Errorf("creation options %s: want a resident key required, UV preferred, no attestation", opts)
	}
	if o.RelyingParty.ID != testRPID || o.RelyingParty.Name != "inkan test" || o.User.Name != "alice@example.com" || len(o.CredentialExcludeList) != 0 {
		t.Errorf("creation options %s: want rp %s, user alice, nothing excluded", opts, testRPID)
	}
	if c, err := f.store.GetChallenge(ctx, hashLink(handle)); err != nil || c.Purpose != store.ChallengePasskeyRegister || c.UserID != alice.ID ||
		!c.ExpiresAt.Equal(t0.Add(DefaultChallengeTTL)) {
		t.Errorf("stored ceremony = %+v, %v; want a registration of alice's for %s, kept by its hash", c, err, DefaultChallengeTTL)
	}

	a := mustAuthenticator(t)
	a.BE, a.BS = true, true
	f.advance(time.Minute)
	p, codes, err := f.svc.FinishPasskeyRegistration(ctx, alice.ID, handle, "  Laptop  ", a.Create(t, opts))
	if err != nil {
		t.Fatalf("FinishPasskeyRegistration() = %v", err)
	}
	if len(codes) != 10 {
		t.Errorf("recovery codes of the first factor = %d, want 10", len(codes))
	}
	for _, c := range codes {
		if len(c) != 19 || strings.Count(c, "-") != 3 || strings.ToLower(c) != c {
			t.Errorf("recovery code %q: want abcd-efgh-ijkl-mnop", c)
		}
	}
	got, err := f.store.GetPasskey(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Laptop" || got.UserID != alice.ID || !got.UserVerified || !got.BackupEligible || !got.BackupState ||
		!slices.Equal(got.Transports, []string{"internal"}) || !got.CreatedAt.Equal(t0.Add(time.Minute)) || p.Name != "Laptop" {
		t.Errorf("stored passkey = %+v, want alice's Laptop, UV, backed up, internal", got)
	}
	if n, _ := f.store.CountRecoveryCodes(ctx, alice.ID); n != 10 {
		t.Errorf("stored recovery codes = %d, want 10", n)
	}
	if list, _ := f.store.ListSessions(ctx, alice.ID); len(list) != 0 {
		t.Errorf("sessions after enrolment = %d, want 0: a credential change ends every grant", len(list))
	}
	if u, _ := f.store.GetUser(ctx, alice.ID); !u.TokensValidAfter.After(alice.TokensValidAfter) {
		t.Errorf("TokensValidAfter = %v, want moved past %v", u.TokensValidAfter, alice.TokensValidAfter)
	}
	if _, err := f.store.GetChallenge(ctx, hashLink(handle)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ceremony after use: %v, want it gone", err)
	}

	// The second: excluded is the first, the name a default, no new codes.
	handle, opts, err = f.svc.BeginPasskeyRegistration(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	if len(o.CredentialExcludeList) != 1 || !slices.Equal(o.CredentialExcludeList[0].CredentialID, a.ID) {
		t.Errorf("excluded = %+v, want the first passkey", o.CredentialExcludeList)
	}
	b := mustAuthenticator(t)
	p2, codes2, err := f.svc.FinishPasskeyRegistration(ctx, alice.ID, handle, "", b.Create(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	if p2.Name != "Passkey 2" || codes2 != nil {
		t.Errorf("second passkey %q with %d codes, want Passkey 2 and none", p2.Name, len(codes2))
	}
	if n, _ := f.store.CountRecoveryCodes(ctx, alice.ID); n != 10 {
		t.Errorf("recovery codes after the second = %d, want the 10 of the first", n)
	}
	var enrolled []string
	for _, e := range eventsOf(t, f.store) {
		if e.Type == events.MFAEnrolled {
			enrolled = append(enrolled, e.Detail["factor"]+":"+e.Detail["name"])
		}
	}
	if !slices.Equal(enrolled, []string{"passkey:Laptop", "passkey:Passkey 2"}) {
		t.Errorf("enrolment events = %v", enrolled)
	}
}

func TestService_PasskeyRegistration_refused(t *testing.T) {
	f := passkeyFixture(t, nil)
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	bob := mustUser(t, f, "bob@example.com", "bob's horse")
	begin := func() (string, []byte) {
		t.Helper()
		h, o, err := f.svc.BeginPasskeyRegistration(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		return h, o
	}
	a := mustAuthenticator(t)

	t.Run("name", func(t *testing.T) {
		h, o := begin()
		answer := a.Create(t, o)
		for _, name := range []string{strings.Repeat("é", 65), "a\u0007b", "\xff"} {
			if _, _, err := f.svc.FinishPasskeyRegistration(ctx, alice.ID, h, name, answer); problemFields(err) == nil {
				t.Errorf("FinishPasskeyRegistration(name %q) = %v, want an *InvalidError", name, err)
			}
		}
		// The ceremony stands: the same answer with a good name.
		if _, _, err := f.svc.FinishPasskeyRegistration(ctx, alice.ID, h, strings.Repeat("é", 64), answer); err != nil {
			t.Errorf("FinishPasskeyRegistration(64 characters) after bad names = %v", err)
		}
		if err := f.svc.RemovePasskey(ctx, alice.ID, a.ID); err != nil {
			t.Fatal(err)
		}
	})
	for _, tc := range []struct {
		name   string
		edit   func(h string, answer []byte) (user, handle string, resp []byte)
		before func()
		want   error
	}{
		{name: "replayed", edit: func(h string, answer []byte) (string, string, []byte) {
			if _, _, err := f.svc.FinishPasskeyRegistration(ctx, alice.ID, h, "", answer); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.RemovePasskey(ctx, alice.ID, a.ID); err != nil {
				t.Fatal(err)
			}
			return alice.ID, h, answer
		}, want: ErrChallengeInvalid},
		{name: "another user's", edit: func(h string, answer []byte) (string, string, []byte) { return bob.ID, h, answer }, want: ErrChallengeInvalid},
		{name: "unknown handle", edit: func(h string, answer []byte) (string, string, []byte) { return alice.ID, h + "x", answer }, want: ErrChallengeInvalid},
		{name: "empty handle", edit: func(h string, answer []byte) (string, string, []byte) { return alice.ID, "", answer }, want: ErrChallengeInvalid},
		{name: "expired", edit: func(h string, answer []byte) (string, string, []byte) {
			f.advance(DefaultChallengeTTL)
			return alice.ID, h, answer
		}, want: ErrChallengeInvalid},
		{name: "garbage", edit: func(h string, _ []byte) (string, string, []byte) { return alice.ID, h, []byte(`{"id":`) }, want: ErrBadCode},
		{name: "wrong origin", before: func() { a.Origin = "https://evil.example.com" },
			edit: func(h string, answer []byte) (string, string, []byte) { return alice.ID, h, answer }, want: ErrBadCode},
		{name: "wrong rp", before: func() { a.RPID = "evil.example.com" },
			edit: func(h string, answer []byte) (string, string, []byte) { return alice.ID, h, answer }, want: ErrBadCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.Origin, a.RPID = testOrigin, testRPID
			if tc.before != nil {
				tc.before()
			}
			h, o := begin()
			user, handle, resp := tc.edit(h, a.Create(t, o))
			if _, _, err := f.svc.FinishPasskeyRegistration(ctx, user, handle, "", resp); !errors.Is(err, tc.want) {
				t.Errorf("FinishPasskeyRegistration() = %v, want %v", err, tc.want)
			}
			if list, _ := f.svc.Passkeys(ctx, alice.ID); len(list) != 0 {
				t.Errorf("passkeys after a refusal = %d, want 0", len(list))
			}
		})
	}
	// A login ceremony is not a registration's.
	f2 := passkeyFixture(t, nil)
	carol := mustUser(t, f2, "carol@example.com", "carol's horse")
	h, _, err := f2.svc.BeginPasskeyLogin(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f2.svc.FinishPasskeyRegistration(ctx, carol.ID, h, "", []byte("{}")); !errors.Is(err, ErrChallengeInvalid) {
		t.Errorf("FinishPasskeyRegistration(a login's handle) = %v, want ErrChallengeInvalid", err)
	}
}

func TestService_PasskeyLogin(t *testing.T) {
	f := passkeyFixture(t, nil)
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	bob := mustUser(t, f, "bob@example.com", "bob's horse")
	a := mustAuthenticator(t)
	mustRegister(t, f, alice, a, "Laptop")
	bk := mustAuthenticator(t)
	mustRegister(t, f, bob, bk, "Phone")

	// Second factor: alice's credentials allowed, UV preferred.
	handle, opts, err := f.svc.BeginPasskeyLogin(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	var o protocol.PublicKeyCredentialRequestOptions
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	if o.UserVerification != protocol.VerificationPreferred || len(o.AllowedCredentials) != 1 || !slices.Equal(o.AllowedCredentials[0].CredentialID, a.ID) {
		t.Errorf("second-factor options %s: want UV preferred, alice's one credential allowed", opts)
	}
	a.UV = false
	f.advance(time.Minute)
	u, amr, err := f.svc.FinishPasskeyLogin(ctx, handle, a.Get(t, opts))
	if err != nil || u.ID != alice.ID || !slices.Equal(amr, []string{AMRHardwareKey, AMRUserPresence}) {
		t.Fatalf("FinishPasskeyLogin(second factor) = %v, %v, %v; want alice, [hwk user]", u.ID, amr, err)
	}
	if p, _ := f.store.GetPasskey(ctx, a.ID); p.SignCount != 1 || !p.LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("after use: count %d, last used %v; want 1 and now", p.SignCount, p.LastUsedAt)
	}
	// Bob's passkey does not pass for alice.
	handle, opts, err = f.svc.BeginPasskeyLogin(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.FinishPasskeyLogin(ctx, handle, bk.Get(t, opts)); !errors.Is(err, ErrBadCode) {
		t.Errorf("FinishPasskeyLogin(bob's passkey for alice) = %v, want ErrBadCode", err)
	}
	if _, _, err := f.svc.BeginPasskeyLogin(ctx, mustUser(t, f, "carol@example.com", "carol's horse").ID); !errors.Is(err, ErrNoFactor) {
		t.Errorf("BeginPasskeyLogin(no passkeys) = %v, want ErrNoFactor", err)
	}

	// Passwordless: nothing allowed, UV required; the user handle names
	// the user.
	a.UV = true
	handle, opts, err = f.svc.BeginPasskeyLogin(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	o = protocol.PublicKeyCredentialRequestOptions{}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	if o.UserVerification != protocol.VerificationRequired || len(o.AllowedCredentials) != 0 {
		t.Errorf("passwordless options %s: want UV required, nothing allowed", opts)
	}
	u, amr, err = f.svc.FinishPasskeyLogin(ctx, handle, a.Get(t, opts))
	if err != nil || u.ID != alice.ID || !slices.Equal(amr, []string{AMRHardwareKey, AMRMultiFactor, AMRUserPresence}) {
		t.Fatalf("FinishPasskeyLogin(passwordless) = %v, %v, %v; want alice, [hwk mfa user]", u.ID, amr, err)
	}
	if u, amr, err := login(t, f, "", bk); err != nil || u.ID != bob.ID || !MultiFactor(amr) {
		t.Errorf("FinishPasskeyLogin(bob passwordless) = %v, %v, %v; want bob with mfa", u.ID, amr, err)
	}

	var got []string
	for _, e := range eventsOf(t, f.store) {
		switch e.Type {
		case events.MFAUsed, events.MFAFailure, events.LoginSuccess:
			got = append(got, e.Type+":"+e.Detail["factor"]+e.Detail["method"]+":"+e.Detail["reason"])
		}
	}
	want := []string{"mfa.used:passkey:", "mfa.failure:passkey:invalid_assertion", "login.success:passkey:", "login.success:passkey:"}
	if !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
}

func TestService_PasskeyLogin_refused(t *testing.T) {
	for _, tc := range []struct {
		name         string
		passwordless bool
		edit         func(f *fixture, a *softAuthenticator, u store.User)
		answer       func(t *testing.T, f *fixture, a *softAuthenticator, handle string, opts []byte) (string, []byte)
		want         error
		count        uint32 // the stored sign count after; 0 means 1
	}{
		{name: "no uv passwordless", passwordless: true, edit: func(_ *fixture, a *softAuthenticator, _ store.User) { a.UV = false }, want: ErrBadCode},
		{name: "wrong origin", edit: func(_ *fixture, a *softAuthenticator, _ store.User) { a.Origin = "https://evil.example.com" }, want: ErrBadCode},
		{name: "wrong origin passwordless", passwordless: true, edit: func(_ *fixture, a *softAuthenticator, _ store.User) { a.Origin = "http://id.example.com" }, want: ErrBadCode},
		{name: "sign count back", edit: func(_ *fixture, a *softAuthenticator, _ store.User) { a.Count = 1 }, want: ErrBadCode},
		{name: "sign count same passwordless", passwordless: true, edit: func(_ *fixture, a *softAuthenticator, _ store.User) { a.Count-- }, want: ErrBadCode},
		{name: "sign count stops", edit: func(_ *fixture, a *softAuthenticator, _ store.User) { a.Counts = false }, want: ErrBadCode},
		{name: "disabled", edit: func(f *fixture, _ *softAuthenticator, u store.User) {
			if _, err := f.svc.Disable(context.Background(), u.ID); err != nil {
				t.Fatal(err)
			}
		}, want: ErrBadCode},
		{name: "disabled passwordless", passwordless: true, edit: func(f *fixture, _ *softAuthenticator, u store.User) {
			if _, err := f.svc.Disable(context.Background(), u.ID); err != nil {
				t.Fatal(err)
			}
		}, want: ErrBadCode},
		{name: "removed", passwordless: true, edit: func(f *fixture, a *softAuthenticator, u store.User) {
			if err := f.svc.RemovePasskey(context.Background(), u.ID, a.ID); err != nil {
				t.Fatal(err)
			}
		}, want: ErrBadCode},
		{name: "bad signature", answer: func(t *testing.T, f *fixture, a *softAuthenticator, handle string, opts []byte) (string, []byte) {
			other := mustAuthenticator(t)
			other.ID, other.UserHandle, other.Count = a.ID, a.UserHandle, 5
			return handle, other.Get(t, opts)
		}, want: ErrBadCode},
		{name: "user handle of another", passwordless: true, answer: func(t *testing.T, f *fixture, a *softAuthenticator, handle string, opts []byte) (string, []byte) {
			a.UserHandle = []byte(mustUser(t, f, "mallory@example.com", "mallory's horse").ID)
			return handle, a.Get(t, opts)
		}, want: ErrBadCode},
		{name: "user handle not an id", passwordless: true, answer: func(t *testing.T, f *fixture, a *softAuthenticator, handle string, opts []byte) (string, []byte) {
			a.UserHandle = []byte("alice@example.com")
			return handle, a.Get(t, opts)
		}, want: ErrBadCode},
		{name: "replayed", answer: func(t *testing.T, f *fixture, a *softAuthenticator, handle string, opts []byte) (string, []byte) {
			answer := a.Get(t, opts)
			if _, _, err := f.svc.FinishPasskeyLogin(context.Background(), handle, answer); err != nil {
				t.Fatal(err)
			}
			return handle, answer
		}, want: ErrChallengeInvalid, count: 2},
		{name: "replayed passwordless", passwordless: true, answer: func(t *testing.T, f *fixture, a *softAuthenticator, handle string, opts []byte) (string, []byte) {
			answer := a.Get(t, opts)
			if _, _, err := f.svc.FinishPasskeyLogin(context.Background(), handle, answer); err != nil {
				t.Fatal(err)
			}
			return handle, answer
		}, want: ErrChallengeInvalid, count: 2},
		{name: "expired", answer: func(t *testing.T, f *fixture, a *softAuthenticator, handle string, opts []byte) (string, []byte) {
			f.advance(DefaultChallengeTTL)
			return handle, a.Get(t, opts)
		}, want: ErrChallengeInvalid},
		{name: "unknown handle", answer: func(t *testing.T, f *fixture, a *softAuthenticator, handle string, opts []byte) (string, []byte) {
			return b64(randomBytes(32)), a.Get(t, opts)
		}, want: ErrChallengeInvalid},
		{name: "registration handle", answer: func(t *testing.T, f *fixture, a *softAuthenticator, handle string, opts []byte) (string, []byte) {
			h, _, err := f.svc.BeginPasskeyRegistration(context.Background(), string(a.UserHandle))
			if err != nil {
				t.Fatal(err)
			}
			return h, a.Get(t, opts)
		}, want: ErrChallengeInvalid},
		{name: "garbage", answer: func(t *testing.T, f *fixture, a *softAuthenticator, handle string, opts []byte) (string, []byte) {
			return handle, []byte(`{"id":"AAAA","type":"public-key","response":{}}`)
		}, want: ErrBadCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := passkeyFixture(t, nil)
			ctx := context.Background()
			alice := mustUser(t, f, "alice@example.com", "correct horse")
			a := mustAuthenticator(t)
			mustRegister(t, f, alice, a, "Laptop")
			if _, _, err := login(t, f, alice.ID, a); err != nil { // count 1 now
				t.Fatal(err)
			}
			userID := alice.ID
			if tc.passwordless {
				userID = ""
			}
			handle, opts, err := f.svc.BeginPasskeyLogin(ctx, userID)
			if err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tc.edit(f, a, alice)
			}
			answer := func() (string, []byte) { return handle, a.Get(t, opts) }
			if tc.answer != nil {
				answer = func() (string, []byte) { return tc.answer(t, f, a, handle, opts) }
			}
			h, resp := answer()
			if u, amr, err := f.svc.FinishPasskeyLogin(ctx, h, resp); !errors.Is(err, tc.want) {
				t.Errorf("FinishPasskeyLogin() = %v, %v, %v; want %v", u.ID, amr, err, tc.want)
			}
			want := max(tc.count, 1)
			if p, err := f.store.GetPasskey(ctx, a.ID); err == nil && p.SignCount != want {
				t.Errorf("sign count after a refusal = %d, want %d", p.SignCount, want)
			}
		})
	}
}

// A counter that stays 0 is an authenticator that does not count (many
// synced passkeys): no clone warning.
func TestService_PasskeyLogin_noCounter(t *testing.T) {
	f := passkeyFixture(t, nil)
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	a := mustAuthenticator(t)
	a.Counts = false
	mustRegister(t, f, alice, a, "")
	for i := range 3 {
		if _, _, err := login(t, f, "", a); err != nil {
			t.Fatalf("login %d with a zero counter = %v", i, err)
		}
	}
}

func TestService_PasskeyLogin_requireVerifiedEmail(t *testing.T) {
	f := passkeyFixture(t, func(o *Options) { o.RequireVerifiedEmail = true })
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	a := mustAuthenticator(t)
	mustRegister(t, f, alice, a, "")
	if _, _, err := login(t, f, "", a); !errors.Is(err, ErrEmailNotVerified) {
		t.Errorf("passwordless login, email not verified = %v, want ErrEmailNotVerified", err)
	}
}

// Of parallel answers to one ceremony, one passes.
func TestService_PasskeyLogin_parallel(t *testing.T) {
	f := passkeyFixture(t, nil)
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	a := mustAuthenticator(t)
	mustRegister(t, f, alice, a, "")
	handle, opts, err := f.svc.BeginPasskeyLogin(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	answer := a.Get(t, opts)
	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		wg.Go(func() { _, _, results[i] = f.svc.FinishPasskeyLogin(ctx, handle, answer) })
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrChallengeInvalid):
			t.Errorf("parallel FinishPasskeyLogin() = %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d parallel answers passed, want 1", ok, len(results))
	}
}

func TestService_RemovePasskey(t *testing.T) {
	f := passkeyFixture(t, nil)
	ctx := context.Background()
	mustClient(t, f, "app")
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	bob := mustUser(t, f, "bob@example.com", "bob's horse")
	a1, a2, bk := mustAuthenticator(t), mustAuthenticator(t), mustAuthenticator(t)
	mustRegister(t, f, alice, a1, "One")
	mustRegister(t, f, alice, a2, "Two")
	mustRegister(t, f, bob, bk, "Bob's")

	if err := f.svc.RemovePasskey(ctx, alice.ID, bk.ID); !errors.Is(err, ErrNoFactor) {
		t.Errorf("RemovePasskey(bob's) = %v, want ErrNoFactor", err)
	}
	if err := f.svc.RemovePasskey(ctx, alice.ID, []byte("nope")); !errors.Is(err, ErrNoFactor) {
		t.Errorf("RemovePasskey(unknown) = %v, want ErrNoFactor", err)
	}
	if _, err := f.store.GetPasskey(ctx, bk.ID); err != nil {
		t.Errorf("bob's passkey after alice's attempt: %v", err)
	}
	mustSession(t, f, alice, "s1", "app")
	f.advance(time.Minute)
	if err := f.svc.RemovePasskey(ctx, alice.ID, a1.ID); err != nil {
		t.Fatalf("RemovePasskey(own) = %v", err)
	}
	if list, _ := f.store.ListSessions(ctx, alice.ID); len(list) != 0 {
		t.Errorf("sessions after a removal = %d, want 0", len(list))
	}
	if n, _ := f.store.CountRecoveryCodes(ctx, alice.ID); n != 10 {
		t.Errorf("recovery codes with a passkey left = %d, want 10", n)
	}
	if err := f.svc.RemovePasskey(ctx, alice.ID, a1.ID); !errors.Is(err, ErrNoFactor) {
		t.Errorf("RemovePasskey(again) = %v, want ErrNoFactor", err)
	}
	if err := f.svc.RemovePasskey(ctx, alice.ID, a2.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.store.CountRecoveryCodes(ctx, alice.ID); n != 0 {
		t.Errorf("recovery codes after the last factor = %d, want 0", n)
	}
	if n, _ := f.store.CountRecoveryCodes(ctx, bob.ID); n != 10 {
		t.Errorf("bob's recovery codes = %d, want 10", n)
	}
	var removed []string
	for _, e := range eventsOf(t, f.store) {
		if e.Type == events.MFARemoved {
			removed = append(removed, e.Detail["name"])
		}
	}
	if !slices.Equal(removed, []string{"One", "Two"}) {
		t.Errorf("removal events = %v", removed)
	}
	// A removed passkey does not sign in.
	if _, _, err := login(t, f, "", a1); !errors.Is(err, ErrBadCode) {
		t.Errorf("login with a removed passkey = %v, want ErrBadCode", err)
	}
}

func TestNewRecoveryCodes(t *testing.T) {
	f := passkeyFixture(t, nil)
	ctx := context.Background()
	alice := mustUser(t, f, "alice@example.com", "correct horse")
	codes, err := f.svc.newRecoveryCodes(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		raw := strings.ReplaceAll(c, "-", "")
		if len(raw) != 16 || strings.Trim(raw, "abcdefghijklmnopqrstuvwxyz234567") != "" || seen[raw] {
			t.Errorf("code %q: want 16 distinct base32 characters", c)
		}
		seen[raw] = true
		h := sha256.Sum256([]byte(raw))
		if err := f.store.UseRecoveryCode(ctx, alice.ID, b16(h[:]), t0); err != nil {
			t.Errorf("UseRecoveryCode(hash of %q) = %v: want it stored as the SHA-256 of the code without dashes", c, err)
		}
	}
}

func b16(b []byte) string {
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, hexdigits[c>>4], hexdigits[c&15])
	}
	return string(out)
}

// An assertion as anyone may post it, to a passwordless ceremony of a
// user with a passkey: never a panic, and never a sign-in but by the real
// authenticator's answer (the seed that is one signs in; a mutation of it
// does not).
func FuzzFinishPasskeyLogin(f *testing.F) {
	fx := passkeyFixture(f, nil)
	u := mustUser(f, fx, "alice@example.com", "correct horse")
	a := mustAuthenticator(f)
	mustRegister(f, fx, u, a, "Laptop")
	ctx := context.Background()
	_, opts, err := fx.svc.BeginPasskeyLogin(ctx, "")
	if err != nil {
		f.Fatal(err)
	}
	real := a.Get(f, opts) // answers a ceremony of its own: elsewhere, a replay
	f.Add(real)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":"","userHandle":"YWJj"}}`))
	f.Fuzz(func(t *testing.T, response []byte) {
		handle, _, err := fx.svc.BeginPasskeyLogin(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		u, _, err := fx.svc.FinishPasskeyLogin(ctx, handle, response)
		if err == nil {
			t.Fatalf("FinishPasskeyLogin(%.200q) signed %s in with an answer to another ceremony", response, u.ID)
		}
		if !errors.Is(err, ErrBadCode) && !errors.Is(err, ErrChallengeInvalid) {
			t.Fatalf("FinishPasskeyLogin() = %v, want ErrBadCode", err)
		}
	})
}
