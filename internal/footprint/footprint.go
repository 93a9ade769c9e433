// Package footprint hands back to the operating system the memory that a
// process touched once and no longer uses: the garbage of a burst of work,
// and the pages of its executable (and of the shared libraries a cgo build
// loads) that start-up ran or read.
//
// A Go binary's code, read-only data and function table are file-backed
// mappings. Start-up touches a little of nearly every package (each
// package's initialisation, the migrations, the templates checked once),
// and on Linux each such read fault maps the 64 KiB around it too, so an
// idle server counts most of its 40 MB executable in its RSS although it
// will not run most of that code again. Those pages are clean copies of the
// file: dropping the process's mappings of them loses nothing, since the
// page cache still holds them and the next use maps them again with a
// minor fault. The same holds for the C library and the dynamic loader,
// which a default (cgo) build maps for the resolver and os/user.
package footprint

import (
	"bufio"
	"bytes"
	"runtime/debug"
	"strconv"
	"strings"
)

// Release collects garbage, returns the free heap to the operating system
// (debug.FreeOSMemory) and, on Linux, drops the process's mappings of the
// clean read-only pages of its executable and shared libraries (see the
// package documentation). It reports how many bytes of mappings it
// released. Call it when a burst of work is over, not on a hot path: the
// runtime stops the world to collect, and the code the next request runs
// is mapped again.
func Release() (uint64, error) {
	debug.FreeOSMemory()
	return releaseImage()
}

// span is an address range of the process's memory, [start, end).
type span struct{ start, end uint64 }

// imageSpans returns the mappings of files in smaps (the text of
// /proc/self/smaps) that are safe to drop: private, not writable, and with
// no anonymous page. A file is a path; the kernel's own mappings ([vdso],
// [stack]) and anonymous memory are left alone. A relocation-read-only
// segment (GNU_RELRO in a position-independent build or a shared library)
// is private and read-only too, but the dynamic loader wrote it, so its
// pages are anonymous copies that dropping would turn back into the
// unrelocated file: such a mapping is left alone, as is code a debugger
// patched.
func imageSpans(smaps []byte) []span {
	var (
		out   []span
		cur   span
		cand  bool // the current mapping is a file's, private and read-only
		clean bool // and smaps said it holds no anonymous or swapped page
	)
	flush := func() {
		if cand && clean {
			out = append(out, cur)
		}
		cand, clean = false, false
	}
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, rest, ok := strings.Cut(line, ":"); ok && !strings.ContainsAny(name, " -") {
			// A field of the current mapping, such as "Anonymous:    4 kB".
			// Only an explicit zero for both makes it clean; a field seen
			// twice with a non-zero value spoils it.
			kb, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
			switch name {
			case "Anonymous":
				clean = kb == "0"
			case "Swap":
				clean = clean && kb == "0"
			}
			continue
		}
		flush()
		s, perms, path, ok := parseMapping(line)
		if !ok || !strings.HasPrefix(path, "/") || perms[1] == 'w' || perms[3] != 'p' {
			continue
		}
		cur, cand = s, true
	}
	flush()
	if sc.Err() != nil {
		return nil
	}
	return out
}

// parseMapping parses the header line of one mapping in /proc/PID/maps or
// smaps: "start-end perms offset dev inode [path]". The path, which may hold
// spaces, is the rest of the line after the inode.
func parseMapping(line string) (s span, perms, path string, ok bool) {
	rest := line
	var f [5]string
	for i := range f {
		rest = strings.TrimLeft(rest, " ")
		var found bool
		f[i], rest, found = strings.Cut(rest, " ")
		if !found && i < len(f)-1 {
			return span{}, "", "", false
		}
	}
	lo, hi, found := strings.Cut(f[0], "-")
	if !found || len(f[1]) != 4 {
		return span{}, "", "", false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return span{}, "", "", false
	}
	return span{start, end}, f[1], strings.TrimSpace(rest), true
}
