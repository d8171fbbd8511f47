package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/format/internal/fuzzseed"
)

func TestUnsafeName(t *testing.T) {
	tests := []struct {
		name string
		bad  bool
	}{
		{"model/data.pkl", false},
		{"a/../b", false},
		{"./x", false},
		{"", false},
		{"dir/", false},
		{"../x", true},
		{"a/../../x", true},
		{"/etc/passwd", true},
		{"\\\\server\\share\\x", true},
		{"..\\x", true},
		{"a\\..\\..\\x", true},
		{"C:\\x", true},
		{"c:/x", true},
		{"x\x00y", true},
		{"..", true},
	}
	for _, tt := range tests {
		if got := UnsafeName(tt.name) != ""; got != tt.bad {
			t.Errorf("UnsafeName(%q) = %q, want bad=%v", tt.name, UnsafeName(tt.name), tt.bad)
		}
	}
}

func TestUnsafeLink(t *testing.T) {
	tests := []struct {
		name, target string
		hard, bad    bool
	}{
		{"a/link", "b", false, false},
		{"a/link", "../b", false, false},
		{"a/link", "../../b", false, true},
		{"link", "/etc/passwd", false, true},
		{"a/b/link", "..\\..\\..\\x", false, true},
		{"hard", "a/b", true, false},
		{"a/b/hard", "../x", true, true}, // hard link targets are root-relative
		{"link", "D:\\x", false, true},
	}
	for _, tt := range tests {
		if got := UnsafeLink(tt.name, tt.target, tt.hard) != ""; got != tt.bad {
			t.Errorf("UnsafeLink(%q, %q, %v) bad = %v, want %v", tt.name, tt.target, tt.hard, got, tt.bad)
		}
	}
}

func TestSpool(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("0123456789"), 1000) // 10,000 bytes
	tests := []struct {
		name     string
		max, mem int64
		wantErr  error
		wantFile bool
	}{
		{"memory", 1 << 20, 1 << 20, nil, false},
		{"file", 1 << 20, 100, nil, true},
		{"exact max", 10_000, 100, nil, true},
		{"over max in memory", 5_000, 1 << 20, ErrLimit, false},
		{"over max in file", 9_999, 100, ErrLimit, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, err := Spool(bytes.NewReader(data), tt.max, tt.mem, dir)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if (sp.file != nil) != tt.wantFile {
				t.Errorf("file = %v, want %v", sp.file != nil, tt.wantFile)
			}
			got := make([]byte, sp.Size)
			sp.ReadAt(got, 0)
			if !bytes.Equal(got, data) {
				t.Error("content differs")
			}
			if err := sp.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("spool files left behind: %v", left)
	}
	// A damaged stream is ErrFormat; a bomb stays a bomb.
	_, err := Spool(io.MultiReader(bytes.NewReader(data), errReader{io.ErrUnexpectedEOF}), 1<<20, 100, dir)
	if !errors.Is(err, ErrFormat) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("damaged: err = %v", err)
	}
	_, err = Spool(errReader{ErrRatio}, 1<<20, 100, dir)
	if !errors.Is(err, ErrRatio) || errors.Is(err, ErrFormat) {
		t.Errorf("bomb: err = %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestBounded(t *testing.T) {
	in := &Counter{N: 1 << 20}
	b := &Bounded{R: bytes.NewReader(make([]byte, 8<<20)), In: in, Max: 1 << 30, Ratio: 1000}
	if _, err := io.Copy(io.Discard, b); err != nil {
		t.Errorf("8 MiB from 1 MiB at 1000:1: %v", err)
	}
	b = &Bounded{R: bytes.NewReader(make([]byte, 8<<20)), In: in, Max: 1 << 30, Ratio: 4}
	if _, err := io.Copy(io.Discard, b); !errors.Is(err, ErrRatio) {
		t.Errorf("8 MiB from 1 MiB at 4:1: err = %v, want ErrRatio", err)
	}
	b = &Bounded{R: bytes.NewReader(make([]byte, 100)), Max: 100}
	if n, err := io.Copy(io.Discard, b); err != nil || n != 100 {
		t.Errorf("exactly at the cap: n=%d err=%v", n, err)
	}
	b = &Bounded{R: bytes.NewReader(make([]byte, 101)), Max: 100}
	if _, err := io.Copy(io.Discard, b); !errors.Is(err, ErrLimit) {
		t.Errorf("past the cap: err = %v, want ErrLimit", err)
	}
}

func TestXZDict(t *testing.T) {
	b, err := os.ReadFile("testdata/plain.tar.xz")
	if err != nil {
		t.Fatal(err)
	}
	d, ok := xzDictSize(b)
	if !ok || d != 64<<20 {
		t.Errorf("xz -9 dictionary = %d, %v; want 64 MiB", d, ok)
	}
	// Raise the dictionary code to 1.5 GiB: Decompress refuses.
	evil := append([]byte(nil), b...)
	evil[12+1+1+1+1] = 39 // block header size, flags, filter id, props size, props
	if _, err := Decompress(XZ, bytes.NewReader(evil)); !errors.Is(err, ErrLimit) {
		t.Errorf("1.5 GiB dictionary: err = %v, want ErrLimit", err)
	}
}

func walk(t testing.TB, b []byte, lim Limits) ([]string, error) {
	st, err := Open(bytes.NewReader(b), int64(len(b)), lim)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var got []string
	err = WalkTar(context.Background(), st, lim, func(e Entry, body io.Reader) error {
		s := e.Type + " " + e.Name
		if body != nil {
			data, err := io.ReadAll(body)
			if err != nil {
				return err
			}
			if e.Offset >= 0 && !bytes.Equal(b[e.Offset:e.Offset+e.Size], data) {
				t.Errorf("%s: offset %d does not hold the member data", e.Name, e.Offset)
			}
			s += " " + strings.TrimSpace(string(data[:min(len(data), 12)]))
		}
		got = append(got, s)
		return nil
	})
	return got, err
}

func TestWalkTarFixtures(t *testing.T) {
	want := []string{"dir model/", "file model/config.json {\"architectu", "file model/state.pkl \x80\x02}q\x00X\x01\x00\x00\x00aq"}
	for _, f := range []string{"plain.tar", "plain.tar.gz", "plain.tar.bz2", "plain.tar.xz", "plain.tar.zst"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := walk(t, b, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", f, diff)
		}
	}
}

func TestWalkTarLongNames(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	long := strings.Repeat("d/", 100) + "file.bin"
	for _, name := range []string{long, "short"} {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Size: 5, Mode: 0o644, Format: tar.FormatPAX})
		tw.Write([]byte("hello"))
	}
	tw.Close()
	got, err := walk(t, buf.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"file " + long + " hello", "file short hello"}, got); diff != "" {
		t.Error(diff)
	}
	if _, err := walk(t, buf.Bytes(), Limits{MaxEntries: 1}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxEntries 1: err = %v, want ErrLimit", err)
	}
}

func FuzzTar(f *testing.F) {
	ms, _ := filepath.Glob("testdata/*")
	for _, m := range ms {
		if b, err := os.ReadFile(m); err == nil && len(b) < 1<<20 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxEntries: 1000, MaxBytes: 4 << 20, MemThreshold: 1 << 20}
		st, err := Open(bytes.NewReader(b), int64(len(b)), lim)
		if err != nil {
			return
		}
		defer st.Close()
		WalkTar(context.Background(), st, lim, func(e Entry, body io.Reader) error {
			UnsafeName(e.Name)
			UnsafeLink(e.Name, e.Link, e.Type == "hardlink")
			if body != nil {
				sp, err := Spool(body, 1<<20, 1<<16, t.TempDir())
				if err != nil {
					return err
				}
				sp.Close()
			}
			return nil
		})
	})
}

func TestWalk7zFixture(t *testing.T) {
	b, err := os.ReadFile("testdata/model.7z")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = Walk7z(context.Background(), bytes.NewReader(b), int64(len(b)), Limits{}, func(e Entry, open func() (io.ReadCloser, error)) error {
		s := e.Type + " " + e.Name
		if open != nil {
			rc, err := open()
			if err != nil {
				return err
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			s += " " + strings.TrimSpace(string(data[:min(len(data), 12)]))
		}
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dir model/", "file model/config.json {\"architectu", "file model/state.pkl \x80\x02}q\x00X\x01\x00\x00\x00aq"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := Walk7z(context.Background(), bytes.NewReader(b), int64(len(b)), Limits{MaxEntries: 1}, func(Entry, func() (io.ReadCloser, error)) error { return nil }); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxEntries 1: err = %v, want ErrLimit", err)
	}
	if err := Walk7z(context.Background(), bytes.NewReader(b[:len(b)-20]), int64(len(b)-20), Limits{}, func(Entry, func() (io.ReadCloser, error)) error { return nil }); !errors.Is(err, ErrFormat) {
		t.Errorf("truncated: err = %v, want ErrFormat", err)
	}
}

func Fuzz7z(f *testing.F) {
	fuzzseed.Files(f, "testdata/*.7z")
	f.Fuzz(func(t *testing.T, b []byte) {
		Walk7z(context.Background(), bytes.NewReader(b), int64(len(b)), Limits{MaxEntries: 100}, func(e Entry, open func() (io.ReadCloser, error)) error {
			if open == nil {
				return nil
			}
			rc, err := open()
			if err != nil {
				return nil
			}
			defer rc.Close()
			_, err = io.Copy(io.Discard, &Bounded{R: rc, Max: 1 << 20})
			return err
		})
	})
}
