// Package testskip names, after a package's tests, the tests that skipped
// for want of something (a PostgreSQL server, a browser) and why, in one
// line per cause. `go test ./...` shows nothing of a passing package but its
// "ok" line, so a skipped suite would otherwise go unnoticed without -v.
//
// A package whose tests may skip this way calls Skip instead of tb.Skip and
// has
//
//	func TestMain(m *testing.M) { os.Exit(testskip.Main(m)) }
package testskip

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
)

// maxNames bounds the test names listed on one line.
const maxNames = 6

var (
	mu      sync.Mutex
	skipped = map[cause][]string{} // test names by cause
)

// cause is why tests skipped: what they need, and what is missing.
type cause struct{ what, why string }

// Skip records that tb needs what (such as "PostgreSQL") and cannot have it
// because of why (such as "INKAN_TEST_POSTGRES unset"), then skips tb with
// a message saying both.
func Skip(tb testing.TB, what, why string) {
	tb.Helper()
	mu.Lock()
	c := cause{what, why}
	skipped[c] = append(skipped[c], tb.Name())
	mu.Unlock()
	tb.Skipf("skipped: needs %s (%s)", what, why)
}

// Summary returns one line per cause of the tests Skip skipped so far, such
// as "skipped in example.com/p: 3 tests need PostgreSQL (INKAN_TEST_POSTGRES
// unset): TestA (2 subtests), TestB/postgres", or nothing.
func Summary() []string {
	mu.Lock()
	defer mu.Unlock()
	pkg := "this package"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Path != "" {
		pkg = strings.TrimSuffix(bi.Path, ".test")
	}
	var lines []string
	for c, names := range skipped {
		shown := collapse(names)
		list := strings.Join(shown[:min(len(shown), maxNames)], ", ")
		if len(shown) > maxNames {
			list += fmt.Sprintf(" and %d more", len(shown)-maxNames)
		}
		tests := "1 test needs"
		if len(names) != 1 {
			tests = fmt.Sprintf("%d tests need", len(names))
		}
		lines = append(lines, fmt.Sprintf("skipped in %s: %s %s (%s): %s", pkg, tests, c.what, c.why, list))
	}
	slices.Sort(lines)
	return lines
}

// collapse sorts test names and folds the subtests of one top-level test
// into "TestX (n subtests)"; a lone one keeps its full name.
func collapse(names []string) []string {
	byTop := map[string][]string{}
	for _, n := range names {
		top, _, _ := strings.Cut(n, "/")
		byTop[top] = append(byTop[top], n)
	}
	var out []string
	for top, ns := range byTop {
		if len(ns) == 1 {
			out = append(out, ns[0])
		} else {
			out = append(out, fmt.Sprintf("%s (%d subtests)", top, len(ns)))
		}
	}
	slices.Sort(out)
	return out
}

// Main runs the tests and then writes Summary to stdout, which go test shows
// with -v or when the package fails, and to the terminal, when there is
// one, which is how a plain `go test ./...` shows it. It returns m.Run's
// exit code.
func Main(m *testing.M) int {
	code := m.Run()
	report(os.Stdout, openTerminal)
	return code
}

// report writes the summary to w and to the terminal that open returns, if
// any.
func report(w io.Writer, open func() io.WriteCloser) {
	lines := Summary()
	if len(lines) == 0 {
		return
	}
	text := strings.Join(lines, "\n") + "\n"
	// The summary is best effort: the tests have run, and a failed write
	// has no one to tell but the output that failed.
	_, _ = io.WriteString(w, text)
	if tty := open(); tty != nil {
		_, _ = io.WriteString(tty, text)
		tty.Close()
	}
}
