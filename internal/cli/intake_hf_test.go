package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/transport/hfhub"
	"github.com/mlsecops/mlsec/transport/hfhub/hubtest"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../testdata/models", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newFixtureHub(t *testing.T) *hubtest.Hub {
	h := hubtest.New(t)
	h.Files = map[string][]byte{
		"config.json":              fixture(t, "config.json"),
		"model.safetensors":        fixture(t, "model.safetensors"),
		"tokenizer/tokenizer.json": []byte(`{"version":"1.0"}`),
	}
	t.Setenv("HF_ENDPOINT", h.URL())
	t.Setenv("HF_TOKEN", "")
	return h
}

func quarantined(t *testing.T, dir string) []string {
	t.Helper()
	var q []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".mlsec-quarantine") {
			q = append(q, e.Name())
		}
	}
	return q
}

func TestIntakeHF(t *testing.T) {
	h := newFixtureHub(t)
	dir := t.TempDir()
	priv, pub := pullKeyPair(t, dir, "org")
	out := filepath.Join(dir, "tiny")
	r := mlsecRun(t, "intake", "hf://acme/tiny@v1.0", "--out", out, "--key", priv)
	if r.code != 0 {
		t.Fatalf("intake: %+v", r)
	}
	source := h.URL() + "/acme/tiny/tree/" + hubtest.Commit
	if !strings.Contains(r.stdout, "from "+source) || !strings.Contains(r.stderr, "v1.0 pinned to "+hubtest.Commit) {
		t.Errorf("intake output: %+v", r)
	}
	for name, want := range h.Files {
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s not landed intact: %v", name, err)
		}
	}
	if r := mlsecRun(t, "verify", "--key", pub, "--signature", filepath.Join(out, "model.sig"), out); r.code != 0 {
		t.Errorf("verify the re-signed model: %+v", r)
	}
	claims, _ := os.ReadFile(filepath.Join(out, "claims.jsonl"))
	if n := bytes.Count(claims, []byte("\n")); n != 2 {
		t.Errorf("claims: %d lines, want intake provenance and the VSA", n)
	}
	if q := quarantined(t, dir); len(q) != 0 {
		t.Errorf("quarantine left: %v", q)
	}
}

func TestIntakeHFRefuses(t *testing.T) {
	t.Run("content differs from the hub's sha256", func(t *testing.T) {
		h := newFixtureHub(t)
		tampered := fixture(t, "model.safetensors")
		tampered[len(tampered)-1] ^= 1
		h.Served["model.safetensors"] = tampered
		dir := t.TempDir()
		priv, _ := pullKeyPair(t, dir, "org")
		out := filepath.Join(dir, "tiny")
		r := mlsecRun(t, "intake", "hf://acme/tiny", "--out", out, "--key", priv)
		if r.code != 1 || !strings.Contains(r.stderr, "does not match the hub's hash") {
			t.Fatalf("intake: %+v", r)
		}
		assertUntouched(t, out)
	})
	t.Run("malicious file: intake fails, stays quarantined", func(t *testing.T) {
		h := newFixtureHub(t)
		h.Files["pytorch_model.pkl"] = []byte("cos\nsystem\n(S'echo pwned'\ntR.")
		dir := t.TempDir()
		priv, _ := pullKeyPair(t, dir, "org")
		out := filepath.Join(dir, "tiny")
		r := mlsecRun(t, "intake", "hf://acme/tiny", "--out", out, "--key", priv)
		if r.code != 1 || !strings.Contains(r.stderr, "stays quarantined") {
			t.Fatalf("intake: %+v", r)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s landed", out)
		}
		q := quarantined(t, dir)
		if len(q) != 1 {
			t.Fatalf("quarantine %v", q)
		}
		if _, err := os.Stat(filepath.Join(dir, q[0], "tiny", "claims.jsonl")); err != nil {
			t.Errorf("failed decision not recorded in quarantine: %v", err)
		}
	})
	t.Run("gated", func(t *testing.T) {
		h := newFixtureHub(t)
		h.Gated, h.Token = true, "hf_ok"
		dir := t.TempDir()
		priv, _ := pullKeyPair(t, dir, "org")
		out := filepath.Join(dir, "tiny")
		r := mlsecRun(t, "intake", "hf://acme/tiny", "--out", out, "--key", priv)
		if r.code != 2 || !strings.Contains(r.stderr, "HF_TOKEN") {
			t.Fatalf("intake without token: %+v", r)
		}
		assertUntouched(t, out)
		t.Setenv("HF_TOKEN", "hf_ok")
		if r := mlsecRun(t, "intake", "hf://acme/tiny", "--out", out, "--key", priv); r.code != 0 {
			t.Fatalf("intake with token: %+v", r)
		}
	})
	t.Run("--source with hf://", func(t *testing.T) {
		newFixtureHub(t)
		dir := t.TempDir()
		priv, _ := pullKeyPair(t, dir, "org")
		r := mlsecRun(t, "intake", "hf://acme/tiny", "--source", "https://x", "--out", filepath.Join(dir, "o"), "--key", priv)
		if r.code != 2 || !strings.Contains(r.stderr, "drop --source") {
			t.Fatalf("%+v", r)
		}
	})
}

// TestIntakeHFDataset: hf://datasets/ORG/NAME takes a dataset in through the
// hub's dataset endpoints; it is recorded as kind dataset (in the intake
// provenance and the gate decision), gated at the data stage, its source is
// the pinned dataset URL, and it lands in --out.
func TestIntakeHFDataset(t *testing.T) {
	h := newFixtureHub(t)
	h.Repo, h.Type = "acme/reviews", hfhub.TypeDataset
	h.Files = map[string][]byte{
		"README.md":             []byte("---\nlicense: cc-by-4.0\n---\n# reviews\n"),
		"data/train.jsonl":      []byte(`{"text":"good product","label":1}` + "\n" + `{"text":"bad product","label":0}` + "\n"),
		"data/validation.jsonl": []byte(`{"text":"fine","label":1}` + "\n"),
	}
	h.LFS = map[string]bool{"data/train.jsonl": true}
	dir := t.TempDir()
	priv, pub := pullKeyPair(t, dir, "org")
	out := filepath.Join(dir, "reviews")
	r := mlsecRun(t, "intake", "hf://datasets/acme/reviews@v1.0", "--out", out, "--key", priv)
	if r.code != 0 {
		t.Fatalf("intake: %+v", r)
	}
	source := h.URL() + "/datasets/acme/reviews/tree/" + hubtest.Commit
	for _, want := range []string{"from " + source} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q: %+v", want, r)
		}
	}
	if !strings.Contains(r.stderr, "downloaded datasets/acme/reviews@") {
		t.Errorf("stderr: %s", r.stderr)
	}
	for name, want := range h.Files {
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s not landed intact: %v", name, err)
		}
	}
	if r := mlsecRun(t, "verify", "--key", pub, "--signature", filepath.Join(out, "model.sig"), out); r.code != 0 {
		t.Errorf("verify the re-signed dataset: %+v", r)
	}
	// The claims name it a dataset: the intake provenance's kind parameter
	// and the decision's stage.
	claims, _ := os.ReadFile(filepath.Join(out, "claims.jsonl"))
	payloads := decodePayloads(t, claims)
	if !strings.Contains(payloads, `"kind":"dataset"`) || !strings.Contains(payloads, `"source":"`+source+`"`) {
		t.Errorf("claims do not record kind dataset and the source:\n%s", payloads)
	}
	if !strings.Contains(payloads, `"data"`) {
		t.Errorf("decision not at the data stage:\n%s", payloads)
	}
	if r := mlsecRun(t, "intake", "hf://spaces/acme/demo", "--out", filepath.Join(dir, "demo"), "--key", priv); r.code != 2 || !strings.Contains(r.stderr, "a Space is an application") {
		t.Errorf("intake of a Space: %+v", r)
	}
}

// decodePayloads returns the decoded DSSE payloads of a claims file, one a
// line.
func decodePayloads(t *testing.T, claims []byte) string {
	t.Helper()
	var out []string
	for _, line := range bytes.Split(bytes.TrimSpace(claims), []byte("\n")) {
		var b struct {
			DSSE struct {
				Payload string `json:"payload"`
			} `json:"dsseEnvelope"`
		}
		if err := json.Unmarshal(line, &b); err != nil {
			t.Fatalf("claim line: %v", err)
		}
		p, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
		if err != nil {
			t.Fatalf("claim payload: %v", err)
		}
		out = append(out, string(p))
	}
	return strings.Join(out, "\n")
}
