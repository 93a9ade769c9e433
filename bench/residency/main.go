// Command residency shows which parts of a running program's executable
// are resident: the pages of its code and read-only data that are mapped
// now, summed by package (or by the linker's table, such as
// runtime.pclntab), from /proc/PID/maps, /proc/PID/pagemap and the
// executable's symbol table (go tool nm). It answers what the file-backed
// part of an inkan server's RSS (RssFile) is made of.
//
//	go run ./bench/residency [-top 25] PID
//
// Linux only; the process must be one's own (or run as root), and its
// executable must keep its symbols (not built with -ldflags=-s).
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// symbol is one entry of go tool nm: a page belongs to the last symbol
// that starts at or before it.
type symbol struct {
	addr  uint64
	group string
}

const pageSize = 4096

func main() {
	log.SetFlags(0)
	log.SetPrefix("residency: ")
	top := flag.Int("top", 25, "groups to print, largest first")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: residency [-top N] PID")
	}
	pid := flag.Arg(0)
	if _, err := strconv.Atoi(pid); err != nil {
		log.Fatalf("PID %q is not a number", pid)
	}
	exe, err := os.Readlink("/proc/" + pid + "/exe")
	if err != nil {
		log.Fatal(err)
	}
	syms, err := symbols(exe)
	if err != nil {
		log.Fatal(err)
	}
	maps, err := os.ReadFile("/proc/" + pid + "/maps")
	if err != nil {
		log.Fatal(err)
	}
	pagemap, err := os.Open("/proc/" + pid + "/pagemap")
	if err != nil {
		log.Fatal(err)
	}
	defer pagemap.Close()

	kib := map[string]uint64{} // "perms group" → resident KiB
	var total uint64
	for line := range strings.Lines(string(maps)) {
		f := strings.Fields(line)
		if len(f) < 6 || strings.Join(f[5:], " ") != exe {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err := errors.Join(err1, err2); err != nil {
			log.Fatalf("maps: %v", err)
		}
		entries := make([]byte, (end-start)/pageSize*8)
		if _, err := pagemap.ReadAt(entries, int64(start/pageSize*8)); err != nil {
			log.Fatalf("pagemap: %v", err)
		}
		for i := range (end - start) / pageSize {
			if binary.LittleEndian.Uint64(entries[i*8:])&(1<<63) == 0 {
				continue // not present
			}
			addr := start + i*pageSize
			group := "(before the first symbol)"
			if k, _ := slices.BinarySearchFunc(syms, addr, func(s symbol, a uint64) int { return cmp.Compare(s.addr, a+1) }); k > 0 {
				group = syms[k-1].group
			}
			kib[f[1]+" "+group] += pageSize >> 10
			total += pageSize >> 10
		}
	}
	keys := make([]string, 0, len(kib))
	for k := range kib {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(kib[b], kib[a]), strings.Compare(a, b)) })
	fmt.Printf("%s (pid %s): %d KiB of its executable resident\n", exe, pid, total)
	for i, k := range keys {
		if i == *top {
			break
		}
		fmt.Printf("%8d KiB  %s\n", kib[k], k)
	}
}

// symbols lists exe's symbols by address, each with the group its pages
// count under.
func symbols(exe string) ([]symbol, error) {
	out, err := exec.Command("go", "tool", "nm", "-sort", "address", exe).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool nm %s: %w", exe, err)
	}
	var syms []symbol
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// "  4a1f20 T net/http.(*conn).serve"
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		addr, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil || f[1] == "U" {
			continue
		}
		syms = append(syms, symbol{addr: addr, group: group(f[1], strings.Join(f[2:], " "))})
	}
	if len(syms) == 0 {
		return nil, fmt.Errorf("%s has no symbols (built with -ldflags=-s?)", exe)
	}
	slices.SortStableFunc(syms, func(a, b symbol) int { return cmp.Compare(a.addr, b.addr) })
	return syms, nil
}

// group names what a symbol's pages count under: the linker's tables and
// generated symbols by their own name (runtime.pclntab, go:func.*, type:*),
// everything else by its package path.
func group(kind, name string) string {
	switch {
	case strings.HasPrefix(name, "type:"):
		return "type:*"
	case strings.HasPrefix(name, "go:"):
		if i := strings.Index(name, "."); i > 0 {
			return name[:i] + ".*"
		}
		return name
	case strings.HasPrefix(name, "runtime.") && kind != "T" && kind != "t" && !strings.ContainsAny(name[len("runtime."):], ".(*"):
		return name // a table: runtime.pclntab, runtime.rodata, runtime.findfunctab
	}
	slash := strings.LastIndex(name, "/")
	if dot := strings.Index(name[slash+1:], "."); dot >= 0 {
		return name[:slash+1+dot]
	}
	return name
}
