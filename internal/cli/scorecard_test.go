package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/transport/hfhub/hubtest"
)

// TestScorecardCommand checks the command's formats and exit codes: 0
// without --min-score, 1 below it, 2 on usage errors.
func TestScorecardCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	st, err := os.ReadFile(filepath.Join("..", "..", "format", "safetensors", "testdata", "valid-all-dtypes.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), st, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := mlsec(t, "scorecard", dir)
	if code != 0 || !strings.Contains(out, "Aggregate score:") || !strings.Contains(out, "Safetensors-Only") {
		t.Fatalf("table: code %d\n%s\n%s", code, out, stderr)
	}
	code, out, _ = mlsec(t, "scorecard", "--format", "json", dir)
	var doc struct {
		Score  float64 `json:"score"`
		Checks []struct {
			Name  string `json:"name"`
			Score int    `json:"score"`
		} `json:"checks"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Checks) == 0 {
		t.Fatalf("json: code %d\n%s", code, out)
	}
	if code, _, _ := mlsec(t, "scorecard", "--min-score", "9.5", dir); code != 1 {
		t.Errorf("unsigned repo with --min-score 9.5: exit %d, want 1", code)
	}
	if code, _, _ := mlsec(t, "scorecard", "--min-score", "0", dir); code != 0 {
		t.Errorf("--min-score 0: exit %d, want 0", code)
	}
	for _, args := range [][]string{
		{"scorecard", "--format", "xml", dir},
		{"scorecard", "--min-score", "11", dir},
		{"scorecard", filepath.Join(dir, "model.safetensors")},
		{"scorecard", filepath.Join(dir, "missing")},
	} {
		if code, _, _ := mlsec(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestScorecardHub scores a repository of the local test hub: the revision
// is pinned and printed, the JSON names the hub repository and commit, and
// hub errors keep their exit codes.
func TestScorecardHub(t *testing.T) {
	newFixtureHub(t)
	code, out, stderr := mlsec(t, "scorecard", "--format", "json", "hf://acme/tiny@v1.0")
	if code != 0 || !strings.Contains(stderr, "v1.0 pinned to "+hubtest.Commit) {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	var doc struct {
		Repo struct {
			Name   string `json:"name"`
			Commit string `json:"commit"`
		} `json:"repo"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Repo.Name != "hf://acme/tiny" || doc.Repo.Commit != hubtest.Commit {
		t.Errorf("repo %+v (%v)\n%s", doc.Repo, err, out)
	}
	code, out, _ = mlsec(t, "scorecard", "hf://acme/tiny")
	if code != 0 || !strings.Contains(out, "Repository: hf://acme/tiny\nCommit: "+hubtest.Commit) {
		t.Errorf("table: exit %d\n%s", code, out)
	}
	for _, tc := range []struct {
		arg  string
		code int
	}{{"hf://acme/missing", 2}, {"hf://acme/tiny@nope", 2}, {"hf://../x", 2}} {
		if code, _, stderr := mlsec(t, "scorecard", tc.arg); code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.arg, code, tc.code, stderr)
		}
	}
}
