package format

import (
	"archive/zip"
	"bytes"
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
