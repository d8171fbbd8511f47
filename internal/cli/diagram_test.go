package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/internal/cli"
	"github.com/mlsecops/mlsec/lifecycle"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestDiagramCommand(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "lifecycle.svg")
	if code, _, stderr := runCLI(t, "diagram", "-o", svg); code != 0 {
		t.Fatalf("diagram: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(svg)
	if err != nil || !bytes.HasPrefix(b, []byte(`<svg xmlns="http://www.w3.org/2000/svg" id="lifecycle"`)) || !bytes.Contains(b, []byte(`data-stage="monitoring"`)) {
		t.Fatalf("diagram -o wrote %.80q (err %v)", b, err)
	}
	code, out, stderr := runCLI(t, "diagram", "--format", "png", "--variant", "llmsecops", "--scale", "1")
	if code != 0 || !strings.HasPrefix(out, "\x89PNG\r\n\x1a\n") {
		t.Fatalf("diagram --format png: exit %d, %.8q: %s", code, out, stderr)
	}
	code, out, _ = runCLI(t, "diagram", "--format", "html")
	if code != 0 || !strings.Contains(out, `<table id="stages">`) {
		t.Errorf("diagram --format html: exit %d", code)
	}
	for _, bad := range [][]string{
		{"diagram", "--variant", "devsecops"},
		{"diagram", "--format", "pdf"},
		{"diagram", "--colour", "assessment"}, // needs --pipeline
		{"diagram", "--format", "png", "--scale", "9"},
	} {
		if code, _, _ := runCLI(t, bad...); code != 2 && !(bad[1] == "--format" && bad[2] == "png" && code != 0) {
			t.Errorf("%v: exit %d, want a usage error", bad, code)
		}
	}
}

// TestDiagramPipeline: with a pipeline the figure is coloured by the
// assessment of its artifacts (ci amber: its model is not gated yet, and
// not even on disk, so AIMM L0) and shows the pipeline's role holders.
func TestDiagramPipeline(t *testing.T) {
	dir := t.TempDir()
	pl := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(pl, []byte(`apiVersion: mlsec.dev/pipeline/v1
name: demo
identities:
  - {name: alice, subject: alice@example.org}
roles:
  model-owner: [alice]
artifacts:
  - {name: model, kind: model, path: model.safetensors, stages: [ci, cd]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := lifecycle.LoadPipeline(pl); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "diagram", "--pipeline", pl)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{`data-colouring="assessment"`, `data-stage="ci" data-status="warn"`, `data-stage="data" data-status="none"`, `class="maturity" data-level="0"`, "model-owner: alice"} {
		if !strings.Contains(out, want) {
			t.Errorf("figure lacks %q", want)
		}
	}
	code, out, _ = runCLI(t, "diagram", "--pipeline", pl, "--colour", "coverage")
	if code != 0 || !strings.Contains(out, `data-stage="data" data-status="unused"`) || !strings.Contains(out, `data-stage="ci" data-status="covered"`) {
		t.Errorf("--colour coverage: exit %d; want data unused, ci covered", code)
	}
}

func TestToolsMarkdown(t *testing.T) {
	code, out, stderr := runCLI(t, "frameworks", "tools", "--format", "md")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header := "| Stage | Control | OpenSSF / Sigstore tools | Where the tools stop | What mlsec adds | mlsec commands | Closed by |"
	if !strings.Contains(out, header) {
		t.Fatalf("no table header in:\n%s", out)
	}
	stages := map[string]bool{}
	for _, l := range lines {
		if !strings.HasPrefix(l, "| ") || strings.HasPrefix(l, "| Stage") || strings.HasPrefix(l, "| ---") {
			continue
		}
		// Seven cells: eight unescaped pipes.
		if n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); n != 8 {
			t.Errorf("row with %d cell separators: %s", n, l)
		}
		stages[strings.TrimSpace(strings.Split(l, "|")[1])] = true
	}
	for _, st := range lifecycle.StageNames() {
		if !stages[st] {
			t.Errorf("no row for stage %s", st)
		}
	}
	if !strings.Contains(out, "| OPEN |") {
		t.Error("no open control in the gap table")
	}
	code, out, _ = runCLI(t, "frameworks", "tools", "--format", "html")
	if code != 0 || !strings.Contains(out, "<th>What mlsec adds</th>") {
		t.Errorf("html: exit %d", code)
	}
}
