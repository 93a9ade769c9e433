package footprint

import (
	"fmt"
	"os"
	"syscall"
)

// releaseImage drops the mappings that imageSpans finds in
// /proc/self/smaps with MADV_DONTNEED, which for a clean private file
// mapping only unmaps the pages: the next access maps them again from the
// page cache.
func releaseImage() (uint64, error) {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("footprint: %w", err)
	}
	var released uint64
	for _, s := range imageSpans(smaps) {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(s.start), uintptr(s.end-s.start), syscall.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("footprint: madvise %#x-%#x: %w", s.start, s.end, errno)
		}
		released += s.end - s.start
	}
	return released, nil
}
