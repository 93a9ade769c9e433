package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionString(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.9.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "adc4067"}, {Key: "vcs.time", Value: "2026-12-02T14:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	tests := []struct {
		name   string
		linked string
		bi     *debug.BuildInfo
		want   string
	}{
		{"module version and vcs", "", stamped, "inkan v0.9.0 (revision adc4067, 2026-12-02T14:00:00Z, modified) go1.26.8"},
		{"-X wins", "v1.2.3", stamped, "inkan v1.2.3 (revision adc4067, 2026-12-02T14:00:00Z, modified) go1.26.8"},
		{"checkout without vcs", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "inkan (devel) go1.26.8"},
		{"no build info", "", nil, "inkan (unknown)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionString(tc.linked, tc.bi); got != tc.want {
				t.Errorf("versionString(%q) = %q, want %q", tc.linked, got, tc.want)
			}
		})
	}
}

func TestCLI_version(t *testing.T) {
	out := mustInkan(t, "", "version")
	if !strings.HasPrefix(out, "inkan ") || !strings.Contains(out, "go1.") {
		t.Errorf("inkan version = %q, want inkan VERSION … GO", out)
	}
	if _, err := inkan(t, "", "version", "extra"); err == nil {
		t.Error("inkan version extra: no error, want a usage error")
	}
}
