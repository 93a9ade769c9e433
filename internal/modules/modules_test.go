package modules

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestVerifyModule runs `go test ./...` in verify/, with -race when this
// test runs with it. It reads every file of the module first: go test
// caches a result by the files the test opened, so a change in verify
// runs it again, and nothing else does.
func TestVerifyModule(t *testing.T) {
	dir := filepath.Join("..", "..", "verify")
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		_, err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatalf("read the verify module: %v", err)
	}
	args := []string{"test"}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(t.Context(), "go", append(args, "./...")...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %v in verify/: %v\n%s", args, err, out)
	}
	t.Logf("go %v in verify/:\n%s", args, out)
}
