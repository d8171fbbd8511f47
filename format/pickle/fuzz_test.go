package pickle

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/format/pickle/pickletest"
)

// FuzzAnalyze checks that no input panics, hangs or escapes the caps, in
// both the linear and the joblib modes, and that Ops and Sniff agree with
// themselves on arbitrary bytes.
func FuzzAnalyze(f *testing.F) {
	for _, path := range fixtures(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 8<<10 {
			data = data[:8<<10]
		}
		f.Add(data)
	}
	evil := pickletest.New(4)
	fr := evil.BeginFrame()
	evil.Str("os").Memoize().Pop().BinGet(0).Str("system").StackGlobal().Str("id").Tuple1().Reduce().Stop()
	evil.BinBytesLen(3)
	evil.EndFrame(fr)
	evil.Raw(pickletest.New(2).Call("os", "system", "x").Stop().Bytes()...)
	f.Add(evil.Bytes())
	f.Add(pickletest.New(0).Mark().String0("x").Inst("os", "system").Stop().Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		opts := Options{MaxOps: 100_000, MaxStack: 1000, MaxMemo: 1000, MaxStringLen: 256, MaxPickles: 50}
		for _, joblib := range []bool{false, true} {
			opts.Joblib = joblib
			an, err := Analyze(ctx, bytes.NewReader(data), int64(len(data)), opts)
			if err != nil {
				t.Fatalf("Analyze error on in-memory input: %v", err)
			}
			if an.End > int64(len(data)) || an.End < 0 {
				t.Fatalf("End %d outside [0,%d]", an.End, len(data))
			}
			if an.Ops > 2*opts.MaxOps {
				t.Fatalf("Ops %d exceeds cap", an.Ops)
			}
			for _, c := range an.Calls {
				if len(c.Args) > DefaultMaxCallArgs {
					t.Fatalf("call keeps %d args", len(c.Args))
				}
				for _, a := range c.Args {
					if int64(len(a.Str)) > opts.MaxStringLen && a.Kind != KindFloat {
						t.Fatalf("kept %d bytes > MaxStringLen", len(a.Str))
					}
					if a.Length >= 0 && (a.Offset < 0 || a.Offset+a.Length > int64(len(data))) {
						t.Fatalf("operand [%d,+%d) outside the stream", a.Offset, a.Length)
					}
				}
			}
		}
		n := 0
		_ = Ops(ctx, bytes.NewReader(data), int64(len(data)), func(op Op) error {
			n++
			if op.End < op.Offset || op.End > int64(len(data)) {
				t.Fatalf("op %s spans [%d,%d)", op.Name, op.Offset, op.End)
			}
			return nil
		})
		Sniff(data)
	})
}

// FuzzSniffAt drives SniffAt's look past the head with a tiny window, so
// every input exercises operand skipping; it must not panic, and whatever
// the head alone accepts it accepts too.
func FuzzSniffAt(f *testing.F) {
	for _, path := range fixtures(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:min(len(data), 4<<10)], uint8(16))
	}
	decoy := pickletest.New(-1).BinUnicode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").Pop().String0("BBBBBBBBBBBBBBBBBBBBBBBBBBB").Pop()
	f.Add(decoy.Call("os", "system", "id").Stop().Bytes(), uint8(8))
	f.Fuzz(func(t *testing.T, data []byte, w uint8) {
		head := data[:min(len(data), int(w)+1)]
		got := SniffAt(bytes.NewReader(data), int64(len(data)), head)
		// SniffAt sees at least what Sniff sees. When the head is the
		// whole stream it may be stricter: a text that merely runs out of
		// bytes is then known to end there (not to continue as a pickle).
		if len(head) < len(data) && Sniff(head) && !got {
			t.Fatalf("Sniff(head) accepts but SniffAt rejects")
		}
	})
}
