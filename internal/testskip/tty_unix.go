//go:build unix

package testskip

import (
	"io"
	"os"
	"syscall"
)

// openTerminal opens the controlling terminal for writing, or returns nil
// when there is none (CI, a pipe). It calls open(2) directly: a file opened
// through package os would be recorded in the test log, and go test would
// then never cache the package's result.
func openTerminal() io.WriteCloser {
	fd, err := syscall.Open("/dev/tty", syscall.O_WRONLY|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(fd), "/dev/tty")
}
