package zip_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/zip/ziptest"
	"github.com/mlsecops/mlsec/internal/testutil/readtest"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
	zipdet "github.com/mlsecops/mlsec/scan/detector/zip"
)

// nullSink discards findings and Nested inputs after reading them fully
// (as a pickle scanner would), counting the bytes.
type nullSink struct{ nested int64 }

func (s *nullSink) Report(mlsec.Finding) {}
func (s *nullSink) Limits() scan.Limits  { return scan.DefaultLimits() }
func (s *nullSink) Nested(_ context.Context, _ string, r io.ReaderAt, size int64) error {
	buf := make([]byte, size)
	n, _ := r.ReadAt(buf, 0)
	s.nested += int64(n)
	return nil
}

// writeCheckpoint writes a PyTorch-style zip of about size bytes: a
// data.pkl, the usual small records and 64 stored tensor storages whose
// data are holes in a sparse file.
func writeCheckpoint(tb testing.TB, path string, size int64) {
	tb.Helper()
	const tensors = 64
	pkl := []byte("\x80\x02}q\x00(X\x06\x00\x00\x00weightq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02.")
	files := []ziptest.File{
		{Name: "archive/data.pkl", Data: pkl},
		{Name: "archive/byteorder", Data: []byte("little")},
	}
	for i := range tensors {
		files = append(files, ziptest.File{Name: fmt.Sprintf("archive/data/%d", i), Zeros: size / tensors, Extra: make([]byte, 40)})
	}
	files = append(files,
		ziptest.File{Name: "archive/version", Data: []byte("3\n")},
		ziptest.File{Name: "archive/.data/serialization_id", Data: []byte("1234567890")},
	)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := (ziptest.Archive{Zip64: true, Files: files}).Write(f); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkZipCheckpoint2GiB scans a 2 GiB PyTorch zip checkpoint (sparse
// tensor data) through format detection and the zip detector, reporting the
// bytes read per scan.
func BenchmarkZipCheckpoint2GiB(b *testing.B) {
	path := filepath.Join(b.TempDir(), "ckpt.pt")
	writeCheckpoint(b, path, 2<<30)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	d := sinktest.Detector(b, zipdet.New)
	var readBytes, nested, calls int64
	b.ResetTimer()
	for b.Loop() {
		cr := &readtest.CountingReaderAt{R: f}
		kind, err := format.Detect(cr, fi.Size())
		if err != nil || kind != format.PyTorchZip {
			b.Fatalf("Detect = %s, %v", kind, err)
		}
		s := &nullSink{}
		if err := d.Scan(context.Background(), &scan.Input{R: cr, Size: fi.Size(), Kind: kind}, s); err != nil {
			b.Fatal(err)
		}
		readBytes, nested, calls = cr.Bytes(), s.nested, cr.Calls()
	}
	b.ReportMetric(float64(readBytes), "bytes-read/op")
	b.ReportMetric(float64(calls), "readat-calls/op")
	b.ReportMetric(float64(nested), "nested-bytes/op")
	b.ReportMetric(float64(fi.Size())/(1<<30), "GiB-file")
	if readBytes >= 1<<20 {
		b.Errorf("read %d bytes of a %d-byte checkpoint, want < 1 MiB", readBytes, fi.Size())
	}
}

// TestCheckpointReadsLittle is the benchmark's assertion as a test, on a
// smaller sparse checkpoint.
func TestCheckpointReadsLittle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ckpt.pt")
	writeCheckpoint(t, path, 256<<20)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	cr := &readtest.CountingReaderAt{R: f}
	d, _ := zipdet.New(scan.DefaultConfig())
	s := &nullSink{}
	if err := d.Scan(context.Background(), &scan.Input{R: cr, Size: fi.Size(), Kind: format.PyTorchZip}, s); err != nil {
		t.Fatal(err)
	}
	if n := cr.Bytes(); n >= 1<<20 || n == 0 {
		t.Errorf("read %d bytes", n)
	}
	if s.nested == 0 {
		t.Error("data.pkl was not scanned")
	}
}

// BenchmarkZipCheckpoint2GiBRunner scans the same checkpoint end to end
// through the Runner (detection, zip detector, pickle detector).
func BenchmarkZipCheckpoint2GiBRunner(b *testing.B) {
	path := filepath.Join(b.TempDir(), "ckpt.pt")
	writeCheckpoint(b, path, 2<<30)
	r := runner(b, scan.DefaultConfig())
	b.ResetTimer()
	for b.Loop() {
		res, err := r.Scan(context.Background(), []string{path})
		if err != nil {
			b.Fatal(err)
		}
		if a := res.Artifacts[0]; a.Status != scan.StatusScanned || a.Format != format.PyTorchZip {
			b.Fatalf("%s %s %s", a.Format, a.Status, a.Reason)
		}
	}
}
