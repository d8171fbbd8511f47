package joblib_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
	jobdet "github.com/mlsecops/mlsec/scan/detector/joblib"
)

// FuzzScan feeds arbitrary compressed streams to the detector: bounded,
// no panic, no error.
func FuzzScan(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.joblib")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	d := sinktest.Detector(f, jobdet.New)
	lim := scan.DefaultLimits()
	lim.MaxTotalBytes = 8 << 20
	sink := sinktest.Discard{Lim: lim}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := &scan.Input{R: bytes.NewReader(b), Size: int64(len(b)), Kind: format.Joblib}
		if err := d.Scan(context.Background(), in, sink); err != nil {
			t.Fatalf("Scan: %v", err)
		}
	})
}
