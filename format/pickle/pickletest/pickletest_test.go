package pickletest_test

import (
	"bytes"
	"context"
	"math/big"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlsecops/mlsec/format/pickle"
	"github.com/mlsecops/mlsec/format/pickle/pickletest"
)

// everything writes every opcode through the Builder.
func everything() *pickletest.Builder {
	b := pickletest.New(5)
	f := b.BeginFrame()
	b.Mark().None().True().False().Int("01").IntValue(-12).BinInt(-5).BinInt1(7).BinInt2(256)
	b.Long("123L").Long1(big.NewInt(-129)).Long4(new(big.Int).Lsh(big.NewInt(1), 70))
	b.Float("1.5").BinFloat(2.5)
	b.String0("a'b\n\x00").BinString("hi").ShortBinString("yo")
	b.BinBytes([]byte("x")).ShortBinBytes([]byte("y")).BinBytes8([]byte("z")).ByteArray8([]byte("w"))
	b.Unicode("\u20ac\\ \U0001f600").BinUnicode("u").ShortBinUnicode("v").BinUnicode8("t").Str("s")
	b.Tuple().Put(0).BinPut(1).LongBinPut(2).Memoize().Get(0).BinGet(1).LongBinGet(2)
	b.Pop().Pop().Pop().Dup().Pop()
	b.EmptyList().BinInt1(1).Append().Mark().BinInt1(2).Appends().Pop().Mark().List().Pop()
	b.EmptyDict().BinInt1(1).BinInt1(2).SetItem().Mark().BinInt1(3).BinInt1(4).SetItems().Pop().Mark().Dict().Pop()
	b.EmptyTuple().Pop().BinInt1(1).Tuple1().Pop().BinInt1(1).BinInt1(2).Tuple2().Pop().BinInt1(1).BinInt1(2).BinInt1(3).Tuple3().Pop()
	b.EmptySet().Mark().BinInt1(1).AddItems().Pop().Mark().BinInt1(2).FrozenSet().Pop().Mark().PopMark()
	b.Global("collections", "OrderedDict").EmptyTuple().Reduce().Pop()
	b.GlobalStr("collections", "OrderedDict").EmptyTuple().NewObj().Pop()
	b.GlobalStr("collections", "OrderedDict").EmptyTuple().EmptyDict().NewObjEx().Pop()
	b.Mark().Inst("collections", "OrderedDict").Pop()
	b.Mark().Global("collections", "OrderedDict").Obj().EmptyDict().Build().Pop()
	b.Ext1(1).Pop().Ext2(2).Pop().Ext4(3).Pop()
	b.PersID("id").Pop().BinInt1(1).BinPersID().Pop().NextBuffer().ReadonlyBuffer()
	b.Call("os", "getcwd").Pop()
	b.Stop()
	b.EndFrame(f)
	return b
}

func TestBuilderWritesEveryOpcode(t *testing.T) {
	data := everything().Bytes()
	seen := map[string]bool{}
	var longs []string
	err := pickle.Ops(context.Background(), bytes.NewReader(data), int64(len(data)), func(op pickle.Op) error {
		seen[op.Name] = true
		switch op.Name {
		case "LONG1", "LONG4":
			if op.Big != "" {
				longs = append(longs, op.Big)
			} else {
				longs = append(longs, big.NewInt(op.Int).String())
			}
		case "STRING":
			if op.Str != "a'b\n\x00" {
				t.Errorf("STRING round trip = %q", op.Str)
			}
		case "UNICODE":
			if op.Str != "\u20ac\\ \U0001f600" {
				t.Errorf("UNICODE round trip = %q", op.Str)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for c := range 256 {
		if n := pickle.OpName(byte(c)); n != "" && !seen[n] {
			t.Errorf("Builder never wrote %s", n)
		}
	}
	if diff := cmp.Diff([]string{"-129", "1180591620717411303424"}, longs); diff != "" {
		t.Errorf("LONG1/LONG4 (-want +got):\n%s", diff)
	}
	// The frame written by BeginFrame/EndFrame is honest.
	an, err := pickle.Analyze(context.Background(), bytes.NewReader(data), int64(len(data)), pickle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range an.Anomalies {
		if a.Kind == pickle.AnomalyFrameMismatch {
			t.Errorf("unexpected %+v", a)
		}
	}
	if os.Getenv("PICKLETEST_DUMP") != "" {
		_ = os.WriteFile(os.Getenv("PICKLETEST_DUMP"), data, 0o644)
	}
}

func TestLongEncoding(t *testing.T) {
	// pickle.encode_long in CPython
	for v, want := range map[int64]string{0: "", 127: "\x7f", 128: "\x80\x00", 255: "\xff\x00", -128: "\x80", -129: "\x7f\xff", -256: "\x00\xff", 256: "\x00\x01"} {
		got := pickletest.New(0).Long1(big.NewInt(v)).Bytes()
		if string(got[2:]) != want || int(got[1]) != len(want) {
			t.Errorf("Long1(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestFrameHelpers(t *testing.T) {
	b := pickletest.New(4)
	f := b.BeginFrame()
	b.None().Stop()
	b.EndFrame(f)
	if want := "\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N."; b.String() != want {
		t.Fatalf("got %q want %q", b.String(), want)
	}
	b.PatchFrame(f, 99)
	if b.Bytes()[3] != 99 {
		t.Fatal("PatchFrame did not rewrite the length")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("PatchFrame at a non-FRAME offset must panic")
		}
	}()
	b.PatchFrame(0, 1)
}
