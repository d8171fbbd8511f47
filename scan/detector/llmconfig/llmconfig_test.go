package llmconfig_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/llmkind"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
	"github.com/mlsecops/mlsec/scan/detector/llmconfig"
)

const fixtures = "../../../testdata/llm"

// expected reads the rule ids a fixture's name promises: "A+B_name" gives
// A and B, "ok_name" none. Files in a directory take its name.
func expected(rel string) ([]string, bool) {
	first, _, _ := strings.Cut(rel, "/")
	if i := strings.Index(rel, "/"); i >= 0 {
		rest := rel[i+1:]
		if j := strings.Index(rest, "/"); j >= 0 {
			first = rest[:j]
		} else {
			first = rest
		}
	}
	name, _, ok := strings.Cut(first, "_")
	if !ok {
		return nil, false
	}
	if name == "ok" {
		return nil, true
	}
	ids := strings.Split(name, "+")
	sort.Strings(ids)
	return ids, true
}

func detector(t *testing.T) scan.Detector {
	cfg := scan.DefaultConfig()
	cfg.Lineage.AllowedBaseModels = []string{"mistralai/*", "meta-llama/Llama-3.1-8B"}
	d, err := llmconfig.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestFixtures scans every fixture (detected by content as the runner
// does) and compares the rules reported with those its name promises.
func TestFixtures(t *testing.T) {
	d := detector(t)
	n := 0
	for _, sub := range []string{"prompts", "guardrails", "adapters"} {
		root := filepath.Join(fixtures, sub)
		err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			want, ok := expected(sub + "/" + filepath.ToSlash(rel))
			if !ok {
				t.Errorf("%s: fixture name has no expectation", rel)
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			kind, err := format.DetectFile(p, bytes.NewReader(data), int64(len(data)))
			if err != nil {
				return err
			}
			if kind != format.Text && kind != format.JSON {
				t.Errorf("%s: detected as %s", rel, kind)
				return nil
			}
			if llmkind.Classify(data).Kind == llmkind.None {
				t.Errorf("%s: not recognised as an LLM artifact", rel)
			}
			s := sinktest.New(t).Scan(d, sinktest.Input(p, data, kind))
			var got []string
			for _, r := range s.Rules() {
				r, _, _ = strings.Cut(r, "@")
				got = append(got, r)
			}
			sort.Strings(got)
			got = slices.Compact(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s/%s rules (-want +got):\n%s\nfindings: %v", sub, rel, diff, s.Findings)
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 30 {
		t.Fatalf("only %d fixtures", n)
	}
}

func TestSecretsRedacted(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "prompts/PROMPT-001_openai-key.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := sinktest.New(t).Scan(detector(t), sinktest.Input("p.json", data, format.JSON))
	if len(s.Findings) != 1 {
		t.Fatalf("findings %v", s.Findings)
	}
	f := s.Findings[0]
	if f.Location.Offset <= 0 || !bytes.HasPrefix(data[f.Location.Offset:], []byte("sk-proj-")) {
		t.Errorf("offset %d does not point at the key", f.Location.Offset)
	}
	if strings.Count(f.Message, "*") < 8 || strings.Contains(string(data), f.Message[strings.LastIndex(f.Message, " ")+1:]) {
		t.Errorf("message not redacted: %s", f.Message)
	}
}

func TestNoAllowlistNoLineageFinding(t *testing.T) {
	d, err := llmconfig.New(scan.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(fixtures, "adapters/LORA-002_other-base/adapter_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if s := sinktest.New(t).Scan(d, sinktest.Input("a.json", data, format.JSON)); len(s.Findings) != 0 {
		t.Errorf("findings without an allowlist: %v", s.Findings)
	}
}

func TestMatcher(t *testing.T) {
	m := llmconfig.NewMatcher()
	pii := []struct {
		s    string
		want []string
	}{
		{"mail jane.doe@contoso.io now", []string{"email address"}},
		{"mail support@contoso.io or x@example.com", nil},
		{"SSN 123-45-6789", []string{"US social security number"}},
		{"SSN 000-45-6789 or 666-12-3456", nil},
		{"IBAN GB82 WEST 1234 5698 7654 32", []string{"IBAN"}},
		{"IBAN GB82 WEST 1234 5698 7654 33", nil},
		{"card 4111 1111 1111 1111", []string{"payment card number"}},
		{"card 4111 1111 1111 1112", nil},
		{"order 1234567890123", nil},
		{"call +1 415 555 0100", []string{"phone number"}},
		{"version 1.2.3, 2024-05-01", nil},
	}
	for _, tt := range pii {
		var got []string
		for _, x := range m.PII(tt.s) {
			got = append(got, x.What)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("PII(%q) (-want +got):\n%s", tt.s, diff)
		}
	}
	secrets := []struct {
		s    string
		want int
	}{
		{"key sk-proj-Xk29fLq0Zr8sVb1NcTy6Hw3JmPd5Ue7Ga4Ko2Ri9Ql", 1},
		{"key sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0},
		{"AKIAIOSFODNN7EXAMPLE", 0},
		{"AKIAZ3Q7R2M9K4T8B1XW", 1},
		{"password: hunter2", 0},
		{"password: Tr0ub4dor&3xK9qLm", 1},
		{"password: ${DB_PASSWORD}", 0},
		{"postgres://app:s3cr3tP4ss@db.internal/app", 1},
		{"postgres://app:${PASS}@db/app", 0},
		{"-----BEGIN OPENSSH PRIVATE KEY-----", 1},
	}
	for _, tt := range secrets {
		if got := len(m.Secrets(tt.s)); got != tt.want {
			t.Errorf("Secrets(%q) = %d matches, want %d: %v", tt.s, got, tt.want, m.Secrets(tt.s))
		}
	}
}

func FuzzScan(f *testing.F) {
	for _, p := range []string{"prompts/PROMPT-002_pii.json", "guardrails/GUARD-003_noop.rail", "adapters/ok_pinned/adapter_config.json", "guardrails/ok_nemo/config.yml"} {
		data, err := os.ReadFile(filepath.Join(fixtures, p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	d, err := llmconfig.New(scan.DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sinktest.New(t).Scan(d, sinktest.Input("f", data, format.Text))
	})
}

// TestBenignSystemCorpus runs the detector over the text and JSON files
// installed on the machine (documentation, Python packages, /etc) and fails
// when more than 0.1 % of the recognised LLM artifacts, or any file not
// recognised as one, gets a finding. Run with MLSEC_LLMCONFIG_BENIGN=1.
func TestBenignSystemCorpus(t *testing.T) {
	if os.Getenv("MLSEC_LLMCONFIG_BENIGN") == "" {
		t.Skip("set MLSEC_LLMCONFIG_BENIGN=1")
	}
	d, err := llmconfig.New(scan.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var files, flagged, classified int
	var bytesRead int64
	for _, root := range []string{"/usr/share/doc", "/usr/lib/python3/dist-packages", "/etc", "/usr/share/nodejs", "/usr/lib/go/src"} {
		filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil || len(data) > 4<<20 {
				return nil
			}
			kind, _ := format.DetectFile(p, bytes.NewReader(data), int64(len(data)))
			if kind != format.Text && kind != format.JSON {
				return nil
			}
			files++
			if r := llmkind.Classify(data); r.Kind != llmkind.None {
				classified++
				t.Logf("%s: classified %s/%s", p, r.Kind, r.Dialect)
			}
			bytesRead += int64(len(data))
			s := sinktest.New(t).Scan(d, sinktest.Input(p, data, kind))
			if len(s.Findings) > 0 {
				flagged++
				t.Logf("%s: %s", p, s.Findings[0].Message)
			}
			return nil
		})
	}
	t.Logf("%d files, %d MB, %d classified as LLM artifacts, %d flagged", files, bytesRead>>20, classified, flagged)
	if flagged*1000 > files {
		t.Errorf("%d of %d benign files flagged", flagged, files)
	}
}

// TestLimits: a bound that stops the analysis is a not-analysed verdict,
// never a silent pass.
func TestLimits(t *testing.T) {
	rail := "<rail version=\"0.1\">\n<output>\n" + strings.Repeat("<x/>", 210_000) + "</output></rail>\n"
	s := sinktest.New(t)
	err := detector(t).Scan(t.Context(), sinktest.Input("big.rail", []byte(rail), format.Text), s)
	var na *scan.NotAnalysedError
	if !errors.As(err, &na) || na.Limit != llmconfig.LimitRAILTokens {
		t.Errorf("big RAIL: %v", err)
	}
}

// BenchmarkScan measures the detector over every fixture.
func BenchmarkScan(b *testing.B) {
	var inputs [][]byte
	filepath.WalkDir(fixtures, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() && !strings.HasSuffix(p, ".py") {
			data, _ := os.ReadFile(p)
			inputs = append(inputs, data)
		}
		return nil
	})
	d, err := llmconfig.New(scan.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, in := range inputs {
		n += int64(len(in))
	}
	b.SetBytes(n)
	for b.Loop() {
		for _, in := range inputs {
			sinktest.New(b).Scan(d, sinktest.Input("f", in, format.Text))
		}
	}
}
