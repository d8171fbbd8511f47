package pickle

import (
	"context"
	"io"
	"os"
	"runtime"
	"syscall"
	"testing"

	"github.com/mlsecops/mlsec/format/pickle/pickletest"
)

// synthReader is an io.ReaderAt over a stream of the given size that is
// zero everywhere except for the segments (opcode headers) placed in it:
// a 1 GiB pickle without 1 GiB of memory or disk.
type synthReader struct {
	size int64
	segs []synthSeg
}

type synthSeg struct {
	off  int64
	data []byte
}

func (s *synthReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	n := len(p)
	if rem := s.size - off; int64(n) > rem {
		n = int(rem)
	}
	clear(p[:n])
	for _, sg := range s.segs {
		lo, hi := max(off, sg.off), min(off+int64(n), sg.off+int64(len(sg.data)))
		if lo < hi {
			copy(p[lo-off:hi-off], sg.data[lo-sg.off:hi-sg.off])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// bigBinbytesPickle builds a protocol 4 pickle of a list of count BINBYTES8
// payloads of each bytes (torch-like tensor data), returning its size.
func bigBinbytesPickle(count int, each int64) *synthReader {
	s := &synthReader{}
	head := pickletest.New(4).EmptyList().Mark()
	off := int64(0)
	add := func(b []byte) {
		s.segs = append(s.segs, synthSeg{off, b})
		off += int64(len(b))
	}
	add(head.Bytes())
	for range count {
		add((&pickletest.Builder{}).BinBytes8Len(uint64(each)).Bytes())
		off += each
	}
	add((&pickletest.Builder{}).Appends().Stop().Bytes())
	s.size = off
	return s
}

func TestLargeBinbytesNotRead(t *testing.T) {
	r := bigBinbytesPickle(16, 64<<20) // 1 GiB
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	an, err := Analyze(context.Background(), r, r.size, Options{})
	runtime.ReadMemStats(&after)
	if err != nil || an.Pickles != 1 || len(an.Anomalies) != 0 || an.End != r.size {
		t.Fatalf("Analyze = %+v, %v", an, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("allocated %d bytes for a 1 GiB pickle: payloads are being read", alloc)
	}
}

// BenchmarkAnalyzeBinbytes analyses a 1 GiB pickle dominated by 64 MiB
// BINBYTES8 payloads; MB/s is stream bytes per second, maxrss-MiB the
// process peak RSS.
func BenchmarkAnalyzeBinbytes(b *testing.B) {
	r := bigBinbytesPickle(16, 64<<20)
	b.SetBytes(r.size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Analyze(context.Background(), r, r.size, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MiB")
	}
}

// BenchmarkAnalyzeBinbytesFile is BenchmarkAnalyzeBinbytes over a real
// (sparse) 1 GiB temp file through *os.File.
func BenchmarkAnalyzeBinbytesFile(b *testing.B) {
	r := bigBinbytesPickle(16, 64<<20)
	f, err := os.CreateTemp(b.TempDir(), "big-*.pkl")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(r.size); err != nil {
		b.Fatal(err)
	}
	for _, sg := range r.segs {
		if _, err := f.WriteAt(sg.data, sg.off); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(r.size)
	b.ReportAllocs()
	for b.Loop() {
		an, err := Analyze(context.Background(), f, r.size, Options{})
		if err != nil || len(an.Anomalies) != 0 {
			b.Fatal(err, an.Anomalies)
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MiB")
	}
}

// BenchmarkAnalyzeManySmall analyses 1 GiB of 1 MiB BINBYTES payloads
// (16384 opcodes, each payload kept up to MaxStringLen=64 KiB).
func BenchmarkAnalyzeManySmall(b *testing.B) {
	r := bigBinbytesPickle(1024, 1<<20)
	b.SetBytes(r.size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Analyze(context.Background(), r, r.size, Options{MaxStringLen: 64 << 10}); err != nil {
			b.Fatal(err)
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MiB")
	}
}

// BenchmarkAnalyzeRealPickle measures opcode throughput on a real pickle.
func BenchmarkAnalyzeRealPickle(b *testing.B) {
	data := pickletest.New(4)
	data.EmptyDict().Mark()
	for i := range 20000 {
		data.Str("key").BinInt(int32(i))
	}
	data.SetItems().Stop()
	p := data.Bytes()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := Analyze(context.Background(), readerOf(p), int64(len(p)), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

type bytesReaderAt []byte

func (p bytesReaderAt) ReadAt(b []byte, off int64) (int, error) {
	if off >= int64(len(p)) {
		return 0, io.EOF
	}
	n := copy(b, p[off:])
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func readerOf(p []byte) io.ReaderAt { return bytesReaderAt(p) }
