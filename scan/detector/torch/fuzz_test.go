package torch_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
	torchdet "github.com/mlsecops/mlsec/scan/detector/torch"
)

type fuzzSink struct{}

func (fuzzSink) Report(mlsec.Finding) {}
func (fuzzSink) Limits() scan.Limits  { return scan.DefaultLimits() }
func (fuzzSink) Nested(_ context.Context, _ string, r io.ReaderAt, size int64) error {
	_, err := io.Copy(io.Discard, io.NewSectionReader(r, 0, size))
	return err
}

// FuzzScan feeds arbitrary tars (seeded with the torch-written fixture and
// hand-built layouts) to the detector: no panic, no hang, no error.
func FuzzScan(f *testing.F) {
	if b, err := os.ReadFile("testdata/legacy.tar"); err == nil {
		f.Add(b)
	}
	f.Add(mkTar(f, member{"pickle", evil, 0}, member{"storages", storages([]byte(noViews)), 0}, member{"tensors", tensors(), 0}))
	d, err := torchdet.New(scan.DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := &scan.Input{R: bytes.NewReader(b), Size: int64(len(b)), Kind: format.PyTorchTar}
		if err := d.Scan(context.Background(), in, fuzzSink{}); err != nil {
			t.Fatalf("Scan: %v", err)
		}
	})
}
