package zip_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	fzip "github.com/mlsecops/mlsec/format/zip"
	"github.com/mlsecops/mlsec/format/zip/ziptest"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
	zipdet "github.com/mlsecops/mlsec/scan/detector/zip"
)

// evil is a minimal malicious pickle: os.system("id").
var evil = []byte("cos\nsystem\n(S'id'\ntR.")

// benign is a protocol 2 pickle of an empty dict.
var benign = []byte("\x80\x02}q\x00.")

func run(t *testing.T, b []byte) *sinktest.Sink {
	t.Helper()
	d := sinktest.Detector(t, zipdet.New)
	s := sinktest.New(t, d)
	if err := d.Scan(context.Background(), &scan.Input{Path: "x", R: bytes.NewReader(b), Size: int64(len(b)), Kind: format.Zip}, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMalicious(t *testing.T) {
	inner := ziptest.Archive{Files: []ziptest.File{{Name: "deep/evil.pkl", Data: evil, Method: 8}}}.Bytes()
	tests := []struct {
		name       string
		a          ziptest.Archive
		wantNested []string
		wantRules  []string
	}{
		{
			name: "pickle hidden under another name",
			a: ziptest.Archive{Files: []ziptest.File{
				{Name: "archive/data.pkl", Data: benign},
				{Name: "archive/extra/evil.txt", Data: evil, Method: 8},
				{Name: "archive/constants.pkl", Data: evil},
				{Name: "archive/data/0", Data: make([]byte, 64)},
				{Name: "archive/version", Data: []byte("3\n")},
			}},
			wantNested: []string{"archive/constants.pkl", "archive/data.pkl", "archive/extra/evil.txt"},
		},
		{
			name:       "crc mismatch",
			a:          ziptest.Archive{Files: []ziptest.File{{Name: "archive/data.pkl", Data: evil, BadCRC: true}}},
			wantNested: []string{"archive/data.pkl"},
			wantRules:  []string{"ZIP-001@archive/data.pkl"},
		},
		{
			name:       "crc mismatch deflated",
			a:          ziptest.Archive{Files: []ziptest.File{{Name: "archive/data.pkl", Data: evil, BadCRC: true, Method: 8}}},
			wantNested: []string{"archive/data.pkl"},
			wantRules:  []string{"ZIP-001@archive/data.pkl"},
		},
		{
			name:       "local and central names differ",
			a:          ziptest.Archive{Files: []ziptest.File{{Name: "archive/data.pkl", LocalName: "archive/data.txt", Data: evil}}},
			wantNested: []string{"archive/data.pkl"},
			wantRules:  []string{"ZIP-002@"},
		},
		{
			name:       "prepended pickle",
			a:          ziptest.Archive{Prepend: evil, Files: []ziptest.File{{Name: "archive/data.pkl", Data: benign}}},
			wantNested: []string{"[prepended]", "archive/data.pkl"},
			wantRules:  []string{"ZIP-003@"},
		},
		{
			name:       "encryption flag on a pickle",
			a:          ziptest.Archive{Files: []ziptest.File{{Name: "archive/data.pkl", Data: evil, Flags: fzip.FlagEncrypted}}},
			wantNested: []string{"archive/data.pkl"},
			wantRules:  []string{"ZIP-004@"},
		},
		{
			name:       "encryption flag on text",
			a:          ziptest.Archive{Files: []ziptest.File{{Name: "notes.txt", Data: []byte("hello"), Flags: fzip.FlagEncrypted}}},
			wantNested: nil,
			wantRules:  []string{"ZIP-006@"},
		},
		{
			name:       "nested zip in zip",
			a:          ziptest.Archive{Files: []ziptest.File{{Name: "inner.zip", Data: inner, Method: 8}}},
			wantNested: []string{"inner.zip", "inner.zip!deep/evil.pkl"},
		},
		{
			name:       "duplicate names: both scanned",
			a:          ziptest.Archive{Files: []ziptest.File{{Name: "a/data.pkl", Data: benign}, {Name: "a/data.pkl", Data: evil}}},
			wantNested: []string{"a/data.pkl"},
			wantRules:  []string{"ZIP-008@"},
		},
		{
			name:       "pickle smuggled in a storage member",
			a:          ziptest.Archive{Files: []ziptest.File{{Name: "a/data.pkl", Data: benign}, {Name: "a/data/7", Data: []byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00cos\nsystem\n.")}}},
			wantNested: []string{"a/data.pkl", "a/data/7"},
			wantRules:  []string{"ZIP-017@a/data/7"},
		},
		{
			name:       "pickle smuggled in a deflated storage member",
			a:          ziptest.Archive{Files: []ziptest.File{{Name: "a/data/7", Method: 8, Data: []byte("PK\x03\x04 whatever")}}},
			wantNested: []string{"a/data/7"},
			// The inflated head reached Nested: it is a broken zip.
			wantRules: []string{"ZIP-016@a/data/7", "ZIP-017@a/data/7"},
		},
		{
			name:       "zip64",
			a:          ziptest.Archive{Zip64: true, Files: []ziptest.File{{Name: "a/data.pkl", Data: evil}}},
			wantNested: []string{"a/data.pkl"},
			wantRules:  []string{"ZIP-007@"},
		},
		{
			name:       "path traversal",
			a:          ziptest.Archive{Files: []ziptest.File{{Name: "../../evil.pkl", Data: evil}}},
			wantNested: []string{"../../evil.pkl"},
			wantRules:  []string{"ZIP-010@"},
		},
		{
			name:       "object npy inside npz",
			a:          ziptest.Archive{Files: []ziptest.File{{Name: "x.npy", Data: npy("|O", evil), Method: 8}, {Name: "y.npy", Data: npy("<f8", make([]byte, 8))}}},
			wantNested: []string{"x.npy"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := run(t, tt.a.Bytes())
			if diff := cmp.Diff(tt.wantNested, s.Names()); diff != "" {
				t.Errorf("nested (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRules, s.Rules()); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%v", diff, s.Findings)
			}
		})
	}
}

// npy builds a version 1.0 .npy file.
func npy(descr string, payload []byte) []byte {
	h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (1,), }"
	h += string(bytes.Repeat([]byte(" "), 63-(10+len(h))%64)) + "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = append(b, byte(len(h)), byte(len(h)>>8))
	return append(append(b, h...), payload...)
}

// TestTwoDirectories: zipfile and miniz read different central directories;
// both readings are scanned.
func TestTwoDirectories(t *testing.T) {
	benign21 := []byte("S'" + strings.Repeat("x", 16) + "'\n.")
	if len(benign21) != len(evil) {
		t.Fatal("payloads must have equal lengths")
	}
	a := ziptest.Archive{Files: []ziptest.File{{Name: "a/data.pkl", Data: evil}}}.Bytes()
	za, err := fzip.NewReader(bytes.NewReader(a), int64(len(a)), fzip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prefix := a[:za.DirectoryOffset+za.DirectorySize] // A's local header, data and directory
	b := ziptest.Archive{Prepend: prefix, Files: []ziptest.File{{Name: "b/data.pkl", Data: benign21}}}.Bytes()
	// Point B's end record at A's directory, where miniz will look.
	binary.LittleEndian.PutUint32(b[len(b)-6:], uint32(za.DirectoryOffset))
	s := run(t, b)
	if diff := cmp.Diff([]string{"[prepended]", "a/data.pkl", "b/data.pkl"}, s.Names()); diff != "" {
		t.Errorf("nested (-want +got):\n%s", diff)
	}
	if !bytes.Equal(s.Members["a/data.pkl"], evil) || !bytes.Equal(s.Members["b/data.pkl"], benign21) {
		t.Errorf("members: %q", s.Members)
	}
	rules := strings.Join(s.Rules(), " ")
	for _, want := range []string{"ZIP-003@", "ZIP-018@"} {
		if !strings.Contains(rules, want) {
			t.Errorf("%s missing from %s", want, rules)
		}
	}
}

func TestNestedContent(t *testing.T) {
	// What Nested receives is the exact member content, also when inflated.
	b := ziptest.Archive{Files: []ziptest.File{{Name: "p", Data: evil, Method: 8}, {Name: "q", Data: evil, LocalName: "zz"}}}.Bytes()
	s := run(t, b)
	for _, n := range []string{"p", "q"} {
		if !bytes.Equal(s.Members[n], evil) {
			t.Errorf("%s: nested %q, want %q", n, s.Members[n], evil)
		}
	}
}

func TestBomb(t *testing.T) {
	// 16 MiB of a pickle-looking stream compressed ~1000:1.
	big := append([]byte("\x80\x02X"), make([]byte, 16<<20)...)
	b := ziptest.Archive{Files: []ziptest.File{{Name: "bomb.pkl", Data: big, Method: 8}}}.Bytes()
	s := run(t, b)
	if diff := cmp.Diff([]string{"ZIP-013@bomb.pkl"}, s.Rules()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := len(s.Members["bomb.pkl"]); n > 16<<20 {
		t.Errorf("nested %d bytes of the bomb", n)
	}
}

func TestTotalBudget(t *testing.T) {
	var fs []ziptest.File
	for _, n := range []string{"a.pkl", "b.pkl", "c.pkl"} {
		fs = append(fs, ziptest.File{Name: n, Data: append(append([]byte(nil), evil...), bytes.Repeat([]byte("x"), 3000)...), Method: 8})
	}
	d, _ := zipdet.New(scan.DefaultConfig())
	s := sinktest.New(t, d)
	s.Lim.MaxTotalBytes = 5000
	b := ziptest.Archive{Files: fs}.Bytes()
	if err := d.Scan(context.Background(), &scan.Input{R: bytes.NewReader(b), Size: int64(len(b))}, s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ZIP-013@b.pkl"}, s.Rules()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := s.Members["c.pkl"]; ok {
		t.Error("scanning went on after the total budget was spent")
	}
}

func TestNotZip(t *testing.T) {
	s := run(t, []byte("PK\x03\x04 not really"))
	if diff := cmp.Diff([]string{"ZIP-016@"}, s.Rules()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestBenignFixtures: archives written by torch.save, torch.jit.save,
// numpy.savez and zipfile raise nothing at or above medium, and their
// pickles reach Nested.
func TestBenignFixtures(t *testing.T) {
	want := map[string][]string{
		"arrays.npz":             nil,
		"checkpoint.pt":          {"checkpoint/data.pkl"},
		"objects_compressed.npz": {"objs.npy"},
		"plain.zip":              {"nested/arrays.npz"},
		"scripted.pt":            {"scripted/code/__torch__.py.debug_pkl", "scripted/code/__torch__/torch/nn/modules/linear.py.debug_pkl", "scripted/constants.pkl", "scripted/data.pkl"},
		"state_dict.pt":          {"state_dict/data.pkl"},
	}
	got := map[string][]string{}
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if ext := filepath.Ext(p); ext == ".py" || ext == "" {
			continue // gen.py, SHA256SUMS
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := run(t, b)
		for _, f := range s.Findings {
			if f.Severity >= mlsec.SeverityMedium {
				t.Errorf("%s: %s %s", p, f.RuleID, f.Message)
			}
		}
		got[filepath.Base(p)] = s.Names()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("nested (-want +got):\n%s", diff)
	}
}

func TestRules(t *testing.T) {
	d := sinktest.Detector(t, zipdet.New)
	if len(d.Rules()) != 19 {
		t.Errorf("%d rules", len(d.Rules()))
	}
}
