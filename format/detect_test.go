package format_test

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/mlsecops/mlsec/format"
)

// TestDetectRealFixtures checks every file written by the real libraries
// (testdata/models, see its README) is recognised as the kind its manifest
// records, whatever its file name says.
func TestDetectRealFixtures(t *testing.T) {
	raw, err := os.ReadFile("../testdata/models/MANIFEST.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Files []struct {
			File string      `json:"file"`
			Kind format.Kind `json:"kind"`
		} `json:"files"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) < 50 {
		t.Fatalf("manifest lists only %d files", len(m.Files))
	}
	for _, f := range m.Files {
		t.Run(f.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("../testdata/models", f.File))
			if err != nil {
				t.Fatal(err)
			}
			got, err := format.Detect(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if got != f.Kind {
				t.Errorf("Detect = %s, want %s", got, f.Kind)
			}
		})
	}
}

func TestDetectCrafted(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want format.Kind
	}{
		{"empty", nil, format.Unknown},
		{"text", []byte("hello world, this is not a model\n"), format.Unknown},
		{"json", []byte(`{"a": [1, 2, 3]}`), format.Unknown},
		{"csv", []byte("a,b,c\n1,2,3\n"), format.Unknown},
		// Whole small texts that decode as a few opcodes and then end.
		{"apt pin", []byte("Package: nodejs\nPin: origin deb.nodesource.com\nPin-Priority: 600\n"), format.Unknown},
		{"git relnotes utf8", []byte("Git v2.30.2 Release Notes\n=========================\n\nThis release addresses CVE-2021-21300 \u2014 a fix.\n"), format.Unknown},
		{"proto2 pickle", []byte("\x80\x02}q\x00."), format.Pickle},
		{"proto0 pickle", []byte("(dp0\nS'a'\np1\nI1\ns."), format.Pickle},
		{"legacy magic p2", []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e\x80\x02M\xe9\x03."), format.PyTorchLegacy},
		{"legacy magic p4 framed", append([]byte("\x80\x04\x95\x0d\x00\x00\x00\x00\x00\x00\x00"), []byte("\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e")...), format.PyTorchLegacy},
		{"npy", []byte("\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }"), format.NumPy},
		{"gguf", []byte("GGUF\x03\x00\x00\x00"), format.GGUF},
		{"hdf5", []byte("\x89HDF\r\n\x1a\n\x00\x00"), format.HDF5},
		{"hdf5 user block", append(make([]byte, 512), []byte("\x89HDF\r\n\x1a\n\x00\x00")...), format.HDF5},
		{"7z", []byte("7z\xbc\xaf\x27\x1c\x00\x04"), format.SevenZip},
		{"tflite", []byte("\x1c\x00\x00\x00TFL3\x00\x00"), format.TFLite},
		{"gguf real head", []byte("GGUF\x03\x00\x00\x00\x22\x01\x00\x00\x00\x00\x00\x00\x19\x00\x00\x00\x00\x00\x00\x00"), format.GGUF},
		// Polyglots that pickle.load runs: scanned as the pickle they are.
		{"gguf-pickle polyglot", []byte("GGUF\x03\x00\x00\x00\x000cos\nsystem\n(S'id'\ntR."), format.Pickle},
		{"tflite-pickle polyglot", []byte("U\x06xxTFL30cos\nsystem\n(S'id'\ntR."), format.Pickle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := format.Detect(bytes.NewReader(tc.data), int64(len(tc.data)))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Detect = %s, want %s", got, tc.want)
			}
		})
	}
}

func FuzzDetect(f *testing.F) {
	files, _ := filepath.Glob("../testdata/models/*")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := format.Detect(bytes.NewReader(data), int64(len(data)))
		if err != nil || k == "" {
			t.Fatalf("Detect = %q, %v", k, err)
		}
	})
}

// TestDetectHostileDictionary: compressed heads that declare huge decoder
// dictionaries are not decoded (the decoder would allocate them).
func TestDetectHostileDictionary(t *testing.T) {
	lz := append([]byte{0x5d, 0, 0, 0, 0x40}, bytes.Repeat([]byte{0xff}, 8)...) // 1 GiB dictionary
	lz = append(lz, make([]byte, 64)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := format.Detect(bytes.NewReader(lz), int64(len(lz))); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<20 {
		t.Errorf("Detect allocated %d bytes for a hostile lzma header", grown)
	}
}

// TestDetectLongDecoy: pickles opening with a string longer than the
// detection head (no PROTO), plain and zlib-compressed as joblib writes
// them, are still recognised; CPython and joblib.load run what follows.
func TestDetectLongDecoy(t *testing.T) {
	decoyed := append([]byte("X\xa0\x86\x01\x00"), bytes.Repeat([]byte("A"), 100_000)...)
	decoyed = append(decoyed, "0cos\nsystem\n(S'id'\ntR."...)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(decoyed)
	zw.Close()
	var zt bytes.Buffer
	zw = zlib.NewWriter(&zt)
	zw.Write(bytes.Repeat([]byte("just some text, no pickle. "), 1000))
	zw.Close()
	for _, tc := range []struct {
		name string
		data []byte
		want format.Kind
	}{
		{"plain", decoyed, format.Pickle},
		{"zlib", z.Bytes(), format.Joblib},
		{"zlib text", zt.Bytes(), format.Unknown},
		{"length past EOF", decoyed[:50_000], format.Unknown},
	} {
		got, err := format.Detect(bytes.NewReader(tc.data), int64(len(tc.data)))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s: Detect = %s, want %s", tc.name, got, tc.want)
		}
	}
}
