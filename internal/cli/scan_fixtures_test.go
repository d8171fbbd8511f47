package cli_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/mlsecops/mlsec/format/pickle/pickletest"
	"github.com/mlsecops/mlsec/format/zip/ziptest"
	"github.com/mlsecops/mlsec/internal/cli"
)

// scanFixture is one hostile file scanned through the whole CLI path
// (content detection, runner, every registered detector, exit code).
type scanFixture struct {
	name string
	// file is written under name; its extension is deliberately
	// misleading in places (detection is by content).
	file string
	data []byte
	// rules must all appear; "RULE@member" also pins the member.
	rules []string
}

// evilP0 is the classic protocol 0 os.system pickle.
func evilP0() []byte { return pickletest.New(-1).Call("os", "system", "id").Stop().Bytes() }

func npyObject(payload []byte) []byte {
	h := "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
	h += strings.Repeat(" ", 63-(10+len(h))%64) + "\n"
	b := binary.LittleEndian.AppendUint16([]byte("\x93NUMPY\x01\x00"), uint16(len(h)))
	return append(append(b, h...), payload...)
}

func tarOf(t *testing.T, members ...[2][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: string(m[0]), Mode: 0o644, Size: int64(len(m[1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(m[1])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compressWith(t *testing.T, kind string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	var err error
	switch kind {
	case "zlib":
		w = zlib.NewWriter(&buf)
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "xz":
		w, err = xz.NewWriter(&buf)
	case "lzma":
		w, err = lzma.NewWriter(&buf)
	case "zstd":
		w, err = zstd.NewWriter(&buf)
	default:
		t.Fatalf("compressor %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// evilBz2 is bz2.compress(b"cos\nsystem\n(S'id'\ntR.") from Python: Go has
// no bzip2 writer. It is evilP0 compressed.
const evilBz2 = "425a68393141592653591f2f22a5000004d380001000c118000e228c2020002221a1b44f298a600028bc8e0424b8257e99358bb9229c28480f97915280"

// hostileFixtures covers the techniques of the scanner issue's sections
// 3–5 end to end, and the published bypasses of other scanners
// (picklescan, ModelScan, fickling advisories and issues), each built here
// in Go.
func hostileFixtures(t *testing.T) []scanFixture {
	evil := evilP0()
	bz2, _ := hex.DecodeString(evilBz2)
	var fx []scanFixture
	add := func(name, file string, data []byte, rules ...string) {
		fx = append(fx, scanFixture{name: name, file: file, data: data, rules: rules})
	}

	// §3 opcodes and stack machine.
	for p := 0; p <= 5; p++ {
		proto := p
		if p < 2 {
			proto = -1
		}
		add("global-reduce-p"+string(rune('0'+p)), "m.pkl", pickletest.New(proto).Call("os", "system", "id").Stop().Bytes(), "PICKLE-001")
	}
	add("inst", "m.pkl", pickletest.New(-1).Mark().Str("id").Inst("subprocess", "getoutput").Stop().Bytes(), "PICKLE-001")
	add("obj", "m.pkl", pickletest.New(1).Mark().Global("subprocess", "Popen").Str("id").Obj().Stop().Bytes(), "PICKLE-001")
	add("newobj", "m.pkl", pickletest.New(2).Global("subprocess", "Popen").Str("id").Tuple1().NewObj().Stop().Bytes(), "PICKLE-001")
	add("newobj-ex", "m.pkl", pickletest.New(4).GlobalStr("posix", "system").Str("id").Tuple1().EmptyDict().NewObjEx().Stop().Bytes(), "PICKLE-001")
	add("build-setstate-unknown-class", "m.pkl", pickletest.New(2).Global("evil.module", "Gadget").EmptyTuple().NewObj().EmptyDict().Build().Stop().Bytes(), "PICKLE-002")
	{
		b := pickletest.New(4).Str("os").Memoize().Str("collections").Str("OrderedDict").Pop().Pop()
		b.Str("system").BinPut(7).Mark().Str("builtins").Str("set").PopMark().BinGet(0).BinGet(7)
		add("stack-global-memo-decoys", "m.pkl", b.StackGlobal().Str("id").Tuple1().Reduce().Stop().Bytes(), "PICKLE-001")
	}
	add("walk-tempfile-os", "m.pkl", pickletest.New(4).GlobalStr("tempfile", "_os.system").Str("id").Tuple1().Reduce().Stop().Bytes(), "PICKLE-001")
	add("walk-eval-call", "m.pkl", pickletest.New(4).GlobalStr("builtins", "eval.__call__").Str("1").Tuple1().Reduce().Stop().Bytes(), "PICKLE-001")
	add("py2-builtin", "m.pkl", pickletest.New(2).Call("__builtin__", "eval", "1").Stop().Bytes(), "PICKLE-001")
	add("computed-operand", "m.pkl", pickletest.New(4).Call("builtins", "str", "os").Str("system").StackGlobal().Stop().Bytes(), "PICKLE-003")
	add("ext1", "m.pkl", pickletest.New(2).Ext1(1).Stop().Bytes(), "PICKLE-003")
	{
		b := pickletest.New(4)
		fr := b.BeginFrame()
		b.Str("x").Pop()
		b.EndFrame(fr)
		fr2 := b.BeginFrame()
		b.Call("os", "system", "id").Stop()
		b.PatchFrame(fr2, 3)
		add("lying-frame", "m.pkl", b.Bytes(), "PICKLE-006", "PICKLE-001")
	}
	add("second-pickle", "m.pkl", pickletest.New(2).Str("ok").Stop().Then(2).Call("os", "system", "id").Stop().Bytes(), "PICKLE-001")
	add("truncated-after-reduce", "m.pkl", pickletest.New(2).Call("os", "system", "id").Bytes(), "PICKLE-001", "PICKLE-007")
	{
		inner := pickletest.New(2).Call("os", "system", "id").Stop().Bytes()
		b := pickletest.New(4).GlobalStr("pickle", "loads").BinBytes(inner).Tuple1().Reduce().Stop()
		add("nested-pickle-loads", "m.pkl", b.Bytes(), "PICKLE-005")
		b = pickletest.New(2).Global("torch.storage", "_load_from_bytes").BinBytes(inner).Tuple1().Reduce().Stop()
		add("torch-load-from-bytes", "m.pkl", b.Bytes(), "PICKLE-001")
	}
	{
		b := pickletest.New(2)
		for i := 0; i <= 100_000; i++ { // the default stack cap is 100,000
			b.Mark()
		}
		add("mark-depth-cap", "m.pkl", b.Stop().Bytes(), "PICKLE-008")
	}

	// §4 policy: unknown globals are high, scanner modules critical.
	add("unknown-global", "m.pkl", pickletest.New(2).Global("__main__", "Evil").EmptyTuple().NewObj().Stop().Bytes(), "PICKLE-002")
	add("scanner-module", "m.pkl", pickletest.New(2).Global("picklescan.scanner", "scan_pickle_bytes").Stop().Bytes(), "PICKLE-001")

	// §5 containers.
	zipOf := func(files ...ziptest.File) []byte { return ziptest.Archive{Files: files}.Bytes() }
	add("torch-zip-any-root", "w.bin", zipOf(ziptest.File{Name: "anything/data.pkl", Data: evil, Method: 8}), "PICKLE-001@anything/data.pkl")
	add("zip-pickle-other-name", "w.pt", zipOf(ziptest.File{Name: "archive/data.pkl", Data: pickletest.New(2).EmptyDict().Stop().Bytes()}, ziptest.File{Name: "archive/version", Data: evil}), "PICKLE-001@archive/version")
	add("zip-crc-mismatch", "w.pt", zipOf(ziptest.File{Name: "archive/data.pkl", Data: evil, BadCRC: true}), "ZIP-001", "PICKLE-001@archive/data.pkl")
	add("zip-encryption-flag", "w.pt", zipOf(ziptest.File{Name: "archive/data.pkl", Data: evil, Flags: 1}), "ZIP-004", "PICKLE-001@archive/data.pkl")
	add("zip-name-mismatch", "w.pt", zipOf(ziptest.File{Name: "archive/data.pkl", LocalName: "archive/other.pkl", Data: evil}), "ZIP-002", "PICKLE-001")
	add("zip-prepended", "w.pt", ziptest.Archive{Prepend: []byte("junk before the archive"), Files: []ziptest.File{{Name: "archive/data.pkl", Data: evil}}}.Bytes(), "ZIP-003", "PICKLE-001")
	add("zip64", "w.pt", ziptest.Archive{Zip64: true, Files: []ziptest.File{{Name: "archive/data.pkl", Data: evil}}}.Bytes(), "PICKLE-001@archive/data.pkl")
	add("zip-duplicate-names", "w.pt", zipOf(ziptest.File{Name: "archive/data.pkl", Data: pickletest.New(2).EmptyDict().Stop().Bytes()}, ziptest.File{Name: "archive/data.pkl", Data: evil}), "ZIP-008", "PICKLE-001")
	{
		inner := zipOf(ziptest.File{Name: "deep/evil.pkl", Data: evil, Method: 8})
		add("zip-nested", "w.zip", zipOf(ziptest.File{Name: "inner.zip", Data: inner}), "PICKLE-001@inner.zip!deep/evil.pkl")
		// 16 MiB of a pickle-looking stream deflated ~1000:1.
		bomb := zipOf(ziptest.File{Name: "bomb.pkl", Data: append([]byte("\x80\x02X"), make([]byte, 16<<20)...), Method: 8})
		add("zip-bomb", "w.zip", bomb, "ZIP-013")
	}
	add("npy-object", "a.npy", npyObject(evil), "PICKLE-001")
	add("npz-object", "a.npz", zipOf(ziptest.File{Name: "x.npy", Data: npyObject(evil)}), "PICKLE-001@x.npy![pickle]")
	{
		empty := pickletest.New(2).EmptyList().Stop().Bytes()
		add("torch-legacy-tar", "m.tar", tarOf(t,
			[2][]byte{[]byte("sys_info"), pickletest.New(2).EmptyDict().Stop().Bytes()},
			[2][]byte{[]byte("pickle"), evil},
			[2][]byte{[]byte("storages"), empty},
			[2][]byte{[]byte("tensors"), empty}), "PICKLE-001@pickle")
		b := pickletest.New(2).Long("0x1950a86a20f9469cfc6c").Stop()
		b.Then(2).BinInt2(1001).Stop().Then(2).EmptyDict().Stop()
		b.Then(2).Call("os", "system", "id").Stop().Then(2).EmptyList().Stop()
		add("torch-legacy-stream", "m.pt", b.Bytes(), "PICKLE-001")
	}
	for _, c := range []string{"zlib", "gzip", "xz", "lzma", "zstd"} {
		add("joblib-"+c, "m.joblib", compressWith(t, c, evil), "PICKLE-001")
	}
	add("joblib-bz2", "m.joblib", bz2, "PICKLE-001")

	// Published bypasses of other scanners.
	// picklescan CVE-2025-10155 / ModelScan: a pickle behind a non-pickle
	// extension is skipped by extension-based scanners.
	for _, name := range []string{"model.bin", "config.json", "model.safetensors", "notes.txt"} {
		add("ext-"+name, name, evil, "PICKLE-001")
	}
	// A headerless pickle opening with a decoy string longer than the
	// detection head: CPython reads it and runs what follows.
	{
		decoyed := append(pickletest.New(-1).BinUnicode(strings.Repeat("A", 100_000)).Pop().Bytes(), evil...)
		add("long-decoy-string", "m.pkl", decoyed, "PICKLE-001")
		add("long-decoy-string-in-zip", "w.pt", zipOf(ziptest.File{Name: "archive/data.pkl", Data: decoyed, Method: 8}), "PICKLE-001@archive/data.pkl")
		text := append(pickletest.New(-1).String0(strings.Repeat("A", 100_000)).Pop().Bytes(), evil...)
		add("long-decoy-text-string", "m.pkl", text, "PICKLE-001")
		for _, c := range []string{"zlib", "gzip", "lzma", "xz", "zstd"} {
			add("long-decoy-joblib-"+c, "m.joblib", compressWith(t, c, decoyed), "PICKLE-001")
		}
	}
	// Polyglots: a file with GGUF or TFLite magic that pickle.load (and
	// torch.load's legacy path) runs as a pickle.
	add("polyglot-gguf", "m.gguf", []byte("GGUF\x03\x00\x00\x00\x000cos\nsystem\n(S'id'\ntR."), "PICKLE-001")
	add("polyglot-tflite", "m.tflite", []byte("U\x06xxTFL30cos\nsystem\n(S'id'\ntR."), "PICKLE-001")
	// The copyreg extension registry as an import trampoline: register
	// os.system under code 1, then EXT1 imports it with no GLOBAL.
	{
		b := pickletest.New(2).Global("copyreg", "add_extension").Mark().Str("os").Str("system").BinInt1(1).Tuple().Reduce().Pop()
		b.Ext1(1).Str("id").Tuple1().Reduce().Stop()
		add("copyreg-extension-trampoline", "m.pkl", b.Bytes(), "PICKLE-001", "PICKLE-003")
	}
	// picklescan CVE-2025-1716: pip.main as the callable.
	add("cve-2025-1716-pip-main", "m.pkl", pickletest.New(2).Call("pip", "main", "install").Stop().Bytes(), "PICKLE-001")
	// picklescan CVE-2025-10157: a submodule of a denied module.
	add("cve-2025-10157-asyncio-submodule", "m.pkl", pickletest.New(4).GlobalStr("asyncio.unix_events", "_UnixSubprocessTransport._start").Stop().Bytes(), "PICKLE-001")
	// picklescan GHSA-vvpj-8cmc-gx39: pkgutil.resolve_name trampoline.
	add("pkgutil-resolve-name", "m.pkl", pickletest.New(2).Call("pkgutil", "resolve_name", "os:system").Str("id").Tuple1().Reduce().Stop().Bytes(), "PICKLE-001")
	// picklescan #14: PUT/BINPUT and MEMOIZE mixed so a linear memo model
	// believes memo[0] holds a safe name.
	{
		b := pickletest.New(4).BinString("os").BinPut(0).BinString("system").BinPut(1)
		b.Str("torch._utils").Memoize().Str("_rebuild_tensor_v2").Memoize().Pop().Pop().Pop().Pop()
		b.BinGet(0).BinGet(1).StackGlobal().Str("id").Tuple1().Reduce().Stop()
		add("picklescan-14-memo-confusion", "m.pkl", b.Bytes(), "PICKLE-001")
	}
	// picklescan GHSA-9gvj-pp9x-gcfr: STACK_GLOBAL operands as text STRING.
	add("ghsa-9gvj-string-operands", "m.pkl", pickletest.New(-1).String0("os").String0("system").StackGlobal().String0("ls").Tuple1().Reduce().Stop().Bytes(), "PICKLE-001")
	// picklescan #52: a scanner that crashes on a missing memo key or a
	// non-string STACK_GLOBAL operand must still report what ran before.
	add("memo-keyerror", "m.pkl", pickletest.New(4).Call("os", "system", "id").Pop().ShortBinUnicode("os").Memoize().BinGet(3).BinGet(0).StackGlobal().BinInt1(0x42).Stop().Bytes(), "PICKLE-001")
	add("type-confusion", "m.pkl", pickletest.New(4).Call("os", "system", "id").Pop().BinInt(42).Memoize().ShortBinUnicode("os").Memoize().BinGet(0).BinGet(1).StackGlobal().Stop().Bytes(), "PICKLE-001")
	// picklescan GHSA-97f8-7cmv-76j2: legacy magic number made by eval.
	{
		b := pickletest.New(2).Call("builtins", "eval", "0x1950A86A20F9469CFC6C").Stop()
		b.Then(2).BinInt2(1001).Stop().Then(2).EmptyDict().Stop().Then(2).EmptyList().Stop()
		b.Then(2).Call("os", "system", "id").Stop().Then(2).None().Stop()
		add("ghsa-97f8-legacy-magic-eval", "m.pt", b.Bytes(), "PICKLE-001")
	}
	// ModelScan #85: BUILD sets attributes on an allowed global, and a
	// GLOBAL of those attributes feeds STACK_GLOBAL through the memo.
	{
		b := pickletest.New(4).Global("numpy", "prod").None().Mark().Unicode("a").Unicode("os").Dict().Tuple2().Build()
		b.None().Mark().Unicode("b").Unicode("system").Dict().Tuple2().Build().Pop()
		b.Global("numpy", "prod.a").Put(0).Global("numpy", "prod.b").Put(1).Pop().Pop()
		b.Get(0).Get(1).StackGlobal().Unicode("echo pwned").Tuple1().Reduce().Stop()
		add("modelscan-85-build-setattr", "m.pkl", b.Bytes(), "PICKLE-003")
	}
	// fickling: a call whose result is POPped vanishes from an AST-based
	// decompiler, and the pickle then looks like a plain value.
	add("fickling-pop-call", "m.pkl", pickletest.New(2).Call("subprocess", "getoutput", "id").Pop().EmptyDict().Stop().Bytes(), "PICKLE-001")
	// picklescan GHSA-9726-w42j-3qjr, GHSA-m7j5-r2p5-c39r, GHSA-9m3x-qqw2-h32h.
	add("io-fileio", "m.pkl", pickletest.New(2).Call("_io", "FileIO", "/etc/passwd").Stop().Bytes(), "PICKLE-001")
	add("logging-filehandler", "m.pkl", pickletest.New(2).Call("logging", "FileHandler", "/tmp/x").Stop().Bytes(), "PICKLE-001")
	add("types-codetype", "m.pkl", pickletest.New(2).Global("types", "CodeType").Stop().Bytes(), "PICKLE-001")
	add("cloudpickle-make-function", "m.pkl", pickletest.New(2).Global("cloudpickle.cloudpickle", "_make_function").Stop().Bytes(), "PICKLE-001")
	return fx
}

type jsonReport struct {
	Artifacts []struct {
		Path     string `json:"path"`
		Findings []struct {
			RuleID   string `json:"rule_id"`
			Severity string `json:"severity"`
			Location struct {
				Member string `json:"member"`
			} `json:"location"`
		} `json:"findings"`
	} `json:"artifacts"`
}

// TestScanHostileFixturesCLI scans each hostile fixture through the CLI
// at default settings: exit 1 and the expected rule(s).
func TestScanHostileFixturesCLI(t *testing.T) {
	for _, fx := range hostileFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, fx.file)
			if err := os.WriteFile(path, fx.data, 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := cli.Run(context.Background(), []string{"scan", "--format", "json", path}, nil, &stdout, &stderr)
			if code != 1 {
				t.Errorf("exit %d, want 1; stderr: %s", code, stderr.String())
			}
			var rep jsonReport
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("bad JSON: %v\n%s", err, stdout.String())
			}
			got := map[string]bool{}
			for _, a := range rep.Artifacts {
				for _, f := range a.Findings {
					got[f.RuleID] = true
					got[f.RuleID+"@"+f.Location.Member] = true
				}
			}
			for _, r := range fx.rules {
				if !got[r] {
					t.Errorf("missing %s; report:\n%s", r, stdout.String())
				}
			}
		})
	}
}
