package numpy_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
	npydet "github.com/mlsecops/mlsec/scan/detector/numpy"
)

var evil = []byte("cos\nsystem\n(S'id'\ntR.")

func npy(header string, data []byte) []byte {
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	return append(append(b, header...), data...)
}

func run(t *testing.T, b []byte) *sinktest.Sink {
	t.Helper()
	return sinktest.New(t).Scan(sinktest.Detector(t, npydet.New), sinktest.Input("", b, format.NumPy))
}

func TestScan(t *testing.T) {
	big := "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }" + string(bytes.Repeat([]byte(" "), 20000))
	tests := []struct {
		name       string
		in         []byte
		wantRules  []string
		wantNested []string
	}{
		{"object array with os.system", npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", evil), []string{"NPY-002@"}, []string{"[pickle]"}},
		{"object field", npy("{'descr': [('a', 'O')], 'fortran_order': False, 'shape': (1,), }", evil), []string{"NPY-002@"}, []string{"[pickle]"}},
		{"plain", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", make([]byte, 8)), nil, nil},
		{"malformed", npy("{'descr': eval('1')}", nil), []string{"NPY-001@"}, nil},
		{"short", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", make([]byte, 4)), []string{"NPY-004@"}, nil},
		{"trailing", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", append(make([]byte, 4), evil...)), []string{"NPY-005@"}, nil},
		{"big header", npy(big, make([]byte, 4)), []string{"NPY-003@"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := run(t, tt.in)
			if diff := cmp.Diff(tt.wantRules, s.Rules()); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNested, s.Names()); diff != "" {
				t.Errorf("nested (-want +got):\n%s", diff)
			}
			if p, ok := s.Members["[pickle]"]; ok && !bytes.Equal(p, evil) {
				t.Errorf("nested pickle = %q", p)
			}
		})
	}
}

func TestBenignFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.npy")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := run(t, b)
		if fs := s.AtLeast(mlsec.SeverityMedium); len(fs) > 0 {
			t.Errorf("%s: %v", p, fs)
		}
	}
}
