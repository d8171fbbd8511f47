package pickle

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/internal/testutil/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// fixtures returns the real pickles written by testdata/gen.py.
func fixtures(t testing.TB) []string {
	t.Helper()
	var out []string
	ents, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		switch filepath.Ext(e.Name()) {
		case ".pkl", ".pt", ".joblib", ".p0", ".p1":
			out = append(out, filepath.Join("testdata", e.Name()))
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d fixtures; run testdata/gen.py", len(out))
	}
	return out
}

func renderGolden(an *Analysis) string {
	var b strings.Builder
	s := summarize(an)
	fmt.Fprintf(&b, "pickles %d protocol %d end %d\n", an.Pickles, an.Protocol, an.End)
	for _, l := range s.Imports {
		fmt.Fprintf(&b, "import %s\n", l)
	}
	for _, l := range s.Calls {
		fmt.Fprintf(&b, "call %s\n", l)
	}
	for _, l := range s.Anomalies {
		fmt.Fprintf(&b, "anomaly %s\n", l)
	}
	return b.String()
}

// TestGolden checks the imports, calls and anomalies of every real pickle
// against testdata/*.golden (refresh with go test -update).
func TestGolden(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			an := analyze(t, data, Options{Joblib: strings.HasSuffix(path, ".joblib")})
			got := renderGolden(an)
			golden.File(t, path+".golden", []byte(got), *update)
			end := int64(len(data))
			for _, a := range an.Anomalies {
				if a.Kind == AnomalyTrailing {
					end = a.Offset
				}
			}
			if an.End != end {
				t.Errorf("End = %d, want %d", an.End, end)
			}
			for _, a := range an.Anomalies {
				if a.Kind != AnomalyTrailing || !strings.HasSuffix(path, ".pt") {
					t.Errorf("real pickle has anomaly %+v", a)
				}
			}
		})
	}
}

// TestOpsMatchPickletools compares the disassembler with CPython's
// pickletools (testdata/*.ops, written by gen.py) opcode by opcode.
func TestOpsMatchPickletools(t *testing.T) {
	n := 0
	for _, path := range fixtures(t) {
		want, err := os.ReadFile(path + ".ops")
		if os.IsNotExist(err) {
			continue
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var wantOps []string
			sc := bufio.NewScanner(bytes.NewReader(want))
			for sc.Scan() {
				wantOps = append(wantOps, sc.Text())
			}
			var got []string
			err = Ops(context.Background(), bytes.NewReader(data), int64(len(data)), func(op Op) error {
				if len(got) < len(wantOps) {
					got = append(got, strconv.FormatInt(op.Offset, 10)+" "+op.Name)
				}
				return nil
			})
			if err != nil && !strings.HasSuffix(path, ".pt") {
				t.Errorf("Ops: %v", err)
			}
			if diff := cmp.Diff(wantOps, got); diff != "" {
				t.Errorf("ops differ from pickletools (-want +got):\n%s", diff)
			}
		})
	}
	if n < 15 {
		t.Fatalf("only %d .ops files", n)
	}
}

// TestAllOpcodes decodes testdata/allops.bin, which gen.py builds with every
// opcode of protocols 0-5, and compares it with pickletools.
func TestAllOpcodes(t *testing.T) {
	data, err := os.ReadFile("testdata/allops.bin")
	if err != nil {
		t.Fatal(err)
	}
	wantOps, err := os.ReadFile("testdata/allops.bin.ops")
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	seen := map[string]bool{}
	err = Ops(context.Background(), bytes.NewReader(data), int64(len(data)), func(op Op) error {
		fmt.Fprintf(&got, "%d %s\n", op.Offset, op.Name)
		seen[op.Name] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(wantOps), got.String()); diff != "" {
		t.Errorf("ops differ from pickletools (-want +got):\n%s", diff)
	}
	for code := range 256 {
		if name := OpName(byte(code)); name != "" && !seen[name] {
			t.Errorf("opcode %s not exercised", name)
		}
	}
	if len(seen) != 68 {
		t.Errorf("saw %d opcodes, want 68", len(seen))
	}
	an := analyze(t, data, Options{})
	s := summarize(an)
	var opcodes []string
	for _, i := range an.Imports {
		opcodes = append(opcodes, i.Opcode)
	}
	for _, c := range an.Calls {
		opcodes = append(opcodes, c.Opcode)
	}
	want := []string{"GLOBAL", "STACK_GLOBAL", "STACK_GLOBAL", "INST", "GLOBAL", "EXT1", "EXT2", "EXT4", "REDUCE", "NEWOBJ", "NEWOBJ_EX", "INST", "OBJ", "BUILD"}
	if diff := cmp.Diff(want, opcodes); diff != "" {
		t.Errorf("imports+calls opcodes (-want +got):\n%s\n%v", diff, s)
	}
}
