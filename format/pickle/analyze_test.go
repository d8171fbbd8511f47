package pickle

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlsecops/mlsec/format/pickle/pickletest"
)

// summary renders an Analysis compactly so table tests can assert every
// import, call and anomaly exactly.
type summary struct {
	Imports   []string
	Calls     []string
	Anomalies []string
	Pickles   int
}

func fmtValue(v Value) string {
	switch v.Kind {
	case KindString:
		return fmt.Sprintf("%q", v.Str)
	case KindBytes:
		if v.Truncated {
			return fmt.Sprintf("b[%d@%d]", v.Length, v.Offset)
		}
		return fmt.Sprintf("b%q", v.Str)
	case KindInt:
		if v.Str != "" {
			return v.Str
		}
		return fmt.Sprint(v.Int)
	case KindBool:
		return fmt.Sprint(v.Int == 1)
	case KindNone:
		return "None"
	case KindFloat:
		return v.Str
	case KindGlobal:
		return "g:" + v.Global
	case KindCallResult:
		return "call:" + v.Global
	case KindTuple, KindList, KindDict, KindSet:
		open, close := map[ValueKind][2]string{KindTuple: {"(", ")"}, KindList: {"[", "]"}, KindDict: {"{", "}"}, KindSet: {"set(", ")"}}[v.Kind][0], map[ValueKind][2]string{KindTuple: {"(", ")"}, KindList: {"[", "]"}, KindDict: {"{", "}"}, KindSet: {"set(", ")"}}[v.Kind][1]
		var parts []string
		for _, it := range v.Items {
			parts = append(parts, fmtValue(it))
		}
		return open + strings.Join(parts, ",") + close
	}
	return fmt.Sprintf("kind%d", v.Kind)
}

func summarize(an *Analysis) summary {
	s := summary{Pickles: an.Pickles}
	for _, i := range an.Imports {
		flags := ""
		if !i.Resolved {
			flags += " unresolved"
		}
		if i.Mapped {
			flags += " mapped"
		}
		s.Imports = append(s.Imports, fmt.Sprintf("%d#%d %s %s.%s%s", i.Offset, i.Pickle, i.Opcode, i.Module, i.Name, flags))
	}
	for _, c := range an.Calls {
		var args []string
		for _, a := range c.Args {
			args = append(args, fmtValue(a))
		}
		s.Calls = append(s.Calls, fmt.Sprintf("%d#%d %s %s(%s)", c.Offset, c.Pickle, c.Opcode, c.Callee, strings.Join(args, ",")))
	}
	for _, a := range an.Anomalies {
		s.Anomalies = append(s.Anomalies, fmt.Sprintf("%d#%d %s", a.Offset, a.Pickle, a.Kind))
	}
	return s
}

func analyze(t testing.TB, data []byte, opts Options) *Analysis {
	t.Helper()
	an, err := Analyze(context.Background(), bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	return an
}

func TestAnalyzeCrafted(t *testing.T) {
	type tc struct {
		name  string
		build func() ([]byte, summary)
		opts  Options
	}
	tests := []tc{
		{"global reduce", func() ([]byte, summary) {
			b := pickletest.New(4)
			b.Global("os", "system").Str("id").Tuple1().Reduce().Stop()
			return b.Bytes(), summary{
				Imports: []string{"2#0 GLOBAL os.system"},
				Calls:   []string{"18#0 REDUCE os.system(\"id\")"},
				Pickles: 1,
			}
		}, Options{}},
		{"stack global through memo with decoys", func() ([]byte, summary) {
			b := pickletest.New(4)
			b.Str("posix").BinPut(7)               // module stored at memo 7
			b.Pop()                                // and dropped
			b.Str("nope").Str("decoy").Pop().Pop() // decoys pushed and popped
			b.Str("system").Memoize()              // memo 1 (MEMOIZE uses len(memo))
			b.Pop()
			b.BinGet(7).BinGet(1)
			at := b.Len()
			b.StackGlobal()
			b.Str("id").Tuple1().Reduce().Stop()
			return b.Bytes(), summary{
				Imports: []string{fmt.Sprintf("%d#0 STACK_GLOBAL posix.system", at)},
				Calls:   []string{fmt.Sprintf("%d#0 REDUCE posix.system(\"id\")", at+6)},
				Pickles: 1,
			}
		}, Options{}},
		{"stack global with computed module", func() ([]byte, summary) {
			b := pickletest.New(4)
			b.GlobalStr("builtins", "str").Str("os").Tuple1().Reduce() // computed "os"
			b.Str("system")
			at := b.Len()
			b.StackGlobal().Str("id").Tuple1().Reduce().Stop()
			return b.Bytes(), summary{
				Imports: []string{"17#0 STACK_GLOBAL builtins.str", fmt.Sprintf("%d#0 STACK_GLOBAL .system unresolved", at)},
				Calls:   []string{"23#0 REDUCE builtins.str(\"os\")", fmt.Sprintf("%d#0 REDUCE (\"id\")", at+6)},
				Pickles: 1,
			}
		}, Options{}},
		{"python 2 names mapped below protocol 3", func() ([]byte, summary) {
			b := pickletest.New(0)
			b.Global("__builtin__", "eval").Global("exceptions", "OSError").Global("copy_reg", "_reconstructor").Pop().Pop().Pop()
			b.Global("UserDict", "UserDict").Stop()
			b.Then(3).Global("__builtin__", "eval").Stop()
			return b.Bytes(), summary{
				Imports: []string{
					"0#0 GLOBAL builtins.eval mapped", "18#0 GLOBAL builtins.OSError mapped",
					"38#0 GLOBAL copyreg._reconstructor mapped", "66#0 GLOBAL collections.UserDict mapped",
					"88#1 GLOBAL __builtin__.eval",
				},
				Pickles: 2,
			}
		}, Options{}},
		{"inst obj newobj newobj_ex build", func() ([]byte, summary) {
			b := pickletest.New(4)
			b.Mark().Str("ls").Inst("subprocess", "call") // 2..
			b.Pop()
			o := b.Len()
			b.Mark().Global("os", "popen").Str("id").Obj().Pop()
			n := b.Len()
			b.Global("builtins", "object").EmptyTuple().NewObj()
			ne := b.Len()
			b.Global("builtins", "set").EmptyTuple().EmptyDict().Str("k").Str("v").SetItem().NewObjEx()
			bu := b.Len()
			b.Str("x").BinInt1(1).Tuple2().Build()
			bg := b.Len()
			b.Global("os", "environ").EmptyDict().Build().Stop()
			return b.Bytes(), summary{
				Imports: []string{
					"7#0 INST subprocess.call",
					fmt.Sprintf("%d#0 GLOBAL os.popen", o+1),
					fmt.Sprintf("%d#0 GLOBAL builtins.object", n),
					fmt.Sprintf("%d#0 GLOBAL builtins.set", ne),
					fmt.Sprintf("%d#0 GLOBAL os.environ", bg),
				},
				Calls: []string{
					"7#0 INST subprocess.call(\"ls\")",
					fmt.Sprintf("%d#0 OBJ os.popen(\"id\")", o+15),
					fmt.Sprintf("%d#0 NEWOBJ builtins.object()", n+18),
					fmt.Sprintf("%d#0 NEWOBJ_EX builtins.set({\"k\",\"v\"})", bu-1),
					fmt.Sprintf("%d#0 BUILD builtins.set((\"x\",1))", bu+6),
					fmt.Sprintf("%d#0 BUILD os.environ({})", bg+13),
				},
				Pickles: 1,
			}
		}, Options{}},
		{"ext codes", func() ([]byte, summary) {
			b := pickletest.New(4)
			b.Ext1(1).Str("a").Tuple1().Reduce().Pop().Ext2(0x102).Pop().Ext4(-5).Stop()
			return b.Bytes(), summary{
				Imports:   []string{"2#0 EXT1 . unresolved", "10#0 EXT2 . unresolved", "14#0 EXT4 . unresolved"},
				Calls:     []string{"8#0 REDUCE (\"a\")"},
				Anomalies: []string{"14#0 bad-operand"},
				Pickles:   1,
			}
		}, Options{}},
		{"truncated keeps calls before the break", func() ([]byte, summary) {
			b := pickletest.New(4)
			b.Call("os", "system", "id").Str("more").Truncate(2)
			return b.Bytes(), summary{
				Imports:   []string{"2#0 GLOBAL os.system"},
				Calls:     []string{"19#0 REDUCE os.system(\"id\")"},
				Anomalies: []string{"20#0 truncated"},
			}
		}, Options{}},
		{"bad opcode", func() ([]byte, summary) {
			b := pickletest.New(2)
			b.Global("os", "system").Raw(0xff).Stop()
			return b.Bytes(), summary{
				Imports:   []string{"2#0 GLOBAL os.system"},
				Anomalies: []string{"13#0 bad-opcode"},
			}
		}, Options{}},
		{"stack and memo errors continue", func() ([]byte, summary) {
			b := pickletest.New(2)
			b.Append().BinGet(9).Global("os", "system").Reduce().Stop()
			return b.Bytes(), summary{
				Imports:   []string{"5#0 GLOBAL os.system"},
				Calls:     []string{"16#0 REDUCE (g:os.system)"},
				Anomalies: []string{"2#0 stack", "3#0 memo"},
				Pickles:   1,
			}
		}, Options{}},
		{"pop pops a mark", func() ([]byte, summary) {
			b := pickletest.New(4)
			b.Global("os", "system").Mark().Pop().Str("id").Tuple1().Reduce().Stop()
			return b.Bytes(), summary{
				Imports: []string{"2#0 GLOBAL os.system"},
				Calls:   []string{"20#0 REDUCE os.system(\"id\")"},
				Pickles: 1,
			}
		}, Options{}},
		{"several pickles then trailing bytes", func() ([]byte, summary) {
			b := pickletest.New(2)
			b.BinInt2(1950).Stop()
			b.Then(2).BinInt1(101).Stop()
			b.Then(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().Stop()
			tail := b.Len()
			b.Raw(0x10, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8)
			return b.Bytes(), summary{
				Imports:   []string{"13#2 GLOBAL collections.OrderedDict"},
				Calls:     []string{"39#2 REDUCE collections.OrderedDict()"},
				Anomalies: []string{fmt.Sprintf("%d#3 trailing-data", tail)},
				Pickles:   3,
			}
		}, Options{}},
		{"protocol 0 text operands", func() ([]byte, summary) {
			b := pickletest.New(0)
			b.Mark().String0("o\x73").UnicodeRaw(`\u0073ystem`).Tuple().Pop() // decoys
			b.Global("builtins", "getattr").Mark().Global("os", "path").Unicode("jo\u0131n").Tuple().Reduce().Stop()
			return b.Bytes(), summary{
				Imports: []string{"22#0 GLOBAL builtins.getattr", "41#0 GLOBAL os.path"},
				Calls:   []string{"62#0 REDUCE builtins.getattr(g:os.path,\"joın\")"},
				Pickles: 1,
			}
		}, Options{}},
		{"protocol anomaly and unsupported protocol", func() ([]byte, summary) {
			b := pickletest.New(2)
			b.Str("a").Stop()
			b.Then(2).Global("os", "system").Stop()
			b.Then(9).None().Stop()
			return b.Bytes(), summary{
				Imports:   []string{"8#1 GLOBAL os.system"},
				Anomalies: []string{"2#0 protocol", "20#2 trailing-data"},
				Pickles:   2,
			}
		}, Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, want := tt.build()
			got := summarize(analyze(t, data, tt.opts))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAnalyzeExact checks complete structs once, including Values.
func TestAnalyzeExact(t *testing.T) {
	inner := pickletest.New(2).Call("os", "system", "id").Stop().Bytes()
	b := pickletest.New(3)
	b.Global("pickle", "loads")
	payload := b.Offset() + 5
	b.BinBytes(inner).Tuple1().Reduce().Stop()
	an := analyze(t, b.Bytes(), Options{})
	want := &Analysis{
		Imports: []Import{{Module: "pickle", Name: "loads", Offset: 2, Opcode: "GLOBAL", Resolved: true}},
		Calls: []Call{{Callee: "pickle.loads", Opcode: "REDUCE", Offset: payload + int64(len(inner)) + 1, Args: []Value{
			{Kind: KindBytes, Str: string(inner), Offset: payload, Length: int64(len(inner))},
		}}},
		Pickles: 1, Protocol: 3, Ops: 6, End: int64(b.Len()),
	}
	if diff := cmp.Diff(want, an); diff != "" {
		t.Fatalf("mismatch (-want +got):\n%s", diff)
	}
	// The detector re-reads nested payloads through Offset/Length.
	arg := an.Calls[0].Args[0]
	sec := io.NewSectionReader(bytes.NewReader(b.Bytes()), arg.Offset, arg.Length)
	nested, err := Analyze(context.Background(), sec, arg.Length, Options{})
	if err != nil || len(nested.Imports) != 1 || nested.Imports[0].Name != "system" {
		t.Fatalf("nested analysis = %+v, %v", nested, err)
	}
}

func TestLargeOperandsAreLocated(t *testing.T) {
	inner := pickletest.New(2).Call("os", "system", "id").Stop().Bytes()
	big := append(inner, bytes.Repeat([]byte{'x'}, 5000)...)
	for _, tc := range []struct {
		name  string
		write func(b *pickletest.Builder)
		hdr   int64
		kind  ValueKind
	}{
		{"BINBYTES", func(b *pickletest.Builder) { b.BinBytes(big) }, 5, KindBytes},
		{"BINBYTES8", func(b *pickletest.Builder) { b.BinBytes8(big) }, 9, KindBytes},
		{"BYTEARRAY8", func(b *pickletest.Builder) { b.ByteArray8(big) }, 9, KindBytes},
		{"BINUNICODE", func(b *pickletest.Builder) { b.BinUnicode(string(big)) }, 5, KindString},
		{"BINSTRING", func(b *pickletest.Builder) { b.BinString(string(big)) }, 5, KindString},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := pickletest.New(4)
			b.Global("_pickle", "loads")
			start := b.Offset()
			tc.write(b)
			b.Tuple1().Reduce().Stop()
			an := analyze(t, b.Bytes(), Options{MaxStringLen: 100})
			if len(an.Calls) != 1 || len(an.Calls[0].Args) != 1 {
				t.Fatalf("calls = %+v", an.Calls)
			}
			a := an.Calls[0].Args[0]
			want := Value{Kind: tc.kind, Str: string(big[:100]), Offset: start + tc.hdr, Length: int64(len(big)), Truncated: true}
			if tc.name == "BINBYTES" {
				// default MaxStringLen: a 256-byte prefix
				an = analyze(t, b.Bytes(), Options{MaxStringLen: 1000})
				a = an.Calls[0].Args[0]
				want.Str = string(big[:256])
			}
			if diff := cmp.Diff(want, a); diff != "" {
				t.Fatalf("arg (-want +got):\n%s", diff)
			}
			got := make([]byte, a.Length)
			if _, err := bytes.NewReader(b.Bytes()).ReadAt(got, a.Offset); err != nil || !bytes.Equal(got, big) {
				t.Fatalf("Offset/Length do not locate the payload")
			}
		})
	}
}

func TestFrames(t *testing.T) {
	t.Run("honest frames", func(t *testing.T) {
		b := pickletest.New(4)
		f := b.BeginFrame()
		b.Call("os", "system", "id").Stop()
		b.EndFrame(f)
		got := summarize(analyze(t, b.Bytes(), Options{}))
		want := summary{Imports: []string{"11#0 GLOBAL os.system"}, Calls: []string{"28#0 REDUCE os.system(\"id\")"}, Pickles: 1}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
	t.Run("frame past STOP hides a pickle from linear readers", func(t *testing.T) {
		// Linear reading: benign pickle, then BINBYTES swallowing the
		// malicious pickle. _Unframer reading: after STOP the next pickle
		// starts at the frame end, i.e. at the malicious pickle.
		evil := pickletest.New(4).Call("os", "system", "id").Stop().Bytes()
		b := pickletest.New(4)
		f := b.BeginFrame()
		b.None().Stop()
		stop := b.Len() - 1
		b.BinBytesLen(uint32(len(evil)))
		b.EndFrame(f)
		evilAt := b.Len()
		b.Raw(evil...)
		got := summarize(analyze(t, b.Bytes(), Options{}))
		want := summary{
			Imports:   []string{fmt.Sprintf("%d#1 GLOBAL os.system", evilAt+2)},
			Calls:     []string{fmt.Sprintf("%d#1 REDUCE os.system(\"id\")", evilAt+19)},
			Anomalies: []string{fmt.Sprintf("%d#0 frame-mismatch", stop), fmt.Sprintf("%d#1 trailing-data", stop+1)},
			Pickles:   1,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
	t.Run("frame longer than the stream", func(t *testing.T) {
		b := pickletest.New(4)
		b.Frame(1<<40).Call("os", "system", "id").Stop()
		got := summarize(analyze(t, b.Bytes(), Options{}))
		want := summary{
			Imports:   []string{"11#0 GLOBAL os.system"},
			Calls:     []string{"28#0 REDUCE os.system(\"id\")"},
			Anomalies: []string{"2#0 frame-mismatch"},
			Pickles:   1,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
	t.Run("opcode straddles the frame end", func(t *testing.T) {
		b := pickletest.New(4)
		f := b.BeginFrame()
		b.Global("os", "system").Str("id").Tuple1()
		b.PatchFrame(f, uint64(b.Len()-f-9-2)) // ends inside SHORT_BINUNICODE
		b.Reduce().Stop()
		got := summarize(analyze(t, b.Bytes(), Options{}))
		want := summary{
			Imports:   []string{"11#0 GLOBAL os.system"},
			Calls:     []string{"27#0 REDUCE os.system(\"id\")"},
			Anomalies: []string{"22#0 frame-mismatch"},
			Pickles:   1,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
}

func TestLimits(t *testing.T) {
	deep := pickletest.New(2)
	for range 50 {
		deep.EmptyList()
	}
	deep.Stop()
	memo := pickletest.New(2).None()
	for i := range 20 {
		memo.BinPut(uint8(i))
	}
	memo.Stop()
	many := pickletest.New(2).None().Stop()
	for range 5 {
		many.Then(2).None().Stop()
	}
	ops := pickletest.New(2)
	for range 30 {
		ops.None().Pop()
	}
	ops.Stop()
	for _, tc := range []struct {
		name string
		data []byte
		opts Options
	}{
		{"stack", deep.Bytes(), Options{MaxStack: 10}},
		{"memo", memo.Bytes(), Options{MaxMemo: 5}},
		{"pickles", many.Bytes(), Options{MaxPickles: 3}},
		{"ops", ops.Bytes(), Options{MaxOps: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			an := analyze(t, tc.data, tc.opts)
			var kinds []AnomalyKind
			for _, a := range an.Anomalies {
				kinds = append(kinds, a.Kind)
			}
			if diff := cmp.Diff([]AnomalyKind{AnomalyLimit}, kinds); diff != "" {
				t.Fatalf("anomalies (-want +got):\n%s", diff)
			}
		})
	}
}

func TestContainerItemsBounded(t *testing.T) {
	b := pickletest.New(2).Global("builtins", "print").EmptyList()
	for i := range 200 {
		b.BinInt1(uint8(i)).Append()
	}
	b.Tuple1().Reduce().Stop()
	an := analyze(t, b.Bytes(), Options{})
	if n := len(an.Calls[0].Args[0].Items); n != 64 {
		t.Fatalf("list keeps %d items, want 64", n)
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := pickletest.New(2).None().Stop().Bytes()
	if _, err := Analyze(ctx, bytes.NewReader(data), int64(len(data)), Options{}); err == nil {
		t.Fatal("want context error")
	}
}

type failingReader struct{}

func (failingReader) ReadAt([]byte, int64) (int, error) { return 0, io.ErrClosedPipe }

func TestReaderError(t *testing.T) {
	if _, err := Analyze(context.Background(), failingReader{}, 100, Options{}); err == nil {
		t.Fatal("want read error")
	}
}

func TestLongGlobalLine(t *testing.T) {
	b := pickletest.New(2).Global("os", strings.Repeat("x", 300)).Stop()
	an := analyze(t, b.Bytes(), Options{MaxStringLen: 100})
	if len(an.Imports) != 1 || an.Imports[0].Resolved || len(an.Imports[0].Name) != 100 {
		t.Fatalf("imports %+v", an.Imports)
	}
	if len(an.Anomalies) != 1 || an.Anomalies[0].Kind != AnomalyLimit {
		t.Fatalf("anomalies %+v", an.Anomalies)
	}
}

// A later pickle with an anomaly CPython accepts (an opcode newer than its
// PROTO) must not end the analysis: the one after it can be malicious.
func TestAnomalousPickleDoesNotHideTheNext(t *testing.T) {
	b := pickletest.New(2).None().Stop()
	b.Then(2).Str("x").Stop() // protocol anomaly, no imports
	at := b.Len()
	b.Then(2).Global("os", "system").Stop()
	got := summarize(analyze(t, b.Bytes(), Options{}))
	want := summary{
		Imports:   []string{fmt.Sprintf("%d#2 GLOBAL os.system", at+2)},
		Anomalies: []string{"6#1 protocol"},
		Pickles:   3,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// Many straddling frames (which _pickle.c accepts) must not end the
// analysis before the payload.
func TestManyFrameMismatchesDoNotHidePayload(t *testing.T) {
	b := pickletest.New(4)
	for range 300 {
		f := b.BeginFrame()
		b.BinInt1(1).Pop()
		b.PatchFrame(f, 1) // ends inside BININT1
	}
	at := b.Len()
	b.Global("os", "system").Str("id").Tuple1().Reduce().Stop()
	an := analyze(t, b.Bytes(), Options{})
	if len(an.Imports) != 1 || an.Imports[0].Offset != int64(at) || len(an.Calls) != 1 {
		t.Fatalf("imports %+v calls %+v", an.Imports, an.Calls)
	}
	if len(an.Anomalies) == 0 || len(an.Anomalies) > maxFrameNotes {
		t.Fatalf("%d anomalies", len(an.Anomalies))
	}
}
