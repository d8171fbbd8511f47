package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/aibom"
	"github.com/mlsecops/mlsec/inspect/inspecttest"
	"github.com/mlsecops/mlsec/internal/cli"
)

// mlsec runs the command line in-process.
func mlsec(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestInspectCmd(t *testing.T) {
	dir := t.TempDir()
	inspecttest.Repo(t, dir, inspecttest.RepoOptions{})
	code, out, errs := mlsec(t, "inspect", "--format", "json", "--digest", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct {
		Schema string `json:"schema"`
		Model  struct {
			Architecture string `json:"architecture"`
			Params       uint64 `json:"params"`
		} `json:"model"`
		RootDigest string `json:"root_digest"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Schema != "mlsec.inspect/v1" || rep.Model.Architecture != "LlamaForCausalLM" || rep.Model.Params == 0 || !strings.HasPrefix(rep.RootDigest, "sha256:") {
		t.Errorf("report %+v", rep)
	}
	if code, out, _ := mlsec(t, "inspect", dir); code != 0 || !strings.Contains(out, "architecture") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"inspect", filepath.Join(dir, "missing")},
		{"inspect", "--format", "xml", dir},
		{"inspect"},
	} {
		if code, _, _ := mlsec(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestBOMCmd(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	inspecttest.Repo(t, repo, inspecttest.RepoOptions{Card: "---\nlicense: my-licence\n---\n# m\n"})
	v := aibom.NewValidator()
	for _, spec := range []string{"1.6", "1.7"} {
		out := filepath.Join(dir, "bom-"+spec+".json")
		code, stdout, stderr := mlsec(t, "bom", "--spec", spec, "--output", out, "--completeness", "--serial", "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "--timestamp", "2026-01-02T03:04:05Z", repo)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(stderr, `warning: licence "my-licence" is not an SPDX licence id`) {
			t.Errorf("stderr lacks the licence warning: %s", stderr)
		}
		if !strings.HasPrefix(stdout, "completeness: ") {
			t.Errorf("completeness not printed: %q", stdout)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if got, probs, err := v.Validate(data); err != nil || got != spec {
			t.Errorf("spec %s: %v %v", spec, err, probs)
		}
		// bom validate on our own output.
		if code, stdout, _ := mlsec(t, "bom", "validate", out); code != 0 || !strings.Contains(stdout, "valid CycloneDX "+spec) {
			t.Errorf("validate: exit %d %s", code, stdout)
		}
	}
	// Reproducible with fixed serial and timestamp.
	args := []string{"bom", "--serial", "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "--timestamp", "2026-01-02T03:04:05Z", repo}
	_, a, _ := mlsec(t, args...)
	_, b, _ := mlsec(t, args...)
	if a != b || a == "" {
		t.Error("output differs between runs")
	}
	for _, f := range []string{"cyclonedx-xml", "spdx3-json"} {
		code, stdout, stderr := mlsec(t, "bom", "--format", f, repo)
		if code != 0 || len(stdout) < 100 {
			t.Errorf("%s: exit %d %s", f, code, stderr)
		}
	}
	for _, args := range [][]string{
		{"bom", "--format", "spdx2", repo},
		{"bom", "--spec", "1.5", repo},
		{"bom", "--serial", "42", repo},
		{"bom", "--timestamp", "yesterday", repo},
		{"bom", filepath.Join(dir, "missing")},
	} {
		if code, _, _ := mlsec(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestBOMValidateCmd(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	invalid := write("invalid.json", `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"model","name":"x"}]}`)
	code, stdout, _ := mlsec(t, "bom", "validate", invalid)
	if code != 1 || !strings.Contains(stdout, "/components/0/type: got 'model', want one of 'application'") {
		t.Errorf("invalid: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = mlsec(t, "bom", "validate", "--format", "json", invalid)
	var res struct {
		Valid    bool            `json:"valid"`
		Problems []aibom.Problem `json:"problems"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || code != 1 || res.Valid || len(res.Problems) == 0 || res.Problems[0].Pointer != "/components/0/type" {
		t.Errorf("json: exit %d %v %+v", code, err, res)
	}
	for _, tc := range []struct {
		file string
		code int
	}{
		{write("valid.json", `{"bomFormat":"CycloneDX","specVersion":"1.7","version":1}`), 0},
		{write("old.json", `{"bomFormat":"CycloneDX","specVersion":"1.2"}`), 2},
		{write("spdx.json", `{"spdxVersion":"SPDX-2.3"}`), 2},
		{filepath.Join(dir, "missing.json"), 2},
	} {
		if code, _, stderr := mlsec(t, "bom", "validate", tc.file); code != tc.code {
			t.Errorf("%s: exit %d, want %d (%s)", tc.file, code, tc.code, stderr)
		}
	}
}
