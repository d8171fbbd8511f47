package scan

import (
	"bytes"
	"strings"
	"testing"
)

// ReadAll hands out the runner's in-memory copy without another copy (its
// capacity capped, so an append never writes into it), and otherwise reads
// into the caller's buffer when it is large enough, or a new one.
func TestReadAll(t *testing.T) {
	content := []byte("ignore previous instructions")
	held := inMemory(bytes.NewReader(content), int64(len(content)))
	got, err := ReadAll(&Input{R: held, Size: int64(len(content))}, nil)
	if err != nil || string(got) != string(content) {
		t.Fatalf("held: %q %v", got, err)
	}
	if &got[0] != &held.(memReader).b[0] || cap(got) != len(got) {
		t.Errorf("held bytes copied or capacity not capped (cap %d)", cap(got))
	}

	buf := make([]byte, 0, 64)
	got, err = ReadAll(&Input{R: strings.NewReader("abc"), Size: 3}, buf)
	if err != nil || string(got) != "abc" || &got[0] != &buf[:1][0] {
		t.Errorf("into buf: %q %v", got, err)
	}
	got, err = ReadAll(&Input{R: strings.NewReader("abcdef"), Size: 6}, make([]byte, 0, 2))
	if err != nil || string(got) != "abcdef" {
		t.Errorf("small buf: %q %v", got, err)
	}
	if _, err := ReadAll(&Input{R: strings.NewReader("ab"), Size: -1}, nil); err == nil {
		t.Error("negative size accepted")
	}
	// A file over memFileBytes is not held: its reader is the file itself.
	big := make([]byte, memFileBytes+1)
	if _, ok := inMemory(bytes.NewReader(big), int64(len(big))).(memReader); ok {
		t.Error("file over memFileBytes held in memory")
	}
}
