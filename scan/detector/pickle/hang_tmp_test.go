package pickle

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
)

func TestHangTmp(t *testing.T) {
	if os.Getenv("HANGTMP") == "" {
		t.Skip()
	}
	d, _ := New(scan.DefaultConfig())
	var seeds [][]byte
	files, _ := filepath.Glob(filepath.Join("testdata", "benign", "*.pkl"))
	for i, p := range files {
		if i%8 == 0 {
			b, _ := os.ReadFile(p)
			seeds = append(seeds, b)
		}
	}
	for _, fx := range maliciousFixtures()[:20] {
		seeds = append(seeds, fx.data)
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 3000; i++ {
		data := append([]byte(nil), seeds[rng.Intn(len(seeds))]...)
		for j := 0; j < 1+rng.Intn(4); j++ {
			if len(data) == 0 {
				break
			}
			switch rng.Intn(3) {
			case 0:
				data[rng.Intn(len(data))] = byte(rng.Intn(256))
			case 1:
				p := rng.Intn(len(data))
				data = append(data[:p], data[p+1:]...)
			case 2:
				p := rng.Intn(len(data))
				data = append(data[:p], append([]byte{byte(rng.Intn(256))}, data[p:]...)...)
			}
		}
		done := make(chan struct{})
		go func() {
			for _, k := range []format.Kind{format.Pickle, format.PyTorchLegacy} {
				s := &fakeSink{d: d, limits: scan.DefaultLimits()}
				d.Scan(context.Background(), &scan.Input{Path: "fuzz", R: bytes.NewReader(data), Size: int64(len(data)), Kind: k}, s)
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			os.WriteFile("/tmp/pk/hang/input", data, 0o644)
			t.Fatalf("hang on input %d (%d bytes) saved", i, len(data))
		}
	}
}
