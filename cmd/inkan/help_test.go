package main

import (
	"regexp"
	"strings"
	"testing"
)

// commandLines lists the commands of a usage text: the first word of each
// line indented by two spaces under heading, up to the next blank line.
func commandLines(text, heading string) []string {
	_, body, ok := strings.Cut(text, heading+"\n")
	if !ok {
		return nil
	}
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if line == "" {
			break
		}
		if strings.HasPrefix(line, "  ") && line[2] != ' ' {
			out = append(out, strings.Fields(line)[0])
		}
	}
	return out
}

// everyHelp returns the --help output of every command and subcommand,
// found from the usage texts themselves, so that a new command is covered.
func everyHelp(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{"help": mustInkan(t, "", "help")}
	for _, cmd := range commandLines(out["help"], "Commands:") {
		if cmd == "help" {
			continue
		}
		text := mustInkan(t, "", cmd, "--help")
		out[cmd] = text
		for _, sub := range commandLines(text, "Subcommands:") {
			out[cmd+" "+sub] = mustInkan(t, "", cmd, sub, "--help")
		}
	}
	return out
}

var (
	flagLineRE = regexp.MustCompile(`(?m)^  --(\S+)( \S+)?\n      (.*)$`)
	// "1 seconds", "1 minutes" and the like.
	oneUnitsRE = regexp.MustCompile(`\b1 (second|minute|hour|day|week|byte|character|attempt|key|argument)s\b`)
)

// Every command's --help: each flag states its default at most once, no
// "1 seconds", list flags name what they take (never the flag package's
// "value"), and --allowed-origin is documented as a list.
func TestCLI_helpTexts(t *testing.T) {
	helps := everyHelp(t)
	if len(helps) < 20 {
		t.Fatalf("found %d commands' --help, want every command and subcommand", len(helps))
	}
	for _, want := range []string{"serve", "users add", "keys generate", "clients add", "token verify", "jwk", "export", "import", "migrate"} {
		if _, ok := helps[want]; !ok {
			t.Errorf("no --help found for %q among %d commands", want, len(helps))
		}
	}
	for cmd, text := range helps {
		if m := oneUnitsRE.FindString(text); m != "" {
			t.Errorf("inkan %s --help says %q", cmd, m)
		}
		for _, m := range flagLineRE.FindAllStringSubmatch(text, -1) {
			name, meta, usage := m[1], strings.TrimSpace(m[2]), m[3]
			if n := strings.Count(usage, "default"); n > 1 {
				t.Errorf("inkan %s --help: --%s states its default %d times: %q", cmd, name, n, usage)
			}
			if meta == "value" {
				t.Errorf("inkan %s --help: --%s takes a bare %q; name what it takes", cmd, name, meta)
			}
		}
	}
	usage := flagLineRE.FindAllStringSubmatch(helps["serve"], -1)
	for _, m := range usage {
		if m[1] == "allowed-origin" && (!strings.Contains(m[3], "list") || !strings.Contains(m[3], "repeat") || !strings.Contains(m[3], "comma")) {
			t.Errorf("serve --help: --allowed-origin %q does not say it is a list (repeat or commas)", m[3])
		}
	}
}
