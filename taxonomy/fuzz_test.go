package taxonomy

import (
	"errors"
	"io/fs"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the catalogue parser, seeded with the
// embedded catalogues: it must return a catalogue or ErrInvalidCatalogue,
// never panic, and an accepted catalogue must be internally consistent.
func FuzzParse(f *testing.F) {
	names, _ := fs.Glob(data, "data/*.yaml")
	names = append(names, "data/atlas/atlas.yaml")
	for _, n := range names {
		b, err := data.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("id: x\nname: X\nversion: v\nsource: s\nitems: [{id: a, name: A, kind: k, parent: a}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cat, err := parse("fuzz.yaml", b)
		if err != nil {
			if !errors.Is(err, ErrInvalidCatalogue) {
				t.Fatalf("parse error does not wrap ErrInvalidCatalogue: %v", err)
			}
			return
		}
		ids := map[string]bool{}
		for _, it := range cat.Items {
			if ids[it.ID] || it.Framework != cat.ID {
				t.Fatalf("accepted inconsistent catalogue: %+v", it)
			}
			ids[it.ID] = true
		}
	})
}
