package pickle

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/format/pickle/pickletest"
)

func TestSniffAcceptsRealPickles(t *testing.T) {
	for _, path := range fixtures(t) {
		if strings.HasSuffix(path, ".pt") {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !Sniff(data) {
			t.Errorf("%s: Sniff = false", path)
		}
		// detection sees only a head of the file
		if len(data) > 64 && !Sniff(data[:64]) {
			t.Errorf("%s: Sniff(head[:64]) = false", path)
		}
	}
	// every text fixture is protocol 0/1, i.e. has no PROTO header
	texts, _ := filepath.Glob("testdata/*.p[01]")
	if len(texts) < 6 {
		t.Fatalf("text fixtures missing: %v", texts)
	}
	for _, p := range texts {
		data, _ := os.ReadFile(p)
		if data[0] == 0x80 || !sniffText(data) {
			t.Errorf("%s: not accepted as a text pickle", p)
		}
	}
}

func TestSniffCrafted(t *testing.T) {
	yes := map[string][]byte{
		"none":           []byte("N."),
		"global":         pickletest.New(0).Global("os", "system").Stop().Bytes(),
		"empty dict p1":  []byte("}q\x00."),
		"truncated head": []byte("(dp0\nVkey_that_is_very_long_and_cut"),
		"string":         pickletest.New(0).String0("a'b").Stop().Bytes(),
		"proto 2":        {0x80, 0x02},
		// CPython never checks opcodes against the protocol: a stream
		// without PROTO may use protocol 2–5 opcodes and still runs.
		"no PROTO, SHORT_BINUNICODE arg": []byte("cos\nsystem\n(\x8c\x02idtR."),
		"no PROTO, STACK_GLOBAL":         []byte("\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R."),
		"no PROTO, OBJ + BINUNICODE":     []byte("(csubprocess\nPopen\n\x8c\x02ido."),
		// Printable, protocol 1 opcodes, but it imports: still a pickle.
		"printable p1 import":  []byte("cmycompany.layers\nBlock\n)R."),
		"printable extra item": []byte("cos\nsystem\n(S'id'\ntRN."),
	}
	for name, data := range yes {
		if !Sniff(data) {
			t.Errorf("%s: Sniff(%q) = false, want true", name, data)
		}
	}
	no := map[string]string{
		"empty":       "",
		"json object": `{"a": 1, "b": [1, 2]}`,
		"json array":  `[1, 2, 3]`,
		"csv":         "a,b,c\n1,2,3\n",
		"csv numbers": "1,2,3\n4,5,6\n",
		"text":        "Hello world.\n",
		"text S":      "Some text. More.",
		"text I":      "It was a dark night.",
		"text lower":  "lorem ipsum dolor sit amet.",
		"parens":      "(this is prose)",
		"markdown":    "# Title\n\nbody.",
		// Real texts that used to decode as a few opcodes by chance
		// (git's RelNotes, apt's preferences example).
		"git relnotes":    "GIT v1.5.2.1 Release Notes\n==========================\n\nFixes since v1.5.2\n",
		"apt preferences": "Package:  *\nPin:  release a=stable\nPin-Priority:  500\n\nPackage:  *\n",
		"yaml":            "key: value\nother: 2\n",
		"python":          "import os\nos.system('id')\n",
		"int line":        "I12\n",
		"stop only":       ".",
		"dots":            "...",
		"K then junk":     "K\x01\x00\x00",
		"proto 9":         "\x80\x09",
		"xml":             "<?xml version=\"1.0\"?><a/>",
		"tab data":        "c\td\n",
	}
	for name, data := range no {
		if Sniff([]byte(data)) {
			t.Errorf("%s: Sniff(%q) = true, want false", name, data)
		}
	}
}

// TestSniffAtLeadingDecoy: a pickle may open with a string longer than
// the detection head; CPython reads it and runs what follows, so SniffAt
// must look past it. Non-pickles whose head breaks the same way stay out.
func TestSniffAtLeadingDecoy(t *testing.T) {
	evil := pickletest.New(-1).Call("os", "system", "id").Stop().Bytes()
	big := strings.Repeat("A", 100_000)
	yes := map[string][]byte{
		"BINUNICODE":       append(pickletest.New(-1).BinUnicode(big).Pop().Bytes(), evil...),
		"BINBYTES":         append(pickletest.New(-1).BinBytes([]byte(big)).Pop().Bytes(), evil...),
		"BINSTRING":        append(pickletest.New(-1).BinString(big).Pop().Bytes(), evil...),
		"BINUNICODE8":      append(pickletest.New(-1).BinUnicode8(big).Pop().Bytes(), evil...),
		"STRING":           append(pickletest.New(-1).String0(big).Pop().Bytes(), evil...),
		"UNICODE":          append(pickletest.New(-1).Unicode(big).Pop().Bytes(), evil...),
		"MARK then string": append(pickletest.New(-1).Mark().BinUnicode(big).PopMark().Bytes(), evil...),
		"two decoys":       append(pickletest.New(-1).BinUnicode(big).Pop().BinBytes([]byte(big)).Pop().Bytes(), evil...),
	}
	for name, data := range yes {
		if Sniff(data[:8192]) {
			t.Fatalf("%s: the head alone already sniffs; the test proves nothing", name)
		}
		if !SniffAt(bytes.NewReader(data), int64(len(data)), data[:8192]) {
			t.Errorf("%s: SniffAt = false, want true", name)
		}
	}
	no := map[string][]byte{
		"declared length past EOF": append([]byte("X\xff\xff\x00\x00"), big[:9000]...),
		"text, long first line":    []byte("Version " + big + "\nmore text\n"),
		"S without quote":          []byte("Some " + big + "\nN0N0N."),
		"decoy then prose":         append(pickletest.New(-1).BinUnicode(big).Bytes(), "hello world"...),
	}
	for name, data := range no {
		if SniffAt(bytes.NewReader(data), int64(len(data)), data[:min(8192, len(data))]) {
			t.Errorf("%s: SniffAt = true, want false", name)
		}
	}
}

// TestSniffAtPaddedOperands: CPython's number parsers skip whitespace and
// leading zeros however long they are, and every leading opcode whose value
// is popped is a decoy. Whatever pickle.load parses, SniffAt must walk to
// the program, and Analyze must see its imports (issue 11).
func TestSniffAtPaddedOperands(t *testing.T) {
	evil := pickletest.New(-1).Call("os", "system", "id").Stop().Bytes()
	pad := func(n int, c string) string { return strings.Repeat(c, n) }
	big := 17 << 20 // past the old 16 MiB line limit
	many := pickletest.New(-1)
	for i := 0; i < 20_000; i++ {
		many.None().Pop()
	}
	manyStrings := pickletest.New(-1)
	for i := 0; i < 40; i++ {
		manyStrings.BinUnicode(pad(10_000, "x")).Pop()
	}
	yes := map[string][]byte{
		"INT spaces":         append(pickletest.New(-1).Int(pad(big, " ")+"1").Pop().Bytes(), evil...),
		"INT zeros":          append(pickletest.New(-1).Int(pad(20_000, "0")+"7").Pop().Bytes(), evil...),
		"INT trailing space": append(pickletest.New(-1).Int("1"+pad(20_000, " ")).Pop().Bytes(), evil...),
		"LONG zeros":         append(pickletest.New(-1).Long(pad(20_000, "0")+"1L").Pop().Bytes(), evil...),
		"LONG spaces":        append(pickletest.New(-1).Long(pad(20_000, " ")+"1").Pop().Bytes(), evil...),
		"FLOAT zeros":        append(pickletest.New(-1).Float(pad(20_000, "0")+"1.5").Pop().Bytes(), evil...),
		"FLOAT digits":       append(pickletest.New(-1).Float("1."+pad(20_000, "5")).Pop().Bytes(), evil...),
		"INT many digits":    append(pickletest.New(-1).Int("1"+pad(20_000, "2")).Pop().Bytes(), evil...),
		"PUT padded":         append(pickletest.New(-1).None().RawString("p"+pad(20_000, "0")+"1\n").Pop().Bytes(), evil...),
		"UNICODE > 16 MiB":   append(pickletest.New(-1).Unicode(pad(big, "u")).Pop().Bytes(), evil...),
		"STRING > 16 MiB":    append(pickletest.New(-1).String0(pad(big, "s")).Pop().Bytes(), evil...),
		"20k decoy opcodes":  append(many.Bytes(), evil...),
		"40 decoy strings":   append(manyStrings.Bytes(), evil...),
		"junk byte":          append([]byte{0xff}, pickletest.New(2).Call("os", "system", "id").Stop().Bytes()...),
		"junk text byte":     append([]byte("#"), evil...),
	}
	for name, data := range yes {
		head := data[:min(len(data), 8192)]
		if Sniff(head) && name != "20k decoy opcodes" {
			t.Fatalf("%s: the head alone already sniffs; the test proves nothing", name)
		}
		if !SniffAt(bytes.NewReader(data), int64(len(data)), head) {
			t.Errorf("%s: SniffAt = false, want true", name)
			continue
		}
		an, err := Analyze(context.Background(), bytes.NewReader(data), int64(len(data)), Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		found := false
		for _, imp := range an.Imports {
			found = found || imp.Module == "os" && imp.Name == "system"
		}
		if !found {
			t.Errorf("%s: Analyze does not see os.system: %+v", name, an.Imports)
		}
	}
	no := map[string][]byte{
		"digits then prose":   []byte("I" + pad(20_000, "1") + "\nhello world\n"),
		"spaces then prose":   []byte("I" + pad(20_000, " ") + "x\n"),
		"junk then proto 2":   append([]byte("\x00\x01\x80\x02"), pad(9000, "\x00")...),
		"junk then text":      []byte("#!/bin/sh\necho (dp0\n"),
		"binary then pop run": append([]byte{0xff}, pad(100, "0")...),
	}
	for name, data := range no {
		if SniffAt(bytes.NewReader(data), int64(len(data)), data[:min(8192, len(data))]) {
			t.Errorf("%s: SniffAt = true, want false", name)
		}
	}
}

// TestSniffPrefixDecoys: a compressed stream's inflated head may end inside
// any decoy operand; SniffPrefix keeps it for the whole-stream check.
func TestSniffPrefixDecoys(t *testing.T) {
	for name, head := range map[string]string{
		"INT spaces":   "I" + strings.Repeat(" ", 600),
		"FLOAT zeros":  "F" + strings.Repeat("0", 600),
		"many decoys":  strings.Repeat("N0", 300),
		"long decoy":   "X\x00\x00\x01\x00" + strings.Repeat("a", 600),
		"PUT after N":  "Np" + strings.Repeat("0", 600),
		"LONG digits":  "L" + strings.Repeat("9", 600),
		"UNICODE line": "V" + strings.Repeat("v", 600),
	} {
		if !SniffPrefix([]byte(head)) {
			t.Errorf("%s: SniffPrefix = false", name)
		}
	}
	for name, head := range map[string]string{
		"prose":  "Hello world, this is prose.",
		"json":   `{"a": 1}`,
		"binary": "\x00\x01\x02\x03",
	} {
		if SniffPrefix([]byte(head)) {
			t.Errorf("%s: SniffPrefix = true", name)
		}
	}
}
