package logsink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer safe for the sink's goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestWriter_EverythingArrivesInOrder(t *testing.T) {
	var out lockedBuffer
	w := New(&out, 64) // small: writers wait for batches
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				fmt.Fprintf(w, "g%d line %03d\n", g, i)
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("got %d lines, want 800", len(lines))
	}
	next := map[string]int{}
	for _, l := range lines {
		var g string
		var i int
		if _, err := fmt.Sscanf(l, "%s line %d", &g, &i); err != nil {
			t.Fatalf("torn line %q: %v", l, err)
		}
		if i != next[g] {
			t.Fatalf("%s: line %d after %d, want in order", g, i, next[g]-1)
		}
		next[g]++
	}
}

// gate blocks each Write until the test lets it through.
type gate struct {
	entered chan []byte
	release chan struct{}
}

func (g *gate) Write(p []byte) (int, error) {
	g.entered <- append([]byte(nil), p...)
	<-g.release
	return len(p), nil
}

func TestWriter_ReturnsBeforeTheWrite(t *testing.T) {
	g := &gate{entered: make(chan []byte, 10), release: make(chan struct{})}
	w := New(g, 0)
	mustWrite(t, w, "one\n") // taken by the goroutine, which blocks in g
	if got := <-g.entered; string(got) != "one\n" {
		t.Fatalf("first batch = %q", got)
	}
	// The underlying writer is stuck: these still return at once.
	mustWrite(t, w, "two\n")
	mustWrite(t, w, "three\n")
	close(g.release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-g.entered; string(got) != "two\nthree\n" {
		t.Errorf("second batch = %q, want both lines together", got)
	}
}

// mustWrite writes s to w, which must take it.
func mustWrite(tb testing.TB, w io.Writer, s string) {
	tb.Helper()
	if _, err := w.Write([]byte(s)); err != nil {
		tb.Fatalf("Write(%q) = %v", s, err)
	}
}

type failing struct{}

func (failing) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

func TestWriter_FlushReportsErrors(t *testing.T) {
	w := New(failing{}, 0)
	mustWrite(t, w, "x")
	if err := w.Flush(); err == nil || err.Error() != "disk full" {
		t.Errorf("Flush() = %v, want disk full", err)
	}
	w.Close()
}

func TestWriter_AfterClose(t *testing.T) {
	var out lockedBuffer
	w := New(&out, 0)
	w.Close()
	mustWrite(t, w, "late\n")
	if out.String() != "late\n" {
		t.Errorf("a Write after Close was lost: %q", out.String())
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
}

// BenchmarkAccessLogLine is one access-log line through slog's text handler:
// formatting alone (io.Discard), written straight to a file (/dev/null: one
// write system call a line, as stderr was), and through the sink to that
// file.
func BenchmarkAccessLogLine(b *testing.B) {
	line := func(l *slog.Logger) {
		l.LogAttrs(b.Context(), slog.LevelInfo, "request",
			slog.String("method", "GET"), slog.String("route", "GET /.well-known/jwks.json"),
			slog.Int("status", 200), slog.Duration("duration", 42000))
	}
	b.Run("direct", func(b *testing.B) {
		l := slog.New(slog.NewTextHandler(io.Discard, nil))
		for b.Loop() {
			line(l)
		}
	})
	devNull := func(b *testing.B) *os.File {
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		return f
	}
	b.Run("file", func(b *testing.B) {
		l := slog.New(slog.NewTextHandler(devNull(b), nil))
		for b.Loop() {
			line(l)
		}
	})
	b.Run("sink", func(b *testing.B) {
		w := New(devNull(b), 0)
		l := slog.New(slog.NewTextHandler(w, nil))
		for b.Loop() {
			line(l)
		}
		w.Close()
	})
}
