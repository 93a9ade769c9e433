package password

import (
	"runtime"
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

// TestIsCommon_ListEnds checks both ends of the list that IsCommon uses, so
// that a truncated or reordered list fails here.
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

// TestCommonPasswords checks that the list loaded is large, so that a broken
// load cannot pass TestIsCommon by accident, and logs the set's heap size.
func TestCommonPasswords(t *testing.T) {
	set := commonPasswords()
	if got := len(set); got < 1000 {
		t.Fatalf("len(commonPasswords()) = %d, want at least 1000", got)
	}
	if got, want := len(set), min(commonLimit, len(frequency.FrequencyLists["passwords"])); got != want {
		t.Errorf("len(commonPasswords()) = %d, want %d", got, want)
	}
	for pw := range set {
		if pw != strings.ToLower(pw) {
			t.Errorf("list entry %q is not lower-case, so IsCommon can never match it", pw)
		}
	}

	// A rough measure of what the first call to IsCommon allocates and keeps.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fresh := newCommonSet(frequency.FrequencyLists["passwords"], commonLimit)
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("set of %d passwords: %d KiB of heap", len(fresh), (int64(after.HeapAlloc)-int64(before.HeapAlloc))/1024)
	runtime.KeepAlive(fresh)
}

func BenchmarkIsCommon(b *testing.B) {
	IsCommon("") // build the set outside the timed loop
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

func BenchmarkNewCommonSet(b *testing.B) {
	list := frequency.FrequencyLists["passwords"]
	b.ReportAllocs()
	for b.Loop() {
		newCommonSet(list, commonLimit)
	}
}
