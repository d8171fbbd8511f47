package spool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

func TestCopy(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		n       int
		limit   int64
		failErr error
		file    bool
	}{
		{"memory", 100, 1000, nil, false},
		{"exact limit", 1000, 1000, nil, false},
		{"file", 5000, 1000, nil, true},
		{"partial memory", 100, 1000, boom, false},
		{"partial file", 5000, 1000, boom, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := bytes.Repeat([]byte("abcdefgh"), tc.n/8+1)[:tc.n]
			var r io.Reader = bytes.NewReader(src)
			if tc.failErr != nil {
				r = io.MultiReader(r, errReader{tc.failErr})
			}
			d, err := Copy(r, tc.limit, t.TempDir())
			if !errors.Is(err, tc.failErr) {
				t.Fatalf("err = %v, want %v", err, tc.failErr)
			}
			if (d.f != nil) != tc.file {
				t.Errorf("file = %v, want %v", d.f != nil, tc.file)
			}
			got := make([]byte, d.Size())
			if _, err := d.ReaderAt().ReadAt(got, 0); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if !bytes.Equal(got, src) {
				t.Errorf("content differs: %d bytes, want %d", len(got), len(src))
			}
			var name string
			if d.f != nil {
				name = d.f.Name()
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if name != "" {
				if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("temp file %s not removed", name)
				}
			}
		})
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
