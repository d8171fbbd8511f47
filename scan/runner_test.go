package scan_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
)

var fakeRules = scan.MustParseRules([]byte(`
rules:
  - id: FAKE-001
    severity: critical
    title: evil marker
    remediation: none
    mappings: [{framework: owasp-ml-2023, id: ML06}]
`))

// picklish reports FAKE-001 for every pickle containing "evil", panics on
// "panic" and fails on "fail".
type picklish struct{}

func (picklish) Name() string         { return "fake-pickle" }
func (picklish) Kinds() []format.Kind { return []format.Kind{format.Pickle} }
func (picklish) Rules() []scan.Rule   { return fakeRules }
func (picklish) Scan(ctx context.Context, in *scan.Input, s scan.Sink) error {
	b, err := io.ReadAll(io.NewSectionReader(in.R, 0, in.Size))
	if err != nil {
		return err
	}
	switch {
	case bytes.Contains(b, []byte("panic")):
		panic("boom")
	case bytes.Contains(b, []byte("fail")):
		return errors.New("cannot parse")
	case bytes.Contains(b, []byte("evil")):
		s.Report(scan.NewRuleSet(fakeRules).Finding("FAKE-001", "", "evil", int64(bytes.Index(b, []byte("evil")))))
	}
	return nil
}

// zipper hands every zip member back to the runner.
type zipper struct{}

func (zipper) Name() string { return "fake-zip" }
func (zipper) Kinds() []format.Kind {
	return []format.Kind{format.Zip, format.PyTorchZip, format.NumPyZip}
}
func (zipper) Rules() []scan.Rule { return nil }
func (zipper) Scan(ctx context.Context, in *scan.Input, s scan.Sink) error {
	zr, err := zip.NewReader(in.R, in.Size)
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if err := s.Nested(ctx, f.Name, bytes.NewReader(b), int64(len(b))); err != nil {
			if errors.Is(err, scan.ErrLimit) {
				return err
			}
			return err
		}
	}
	return nil
}

// pickleBytes is a protocol 2 pickle of the string s.
func pickleBytes(s string) []byte {
	b := []byte{0x80, 0x02, 'X'}
	b = append(b, byte(len(s)), 0, 0, 0)
	b = append(b, s...)
	return append(b, '.')
}

func zipOf(t *testing.T, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range sortedKeys(members) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(members[name])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sortedKeys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type brief struct {
	Path, Format, Status, Verdict string
	Rules                         []string
	Members                       []string
}

func summarize(res *scan.Result) []brief {
	var out []brief
	for _, a := range res.Artifacts {
		b := brief{Path: filepath.Base(a.Path), Format: string(a.Format), Status: string(a.Status), Verdict: string(a.Verdict)}
		for _, f := range a.Findings {
			b.Rules = append(b.Rules, f.RuleID+"@"+f.Location.Member)
		}
		for _, m := range a.Members {
			b.Members = append(b.Members, m.Name+":"+string(m.Format)+":"+string(m.Verdict))
		}
		out = append(out, b)
	}
	return out
}

func TestRunner(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a_clean.pkl", pickleBytes("hello"))
	write(t, dir, "b_evil.json", pickleBytes("evil")) // detected by content, not name
	write(t, dir, "c_panic.pkl", pickleBytes("panic"))
	write(t, dir, "d_fail.pkl", pickleBytes("fail"))
	write(t, dir, "e_readme.txt", []byte("just text\n"))
	write(t, dir, "e_unknown.bin", []byte("\x00\x01\x02 neither model nor inert"))
	inner := zipOf(t, map[string][]byte{"x/evil.bin": pickleBytes("evil")})
	write(t, dir, "f_nested.zip", zipOf(t, map[string][]byte{"inner.zip": inner, "ok.pkl": pickleBytes("fine")}))
	write(t, dir, "sub/g.pkl", pickleBytes("evil again"))

	r := scan.NewRunner([]scan.Detector{picklish{}, zipper{}}, scan.DefaultConfig(), scan.Options{Workers: 4})
	res, err := r.Scan(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	want := []brief{
		{Path: "a_clean.pkl", Format: "pickle", Status: "scanned", Verdict: "analysed"},
		{Path: "b_evil.json", Format: "pickle", Status: "scanned", Verdict: "analysed", Rules: []string{"FAKE-001@"}},
		{Path: "c_panic.pkl", Format: "pickle", Status: "error", Verdict: "not-analysed", Rules: []string{scan.RulePanic + "@"}},
		{Path: "d_fail.pkl", Format: "pickle", Status: "error", Verdict: "not-analysed", Rules: []string{scan.RuleParseError + "@"}},
		{Path: "e_readme.txt", Format: "text", Status: "skipped", Verdict: "inert"},
		{Path: "e_unknown.bin", Format: "unknown", Status: "skipped", Verdict: "not-analysed", Rules: []string{scan.RuleNotRecognised + "@"}},
		{Path: "f_nested.zip", Format: "zip", Status: "scanned", Verdict: "analysed", Rules: []string{"FAKE-001@inner.zip!x/evil.bin"},
			Members: []string{"inner.zip!x/evil.bin:pickle:analysed", "inner.zip:zip:analysed", "ok.pkl:pickle:analysed"}},
		{Path: "g.pkl", Format: "pickle", Status: "scanned", Verdict: "analysed", Rules: []string{"FAKE-001@"}},
	}
	if diff := cmp.Diff(want, summarize(res)); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if got := res.Artifacts[1].Findings[0]; got.Path != filepath.Join(dir, "b_evil.json") || got.Location.Offset != 7 {
		t.Errorf("finding path/offset = %q/%d", got.Path, got.Location.Offset)
	}
}

func TestRunnerLimits(t *testing.T) {
	// A zip nested ten deep with a payload at the bottom.
	data := pickleBytes("evil")
	for i := 0; i < 10; i++ {
		data = zipOf(t, map[string][]byte{fmt.Sprintf("l%d.zip", i): data})
	}
	dir := t.TempDir()
	deep := write(t, dir, "deep.zip", data)
	many := write(t, dir, "many.zip", zipOf(t, func() map[string][]byte {
		m := map[string][]byte{}
		for i := 0; i < 30; i++ {
			m[fmt.Sprintf("m%02d.pkl", i)] = pickleBytes("ok")
		}
		return m
	}()))
	for _, tc := range []struct {
		name   string
		path   string
		limits scan.Limits
		want   string
		limit  string
	}{
		{"depth", deep, scan.Limits{MaxDepth: 3}, "deeper than 3", scan.LimitMaxDepth},
		{"members", many, scan.Limits{MaxMembers: 10}, "more than 10 container members", scan.LimitMaxMembers},
		{"bytes", many, scan.Limits{MaxTotalBytes: 100}, "more than 100 bytes", scan.LimitMaxTotalBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := scan.ParseConfig(nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.limits.MaxDepth > 0 {
				cfg.Limits.MaxDepth = tc.limits.MaxDepth
			}
			if tc.limits.MaxMembers > 0 {
				cfg.Limits.MaxMembers = tc.limits.MaxMembers
			}
			if tc.limits.MaxTotalBytes > 0 {
				cfg.Limits.MaxTotalBytes = tc.limits.MaxTotalBytes
			}
			res, err := scan.NewRunner([]scan.Detector{picklish{}, zipper{}}, cfg, scan.Options{}).Scan(context.Background(), []string{tc.path})
			if err != nil {
				t.Fatal(err)
			}
			var limit []mlsec.Finding
			for _, f := range res.Findings() {
				if f.RuleID == scan.RuleLimit {
					limit = append(limit, f)
				}
			}
			if len(limit) != 1 || !strings.Contains(limit[0].Message, tc.want) || limit[0].Severity != mlsec.SeverityHigh {
				t.Errorf("limit findings = %+v, want one mentioning %q", limit, tc.want)
			}
			if a := res.Artifacts[0]; a.Verdict != scan.VerdictNotAnalysed || a.Limit != tc.limit {
				t.Errorf("verdict = %s (limit %q, %s), want not-analysed, limit %q", a.Verdict, a.Limit, a.Reason, tc.limit)
			}
		})
	}
}

func TestRunnerSymlinks(t *testing.T) {
	outside := t.TempDir()
	target := write(t, outside, "evil.pkl", pickleBytes("evil"))
	dir := t.TempDir()
	inside := write(t, dir, "real.pkl", pickleBytes("evil"))
	if err := os.Symlink(target, filepath.Join(dir, "escape.pkl")); err != nil {
		t.Skip("symlinks unsupported:", err)
	}
	if err := os.Symlink(inside, filepath.Join(dir, "alias.pkl")); err != nil {
		t.Fatal(err)
	}
	res, err := scan.NewRunner([]scan.Detector{picklish{}}, scan.DefaultConfig(), scan.Options{}).Scan(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	want := []brief{
		{Path: "alias.pkl", Format: "pickle", Status: "scanned", Verdict: "analysed", Rules: []string{"FAKE-001@"}},
		{Path: "escape.pkl", Format: "pickle", Status: "scanned", Verdict: "analysed", Rules: []string{scan.RuleSymlink + "@", "FAKE-001@"}},
		{Path: "real.pkl", Format: "pickle", Status: "scanned", Verdict: "analysed", Rules: []string{"FAKE-001@"}},
	}
	if diff := cmp.Diff(want, summarize(res)); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestRunnerDigestAndMissing(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "x.pkl", pickleBytes("hello"))
	res, err := scan.NewRunner(nil, scan.DefaultConfig(), scan.Options{Digest: true}).Scan(context.Background(), []string{p})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pickleBytes("hello"))
	if got, want := res.Artifacts[0].SHA256, hex.EncodeToString(sum[:]); got != want {
		t.Errorf("sha256 = %q, want %q", got, want)
	}
	if a := res.Artifacts[0]; a.Status != scan.StatusSkipped || a.Verdict != scan.VerdictNotAnalysed || a.Reason != "no detector for format pickle" ||
		len(a.Findings) != 1 || a.Findings[0].RuleID != scan.RuleNotRecognised || a.Findings[0].Severity != mlsec.SeverityHigh {
		t.Errorf("artifact = %+v, want skipped, not-analysed (no detector for format pickle), one high %s", a, scan.RuleNotRecognised)
	}
	_, err = scan.NewRunner(nil, scan.DefaultConfig(), scan.Options{}).Scan(context.Background(), []string{filepath.Join(dir, "missing")})
	if mlsec.ExitCode(err) != mlsec.ExitUsage || mlsec.ErrorCode(err) != mlsec.EIO {
		t.Errorf("missing path: err = %v (code %q), want an EIO error", err, mlsec.ErrorCode(err))
	}
}

func TestRunnerDeterministicOrder(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 200; i++ {
		write(t, dir, fmt.Sprintf("f%03d.pkl", i), pickleBytes(fmt.Sprintf("evil %d", i)))
	}
	var first []brief
	for run := 0; run < 3; run++ {
		res, err := scan.NewRunner([]scan.Detector{picklish{}}, scan.DefaultConfig(), scan.Options{Workers: 8}).Scan(context.Background(), []string{dir})
		if err != nil {
			t.Fatal(err)
		}
		got := summarize(res)
		if len(got) != 200 {
			t.Fatalf("got %d artifacts", len(got))
		}
		if run == 0 {
			first = got
		} else if diff := cmp.Diff(first, got); diff != "" {
			t.Fatalf("run %d differs (-first +got):\n%s", run, diff)
		}
	}
}

// TestRunnerHFCache: a cache entry's blobs are scanned once, through the
// snapshot links, not a second time under blobs/.
func TestRunnerHFCache(t *testing.T) {
	root := t.TempDir()
	entry := filepath.Join(root, "models--org--name")
	blob := write(t, entry, "blobs/0123abcd", pickleBytes("evil"))
	snap := filepath.Join(entry, "snapshots", "rev1")
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(blob, filepath.Join(snap, "model.pkl")); err != nil {
		t.Skip("symlinks unsupported:", err)
	}
	res, err := scan.NewRunner([]scan.Detector{picklish{}}, scan.DefaultConfig(), scan.Options{}).Scan(context.Background(), []string{root})
	if err != nil {
		t.Fatal(err)
	}
	want := []brief{{Path: "model.pkl", Format: "pickle", Status: "scanned", Verdict: "analysed", Rules: []string{"FAKE-001@"}}}
	if diff := cmp.Diff(want, summarize(res)); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}
