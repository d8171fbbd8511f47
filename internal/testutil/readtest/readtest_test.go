package readtest

import (
	"bytes"
	"io"
	"os"
	"testing"
)

func TestCountingReaderAt(t *testing.T) {
	c := &CountingReaderAt{R: bytes.NewReader([]byte("0123456789"))}
	buf := make([]byte, 4)
	if n, err := c.ReadAt(buf, 2); n != 4 || err != nil || string(buf) != "2345" {
		t.Fatalf("ReadAt(4 bytes at 2) = %d, %v, %q", n, err, buf)
	}
	if n, err := c.ReadAt(buf, 8); n != 2 || err != io.EOF {
		t.Fatalf("ReadAt(4 bytes at 8) = %d, %v; want 2, EOF", n, err)
	}
	if c.Bytes() != 6 || c.Calls() != 2 {
		t.Errorf("Bytes, Calls = %d, %d; want 6, 2", c.Bytes(), c.Calls())
	}
}

func TestSparseFile(t *testing.T) {
	path := SparseFile(t, "big.bin", []byte("head"), 1<<30)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 1<<30 {
		t.Errorf("size %d, want %d", fi.Size(), 1<<30)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 5)
	if n, err := f.ReadAt(head, 0); n != 5 || err != nil || string(head) != "head\x00" {
		t.Errorf("start of file = %q, %v; want \"head\\x00\"", head[:n], err)
	}
}

func TestCountReads(t *testing.T) {
	path := SparseFile(t, "f", []byte("abcdef"), 100)
	n := CountReads(t, path, func(r io.ReaderAt) {
		buf := make([]byte, 10)
		if _, err := r.ReadAt(buf, 95); err != io.EOF {
			t.Errorf("ReadAt past the end: %v, want EOF", err)
		}
		if _, err := r.ReadAt(buf[:3], 0); err != nil {
			t.Error(err)
		}
	})
	if n != 8 {
		t.Errorf("CountReads = %d, want 8", n)
	}
}
