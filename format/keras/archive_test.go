package keras

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, c := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(c))
	}
	zw.Close()
	return buf.Bytes()
}

func TestOpenArchive(t *testing.T) {
	b := zipOf(t, map[string]string{
		"config.json":      `{"class_name": "Sequential"}`,
		"metadata.json":    `{"keras_version": "3.6.0"}`,
		"model.weights.h5": "x",
	})
	a, err := OpenArchive(bytes.NewReader(b), int64(len(b)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.KerasVersion != "3.6.0" || string(a.Config) != `{"class_name": "Sequential"}` || len(a.Members) != 1 {
		t.Errorf("archive %+v", a)
	}

	tests := []struct {
		name  string
		files map[string]string
		opt   Options
		want  error
	}{
		{"no config", map[string]string{"metadata.json": "{}"}, Options{}, ErrFormat},
		{"config over cap", map[string]string{"config.json": strings.Repeat(" ", 200) + "{}"}, Options{MaxBytes: 100}, ErrLimit},
	}
	for _, tt := range tests {
		b := zipOf(t, tt.files)
		if _, err := OpenArchive(bytes.NewReader(b), int64(len(b)), tt.opt); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := OpenArchive(strings.NewReader("not a zip"), 9, Options{}); !errors.Is(err, ErrFormat) {
		t.Errorf("not a zip: err = %v", err)
	}
	b = zipOf(t, map[string]string{"config.json": "{}", "../evil": "x"})
	a, err = OpenArchive(bytes.NewReader(b), int64(len(b)), Options{})
	if err != nil || len(a.Members) != 1 || a.Members[0].Name != "../evil" {
		t.Errorf("insecure names are listed for the caller: %+v, %v", a, err)
	}
}
