package server

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/inkan-dev/inkan/internal/store"
)

const (
	elodieNFC = "\u00e9lodie@example.com"  // é precomposed
	elodieNFD = "e\u0301lodie@example.com" // e and a combining acute accent
)

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{" Alice@Example.COM ", "alice@example.com"},
		{elodieNFC, elodieNFC},
		{elodieNFD, elodieNFC},
		{"E\u0301LODIE@EXAMPLE.COM", elodieNFC},
		{"\u212Aate@example.com", "kate@example.com"},                        // KELVIN SIGN
		{"\u212Bngstr\u00f6m@example.com", "\u00e5ngstr\u00f6m@example.com"}, // ANGSTROM SIGN
		{"a\xffb@example.com", "a\ufffdb@example.com"},
	} {
		if got := NormalizeEmail(tc.in); got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzNormalizeEmail: the result is valid UTF-8, in NFC, lower-case,
// trimmed, and a fixed point.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"alice@example.com", elodieNFD, " \u212Aate@x.y ", "a\xffb", "\u0301", "Ω\u0345\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NormalizeEmail(s)
		switch {
		case !utf8.ValidString(got):
			t.Fatalf("NormalizeEmail(%q) = %q: invalid UTF-8", s, got)
		case !norm.NFC.IsNormalString(got):
			t.Fatalf("NormalizeEmail(%q) = %q: not NFC", s, got)
		case strings.ToLower(got) != got || strings.TrimSpace(got) != got:
			t.Fatalf("NormalizeEmail(%q) = %q: not lower-case and trimmed", s, got)
		case NormalizeEmail(got) != got:
			t.Fatalf("NormalizeEmail(NormalizeEmail(%q)) = %q, want %q", s, NormalizeEmail(got), got)
		}
	})
}

// An email typed decomposed is the same account as the precomposed one:
// registration answers 409, and every login finds the account.
func TestEmail_NFC(t *testing.T) {
	backends(t, func(t *testing.T, backend harnessOption) {
		p := newProvider(t, backend)
		u := p.signup(t, "Élodie", elodieNFD, "correct horse")
		if u["email"] != elodieNFC {
			t.Errorf("registered email = %q, want %q (NFC)", u["email"], elodieNFC)
		}
		if got, err := p.store.GetUserByEmail(t.Context(), elodieNFC); err != nil || got.ID != u["id"] {
			t.Errorf("GetUserByEmail(NFC) = %v, %v; want the user stored in NFC", got, err)
		}
		rec := p.do(t, "POST", "/user", `{"name":"Other","email":"`+elodieNFC+`","password":"correct horse"}`, "Content-Type", "application/json")
		if rec.Code != 409 {
			t.Errorf("registering %q after %q = %d, want 409", elodieNFC, elodieNFD, rec.Code)
		}
		c, secret := p.client(t, store.Client{Trusted: true})
		for _, email := range []string{elodieNFC, elodieNFD, strings.ToUpper(elodieNFD)} {
			if rec := p.do(t, "POST", "/user/_authenticate", "", "Authorization", basic(email, "correct horse")); rec.Code != 200 {
				t.Errorf("tutorial login as %q = %d, want 200", email, rec.Code)
			}
			if rec := p.passwordGrant(t, c, secret, email, "correct horse"); rec.Code != 200 {
				t.Errorf("password grant as %q = %d %s, want 200", email, rec.Code, rec.Body)
			}
			if rec := p.loginPage(t, c, email, "correct horse"); rec.Code != 303 {
				t.Errorf("login page as %q = %d, want 303", email, rec.Code)
			}
		}
	})
}
