// Package readtest helps tests check how little of a large input a parser
// reads: an io.ReaderAt that counts what is read through it, and sparse
// files whose bulk is a hole that costs no disk space.
package readtest

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
)

// CountingReaderAt counts the bytes and calls read through R. It is safe
// for concurrent use.
type CountingReaderAt struct {
	R     io.ReaderAt
	bytes atomic.Int64
	calls atomic.Int64
}

// ReadAt implements io.ReaderAt.
func (c *CountingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.R.ReadAt(p, off)
	c.bytes.Add(int64(n))
	c.calls.Add(1)
	return n, err
}

// Bytes returns the number of bytes read so far.
func (c *CountingReaderAt) Bytes() int64 { return c.bytes.Load() }

// Calls returns the number of ReadAt calls so far.
func (c *CountingReaderAt) Calls() int64 { return c.calls.Load() }

// SparseFile writes head to a file called name in a fresh temporary
// directory, extends the file with a hole to size bytes and returns its
// path. It skips the test when the file cannot be extended.
func SparseFile(tb testing.TB, name string, head []byte, size int64) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(head); err != nil {
		tb.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		tb.Skipf("sparse file: %v", err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// CountReads opens the file at path, passes read a CountingReaderAt over it,
// closes the file and returns the bytes read.
func CountReads(tb testing.TB, path string, read func(r io.ReaderAt)) int64 {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	c := &CountingReaderAt{R: f}
	read(c)
	return c.Bytes()
}

// LiveHeap returns the bytes of live heap after a garbage collection, with
// keep still reachable: what a parser's result holds, for tests that bound
// the memory a hostile input can make it keep.
func LiveHeap(keep any) int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	runtime.KeepAlive(keep)
	return int64(m.HeapAlloc)
}
