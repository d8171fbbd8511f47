package zip_test

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec"
	fzip "github.com/mlsecops/mlsec/format/zip"
	"github.com/mlsecops/mlsec/format/zip/ziptest"
	"github.com/mlsecops/mlsec/internal/testutil/golden"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// record is what a golden file records: the findings and the members
// handed to Nested.
type record struct {
	Findings []mlsec.Finding `json:"findings"`
	Nested   []string        `json:"nested"`
}

// TestGolden snapshots the complete findings (messages, offsets, subjects)
// for one archive per technique. Refresh with go test -update.
func TestGolden(t *testing.T) {
	archives := map[string]ziptest.Archive{
		"crc": {Files: []ziptest.File{{Name: "archive/data.pkl", Data: evil, BadCRC: true}}},
		"names": {Files: []ziptest.File{
			{Name: "archive/data.pkl", LocalName: "archive/data.txt", Data: evil},
			{Name: "../up.pkl", Data: benign},
			{Name: "archive/data.pkl", Data: benign, Method: 8},
		}},
		"prepended-zip64": {Prepend: []byte("MZ\x90\x00"), Zip64: true, Files: []ziptest.File{{Name: "a/data.pkl", Data: evil}}},
		"flags": {Files: []ziptest.File{
			{Name: "a/data.pkl", Data: evil, Flags: fzip.FlagEncrypted},
			{Name: "a/notes", Data: []byte("x"), Flags: fzip.FlagPatched, LocalFlags: fzip.FlagPatched | fzip.FlagEncrypted},
			{Name: "a/lz", Data: evil, Method: 14},
		}},
		"storage": {Files: []ziptest.File{{Name: "a/data.pkl", Data: benign}, {Name: "a/data/0", Data: []byte("\x80\x05\x95\x00\x00\x00\x00\x00\x00\x00\x00N.")}}},
	}
	for name, a := range archives {
		t.Run(name, func(t *testing.T) {
			s := run(t, a.Bytes())
			got := record{Findings: s.Findings, Nested: s.Names()}
			golden.JSON(t, filepath.Join("testdata", "golden", name+".json"), got, *update)
		})
	}
}
