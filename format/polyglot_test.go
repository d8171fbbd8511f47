package format

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestDetectAll(t *testing.T) {
	pkl := []byte("\x80\x02]q\x00.")
	at := func(base []byte, off int, add []byte) []byte {
		b := append([]byte(nil), base...)
		for len(b) < off {
			b = append(b, 0)
		}
		return append(b[:off], add...)
	}
	zipped := func(prefix []byte) []byte {
		var buf bytes.Buffer
		buf.Write(prefix)
		zw := zip.NewWriter(&buf)
		zw.SetOffset(int64(len(prefix)))
		w, _ := zw.Create("archive/data.pkl")
		w.Write(pkl)
		zw.Close()
		return buf.Bytes()
	}
	hdf5 := []byte(hdf5Magic + "\x00\x00\x00\x00")
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"pickle alone", pkl, "pickle"},
		{"text alone", []byte("hello\n"), "text"},
		{"zip alone", zipped(nil), "pytorch-zip"},
		{"pickle + hdf5 at 512", at(pkl, 512, hdf5), "pickle,hdf5"},
		{"pickle + hdf5 at 2048", at(pkl, 2048, hdf5), "pickle,hdf5"},
		{"pickle + hdf5 at 32768 (past the head)", at(pkl, 32768, hdf5), "pickle,hdf5"},
		{"hdf5 at 1000 is not where libhdf5 looks", at(pkl, 1000, hdf5), "pickle"},
		{"pickle + zip behind it", zipped(pkl), "pickle,pytorch-zip"},
		{"unknown + hdf5 past the head", at([]byte{0xff, 0xfe}, 16384, hdf5), "hdf5"},
		{"image + hdf5 at 512", at([]byte("GIF89a\x01\x00\x01\x00"), 512, hdf5), "hdf5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := DetectAll("f", bytes.NewReader(tc.in), int64(len(tc.in)))
			if err != nil {
				t.Fatal(err)
			}
			var ks []string
			for _, c := range cs {
				ks = append(ks, string(c.Kind))
			}
			if got := strings.Join(ks, ","); got != tc.want {
				t.Errorf("DetectAll = %s, want %s (%+v)", got, tc.want, cs)
			}
		})
	}
}

// A valid safetensors file whose header length happens to decode as
// opcodes (640 = PROTO 2; 80 = PERSID and 86 = UNICODE, whose text line
// runs on into random weights that decode as more opcodes) is not a
// pickle: nothing is imported, so pickle.load cannot run anything. The
// same header with a program in its data region (UNICODE swallows the
// header, a newline opens the data, then GLOBAL os system … REDUCE) is
// one: pickle.load runs it.
func TestDetectAllSafetensorsHeaderOpcodes(t *testing.T) {
	st := func(hlen int, body []byte) []byte {
		h := fmt.Sprintf(`{"w":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}`, len(body), len(body))
		h += strings.Repeat(" ", hlen-len(h))
		b := binary.LittleEndian.AppendUint64(nil, uint64(hlen))
		return append(append(b, h...), body...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	flagged := 0
	for _, hlen := range []int{0x50, 0x56, 0x180, 0x280, 0x580} {
		for i := 0; i < 300; i++ {
			body := make([]byte, 4096)
			for j := range body {
				body[j] = byte(rng.Uint32())
			}
			in := st(hlen, body)
			cs, err := DetectAll("f", bytes.NewReader(in), int64(len(in)))
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 1 || cs[0].Kind != Safetensors {
				flagged++
				if flagged <= 3 {
					t.Errorf("header length %#x, random body %d: %+v, want safetensors alone", hlen, i, cs)
				}
			}
		}
	}
	if flagged > 0 {
		t.Errorf("%d of 1500 random-weight safetensors files taken for polyglots", flagged)
	}
	payload := []byte("\ncos\nsystem\n(S'id'\ntR.")
	in := st(0x56, append(payload, make([]byte, 64)...))
	cs, err := DetectAll("f", bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Kind != Safetensors || cs[1].Kind != Pickle {
		t.Errorf("safetensors header + pickle program in the data: %+v, want safetensors,pickle", cs)
	}
}
