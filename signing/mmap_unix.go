//go:build linux || darwin || freebsd

package signing

import (
	"context"
	"fmt"
	"hash"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// mmapWindow is how much of a file is mapped at a time.
const mmapWindow = 64 << 20

// hashMapped hashes [start, end) of f, chunk bytes per write, straight from the page cache through
// a sliding read-only mapping, avoiding the copy a read makes. It reports
// ok=false when the file cannot be mapped (the caller then reads it). A file
// truncated while mapped raises SIGBUS, turned into an error here.
func hashMapped(ctx context.Context, h hash.Hash, fh *os.File, start, end int64, chunk int, progress func(int64)) (ok bool, err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	var mapped []byte // the current window, unmapped on every exit
	defer func() {
		if r := recover(); r != nil {
			ok, err = true, fmt.Errorf("signing: %s changed while hashing: %v", fh.Name(), r)
		}
		if mapped != nil {
			_ = unix.Munmap(mapped)
		}
	}()
	page := int64(os.Getpagesize())
	for off := start; off < end; {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		base := off &^ (page - 1)
		n := min(end-base, mmapWindow)
		m, err := unix.Mmap(int(fh.Fd()), base, int(n), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			if off == start {
				return false, nil
			}
			return true, fmt.Errorf("signing: mapping %s: %w", fh.Name(), err)
		}
		mapped = m
		// Advice values are not flags: give each separately.
		_ = unix.Madvise(m, unix.MADV_SEQUENTIAL)
		_ = unix.Madvise(m, unix.MADV_WILLNEED)
		data := m[off-base:]
		for len(data) > 0 {
			k := min(len(data), chunk)
			h.Write(data[:k])
			if progress != nil {
				progress(int64(k))
			}
			data = data[k:]
		}
		off = base + n
		mapped = nil
		if err := unix.Munmap(m); err != nil {
			return true, fmt.Errorf("signing: %w", err)
		}
	}
	return true, nil
}
