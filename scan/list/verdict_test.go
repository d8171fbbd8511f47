package list_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
)

// scanAll scans paths with every detector and the default configuration.
func scanAll(t *testing.T, paths ...string) *scan.Result {
	t.Helper()
	ds, err := list.All(scan.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	res, err := scan.NewRunner(ds, scan.DefaultConfig(), scan.Options{}).Scan(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// copyTree copies the regular files under src into a new temporary
// directory and returns it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// checkSums verifies the fixtures against the SHA256SUMS their script wrote.
func checkSums(t *testing.T, sums, dir string) { checkSumsMin(t, sums, dir, 10) }

// TestHFRepoInert: the files a real Hugging Face repository holds besides
// its weights (written by sentencepiece, msgpack, LevelDB, Pillow; see
// testdata/hfrepo/gen.py) are recognised by content as inert, and the
// repository scans clean.
func TestHFRepoInert(t *testing.T) {
	repo := "../../testdata/hfrepo/repo"
	checkSums(t, "../../testdata/hfrepo/SHA256SUMS", repo)
	res := scanAll(t, repo)
	want := map[string]string{
		".gitattributes":                          "text",
		"README.md":                               "text",
		"config.json":                             "json",
		"flax_model.msgpack":                      "msgpack",
		"generation_config.json":                  "json",
		"images/card.jpg":                         "image",
		"images/card.png":                         "image",
		"merges.txt":                              "text",
		"special_tokens_map.json":                 "json",
		"tf_model/model.ckpt.data-00000-of-00001": "tf-checkpoint-data",
		"tf_model/model.ckpt.index":               "tf-checkpoint-index",
		"tokenizer.json":                          "json",
		"tokenizer.model":                         "sentencepiece",
		"tokenizer_config.json":                   "json",
		"vocab.txt":                               "text",
	}
	for _, a := range res.Artifacts {
		if len(a.Findings) > 0 {
			t.Errorf("%s: findings %v", a.Path, a.Findings)
		}
		if a.Format == "hf-repo" {
			continue
		}
		rel, _ := filepath.Rel(repo, a.Path)
		if k, ok := want[rel]; !ok || string(a.Format) != k || a.Verdict != scan.VerdictInert {
			t.Errorf("%s: %s %s (%s), want inert %s", rel, a.Verdict, a.Format, a.Reason, k)
		}
		delete(want, rel)
	}
	for rel := range want {
		t.Errorf("%s: not scanned", rel)
	}
}

// evilPickle is a protocol 2 pickle calling os.system("id").
var evilPickle = []byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")

// TestHFRepoAttacker: a payload behind an innocent repository file name, or
// an innocent-looking head, is analysed as what a loader would run, or is
// not analysed; it is never inert.
func TestHFRepoAttacker(t *testing.T) {
	zipWith := func(name string, b []byte) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create(name)
		w.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	png, err := os.ReadFile("../../testdata/hfrepo/repo/images/card.png")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := os.ReadFile("../../testdata/hfrepo/repo/tokenizer.model")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		file    string
		content []byte
		rule    string // a finding of this rule at high or above
		verdict scan.Verdict
	}{
		{"pickle as tokenizer.model", "tokenizer.model", evilPickle, "PICKLE-001", scan.VerdictAnalysed},
		{"pickle as msgpack", "flax_model.msgpack", evilPickle, "PICKLE-001", scan.VerdictAnalysed},
		{"pickle as data shard", "tf_model/model.ckpt.data-00000-of-00001", evilPickle, "PICKLE-001", scan.VerdictAnalysed},
		{"protocol 0 pickle as vocab.txt", "vocab.txt", []byte("cos\nsystem\n(S'id'\ntR."), "PICKLE-001", scan.VerdictAnalysed},
		{"image with a torch zip appended", "images/card.png", append(append([]byte(nil), png...), zipWith("archive/data.pkl", evilPickle)...), "PICKLE-001", scan.VerdictAnalysed},
		{"keras config as JSON", "config.json", []byte(`{"class_name": "Lambda", "config": {"function": "x"}}`), scan.RuleNotRecognised, scan.VerdictNotAnalysed},
		{"jsonpickle", "tokenizer.json", []byte(`{"py/reduce": [{"py/function": "os.system"}, {"py/tuple": ["id"]}]}`), scan.RuleNotRecognised, scan.VerdictNotAnalysed},
		{"JSON with trailing bytes", "tokenizer.json", []byte("{\"a\": 1}\n\x01\x02"), scan.RuleNotRecognised, scan.VerdictNotAnalysed},
		{"JSON Lines with a Keras config", "train.jsonl", []byte("{\"a\": 1}\n{\"class_name\": \"Lambda\"}\n"), scan.RuleNotRecognised, scan.VerdictNotAnalysed},
		{"truncated sentencepiece", "tokenizer.model", sp[:len(sp)-3], scan.RuleNotRecognised, scan.VerdictNotAnalysed},
		{"truncated msgpack", "flax_model.msgpack", []byte("\x81\xa6params\x82"), scan.RuleNotRecognised, scan.VerdictNotAnalysed},
		{"binary junk as vocab.txt", "vocab.txt", []byte("[PAD]\n\x00\x01\x02junk"), scan.RuleNotRecognised, scan.VerdictNotAnalysed},
		{"data shard without its index", "tf_model/model.ckpt.index", []byte("\x00\x01 not a table"), scan.RuleNotRecognised, scan.VerdictNotAnalysed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTree(t, "../../testdata/hfrepo/repo")
			if err := os.WriteFile(filepath.Join(dir, tc.file), tc.content, 0o644); err != nil {
				t.Fatal(err)
			}
			res := scanAll(t, dir)
			var bad []string
			for _, a := range res.Artifacts {
				rel, _ := filepath.Rel(dir, a.Path)
				for _, f := range a.Findings {
					bad = append(bad, rel+":"+f.RuleID)
				}
				if rel == "tf_model/model.ckpt.data-00000-of-00001" && tc.file == "tf_model/model.ckpt.index" {
					if a.Verdict != scan.VerdictNotAnalysed {
						t.Errorf("data shard beside a broken index: %s", a.Verdict)
					}
				}
				if rel != tc.file {
					continue
				}
				if a.Verdict != tc.verdict {
					t.Errorf("%s: verdict %s (%s %s), want %s", rel, a.Verdict, a.Format, a.Reason, tc.verdict)
				}
				found := false
				for _, f := range a.Findings {
					found = found || (f.RuleID == tc.rule && f.Severity >= mlsec.SeverityHigh)
				}
				if !found {
					t.Errorf("%s: findings %v, want %s at high or above", rel, a.Findings, tc.rule)
				}
			}
			t.Logf("findings: %v", bad)
		})
	}
}

// TestBenignFixturesVerdict: every bundled real-library fixture is analysed
// or inert and nothing reaches high.
func TestBenignFixturesVerdict(t *testing.T) {
	res := scanAll(t, "../../testdata/models")
	if len(res.Artifacts) < 60 {
		t.Fatalf("%d artifacts", len(res.Artifacts))
	}
	for _, a := range res.Artifacts {
		if a.Verdict != scan.VerdictAnalysed && a.Verdict != scan.VerdictInert {
			t.Errorf("%s: %s (%s)", a.Path, a.Verdict, a.Reason)
		}
		for _, f := range a.Findings {
			if f.Severity >= mlsec.SeverityMedium {
				t.Errorf("%s: %s %s", a.Path, f.RuleID, f.Message)
			}
		}
	}
}

// TestDebianONNXTreeVerdict scans Debian's ONNX test tree as a directory:
// the models are analysed, their .pb test tensors and data.json inert.
func TestDebianONNXTreeVerdict(t *testing.T) {
	const root = "/usr/share/libonnx-testdata"
	if _, err := os.Stat(root); err != nil {
		t.Skip("apt-get install libonnx-testdata:", err)
	}
	res := scanAll(t, root)
	counts := map[scan.Verdict]int{}
	for _, a := range res.Artifacts {
		counts[a.Verdict]++
		if a.Verdict == scan.VerdictNotAnalysed || len(a.Findings) > 0 {
			t.Errorf("%s: %s (%s) %v", a.Path, a.Verdict, a.Reason, a.Findings)
		}
	}
	if counts[scan.VerdictAnalysed] < 1000 || counts[scan.VerdictInert] < 1000 {
		t.Errorf("verdicts %v: want over 1000 analysed models and 1000 inert test tensors", counts)
	}
}

// TestPolyglots scans the real-library polyglots of testdata/polyglot
// (gen.py): every format a real loader accepts is analysed, and the
// polyglot itself is a high finding.
func TestPolyglots(t *testing.T) {
	dir := "../../testdata/polyglot"
	checkSumsMin(t, dir+"/SHA256SUMS", dir, 6)
	for _, tc := range []struct {
		file    string
		formats string
		rules   []string // each must fire, at high or above
	}{
		{"h5_userblock_pickle.h5", "pickle,hdf5", []string{"PICKLE-001", scan.RulePolyglot}},
		{"pickle_userblock_16k.h5", "pickle,hdf5", []string{"PICKLE-001", scan.RulePolyglot}},
		{"pickle_then_keras_h5.h5", "pickle,hdf5", []string{"KERAS-001", scan.RulePolyglot}},
		{"h5_then_zip.h5", "hdf5,pytorch-zip", []string{"ZIP-003", scan.RulePolyglot}},
		{"npy_then_zip.npy", "npy,pytorch-zip", []string{"PICKLE-001", scan.RulePolyglot}},
		{"safetensors_then_zip.safetensors", "safetensors,pytorch-zip", []string{"SAFETENSORS-010", scan.RulePolyglot}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			res := scanAll(t, filepath.Join(dir, tc.file))
			a := res.Artifacts[0]
			var fs []string
			for _, k := range a.Formats {
				fs = append(fs, string(k))
			}
			if strings.Join(fs, ",") != tc.formats || a.Verdict != scan.VerdictAnalysed {
				t.Errorf("formats %v, verdict %s; want %s, analysed", fs, a.Verdict, tc.formats)
			}
			for _, rule := range tc.rules {
				found := false
				for _, f := range a.Findings {
					found = found || (f.RuleID == rule && f.Severity >= mlsec.SeverityHigh)
				}
				if !found {
					t.Errorf("no %s at high or above in %v", rule, a.Findings)
				}
			}
		})
	}
}

func checkSumsMin(t *testing.T, sums, dir string, min int) {
	t.Helper()
	b, err := os.ReadFile(sums)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < min {
		t.Fatalf("%s lists %d files", sums, len(lines))
	}
	for _, l := range lines {
		want, name, _ := strings.Cut(l, "  ")
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != want {
			t.Errorf("%s: sha256 differs from %s", name, sums)
		}
	}
}
