package footprint

import (
	"bytes"
	"os"
	"strconv"
	"testing"
)

// rssFileKiB reads RssFile, the resident file-backed pages, of this process.
func rssFileKiB(t *testing.T) int {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range bytes.Lines(status) {
		if v, ok := bytes.CutPrefix(line, []byte("RssFile:")); ok {
			kb, err := strconv.Atoi(string(bytes.Fields(v)[0]))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestRelease drops the test binary's own code and read-only data, and the
// test goes on running: the pages come back on use.
func TestRelease(t *testing.T) {
	before := rssFileKiB(t)
	released, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFileKiB(t)
	if released == 0 {
		t.Fatal("Release released nothing of the test binary")
	}
	if after >= before {
		t.Errorf("RssFile %d KiB after Release, %d KiB before: want fewer", after, before)
	}
	t.Logf("released %d KiB of mappings; RssFile %d → %d KiB", released>>10, before, after)
	// Code that ran before runs again, and data read before reads the same.
	if _, err := Release(); err != nil {
		t.Fatal(err)
	}
}
