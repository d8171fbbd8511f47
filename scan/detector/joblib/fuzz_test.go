package joblib_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
	jobdet "github.com/mlsecops/mlsec/scan/detector/joblib"
)

type fuzzSink struct{}

func (fuzzSink) Report(mlsec.Finding) {}
func (fuzzSink) Limits() scan.Limits {
	l := scan.DefaultLimits()
	l.MaxTotalBytes = 8 << 20
	return l
}
func (fuzzSink) Nested(_ context.Context, _ string, r io.ReaderAt, size int64) error {
	_, err := io.Copy(io.Discard, io.NewSectionReader(r, 0, size))
	return err
}

// FuzzScan feeds arbitrary compressed streams to the detector: bounded,
// no panic, no error.
func FuzzScan(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.joblib")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	d, err := jobdet.New(scan.DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := &scan.Input{R: bytes.NewReader(b), Size: int64(len(b)), Kind: format.Joblib}
		if err := d.Scan(context.Background(), in, fuzzSink{}); err != nil {
			t.Fatalf("Scan: %v", err)
		}
	})
}
