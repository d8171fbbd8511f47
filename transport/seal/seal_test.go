package seal

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/transport"
)

func identity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func seal(t *testing.T, path string, r age.Recipient) []byte {
	t.Helper()
	a, err := transport.Collect(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Write(context.Background(), &buf, a, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTripDirectory(t *testing.T) {
	id := identity(t)
	src := filepath.Join(t.TempDir(), "model")
	files := map[string]string{
		"model.safetensors":  strings.Repeat("w", 200_000),
		"config.json":        "{}",
		"sub/tokenizer.json": "{\"a\":1}",
		"model.sig":          "signature",
		"claims.jsonl":       "{}\n",
		"empty":              "",
	}
	writeTree(t, src, files)
	b := seal(t, src, id.Recipient())
	dest := filepath.Join(t.TempDir(), "out")
	o, err := Open(context.Background(), bytes.NewReader(b), dest, id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(files, readTree(t, dest)); diff != "" {
		t.Errorf("landed tree (-want +got):\n%s", diff)
	}
	if !o.Header.Dir || o.Header.Name != "model" || len(o.Index.Files) != len(files) {
		t.Errorf("opened %+v", o)
	}
	roles := map[string]transport.Role{}
	for _, f := range o.Index.Files {
		roles[f.Name] = f.Role
	}
	if roles["model.sig"] != transport.RoleSignature || roles["claims.jsonl"] != transport.RoleClaims || roles["config.json"] != transport.RoleModel {
		t.Errorf("roles %v", roles)
	}
	if ents, _ := os.ReadDir(filepath.Dir(dest)); len(ents) != 1 {
		t.Errorf("left beside dest: %v", ents)
	}
}

func TestRoundTripFileWithEvidence(t *testing.T) {
	id := identity(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"m.gguf": "GGUF...", "m.gguf.sig": "sig", "m.gguf.claims.jsonl": "{}\n", "other.bin": "not carried",
	})
	b := seal(t, filepath.Join(dir, "m.gguf"), id.Recipient())
	dest := filepath.Join(t.TempDir(), "out")
	if _, err := Open(context.Background(), bytes.NewReader(b), dest, id); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"m.gguf": "GGUF...", "m.gguf.sig": "sig", "m.gguf.claims.jsonl": "{}\n"}
	if diff := cmp.Diff(want, readTree(t, dest)); diff != "" {
		t.Errorf("landed tree (-want +got):\n%s", diff)
	}
}

// Every single flipped byte, truncation or wrong key fails and leaves the
// destination untouched.
func TestTamperedBundleLandsNothing(t *testing.T) {
	id := identity(t)
	src := filepath.Join(t.TempDir(), "model")
	// Several age chunks (64 KiB each) so that flips hit the first, a
	// middle and the last chunk.
	writeTree(t, src, map[string]string{"w.bin": strings.Repeat("abcdefgh", 40_000), "model.sig": "s"})
	b := seal(t, src, id.Recipient())
	hdrEnd := bytes.Index(b, []byte("\n---")) + 50 // inside the payload nonce/first chunk
	cases := map[string][]byte{}
	for name, off := range map[string]int{
		"header stanza": 40, "header mac": hdrEnd - 10, "first chunk": hdrEnd + 100,
		"middle chunk": len(b) / 2, "last chunk": len(b) - 5, "last byte": len(b) - 1,
	} {
		c := bytes.Clone(b)
		c[off] ^= 0x01
		cases["flip "+name] = c
	}
	cases["truncated mid"] = b[:len(b)/2]
	cases["truncated at chunk boundary"] = b[:len(b)-(len(b)-hdrEnd)%65552]
	cases["truncated last byte"] = b[:len(b)-1]
	cases["appended byte"] = append(bytes.Clone(b), 0)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "out")
			_, err := Open(context.Background(), bytes.NewReader(c), dest, id)
			if err == nil {
				t.Fatal("tampered bundle opened")
			}
			if _, serr := os.Lstat(dest); !errors.Is(serr, fs.ErrNotExist) {
				t.Fatalf("dest exists after %v", err)
			}
			if ents, _ := os.ReadDir(parent); len(ents) != 0 {
				t.Fatalf("quarantine left behind: %v", ents)
			}
		})
	}
	t.Run("wrong identity", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "out")
		_, err := Open(context.Background(), bytes.NewReader(b), dest, identity(t))
		if err == nil || !strings.Contains(err.Error(), "no identity opens this bundle") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("dest not empty", func(t *testing.T) {
		dest := t.TempDir()
		writeTree(t, dest, map[string]string{"keep": "k"})
		if _, err := Open(context.Background(), bytes.NewReader(b), dest, id); err == nil {
			t.Fatal("landed over a non-empty directory")
		}
		if diff := cmp.Diff(map[string]string{"keep": "k"}, readTree(t, dest)); diff != "" {
			t.Fatal(diff)
		}
	})
}

type entry struct {
	hdr  tar.Header
	body string
}

func file(name, body string) entry {
	return entry{tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o644}, body}
}

func index(files ...entry) entry {
	var idx Index
	for _, f := range files {
		s := sha256.Sum256([]byte(f.body))
		idx.Files = append(idx.Files, IndexEntry{Name: f.hdr.Name, Size: int64(len(f.body)), SHA256: hex.EncodeToString(s[:]), Role: transport.RoleModel})
	}
	b, _ := json.Marshal(idx)
	return file(IndexName, string(b))
}

func header(dir bool, name string) entry {
	b, _ := json.Marshal(Header{Version: Version, Name: name, Dir: dir})
	return file(HeaderName, string(b))
}

// craft encrypts a hand-made tar stream: authentic to age, hostile inside.
func craft(t *testing.T, r age.Recipient, entries ...entry) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range entries {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	var out bytes.Buffer
	w, err := age.Encrypt(&out, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(tb.Bytes())
	w.Close()
	return out.Bytes()
}

func TestHostileBundles(t *testing.T) {
	id := identity(t)
	ok := file("a.bin", "a")
	bad := file("b.bin", "b")
	symlink := entry{tar.Header{Typeflag: tar.TypeSymlink, Name: "link", Linkname: "/etc/passwd"}, ""}
	for name, tc := range map[string]struct {
		entries []entry
		want    string
	}{
		"valid":              {[]entry{header(true, "m"), ok, index(ok)}, ""},
		"no header":          {[]entry{ok, index(ok)}, "first entry"},
		"traversal":          {[]entry{header(true, "m"), file("../x", "x"), index(file("../x", "x"))}, "refused"},
		"absolute":           {[]entry{header(true, "m"), file("/tmp/x", "x"), index(file("/tmp/x", "x"))}, "refused"},
		"unclean":            {[]entry{header(true, "m"), file("a/./b", "x"), index(file("a/./b", "x"))}, "refused"},
		"symlink":            {[]entry{header(true, "m"), symlink, index()}, "not a regular file"},
		"duplicate":          {[]entry{header(true, "m"), ok, ok, index(ok)}, "twice"},
		"no index":           {[]entry{header(true, "m"), ok}, "without its index"},
		"index digest wrong": {[]entry{header(true, "m"), ok, index(file("a.bin", "A"))}, "index says"},
		"index misses file":  {[]entry{header(true, "m"), ok, bad, index(ok)}, "index lists 1 files"},
		"index extra file":   {[]entry{header(true, "m"), ok, index(ok, bad)}, "index lists 2 files"},
		"after index":        {[]entry{header(true, "m"), ok, index(ok), bad}, "after the index"},
		"reserved name":      {[]entry{header(true, "m"), file(".mlsec-seal.json", "x"), index()}, "refused"},
		"file without model": {[]entry{header(false, "m.bin"), ok, index(ok)}, "does not hold its model"},
		"future version":     {[]entry{file(HeaderName, `{"version":2}`), ok, index(ok)}, "version 2"},
	} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "out")
			_, err := Open(context.Background(), bytes.NewReader(craft(t, id.Recipient(), tc.entries...)), dest, id)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBundle) {
				t.Fatalf("err %v, want ErrBundle containing %q", err, tc.want)
			}
			if ents, _ := os.ReadDir(parent); len(ents) != 0 {
				t.Fatalf("left behind: %v", ents)
			}
		})
	}
}

func TestCollectRefusesSymlink(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a": "a"})
	if err := os.Symlink("/etc/hostname", filepath.Join(src, "l")); err != nil {
		t.Skip(err)
	}
	if _, err := transport.Collect(src); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("err %v", err)
	}
}

// rawTarHeader returns a 512-byte ustar header of type typ for a body of
// n bytes (archive/tar refuses to write PAX headers by hand).
func rawTarHeader(t *testing.T, typ byte, name string, n int64) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tar.NewWriter(&b).WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: n, Mode: 0o644, Format: tar.FormatUSTAR}); err != nil {
		t.Fatal(err)
	}
	h := append([]byte(nil), b.Bytes()[:512]...)
	h[156] = typ
	copy(h[148:156], "        ")
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return h
}

func padBlock(b []byte) []byte {
	for len(b)%512 != 0 {
		b = append(b, 0)
	}
	return b
}

func paxRecord(k, v string) string {
	r := " " + k + "=" + v + "\n"
	for n := len(r); ; {
		s := fmt.Sprintf("%d%s", n, r)
		if len(s) == n {
			return s
		}
		n = len(s)
	}
}

// TestSparseBundleRefused: a PAX sparse entry of a few bytes declares 1 TiB
// (2^40) of holes, which archive/tar expands into zeros; unseal must
// refuse it before writing, not fill the disk.
func TestSparseBundleRefused(t *testing.T) {
	id := identity(t)
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	h := header(true, "m")
	tw.WriteHeader(&h.hdr)
	tw.Write([]byte(h.body))
	tw.Flush()
	raw := tb.Bytes()
	pax := paxRecord("GNU.sparse.major", "1") + paxRecord("GNU.sparse.minor", "0") +
		paxRecord("GNU.sparse.name", "a.bin") + paxRecord("GNU.sparse.realsize", "1099511627776")
	raw = append(raw, rawTarHeader(t, 'x', "PaxHeaders/a.bin", int64(len(pax)))...)
	raw = append(raw, padBlock([]byte(pax))...)
	sparseMap := padBlock([]byte("1\n1099511627775\n1\n"))
	raw = append(raw, rawTarHeader(t, '0', "a.bin", int64(len(sparseMap))+1)...)
	raw = append(raw, sparseMap...)
	raw = append(raw, padBlock([]byte("z"))...)
	raw = append(raw, make([]byte, 1024)...)
	var out bytes.Buffer
	w, err := age.Encrypt(&out, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw)
	w.Close()
	parent := t.TempDir()
	_, err = Open(context.Background(), bytes.NewReader(out.Bytes()), filepath.Join(parent, "out"), id)
	if err == nil || !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "sparse true") {
		t.Fatalf("err %v, want ErrBundle for a sparse entry", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
}
