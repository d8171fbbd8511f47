package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	msgs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, format)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.msgs = append(r.msgs, format)
	panic(r)
}
func (r *recorder) Fatal(args ...any) {
	r.msgs = append(r.msgs, "fatal")
	panic(r)
}

func run(t *testing.T, f func(tb testing.TB)) []string {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		f(r)
	}()
	return r.msgs
}

func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.golden")
	File(t, path, []byte("line\n"), true)
	if b, err := os.ReadFile(path); err != nil || string(b) != "line\n" {
		t.Fatalf("written %q, %v", b, err)
	}
	if msgs := run(t, func(tb testing.TB) { File(tb, path, []byte("line\n"), false) }); len(msgs) != 0 {
		t.Errorf("same content: %v", msgs)
	}
	if msgs := run(t, func(tb testing.TB) { File(tb, path, []byte("other\n"), false) }); len(msgs) != 1 || !strings.Contains(msgs[0], "-want +got") {
		t.Errorf("text mismatch: %v", msgs)
	}
	if msgs := run(t, func(tb testing.TB) { File(tb, path, []byte{0xff, 0}, false) }); len(msgs) != 1 || !strings.Contains(msgs[0], "differs") {
		t.Errorf("binary mismatch: %v", msgs)
	}
	if msgs := run(t, func(tb testing.TB) { File(tb, path+".none", nil, false) }); len(msgs) != 1 {
		t.Errorf("missing file: %v", msgs)
	}
}
