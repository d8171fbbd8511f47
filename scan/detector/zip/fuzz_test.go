package zip_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/zip/ziptest"
	"github.com/mlsecops/mlsec/scan"
	zipdet "github.com/mlsecops/mlsec/scan/detector/zip"
)

// fuzzSink has small caps and reads every nested input through.
type fuzzSink struct{}

func (fuzzSink) Report(mlsec.Finding) {}
func (fuzzSink) Limits() scan.Limits {
	l := scan.DefaultLimits()
	l.MaxMemberBytes, l.MaxTotalBytes, l.MaxMembers = 1<<20, 4<<20, 1000
	return l
}
func (fuzzSink) Nested(_ context.Context, _ string, r io.ReaderAt, size int64) error {
	_, err := io.Copy(io.Discard, io.NewSectionReader(r, 0, size))
	return err
}

// FuzzScan runs the detector on arbitrary archives: it must not panic,
// hang or fail on content (only I/O errors are errors).
func FuzzScan(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
			f.Add(b)
		}
	}
	f.Add(ziptest.Archive{Prepend: evil, Zip64: true, Files: []ziptest.File{{Name: "a/data.pkl", LocalName: "x", Data: evil, Method: 8, BadCRC: true}, {Name: "a/data/0", Data: []byte("\x80\x04\x95")}}}.Bytes())
	d, err := zipdet.New(scan.DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := &scan.Input{R: bytes.NewReader(b), Size: int64(len(b)), Kind: format.Zip}
		if err := d.Scan(context.Background(), in, fuzzSink{}); err != nil {
			t.Fatalf("Scan: %v", err)
		}
	})
}
