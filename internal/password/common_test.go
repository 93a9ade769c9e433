package password

import (
	"strings"
	"testing"

	"github.com/trustelem/zxcvbn/frequency"
)

func TestIsCommon(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		want bool
	}{
		{name: "password", pw: "password", want: true},
		{name: "digits", pw: "123456789", want: true},
		{name: "upper case", pw: "Password", want: true},
		{name: "all caps", pw: "PASSWORD", want: true},
		{name: "keyboard row", pw: "qwertyuiop", want: true},
		{name: "iloveyou1", pw: "iloveyou1", want: true},      // rank 4,528
		{name: "listed variant", pw: "password!", want: true}, // rank 26,433
		{name: "suffix not stripped", pw: "password2024", want: false},
		{name: "leet not undone", pw: "p@ssword1", want: false},
		{name: "surrounding space", pw: " password", want: false},
		{name: "passphrase", pw: "vivid-otter-quantum-mattress-41", want: false},
		{name: "empty", pw: "", want: false},
		{name: "invalid utf8", pw: "pass\xffword", want: false},
		{name: "long", pw: strings.Repeat("password", 1000), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsCommon(tc.pw); got != tc.want {
				t.Errorf("IsCommon(%q) = %v, want %v", tc.pw, got, tc.want)
			}
		})
	}
}

// TestIsCommon_ListEnds checks both ends of the ranked list, so that a
// truncated list fails here.
func TestIsCommon_ListEnds(t *testing.T) {
	list := frequency.FrequencyLists["passwords"]
	n := min(commonLimit, len(list))
	if n == 0 {
		t.Fatal(`frequency.FrequencyLists["passwords"] is empty`)
	}
	for _, pw := range []string{list[0], list[n-1]} {
		if !IsCommon(pw) {
			t.Errorf("IsCommon(%q) = false, want true", pw)
		}
	}
	if n < len(list) && IsCommon(list[n]) {
		t.Errorf("IsCommon(%q) = true, want false (rank %d is past commonLimit)", list[n], n+1)
	}
}

// TestCommonPasswords checks the embedded file against zxcvbn's list (a
// test-only dependency now): the same entries, sorted bytewise, one a line,
// lower-case, each found by the search and no near miss found.
func TestCommonPasswords(t *testing.T) {
	list := frequency.FrequencyLists["passwords"]
	want := map[string]bool{}
	for _, pw := range list[:min(commonLimit, len(list))] {
		want[pw] = true
	}
	if !strings.HasSuffix(commonPasswords, "\n") {
		t.Fatal("common-passwords.txt does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")
	if len(lines) != len(want) || len(lines) < 1000 {
		t.Fatalf("common-passwords.txt has %d lines, want %d", len(lines), len(want))
	}
	for i, pw := range lines {
		if !want[pw] {
			t.Errorf("line %d %q is not in zxcvbn's list", i+1, pw)
		}
		if i > 0 && lines[i-1] >= pw {
			t.Fatalf("lines %d and %d (%q, %q) are not sorted bytewise", i, i+1, lines[i-1], pw)
		}
		if pw != strings.ToLower(pw) {
			t.Errorf("entry %q is not lower-case, so IsCommon can never match it", pw)
		}
		if !sortedContains(commonPasswords, pw) {
			t.Errorf("sortedContains(%q) = false, want true", pw)
		}
		for _, miss := range []string{pw + "\x00", pw[:len(pw)-1] + "\x7f"} {
			if !want[miss] && sortedContains(commonPasswords, miss) {
				t.Errorf("sortedContains(%q) = true, want false", miss)
			}
		}
	}
}

func TestSortedContains(t *testing.T) {
	blob := "b\nbb\nc\n"
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"b", true}, {"bb", true}, {"c", true},
		{"", false}, {"a", false}, {"ba", false}, {"bbb", false}, {"d", false}, {"b\nbb", false},
	} {
		if got := sortedContains(blob, tc.s); got != tc.want {
			t.Errorf("sortedContains(%q, %q) = %v, want %v", blob, tc.s, got, tc.want)
		}
	}
	if sortedContains("", "") {
		t.Error(`sortedContains("", "") = true`)
	}
}

// FuzzIsCommon: the search agrees with a map of the list.
func FuzzIsCommon(f *testing.F) {
	set := map[string]bool{}
	for _, pw := range strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n") {
		set[pw] = true
	}
	for _, s := range []string{"password", "Password!", "", "\n", "zzzzzzzz", "iloveyou1\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		if got, want := IsCommon(pw), set[strings.ToLower(pw)]; got != want {
			t.Errorf("IsCommon(%q) = %v, want %v", pw, got, want)
		}
	})
}

func BenchmarkIsCommon(b *testing.B) {
	for _, bc := range []struct {
		name string
		pw   string
	}{
		{name: "common", pw: "iloveyou1"},
		{name: "upper", pw: "Sunshine1"},
		{name: "uncommon", pw: "vivid-otter-quantum-mattress-41"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				IsCommon(bc.pw)
			}
		})
	}
}
