package zip_test

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format/zip/ziptest"
	zipdet "github.com/mlsecops/mlsec/scan/detector/zip"
)

// TestSymlinkMember: a zip entry with a symbolic link's Unix mode (written
// by Go's archive/zip as Info-ZIP's zip -y does) is high; a regular file
// with the same name and bytes is not.
func TestSymlinkMember(t *testing.T) {
	build := func(mode fs.FileMode) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		h := &zip.FileHeader{Name: "model/weights.bin", Method: zip.Store}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("../../../home/user/.ssh/id_rsa"))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, tc := range []struct {
		name string
		mode fs.FileMode
		want bool
	}{
		{"symlink", fs.ModeSymlink | 0o777, true},
		{"regular file", 0o644, false},
		{"directory bit only", fs.ModeDir | 0o755, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := run(t, build(tc.mode))
			var got bool
			for _, f := range s.Findings {
				if f.RuleID == zipdet.RuleLink {
					got = true
					if f.Severity != mlsec.SeverityHigh || !strings.Contains(f.Message, "model/weights.bin") {
						t.Errorf("finding = %+v", f)
					}
				}
			}
			if got != tc.want {
				t.Errorf("%s reported = %v, want %v (%v)", zipdet.RuleLink, got, tc.want, s.Rules())
			}
		})
	}
}

// TestUndecompressibleMemberNotAnalysed: a member in a compression method
// mlsec cannot read is declared not analysed (the runner makes it a high
// finding), not skipped.
func TestUndecompressibleMemberNotAnalysed(t *testing.T) {
	b := ziptest.Archive{Files: []ziptest.File{{Name: "archive/data.pkl", Data: evil, Method: 99}}}.Bytes()
	s := run(t, b)
	if len(s.Declared) != 1 || !strings.Contains(s.Declared[0], "compression method 99") {
		t.Errorf("declared not analysed: %q", s.Declared)
	}
	b = ziptest.Archive{Files: []ziptest.File{{Name: "archive/data.pkl", Data: benign, Method: 8}}}.Bytes()
	if s := run(t, b); len(s.Declared) != 0 {
		t.Errorf("deflate member declared not analysed: %q", s.Declared)
	}
}
