package testskip

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

type closer struct{ *bytes.Buffer }

func (closer) Close() error { return nil }

func TestSummary(t *testing.T) {
	mu.Lock()
	saved := skipped
	skipped = map[cause][]string{}
	mu.Unlock()
	t.Cleanup(func() { mu.Lock(); skipped = saved; mu.Unlock() })

	var stdout, tty bytes.Buffer
	report(&stdout, func() io.WriteCloser { return closer{&tty} })
	if stdout.Len() != 0 || tty.Len() != 0 {
		t.Errorf("report with no skips wrote %q and %q, want nothing", stdout.String(), tty.String())
	}

	for _, name := range []string{"pg1", "pg2", "pg3", "pg4", "pg5", "pg6", "pg7"} {
		t.Run(name, func(t *testing.T) { Skip(t, "PostgreSQL", "INKAN_TEST_POSTGRES unset") })
	}
	t.Run("browser", func(t *testing.T) { Skip(t, "Chromium", "not on PATH") })
	mu.Lock()
	c := cause{"PostgreSQL", "INKAN_TEST_POSTGRES unset"}
	skipped[c] = append(skipped[c], "TestOther/a", "TestOther/b", "TestLone/postgres") // as other top-level tests would
	mu.Unlock()
	report(&stdout, func() io.WriteCloser { return closer{&tty} })
	want := []string{
		"skipped in github.com/inkan-dev/inkan/internal/testskip: 1 test needs Chromium (not on PATH): TestSummary/browser",
		"skipped in github.com/inkan-dev/inkan/internal/testskip: 10 tests need PostgreSQL (INKAN_TEST_POSTGRES unset): TestLone/postgres, TestOther (2 subtests), TestSummary (7 subtests)",
	}
	if got := strings.Split(strings.TrimSpace(stdout.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("report() wrote\n%s\nwant\n%s", stdout.String(), strings.Join(want, "\n"))
	}
	if tty.String() != stdout.String() {
		t.Errorf("the terminal got %q, want what stdout got", tty.String())
	}
	// Without a terminal, stdout alone.
	stdout.Reset()
	report(&stdout, func() io.WriteCloser { return nil })
	if !strings.Contains(stdout.String(), "10 tests need PostgreSQL") {
		t.Errorf("report() without a terminal wrote %q", stdout.String())
	}
}
