package joblib_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
	jobdet "github.com/mlsecops/mlsec/scan/detector/joblib"
)

var evil = []byte("cos\nsystem\n(S'id'\ntR.")

// evilBz2 is bz2.compress(evil) from Python (Go has no bzip2 writer).
const evilBz2 = "425a68393141592653591f2f22a5000004d380001000c118000e228c2020002221a1b44f298a600028bc8e0424b8257e99358bb9229c28480f97915280"

func compress(t *testing.T, c jobdet.Compression, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	var err error
	switch c {
	case jobdet.Zlib, jobdet.LegacyZF:
		if c == jobdet.LegacyZF {
			fmt.Fprintf(&b, "ZF%-19s", fmt.Sprintf("0x%x", len(data)))
		}
		w = zlib.NewWriter(&b)
	case jobdet.Gzip:
		w = gzip.NewWriter(&b)
	case jobdet.Zstd:
		w, err = zstd.NewWriter(&b)
	case jobdet.XZ:
		w, err = xz.NewWriter(&b)
	case jobdet.LZMA:
		w, err = lzma.NewWriter(&b)
	case jobdet.Bzip2:
		if !bytes.Equal(data, evil) {
			t.Fatal("bz2 only for evil")
		}
		raw, _ := hex.DecodeString(evilBz2)
		return raw
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func run(t *testing.T, b []byte, lim *scan.Limits) *sinktest.Sink {
	t.Helper()
	s := sinktest.New(t)
	if lim != nil {
		s.Lim = *lim
	}
	return s.Scan(sinktest.Detector(t, jobdet.New), sinktest.Input("", b, format.Joblib))
}

var all = []jobdet.Compression{jobdet.Zlib, jobdet.Gzip, jobdet.Bzip2, jobdet.XZ, jobdet.LZMA, jobdet.LegacyZF, jobdet.Zstd}

func TestMalicious(t *testing.T) {
	for _, c := range all {
		t.Run(string(c), func(t *testing.T) {
			b := compress(t, c, evil)
			if got := jobdet.Sniff(b); got != c {
				t.Errorf("Sniff = %q", got)
			}
			if k, _ := format.Detect(bytes.NewReader(b), int64(len(b))); k != format.Joblib && c != jobdet.LegacyZF {
				t.Errorf("format.Detect = %s, want joblib", k)
			}
			s := run(t, b, nil)
			if len(s.Findings) != 0 {
				t.Errorf("findings: %v", s.Findings)
			}
			if got := s.Members[jobdet.InflatedMember]; !bytes.Equal(got, evil) {
				t.Errorf("nested %q, want the pickle", got)
			}
		})
	}
}

func TestConcatenatedStreams(t *testing.T) {
	for _, c := range []jobdet.Compression{jobdet.Zlib, jobdet.Gzip, jobdet.XZ, jobdet.LZMA} {
		t.Run(string(c), func(t *testing.T) {
			b := append(compress(t, c, []byte("\x80\x02N.")), compress(t, c, evil)...)
			s := run(t, b, nil)
			if got, want := s.Members[jobdet.InflatedMember], append([]byte("\x80\x02N."), evil...); !bytes.Equal(got, want) {
				t.Errorf("nested %q, want %q", got, want)
			}
		})
	}
}

func TestBomb(t *testing.T) {
	big := append([]byte("\x80\x04\x95"), make([]byte, 32<<20)...)
	for _, c := range []jobdet.Compression{jobdet.Zlib, jobdet.Gzip} {
		t.Run(string(c), func(t *testing.T) {
			s := run(t, compress(t, c, big), nil)
			if diff := cmp.Diff([]string{"JOBLIB-001@"}, s.Rules()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if n := len(s.Members[jobdet.InflatedMember]); n == 0 || n > 16<<20 {
				t.Errorf("nested %d bytes", n)
			}
		})
	}
	t.Run("total budget", func(t *testing.T) {
		lim := scan.DefaultLimits()
		lim.MaxTotalBytes = 1000
		s := run(t, compress(t, jobdet.Zlib, bytes.Repeat(evil, 100)), &lim)
		if diff := cmp.Diff([]string{"JOBLIB-001@"}, s.Rules()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestCorrupt(t *testing.T) {
	b := compress(t, jobdet.Gzip, bytes.Repeat(evil, 50))
	b = b[:len(b)-30]
	s := run(t, b, nil)
	if diff := cmp.Diff([]string{"JOBLIB-002@"}, s.Rules()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(s.Members[jobdet.InflatedMember]) == 0 {
		t.Error("the intact prefix was not scanned")
	}
	s = run(t, []byte("not compressed"), nil)
	if diff := cmp.Diff([]string{"JOBLIB-003@"}, s.Rules()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestBenignFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.joblib")
	if len(files) != 5 {
		t.Fatalf("%d fixtures", len(files))
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if k, _ := format.Detect(bytes.NewReader(b), int64(len(b))); k != format.Joblib {
			t.Errorf("%s: format.Detect = %s", p, k)
		}
		s := run(t, b, nil)
		if fs := s.AtLeast(mlsec.SeverityLow); len(fs) > 0 {
			t.Errorf("%s: %v", p, fs)
		}
		got := s.Members[jobdet.InflatedMember]
		if len(got) < 100 || got[0] != 0x80 || got[len(got)-1] != '.' && !bytes.Contains(got, []byte("NumpyArrayWrapper")) {
			t.Errorf("%s: inflated %d bytes, head %q", p, len(got), got[:min(len(got), 8)])
		}
	}
}

// TestHugeDictionary: a compressed header that declares a multi-GiB
// dictionary is refused before the decoder allocates it.
func TestHugeDictionary(t *testing.T) {
	lz := append([]byte{0x5d, 0, 0, 0, 0x40}, bytes.Repeat([]byte{0xff}, 8)...) // 1 GiB dictionary
	lz = append(lz, bytes.Repeat([]byte{0}, 64)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s := run(t, lz, nil)
	runtime.ReadMemStats(&after)
	if got := s.Rules(); len(got) == 0 {
		t.Errorf("no finding for a 1 GiB lzma dictionary")
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<20 {
		t.Errorf("allocated %d bytes for a hostile header", grown)
	}
}
