package account

import (
	"slices"
	"testing"
)

func TestAddAMR(t *testing.T) {
	for _, tc := range []struct {
		amr, methods, want []string
	}{
		{nil, []string{AMRPassword}, []string{AMRPassword}},
		{[]string{AMRPassword}, []string{AMROTP}, []string{AMRMultiFactor, AMROTP, AMRPassword}},
		{[]string{AMRPassword}, []string{AMRHardwareKey, AMRUserPresence}, []string{AMRHardwareKey, AMRMultiFactor, AMRPassword, AMRUserPresence}},
		{nil, []string{AMRHardwareKey, AMRUserPresence}, []string{AMRHardwareKey, AMRUserPresence}},
		{[]string{AMRMultiFactor, AMROTP, AMRPassword}, []string{AMROTP}, []string{AMRMultiFactor, AMROTP, AMRPassword}},
		{[]string{AMROTP}, []string{AMROTP}, []string{AMROTP}}, // one factor twice is one factor
	} {
		got := AddAMR(tc.amr, tc.methods...)
		if !slices.Equal(got, tc.want) {
			t.Errorf("AddAMR(%q, %q) = %q, want %q", tc.amr, tc.methods, got, tc.want)
		}
		if MultiFactor(got) != slices.Contains(tc.want, AMRMultiFactor) {
			t.Errorf("MultiFactor(%q) = %v", got, MultiFactor(got))
		}
	}
	in := []string{AMRPassword}
	AddAMR(in, AMROTP)
	if !slices.Equal(in, []string{AMRPassword}) {
		t.Errorf("AddAMR changed its argument to %q", in)
	}
}
