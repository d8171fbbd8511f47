package zip_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/format/zip"
	"github.com/mlsecops/mlsec/format/zip/ziptest"
)

func kinds(z *zip.Reader) []string {
	var ks []string
	seen := map[string]bool{}
	for _, a := range z.Anomalies {
		k := string(a.Kind)
		if !seen[k] {
			seen[k] = true
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

var pkl = []byte("cos\nsystem\n(S'id'\ntR.")

func TestAnomalies(t *testing.T) {
	tests := []struct {
		name string
		a    ziptest.Archive
		want []string
	}{
		{"clean", ziptest.Archive{Files: []ziptest.File{{Name: "a/data.pkl", Data: pkl}, {Name: "a/data/0", Data: make([]byte, 64), Method: 8}}}, nil},
		{"crc is not checked when opening", ziptest.Archive{Files: []ziptest.File{{Name: "a", Data: pkl, BadCRC: true}}}, nil},
		{"name mismatch", ziptest.Archive{Files: []ziptest.File{{Name: "a/data.pkl", LocalName: "a/data.pkX", Data: pkl}}}, []string{"name-mismatch"}},
		{"prepended", ziptest.Archive{Prepend: []byte("junkjunk"), Files: []ziptest.File{{Name: "x", Data: pkl}}}, []string{"prepended-data"}},
		{"encrypted", ziptest.Archive{Files: []ziptest.File{{Name: "x", Data: pkl, Flags: zip.FlagEncrypted}}}, []string{"encrypted"}},
		{"local flags differ", ziptest.Archive{Files: []ziptest.File{{Name: "x", Data: pkl, LocalFlags: zip.FlagEncrypted}}}, []string{"encrypted", "header-mismatch"}},
		{"patched flag", ziptest.Archive{Files: []ziptest.File{{Name: "x", Data: pkl, Flags: zip.FlagPatched}}}, []string{"unusual-flags"}},
		{"zip64", ziptest.Archive{Zip64: true, Files: []ziptest.File{{Name: "x", Data: pkl}}}, []string{"zip64"}},
		{"duplicate", ziptest.Archive{Files: []ziptest.File{{Name: "x", Data: pkl}, {Name: "x", Data: []byte("b")}}}, []string{"duplicate-name"}},
		{"dotdot", ziptest.Archive{Files: []ziptest.File{{Name: "../x", Data: pkl}}}, []string{"unsafe-path"}},
		{"absolute", ziptest.Archive{Files: []ziptest.File{{Name: "/etc/x", Data: pkl}}}, []string{"unsafe-path"}},
		{"backslash", ziptest.Archive{Files: []ziptest.File{{Name: `a\b`, Data: pkl}}}, []string{"unsafe-path"}},
		{"drive", ziptest.Archive{Files: []ziptest.File{{Name: "C:x", Data: pkl}}}, []string{"unsafe-path"}},
		{"method", ziptest.Archive{Files: []ziptest.File{{Name: "x", Data: pkl, Method: 99}}}, []string{"unsupported-method"}},
		{"stored size lie", ziptest.Archive{Files: []ziptest.File{{Name: "x", Data: pkl, USize: 1 << 30}}}, []string{"bad-size"}},
		{"trailing", ziptest.Archive{Trailing: []byte("tail"), Files: []ziptest.File{{Name: "x", Data: pkl}}}, []string{"trailing-data"}},
		{"comment", ziptest.Archive{Comment: "hello", Files: []ziptest.File{{Name: "x", Data: pkl}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.a.Bytes()
			z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)), zip.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, kinds(z)); diff != "" {
				t.Errorf("anomalies (-want +got):\n%s\n%v", diff, z.Anomalies)
			}
			if len(z.Entries) != len(tt.a.Files) {
				t.Errorf("entries = %d, want %d", len(z.Entries), len(tt.a.Files))
			}
		})
	}
}

func TestPrependedOffsets(t *testing.T) {
	a := ziptest.Archive{Prepend: []byte("0123456789"), Files: []ziptest.File{{Name: "a", Data: []byte("hello")}, {Name: "b", Data: []byte("world"), Method: 8}}}
	b := a.Bytes()
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)), zip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if z.BaseOffset != 10 {
		t.Errorf("BaseOffset = %d, want 10", z.BaseOffset)
	}
	got := map[string]string{}
	for _, e := range z.Entries {
		got[e.Name] = string(readAll(t, z, e, nil))
	}
	if diff := cmp.Diff(map[string]string{"a": "hello", "b": "world"}, got); diff != "" {
		t.Error(diff)
	}
}

func TestZip64(t *testing.T) {
	a := ziptest.Archive{Zip64: true, Files: []ziptest.File{{Name: "a", Data: []byte("hello")}, {Name: "b", Data: bytes.Repeat([]byte("w"), 1000), Method: 8}}}
	b := a.Bytes()
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)), zip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !z.Zip64 || len(z.Entries) != 2 {
		t.Fatalf("Zip64 = %v, entries = %d", z.Zip64, len(z.Entries))
	}
	e := z.Entries[1]
	if !e.Zip64 || e.UncompressedSize != 1000 || e.HeaderOffset == 0 {
		t.Errorf("entry = %+v", e)
	}
	if got := readAll(t, z, e, nil); len(got) != 1000 {
		t.Errorf("read %d bytes", len(got))
	}
}

func readAll(t *testing.T, z *zip.Reader, e *zip.Entry, b *zip.Budget) []byte {
	t.Helper()
	rc, err := z.Open(e, b)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", e.Name, err)
	}
	return out
}

func TestOpenErrors(t *testing.T) {
	big := make([]byte, 8<<20)
	tests := []struct {
		name   string
		f      ziptest.File
		budget *zip.Budget
		want   error
	}{
		{"crc stored", ziptest.File{Name: "a", Data: pkl, BadCRC: true}, nil, zip.ErrChecksum},
		{"crc deflate", ziptest.File{Name: "a", Data: pkl, Method: 8, BadCRC: true}, nil, zip.ErrChecksum},
		{"short", ziptest.File{Name: "a", Data: pkl, Method: 8, USize: 1000}, nil, zip.ErrSize},
		{"ratio bomb", ziptest.File{Name: "a", Data: big, Method: 8}, &zip.Budget{MaxRatio: 200}, zip.ErrRatio},
		{"member cap", ziptest.File{Name: "a", Data: big, Method: 8}, &zip.Budget{MaxMember: 1 << 20}, zip.ErrMemberBudget},
		{"total cap", ziptest.File{Name: "a", Data: big, Method: 8}, &zip.Budget{MaxTotal: 1 << 20}, zip.ErrTotalBudget},
		{"unsupported", ziptest.File{Name: "a", Data: pkl, Method: 99}, nil, zip.ErrAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := ziptest.Archive{Files: []ziptest.File{tt.f}}.Bytes()
			z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)), zip.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rc, err := z.Open(z.Entries[0], tt.budget)
			if err == nil {
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNotZip(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{0}, 100)} {
		if _, err := zip.NewReader(bytes.NewReader(in), int64(len(in)), zip.Options{}); !errors.Is(err, zip.ErrFormat) {
			t.Errorf("%q: err = %v, want ErrFormat", in, err)
		}
	}
}

func TestOverlap(t *testing.T) {
	// Two central entries pointing at the same local header.
	b := ziptest.Archive{Files: []ziptest.File{{Name: "a", Data: pkl}, {Name: "b", Data: pkl}}}.Bytes()
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)), zip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite entry b's local header offset in the central directory to 0.
	cd := z.DirectoryOffset
	second := cd + 46 + 1
	copy(b[second+42:], []byte{0, 0, 0, 0})
	z, err = zip.NewReader(bytes.NewReader(b), int64(len(b)), zip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"name-mismatch", "overlap"}, kinds(z)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMaxEntries(t *testing.T) {
	var fs []ziptest.File
	for range 10 {
		fs = append(fs, ziptest.File{Name: "f" + string(rune('a'+len(fs))), Data: []byte("x")})
	}
	b := ziptest.Archive{Files: fs}.Bytes()
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)), zip.Options{MaxEntries: 3, MaxNameLen: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(z.Entries) != 3 {
		t.Errorf("entries = %d", len(z.Entries))
	}
	if diff := cmp.Diff([]string{"duplicate-name", "long-name", "too-many-entries"}, kinds(z)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestFixtures reads archives written by Python's zipfile, torch.save and
// numpy.savez: no anomaly, and every member reads with a valid CRC.
func TestFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*")
	n := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)), zip.Options{})
		if err != nil {
			continue
		}
		n++
		for _, a := range z.Anomalies {
			if a.Kind != zip.AnomalyZip64 && a.Kind != zip.AnomalyMethod {
				t.Errorf("%s: %v", p, a)
			}
		}
		for _, e := range z.Entries {
			readAll(t, z, e, &zip.Budget{MaxRatio: 1000})
		}
	}
	if n == 0 {
		t.Skip("no zip fixtures")
	}
}

func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
			f.Add(b)
		}
	}
	f.Add(ziptest.Archive{Zip64: true, Files: []ziptest.File{{Name: "a", Data: pkl, Method: 8}}}.Bytes())
	f.Add(ziptest.Archive{Prepend: []byte("x"), Files: []ziptest.File{{Name: "a", LocalName: "b", Data: pkl}}}.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)), zip.Options{MaxEntries: 1000})
		if err != nil {
			return
		}
		for _, e := range z.Entries {
			rc, err := z.Open(e, &zip.Budget{MaxMember: 1 << 20, MaxTotal: 4 << 20, MaxRatio: 100})
			if err != nil {
				continue
			}
			io.Copy(io.Discard, rc)
			rc.Close()
		}
	})
}
