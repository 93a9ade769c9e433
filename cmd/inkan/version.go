package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
)

// version, when set at link time, names this build:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/inkan
//
// Without it, inkan version reports the module version from the build
// information ("(devel)" for a build from a checkout).
var version = ""

func versionCmd(_ context.Context, std stdio, args []string) error {
	fs := newFlags(std, "version", "version")
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: version takes no arguments", errUsage)
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprintln(std.out, versionString(version, bi))
	return nil
}

// versionString is "inkan VERSION (revision REV, TIME, modified) GO": the
// -X version, or else the module version; the VCS revision, time and
// whether the tree was modified, as go build stamps them.
func versionString(linked string, bi *debug.BuildInfo) string {
	v, goVersion := linked, ""
	settings := map[string]string{}
	if bi != nil {
		if v == "" {
			v = bi.Main.Version
		}
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	if v == "" {
		v = "(unknown)"
	}
	var vcs []string
	if rev := settings["vcs.revision"]; rev != "" {
		vcs = append(vcs, "revision "+rev)
	}
	if t := settings["vcs.time"]; t != "" {
		vcs = append(vcs, t)
	}
	if settings["vcs.modified"] == "true" {
		vcs = append(vcs, "modified")
	}
	out := "inkan " + v
	if len(vcs) > 0 {
		out += " (" + strings.Join(vcs, ", ") + ")"
	}
	if goVersion != "" {
		out += " " + goVersion
	}
	return out
}
