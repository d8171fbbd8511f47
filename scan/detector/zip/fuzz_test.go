package zip_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/zip/ziptest"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
	zipdet "github.com/mlsecops/mlsec/scan/detector/zip"
)

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
	d := sinktest.Detector(f, zipdet.New)
	// Small caps; every nested input is read through.
	lim := scan.DefaultLimits()
	lim.MaxMemberBytes, lim.MaxTotalBytes, lim.MaxMembers = 1<<20, 4<<20, 1000
	sink := sinktest.Discard{Lim: lim}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := &scan.Input{R: bytes.NewReader(b), Size: int64(len(b)), Kind: format.Zip}
		if err := d.Scan(context.Background(), in, sink); err != nil {
			t.Fatalf("Scan: %v", err)
		}
	})
}
