package torch_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/pickle"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
	torchdet "github.com/mlsecops/mlsec/scan/detector/torch"
)

var evil = []byte("cos\nsystem\n(S'id'\ntR.")

const (
	countOne    = "\x80\x02K\x01."
	storageArgs = "\x80\x02K\x00X\x03\x00\x00\x00cpuq\x00ctorch\nFloatStorage\nq\x01\x87q\x02."
	noViews     = "\x80\x02]q\x00."
	tensorArgs  = "\x80\x02K\x00K\x00ctorch\nFloatTensor\nq\x00\x87q\x01."
)

func le64(v ...int64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// storages holds one FloatStorage of two elements; views is the last pickle.
func storages(views []byte) []byte {
	return cat([]byte(countOne), []byte(storageArgs), le64(2), make([]byte, 8), views)
}

// tensors holds one 1-d tensor.
func tensors() []byte {
	return cat([]byte(countOne), []byte(tensorArgs), []byte{1, 0, 0, 0, 0, 0, 0, 0}, le64(2, 1, 0))
}

type member struct {
	name string
	data []byte
	typ  byte
}

func mkTar(t testing.TB, ms ...member) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Size: int64(len(m.data)), Mode: 0o644, Typeflag: tar.TypeReg}
		if m.typ != 0 {
			h.Typeflag, h.Size, h.Linkname = m.typ, 0, "/etc/passwd"
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if m.typ == 0 {
			tw.Write(m.data)
		}
	}
	tw.Close()
	return b.Bytes()
}

func run(t *testing.T, b []byte) *sinktest.Sink {
	t.Helper()
	return sinktest.New(t).Scan(sinktest.Detector(t, torchdet.New), sinktest.Input("", b, format.PyTorchTar))
}

func TestScan(t *testing.T) {
	good := []member{{"pickle", []byte("\x80\x02}q\x00."), 0}, {"storages", storages([]byte(noViews)), 0}, {"tensors", tensors(), 0}}
	tests := []struct {
		name       string
		members    []member
		wantRules  []string
		wantNested map[string][]byte
	}{
		{
			name:      "benign layout",
			members:   good,
			wantRules: nil,
			wantNested: map[string][]byte{
				"pickle":   []byte("\x80\x02}q\x00."),
				"storages": []byte(countOne + storageArgs + noViews),
				"tensors":  []byte(countOne + tensorArgs),
			},
		},
		{
			name:      "malicious main pickle",
			members:   []member{{"pickle", evil, 0}, good[1], good[2]},
			wantRules: nil,
			wantNested: map[string][]byte{
				"pickle":   evil,
				"storages": []byte(countOne + storageArgs + noViews),
				"tensors":  []byte(countOne + tensorArgs),
			},
		},
		{
			name:      "malicious storage views pickle",
			members:   []member{good[0], {"storages", storages(evil), 0}, good[2]},
			wantRules: nil,
			wantNested: map[string][]byte{
				"pickle":   good[0].data,
				"storages": cat([]byte(countOne+storageArgs), evil),
				"tensors":  []byte(countOne + tensorArgs),
			},
		},
		{
			name:      "malicious storage record: scanned whole",
			members:   []member{good[0], {"storages", cat([]byte(countOne), evil, le64(1)), 0}, good[2]},
			wantRules: []string{"TORCH-002@storages"},
			wantNested: map[string][]byte{
				"pickle":   good[0].data,
				"storages": cat([]byte(countOne), evil, le64(1)),
				"tensors":  []byte(countOne + tensorArgs),
			},
		},
		{
			name:      "unexpected member and sys_info",
			members:   append([]member{{"sys_info", evil, 0}, {"extra.pkl", evil, 0}}, good...),
			wantRules: []string{"TORCH-001@extra.pkl"},
			wantNested: map[string][]byte{
				"sys_info":  evil,
				"extra.pkl": evil,
				"pickle":    good[0].data,
				"storages":  []byte(countOne + storageArgs + noViews),
				"tensors":   []byte(countOne + tensorArgs),
			},
		},
		{
			name:      "symlink storages",
			members:   []member{good[0], {"storages", nil, tar.TypeSymlink}, good[2]},
			wantRules: []string{"TORCH-005@storages"},
			wantNested: map[string][]byte{
				"pickle":  good[0].data,
				"tensors": []byte(countOne + tensorArgs),
			},
		},
		{
			name:      "duplicate pickle",
			members:   append(good, member{"pickle", evil, 0}),
			wantRules: []string{"TORCH-004@pickle"},
			wantNested: map[string][]byte{
				"pickle":   evil, // the sink keeps the last; both were handed over
				"storages": []byte(countOne + storageArgs + noViews),
				"tensors":  []byte(countOne + tensorArgs),
			},
		},
		{
			name:       "truncated tensors",
			members:    []member{good[0], good[1], {"tensors", tensors()[:20], 0}},
			wantRules:  []string{"TORCH-002@tensors"},
			wantNested: map[string][]byte{"pickle": good[0].data, "storages": []byte(countOne + storageArgs + noViews), "tensors": tensors()[:20]},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := run(t, mkTar(t, tt.members...))
			if diff := cmp.Diff(tt.wantRules, s.Rules()); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNested, s.Members); diff != "" {
				t.Errorf("nested (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTruncatedTar(t *testing.T) {
	b := mkTar(t, member{"pickle", evil, 0}, member{"storages", storages([]byte(noViews)), 0})
	s := run(t, b[:1100])
	if diff := cmp.Diff([]string{"TORCH-003@", "TORCH-003@", "TORCH-003@"}, s.Rules()); diff != "" {
		t.Errorf("(-want +got):\n%s\n%v", diff, s.Findings)
	}
	if !bytes.Equal(s.Members["pickle"], evil) {
		t.Error("the member before the damage was not scanned")
	}
}

// TestBenignFixture scans a legacy tar written by gen.py (and accepted by
// torch.load): no finding, and every nested stream is a clean sequence of
// pickles.
func TestBenignFixture(t *testing.T) {
	b, err := os.ReadFile("testdata/legacy.tar")
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := format.Detect(bytes.NewReader(b), int64(len(b))); k != format.PyTorchTar {
		t.Errorf("format.Detect = %s", k)
	}
	s := run(t, b)
	if fs := s.AtLeast(mlsec.SeverityLow); len(fs) > 0 {
		t.Errorf("findings: %v", fs)
	}
	if diff := cmp.Diff([]string{"pickle", "storages", "sys_info", "tensors"}, s.Names()); diff != "" {
		t.Errorf("nested (-want +got):\n%s", diff)
	}
	for name, data := range s.Members {
		stops := 0
		err := pickle.Ops(context.Background(), bytes.NewReader(data), int64(len(data)), func(op pickle.Op) error {
			if op.Name == "STOP" {
				stops++
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: not a clean pickle sequence: %v", name, err)
		}
		want := map[string]int{"pickle": 1, "sys_info": 1, "storages": 4, "tensors": 3}[name]
		if stops != want {
			t.Errorf("%s: %d pickles, want %d", name, stops, want)
		}
	}
}

func TestMemberPastEnd(t *testing.T) {
	b := mkTar(t, member{"pickle", evil, 0}, member{"storages", storages([]byte(noViews)), 0})
	s := run(t, b[:1024+512+40]) // storages header plus 40 of its bytes
	got := s.Rules()
	if len(got) == 0 || !contains(got, "TORCH-003@storages") || !contains(got, "TORCH-002@storages") {
		t.Errorf("findings: %v", got)
	}
	if n := len(s.Members["storages"]); n != 40 {
		t.Errorf("scanned %d bytes of the truncated member, want the 40 present", n)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
