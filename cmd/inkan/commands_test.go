package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// The table dispatches to a subcommand's run with the arguments after its
// name, answers help on stdout, and refuses a missing or unknown
// subcommand with a usage error and the help on stderr.
func TestCommand_dispatch(t *testing.T) {
	var got []string
	table := command{
		usage: "<command>", column: 13,
		subs: []command{
			{name: "one", summary: "the first", run: func(_ context.Context, _ stdio, args []string) error {
				got = append([]string{"one"}, args...)
				return nil
			}},
			{name: "group", summary: "a group", usage: "<subcommand>", column: 10,
				subs: shared(func(_ context.Context, _ stdio, sub string, args []string) error {
					got = append([]string{"group", sub}, args...)
					return nil
				}, command{name: "a", summary: "sub a"}, command{name: "b", args: "X", summary: "sub b"})},
		},
	}
	tests := []struct {
		name       string
		args       []string
		wantRun    []string
		wantErr    string // "" for success
		wantStdout bool   // the help on stdout rather than stderr
	}{
		{name: "command", args: []string{"one", "x", "--y"}, wantRun: []string{"one", "x", "--y"}},
		{name: "subcommand", args: []string{"group", "b", "z"}, wantRun: []string{"group", "b", "z"}},
		{name: "no command", wantErr: "usage: no command given"},
		{name: "unknown command", args: []string{"two"}, wantErr: `usage: unknown command "two"`},
		{name: "no subcommand", args: []string{"group"}, wantErr: "usage: group needs a subcommand"},
		{name: "unknown subcommand", args: []string{"group", "c"}, wantErr: `usage: unknown group subcommand "c"`},
		{name: "help", args: []string{"--help"}, wantStdout: true},
		{name: "group help", args: []string{"group", "-h"}, wantStdout: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			var out, errOut bytes.Buffer
			err := table.dispatch(context.Background(), stdio{out: &out, errOut: &errOut}, "", tc.args)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("dispatch(%q) = %v, want success", tc.args, err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr || !errors.Is(err, errUsage)):
				t.Fatalf("dispatch(%q) = %v, want usage error %q", tc.args, err, tc.wantErr)
			}
			if !slices.Equal(got, tc.wantRun) {
				t.Errorf("dispatch(%q) ran %q, want %q", tc.args, got, tc.wantRun)
			}
			if help := tc.wantErr != "" || tc.wantStdout; help && !strings.Contains(out.String()+errOut.String(), "Usage:") {
				t.Errorf("dispatch(%q) printed no help:\n%s%s", tc.args, &out, &errOut)
			} else if tc.wantStdout && errOut.Len() > 0 || tc.wantErr != "" && out.Len() > 0 {
				t.Errorf("dispatch(%q) printed help on the wrong stream: stdout %q, stderr %q", tc.args, &out, &errOut)
			}
		})
	}
}

// A listing puts a summary beside its entry when two spaces fit before the
// column, and otherwise below it; an entry's args continue indented.
func TestCommand_listing(t *testing.T) {
	c := command{column: 12, subs: []command{
		{name: "short", args: "X", summary: "beside\nand below"},
		{name: "long", args: "--a-flag", summary: "below"},
		{name: "wrapped", args: "A\nB", summary: "below"},
	}}
	want := "" +
		"  short X   beside\n" +
		"            and below\n" +
		"  long --a-flag\n" +
		"            below\n" +
		"  wrapped A\n" +
		"      B\n" +
		"            below\n"
	if got := c.listing(); got != want {
		t.Errorf("listing() =\n%s\nwant\n%s", got, want)
	}
}

// Every entry of the table runs, has subcommands, or is help, which
// dispatch answers itself; a group's listing has a column.
func TestCommands_table(t *testing.T) {
	var walk func(path string, c command)
	walk = func(path string, c command) {
		switch {
		case c.run != nil && len(c.subs) > 0:
			t.Errorf("%q has both a run and subcommands", path)
		case len(c.subs) > 0 && (c.column == 0 || c.usage == ""):
			t.Errorf("%q has subcommands but no column or usage for its help", path)
		case c.run == nil && len(c.subs) == 0 && c.name != "help":
			t.Errorf("%q neither runs nor has subcommands", path)
		}
		for _, s := range c.subs {
			if s.summary == "" {
				t.Errorf("%q has no summary", strings.TrimSpace(path+" "+s.name))
			}
			walk(strings.TrimSpace(path+" "+s.name), s)
		}
	}
	walk("", commands)
}
