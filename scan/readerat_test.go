package scan_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
)

// TestScanReaderAtMatchesScan: scanning bytes in memory gives the same
// artifact result as scanning the same bytes from a file of that name.
func TestScanReaderAtMatchesScan(t *testing.T) {
	cfg := scan.DefaultConfig()
	dets, err := list.All(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := scan.NewRunner(dets, cfg, scan.Options{Workers: 1})
	for name, body := range map[string][]byte{
		"evil.pkl":    []byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."),
		"notes.txt":   []byte("just text"),
		"weights.bin": {},
	} {
		dir := t.TempDir()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
		fromFile, err := r.Scan(context.Background(), []string{p})
		if err != nil {
			t.Fatal(err)
		}
		fromMem, err := r.ScanReaderAt(context.Background(), p, bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		if name == "evil.pkl" && len(fromMem.Artifacts[0].Findings) == 0 {
			t.Errorf("no finding on a malicious pickle in memory")
		}
		if len(fromFile.Artifacts) != 1 || !reflect.DeepEqual(fromFile.Artifacts[0], fromMem.Artifacts[0]) {
			t.Errorf("%s: file %+v\nmemory %+v", name, fromFile.Artifacts, fromMem.Artifacts)
		}
	}
}
