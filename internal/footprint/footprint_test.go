package footprint

import (
	"slices"
	"testing"
)

// smapsEntry is one mapping of /proc/PID/smaps, with the fields imageSpans
// reads and some it skips.
func smapsEntry(header, anonymous, swap string) string {
	s := header + "\nSize:                  8 kB\nRss:                   8 kB\n"
	if anonymous != "" {
		s += "Anonymous:             " + anonymous + " kB\n"
	}
	if swap != "" {
		s += "Swap:                  " + swap + " kB\n"
	}
	return s + "THPeligible:           0\nVmFlags: rd mr mw me \n"
}

func TestImageSpans(t *testing.T) {
	const exe = "/usr/local/bin/inkan"
	tests := []struct {
		name  string
		smaps string
		want  []span
	}{
		{"code and read-only data", smapsEntry("00400000-00fe0000 r-xp 00000000 fe:00 9994263    "+exe, "0", "0") +
			smapsEntry("00fe0000-01d55000 r--p 00be0000 fe:00 9994263    "+exe, "0", "0"),
			[]span{{0x400000, 0xfe0000}, {0xfe0000, 0x1d55000}}},
		{"writable data", smapsEntry("01d55000-01e0f000 rw-p 01955000 fe:00 9994263    "+exe, "0", "0"), nil},
		{"relocated read-only data", smapsEntry("01d2e000-01fb7000 r--p 0192e000 fe:00 9994263    "+exe, "2596", "0"), nil},
		{"patched code", smapsEntry("00400000-00fe0000 r-xp 00000000 fe:00 9994263    "+exe, "4", "0"), nil},
		{"swapped page", smapsEntry("00fe0000-01d55000 r--p 00be0000 fe:00 9994263    "+exe, "0", "4"), nil},
		{"no anonymous field", smapsEntry("00400000-00fe0000 r-xp 00000000 fe:00 9994263    "+exe, "", ""), nil},
		{"shared mapping", smapsEntry("7f0000000000-7f0000001000 r--s 00000000 fe:00 9994263    "+exe, "0", "0"), nil},
		{"shared library", smapsEntry("7f0000000000-7f0000001000 r-xp 00000000 fe:00 326269     /usr/lib/x86_64-linux-gnu/libc.so.6", "0", "0") +
			smapsEntry("7f0000001000-7f0000002000 r--p 00001000 fe:00 326269     /usr/lib/x86_64-linux-gnu/libc.so.6", "0", "0") +
			smapsEntry("7f0000002000-7f0000003000 rw-p 00002000 fe:00 326269     /usr/lib/x86_64-linux-gnu/libc.so.6", "8", "0"),
			[]span{{0x7f0000000000, 0x7f0000001000}, {0x7f0000001000, 0x7f0000002000}}},
		{"anonymous mapping", smapsEntry("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ", "4", "0"), nil},
		{"untouched anonymous mapping", smapsEntry("7f0000000000-7f0000001000 r--p 00000000 00:00 0 ", "0", "0"), nil},
		{"kernel's mapping", smapsEntry("7ffd1c5f2000-7ffd1c5f4000 r-xp 00000000 00:00 0                          [vdso]", "0", "0"), nil},
		{"path with spaces", smapsEntry("00400000-00401000 r-xp 00000000 fe:00 1    /opt/my apps/inkan (deleted)", "0", "0"),
			[]span{{0x400000, 0x401000}}},
		{"malformed header", smapsEntry("00400000-zz r-xp 00000000 fe:00 1    "+exe, "0", "0"), nil},
		{"reversed range", smapsEntry("00500000-00400000 r-xp 00000000 fe:00 1    "+exe, "0", "0"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := imageSpans([]byte(tt.smaps)); !slices.Equal(got, tt.want) {
				t.Errorf("imageSpans = %x, want %x", got, tt.want)
			}
		})
	}
}
