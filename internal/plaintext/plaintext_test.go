package plaintext

import "testing"

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", true}, {"alice@example.com", true}, {"E\u0301lodie", true}, {"a b", true}, {"\ufffd", true},
		{"a\x00b", false}, {"a\x01b", false}, {"a\tb", false}, {"a\nb", false}, {"a\x7fb", false},
		{"a\u0085b", false}, {"a\xffb", false}, {"a\xc3", false},
	} {
		if got := Valid(tc.in); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
