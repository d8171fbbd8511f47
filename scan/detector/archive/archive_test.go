package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/internal/testutil/golden"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixtures holds the archives written by format/archive/testdata/gen.sh.
const fixtures = "../../../format/archive/testdata"

// fakeSink records findings and nested members (name:kind:size:sha-ish prefix).
type fakeSink struct {
	lim      scan.Limits
	findings []mlsec.Finding
	nested   []string
	contents map[string][]byte
}

func newSink() *fakeSink { return &fakeSink{lim: scan.DefaultLimits(), contents: map[string][]byte{}} }

func (s *fakeSink) Report(f mlsec.Finding) { s.findings = append(s.findings, f) }
func (s *fakeSink) Limits() scan.Limits    { return s.lim }
func (s *fakeSink) Nested(ctx context.Context, name string, r io.ReaderAt, size int64) error {
	k, err := format.Detect(r, size)
	if err != nil {
		return err
	}
	s.nested = append(s.nested, name+":"+string(k))
	if size <= 1<<20 {
		b := make([]byte, size)
		if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
			return err
		}
		s.contents[name] = b
	}
	return nil
}

// checkGolden compares what s recorded with testdata/golden/<name>.json.
func checkGolden(t *testing.T, name string, s *fakeSink) {
	t.Helper()
	got := golden.Scan{Findings: golden.Brief(s.findings), Nested: s.nested}
	golden.JSON(t, filepath.Join("testdata", "golden", name+".json"), got, *update)
}

func scanBytes(t *testing.T, name string, b []byte, s *fakeSink) format.Kind {
	t.Helper()
	k, err := format.Detect(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	d := sinktest.Detector(t, New)
	d.(*Detector).TempDir = t.TempDir()
	in := &scan.Input{Path: name, R: bytes.NewReader(b), Size: int64(len(b)), Kind: k}
	if err := d.Scan(context.Background(), in, s); err != nil {
		t.Fatal(err)
	}
	return k
}

const benignPickle = "\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s."

func TestFixtures(t *testing.T) {
	tests := []struct {
		file string
		kind format.Kind
	}{
		{"plain.tar", format.Tar},
		{"plain.tar.gz", format.Tar},
		{"plain.tar.bz2", format.Tar},
		{"plain.tar.xz", format.Tar},
		{"plain.tar.zst", format.Tar},
		{"config.json.gz", format.Gzip},
		{"model.7z", format.SevenZip},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(fixtures, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			s := newSink()
			if k := scanBytes(t, tt.file, b, s); k != tt.kind {
				t.Fatalf("kind %q, want %q", k, tt.kind)
			}
			if len(s.findings) != 0 {
				t.Errorf("findings on a benign archive: %v", s.findings)
			}
			if tt.kind == format.Tar || tt.kind == format.SevenZip {
				if got := string(s.contents["model/state.pkl"]); got != benignPickle {
					t.Errorf("model/state.pkl content %q", got)
				}
			} else if got := string(s.contents["config.json"]); !strings.Contains(got, "architectures") {
				t.Errorf("inflated content %q", got)
			}
			checkGolden(t, tt.file, s)
		})
	}
}

type tarEntry struct {
	name, link string
	typ        byte
	data       string
}

func makeTar(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.data)), Format: tar.FormatPAX}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			io.WriteString(tw, e.data)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestZipSlipTar(t *testing.T) {
	b := makeTar(t, []tarEntry{
		{name: "ok/file.txt", typ: tar.TypeReg, data: "fine"},
		{name: "../../etc/cron.d/x", typ: tar.TypeReg, data: "* * * * * root id"},
		{name: "/abs/path", typ: tar.TypeReg, data: "x"},
		{name: "..\\..\\win\\evil.dll", typ: tar.TypeReg, data: "MZ"},
		{name: "C:/Windows/evil.dll", typ: tar.TypeReg, data: "MZ"},
		{name: "link", link: "../../../../etc/passwd", typ: tar.TypeSymlink},
		{name: "abslink", link: "/root/.ssh/id_rsa", typ: tar.TypeSymlink},
		{name: "ok/inner", link: "../ok/file.txt", typ: tar.TypeSymlink},
		{name: "hard", link: "../outside", typ: tar.TypeLink},
		{name: "hardok", link: "ok/file.txt", typ: tar.TypeLink},
	})
	for _, v := range []struct {
		name string
		data []byte
	}{{"zipslip.tar", b}, {"zipslip.tar.gz", gz(t, b)}} {
		t.Run(v.name, func(t *testing.T) {
			s := newSink()
			scanBytes(t, v.name, v.data, s)
			var rules []string
			for _, f := range s.findings {
				rules = append(rules, f.RuleID+" "+f.Subject)
			}
			want := []string{
				"ARCHIVE-001 ../../etc/cron.d/x",
				"ARCHIVE-001 /abs/path",
				"ARCHIVE-001 ..\\..\\win\\evil.dll",
				"ARCHIVE-001 C:/Windows/evil.dll",
				"ARCHIVE-002 ../../../../etc/passwd",
				"ARCHIVE-002 /root/.ssh/id_rsa",
				"ARCHIVE-006 ../ok/file.txt",
				"ARCHIVE-002 ../outside",
				"ARCHIVE-006 ok/file.txt",
			}
			if diff := cmp.Diff(want, rules); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			checkGolden(t, v.name, s)
		})
	}
}

func TestBomb(t *testing.T) {
	zeros := make([]byte, 24<<20)
	tests := []struct {
		name string
		data []byte
	}{
		{"zeros.gz", gz(t, zeros)},
		{"zeros.tar.gz", gz(t, makeTar(t, []tarEntry{{name: "zeros", typ: tar.TypeReg, data: string(zeros)}}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink()
			scanBytes(t, tt.name, tt.data, s)
			if len(s.findings) != 1 || s.findings[0].RuleID != RuleBomb {
				t.Fatalf("findings %v, want one %s", s.findings, RuleBomb)
			}
			if len(s.nested) != 0 {
				t.Errorf("bomb content was handed on: %v", s.nested)
			}
		})
	}
	// The same data under a generous ratio cap is scanned.
	s := newSink()
	s.lim.MaxRatio = 1 << 20
	scanBytes(t, "zeros.gz", tests[0].data, s)
	if len(s.findings) != 0 || len(s.nested) != 1 {
		t.Errorf("with a high ratio cap: findings %v nested %v", s.findings, s.nested)
	}
	// A total-bytes cap stops a plain tar too.
	s = newSink()
	s.lim.MaxTotalBytes = 1 << 20
	s.lim.MaxMemberBytes = 1 << 20
	scanBytes(t, "zeros.gz", tests[0].data, s)
	if len(s.findings) != 1 || s.findings[0].RuleID != RuleBomb {
		t.Errorf("with a 1 MiB cap: findings %v", s.findings)
	}
}

func TestEntryCap(t *testing.T) {
	var es []tarEntry
	for i := 0; i < 50; i++ {
		es = append(es, tarEntry{name: "d" + strings.Repeat("x", i) + "/", typ: tar.TypeDir})
	}
	s := newSink()
	s.lim.MaxMembers = 10
	scanBytes(t, "many.tar", makeTar(t, es), s)
	if len(s.findings) != 1 || s.findings[0].RuleID != RuleBomb {
		t.Errorf("findings %v, want one %s", s.findings, RuleBomb)
	}
}

func TestTruncated(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtures, "plain.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	s := newSink()
	scanBytes(t, "cut.tar.gz", b[:len(b)-30], s)
	if len(s.findings) != 1 || s.findings[0].RuleID != RuleMalformed {
		t.Errorf("findings %v, want one %s", s.findings, RuleMalformed)
	}
}

func torchZip(t *testing.T, pkl string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range []struct{ name, data string }{
		{"archive/data.pkl", pkl},
		{"archive/version", "3\n"},
		{"archive/data/0", strings.Repeat("\x00", 64)},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, m.data)
	}
	zw.Close()
	return buf.Bytes()
}

func Test7z(t *testing.T) {
	evilPickle := "cposix\nsystem\n(S'id'\ntR."
	tests := []struct {
		name  string
		files []szFile
		rules []string
	}{
		{"nullifai.7z", []szFile{{name: "pytorch_model.bin", data: torchZip(t, evilPickle)}}, nil},
		{"pickle.7z", []szFile{{name: "model.pkl", data: []byte(evilPickle)}, {name: "README.md", data: []byte("# demo\n")}}, nil},
		{"zipslip.7z", []szFile{
			{name: "../../evil.pkl", data: []byte(benignPickle)},
			{name: "link", data: []byte("/etc/shadow"), mode: 0o120777},
		}, []string{"ARCHIVE-001", "ARCHIVE-002"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := write7z(tt.files)
			s := newSink()
			if k := scanBytes(t, tt.name, b, s); k != format.SevenZip {
				t.Fatalf("kind %q", k)
			}
			var rules []string
			for _, f := range s.findings {
				rules = append(rules, f.RuleID)
			}
			if diff := cmp.Diff(tt.rules, rules); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			checkGolden(t, tt.name, s)
		})
	}
}

func TestStreamName(t *testing.T) {
	for _, tc := range []struct{ path, member, want string }{
		{"m/model.pkl.gz", "", "model.pkl"},
		{"x.tgz", "", "x.tar"},
		{"a.zip", "inner/w.bin.zst", "w.bin"},
		{"a.7z", "o!p/q.xz", "q"},
		{".gz", "", ".gz"},
	} {
		if got := streamName(&scan.Input{Path: tc.path, Member: tc.member}); got != tc.want {
			t.Errorf("streamName(%q, %q) = %q, want %q", tc.path, tc.member, got, tc.want)
		}
	}
}

// TestPlainTarInPlace: members of an uncompressed tar are handed on in
// place; the archive detector neither copies nor counts them (the runner's
// Nested caps apply), so a large plain tar is not mistaken for a bomb.
func TestPlainTarInPlace(t *testing.T) {
	b := makeTar(t, []tarEntry{
		{name: "big.bin", typ: tar.TypeReg, data: string(make([]byte, 8<<20))},
		{name: "small.pkl", typ: tar.TypeReg, data: benignPickle},
	})
	s := newSink()
	s.lim.MaxTotalBytes = 1 << 20
	s.lim.MaxMemberBytes = 1 << 20
	scanBytes(t, "big.tar", b, s)
	if len(s.findings) != 0 {
		t.Errorf("findings %v", s.findings)
	}
	if diff := cmp.Diff([]string{"big.bin:unknown", "small.pkl:pickle"}, s.nested); diff != "" {
		t.Errorf("nested (-want +got):\n%s", diff)
	}
	if string(s.contents["small.pkl"]) != benignPickle {
		t.Errorf("small.pkl content %q", s.contents["small.pkl"])
	}
}

// TestSpoolToFile forces every inflated member through a temporary file and
// checks the content arrives intact and the files are removed.
func TestSpoolToFile(t *testing.T) {
	tmp := t.TempDir()
	for _, f := range []string{"plain.tar.gz", "plain.tar.zst", "model.7z", "config.json.gz"} {
		b, err := os.ReadFile(filepath.Join(fixtures, f))
		if err != nil {
			t.Fatal(err)
		}
		dd, _ := New(scan.DefaultConfig())
		d := dd.(*Detector)
		d.TempDir, d.MemThreshold = tmp, 8
		s := newSink()
		k, _ := format.Detect(bytes.NewReader(b), int64(len(b)))
		if err := d.Scan(context.Background(), &scan.Input{Path: f, R: bytes.NewReader(b), Size: int64(len(b)), Kind: k}, s); err != nil {
			t.Fatal(err)
		}
		if len(s.findings) != 0 || len(s.nested) == 0 {
			t.Errorf("%s: findings %v nested %v", f, s.findings, s.nested)
		}
		if got := string(s.contents["model/state.pkl"]); k != format.Gzip && got != benignPickle {
			t.Errorf("%s: state.pkl %q", f, got)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("%s: spool files left: %v", f, left)
		}
	}
}

func TestEncrypted7z(t *testing.T) {
	for _, f := range []string{"encrypted.7z", "encrypted_header.7z"} {
		b, err := os.ReadFile(filepath.Join(fixtures, f))
		if err != nil {
			t.Fatal(err)
		}
		s := newSink()
		scanBytes(t, f, b, s)
		if len(s.findings) != 1 || s.findings[0].RuleID != RuleEncrypted {
			t.Errorf("%s: findings %v, want one %s", f, s.findings, RuleEncrypted)
		}
		if len(s.nested) != 0 {
			t.Errorf("%s: nested %v", f, s.nested)
		}
	}
}
