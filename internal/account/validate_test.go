package account

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
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

// ValidateSignup reports every problem, named by field in the order name,
// email, password, and returns the trimmed name and normalised email.
func TestValidateSignup(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []FieldProblem // Msg compared by prefix
		in   SignupInput
	}{
		{name: "valid", body: `{"name":" Élodie ","email":"` + elodieNFD + `","password":"correct horse"}`,
			in: SignupInput{Name: "Élodie", Email: elodieNFC, Password: "correct horse"}},
		{name: "missing", body: `{}`, want: []FieldProblem{
			{"name", "missing", "Field required"}, {"email", "missing", "Field required"}, {"password", "missing", "Field required"}}},
		{name: "not strings", body: `{"name":null,"email":1,"password":["x"]}`, want: []FieldProblem{
			{"name", "string_type", "Input should be a valid string"}, {"email", "string_type", "Input should be a valid string"},
			{"password", "string_type", "Input should be a valid string"}}},
		{name: "bad values", body: `{"name":"","email":"nobody","password":"password"}`, want: []FieldProblem{
			{"name", "string_too_short", "String should have at least 1 character"},
			{"email", "value_error", "value is not a valid email address: "},
			{"password", "value_error", "Password is too common"}}},
		{name: "short password", body: `{"name":"A","email":"a@example.com","password":"pw"}`, want: []FieldProblem{
			{"password", "string_too_short", "Password should have at least 8 characters"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fields map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.body), &fields); err != nil {
				t.Fatal(err)
			}
			in, got := ValidateSignup(fields)
			if !slices.EqualFunc(got, tc.want, func(g, w FieldProblem) bool {
				return g.Field == w.Field && g.Type == w.Type && strings.HasPrefix(g.Msg, w.Msg)
			}) {
				t.Errorf("ValidateSignup(%s) problems = %+v, want %+v", tc.body, got, tc.want)
			}
			if tc.want == nil && in != tc.in {
				t.Errorf("ValidateSignup(%s) = %+v, want %+v", tc.body, in, tc.in)
			}
		})
	}
}

// The Check functions name their field, so that a caller can say where a
// problem is.
func TestCheck_field(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *FieldProblem
		want string
	}{
		{"name", CheckName(strings.Repeat("n", MaxNameRunes+1)), "name"},
		{"email", CheckEmail(strings.Repeat("a", MaxEmailBytes) + "@x.y"), "email"},
		{"password", CheckPassword(strings.Repeat("p", MaxPasswordBytes+1)), "password"},
	} {
		if tc.p == nil || tc.p.Field != tc.want {
			t.Errorf("Check%s(too long) = %+v, want a problem of field %q", tc.name, tc.p, tc.want)
		}
	}
	if p := CheckName("Alice"); p != nil {
		t.Errorf("CheckName(Alice) = %+v, want nil", p)
	}
	if p := CheckEmail("alice@example.com"); p != nil {
		t.Errorf("CheckEmail(alice@example.com) = %+v, want nil", p)
	}
	if p := CheckPassword("correct horse"); p != nil {
		t.Errorf("CheckPassword(correct horse) = %+v, want nil", p)
	}
}
