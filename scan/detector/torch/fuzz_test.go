package torch_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
	torchdet "github.com/mlsecops/mlsec/scan/detector/torch"
)

// FuzzScan feeds arbitrary tars (seeded with the torch-written fixture and
// hand-built layouts) to the detector: no panic, no hang, no error.
func FuzzScan(f *testing.F) {
	if b, err := os.ReadFile("testdata/legacy.tar"); err == nil {
		f.Add(b)
	}
	f.Add(mkTar(f, member{"pickle", evil, 0}, member{"storages", storages([]byte(noViews)), 0}, member{"tensors", tensors(), 0}))
	d := sinktest.Detector(f, torchdet.New)
	sink := sinktest.Discard{Lim: scan.DefaultLimits()}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := &scan.Input{R: bytes.NewReader(b), Size: int64(len(b)), Kind: format.PyTorchTar}
		if err := d.Scan(context.Background(), in, sink); err != nil {
			t.Fatalf("Scan: %v", err)
		}
	})
}
