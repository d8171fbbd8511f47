package pickle

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlsecops/mlsec/format/pickle/pickletest"
)

// wrapper writes a joblib NumpyArrayWrapper with the given dtype writer,
// shape and BUILD, as NumpyPickler does (protocol 4).
func wrapper(b *pickletest.Builder, dtype func(*pickletest.Builder), shape ...uint8) {
	b.GlobalStr("joblib.numpy_pickle", "NumpyArrayWrapper").EmptyTuple().NewObj()
	b.EmptyDict().Mark()
	b.Str("shape").Mark()
	for _, d := range shape {
		b.BinInt1(d)
	}
	b.Tuple()
	b.Str("dtype")
	dtype(b)
	b.Str("order").Str("C").Str("allow_mmap").True()
	b.Str("numpy_array_alignment_bytes").BinInt1(16)
	b.SetItems().Build()
}

func npDtype(code string, flags uint8) func(*pickletest.Builder) {
	return func(b *pickletest.Builder) {
		b.GlobalStr("numpy", "dtype").Str(code).False().True().Tuple3().Reduce()
		b.Mark().BinInt1(3).Str("<").None().None().None().BinInt(-1).BinInt(-1).BinInt1(flags).Tuple().Build()
	}
}

func TestJoblibInlineArrays(t *testing.T) {
	garbage := bytes.Repeat([]byte{0xff, 'c', '\n'}, 16) // 48 bytes = 2x3 f8

	t.Run("array bytes skipped", func(t *testing.T) {
		b := pickletest.New(4)
		wrapper(b, npDtype("f8", 0), 2, 3)
		b.Raw(3, 0, 0, 0).Raw(garbage...) // padding length 3, padding, data
		at := b.Len()
		b.Global("os", "system").Stop()
		an := analyze(t, b.Bytes(), Options{Joblib: true})
		if len(an.Anomalies) != 0 || an.Pickles != 1 {
			t.Fatalf("anomalies %v pickles %d", an.Anomalies, an.Pickles)
		}
		last := an.Imports[len(an.Imports)-1]
		if last.Offset != int64(at) || last.Module != "os" {
			t.Fatalf("import after the array = %+v, want os.system at %d", last, at)
		}
		// Without joblib's layout the array bytes are garbage opcodes.
		an = analyze(t, b.Bytes(), Options{})
		if got := summarize(an).Anomalies; len(got) == 0 {
			t.Fatal("want an anomaly when the joblib layout is not followed")
		}
	})

	t.Run("object array is a nested pickle", func(t *testing.T) {
		b := pickletest.New(4)
		wrapper(b, npDtype("O8", 63), 1)
		nested := b.Len() // object arrays have no padding

		b.Raw(pickletest.New(4).Call("os", "system", "id").Stop().Bytes()...)
		b.Stop()
		an := analyze(t, b.Bytes(), Options{Joblib: true})
		got := summarize(an)
		want := []string{fmt.Sprintf("%d#1 GLOBAL os.system", nested+2)}
		if diff := cmp.Diff(want, got.Imports[len(got.Imports)-1:]); diff != "" || len(got.Anomalies) != 0 || an.Pickles != 2 {
			t.Fatalf("(-want +got):\n%s\n%+v", diff, got)
		}
	})

	t.Run("unresolvable dtype resynchronises at the next frame", func(t *testing.T) {
		b := pickletest.New(4)
		f := b.BeginFrame()
		wrapper(b, func(b *pickletest.Builder) { b.Str("f8") }, 2, 3)
		b.EndFrame(f)
		b.Raw(0).Raw(garbage...)
		f = b.BeginFrame()
		at := b.Len()
		b.Global("os", "system").Stop()
		b.EndFrame(f)
		an := analyze(t, b.Bytes(), Options{Joblib: true})
		got := summarize(an)
		if last := got.Imports[len(got.Imports)-1]; last != fmt.Sprintf("%d#0 GLOBAL os.system", at) {
			t.Fatalf("imports %v", got.Imports)
		}
		if len(got.Anomalies) != 2 || an.Anomalies[0].Kind != AnomalyBadOperand {
			t.Fatalf("anomalies %v", an.Anomalies)
		}
	})

	t.Run("array longer than the stream", func(t *testing.T) {
		b := pickletest.New(4)
		wrapper(b, npDtype("f8", 0), 200, 200)
		b.Raw(0, 1, 2, 3)
		an := analyze(t, b.Bytes(), Options{Joblib: true})
		if len(an.Anomalies) != 1 || an.Anomalies[0].Kind != AnomalyTruncated {
			t.Fatalf("anomalies %v", an.Anomalies)
		}
	})
}

func TestDtypeItemSize(t *testing.T) {
	for code, want := range map[string]int64{"f8": 8, "<i4": 4, "U10": 40, "S5": 5, "V12": 12, "b1": 1, "M8": 8, "M8[s]": 8, "?": 1, "x": 0, "": 0, "f": 0} {
		if got := dtypeItemSize(code); got != want {
			t.Errorf("dtypeItemSize(%q) = %d, want %d", code, got, want)
		}
	}
}
