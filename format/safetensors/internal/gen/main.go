// Command gen writes the safetensors fixtures in format/safetensors/testdata.
// Debian and npm ship no safetensors files, so the fixtures are built here,
// byte for byte, from the format description. Run it from the module root:
//
//	go run ./format/safetensors/internal/gen
//
// Files named valid-*.safetensors must parse without problems; every other
// file carries the violation its name describes.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	dir := filepath.Join("format", "safetensors", "testdata")
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	for name, data := range fixtures() {
		if err := os.WriteFile(filepath.Join(dir, name+".safetensors"), data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// file builds a safetensors file; the header is padded with spaces to a
// multiple of 8 as the reference writer does.
func file(header string, data []byte) []byte {
	if pad := (8 - len(header)%8) % 8; pad > 0 {
		header += strings.Repeat(" ", pad)
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func fixtures() map[string][]byte {
	const (
		w  = `"weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}`
		bi = `"bias":{"dtype":"F16","shape":[3],"data_offsets":[24,30]}`
	)
	pickle := []byte("\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94.")
	zipTail := []byte("PK\x05\x06" + strings.Repeat("\x00", 18))
	return map[string][]byte{
		"valid-small": file(`{"__metadata__":{"format":"pt"},`+w+`,`+bi+`}`, seq(30)),
		"valid-all-dtypes": file(`{`+
			`"a":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]},`+
			`"b":{"dtype":"F4","shape":[2,2],"data_offsets":[2,4]},`+
			`"c":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[4,7]},`+
			`"d":{"dtype":"F8_E8M0","shape":[1],"data_offsets":[7,8]},`+
			`"e":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},`+
			`"f":{"dtype":"C64","shape":[1],"data_offsets":[12,20]},`+
			`"g":{"dtype":"U64","shape":[],"data_offsets":[20,28]},`+
			`"h":{"dtype":"I8","shape":[0],"data_offsets":[28,28]}}`, seq(28)),
		"valid-empty":         file(`{}`, nil),
		"bad-duplicate-key":   file(`{`+w+`,`+w+`,`+bi+`}`, seq(30)),
		"bad-dtype":           file(`{"weight":{"dtype":"Q4_K","shape":[2,3],"data_offsets":[0,24]},`+bi+`}`, seq(30)),
		"bad-shape":           file(`{"weight":{"dtype":"F32","shape":[2,4],"data_offsets":[0,24]},`+bi+`}`, seq(30)),
		"bad-overlap":         file(`{`+w+`,"bias":{"dtype":"F16","shape":[3],"data_offsets":[20,26]}}`, seq(26)),
		"bad-gap":             file(`{`+w+`,"bias":{"dtype":"F16","shape":[3],"data_offsets":[28,34]}}`, seq(34)),
		"bad-offsets-range":   file(`{`+w+`,"bias":{"dtype":"F16","shape":[3],"data_offsets":[24,30]}}`, seq(28)),
		"bad-metadata":        file(`{"__metadata__":{"format":"pt","n":3,"nested":{"a":"b"}},`+w+`,`+bi+`}`, seq(30)),
		"bad-header-length":   append(binary.LittleEndian.AppendUint64(nil, 1<<40), `{}`...),
		"bad-json":            file(`{"weight":{"dtype":"F32",`, nil),
		"bad-trailing-data":   file(`{`+w+`,`+bi+`}`, append(seq(30), "junk"...)),
		"bad-trailing-pickle": file(`{`+w+`,`+bi+`}`, append(seq(30), pickle...)),
		"bad-zip-polyglot":    file(`{`+w+`,`+bi+`}`, append(seq(30), zipTail...)),
		"bad-data-pickle":     file(fmt.Sprintf(`{"blob":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}`, len(pickle), len(pickle)), pickle),
	}
}
