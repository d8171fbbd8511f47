package quarantine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLand(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(dest string)
		wantErr error
	}{
		{"absent", func(string) {}, nil},
		{"empty dir", func(d string) { os.Mkdir(d, 0o755) }, nil},
		{"non-empty dir", func(d string) { os.Mkdir(d, 0o755); os.WriteFile(filepath.Join(d, "x"), nil, 0o644) }, ErrDestExists},
		{"file", func(d string) { os.WriteFile(d, nil, 0o644) }, ErrDestExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "out")
			tc.prepare(dest)
			q, err := New(dest)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("New: %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer q.Discard()
			if err := os.WriteFile(filepath.Join(q.Path(), "m"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			qp := filepath.Dir(q.Path())
			if filepath.Base(q.Path()) != "out" {
				t.Errorf("artifact assembled as %s, want the destination's name", q.Path())
			}
			if err := q.Land(); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(dest, "m")); err != nil || string(b) != "x" {
				t.Fatalf("landed content %q, %v", b, err)
			}
			if _, err := os.Stat(qp); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("quarantine still there: %v", err)
			}
		})
	}
}

func TestLandRefusesDestCreatedMeanwhile(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "out")
	q, err := New(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Discard()
	os.Mkdir(dest, 0o755)
	os.WriteFile(filepath.Join(dest, "theirs"), []byte("y"), 0o644)
	if err := q.Land(); !errors.Is(err, ErrDestExists) {
		t.Fatalf("Land: %v, want ErrDestExists", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "theirs")); string(b) != "y" {
		t.Fatal("destination changed")
	}
}

func TestDiscard(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "out")
	q, err := New(dest)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Dir(q.Path())
	os.WriteFile(filepath.Join(q.Path(), "m"), []byte("x"), 0o644)
	if err := q.Discard(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("quarantine still there: %v", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("destination created")
	}
}

// A destination that names no directory entry of its own (".", "..", "/")
// is refused with a message saying so, and no holding directory is left.
func TestNewRefusesUnnamedDest(t *testing.T) {
	parent := t.TempDir()
	t.Chdir(parent)
	for _, d := range []string{".", "..", "/", "./", "a/.."} {
		if _, err := New(d); err == nil || !strings.Contains(err.Error(), "name a new directory") {
			t.Errorf("New(%q): %v", d, err)
		}
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}
