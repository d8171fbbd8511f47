package scancli_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/internal/scancli"
)

// TestLeanImportGraph keeps cmd/mlsec-scan lean: the stacks whose package
// initialisation dominates mlsec's start-up must not be linked.
func TestLeanImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../../cmd/mlsec-scan").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/mlsecops/mlsec/internal/cli", "github.com/mlsecops/mlsec/aibom", "github.com/mlsecops/mlsec/signing",
		"github.com/mlsecops/mlsec/policy", "github.com/mlsecops/mlsec/server", "github.com/mlsecops/mlsec/store",
		"github.com/sigstore/", "cel.dev/", "github.com/santhosh-tekuri/jsonschema", "github.com/asaskevich/govalidator",
		"github.com/piprate/json-gold", "modernc.org/sqlite", "github.com/jackc/pgx", "github.com/riverqueue/", "google.golang.org/grpc",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("cmd/mlsec-scan links %s", dep)
			}
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "notes.txt")
	evil := filepath.Join(dir, "evil.pkl")
	if err := os.WriteFile(clean, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(evil, []byte("cposix\nsystem\n(S'id'\ntR."), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{clean}, mlsec.ExitOK},
		{[]string{evil}, 1},
		{[]string{"--format", "json", evil, clean}, 1},
		{[]string{"--bogus", clean}, 2},
		{[]string{filepath.Join(dir, "missing")}, 2},
	} {
		var stdout, stderr bytes.Buffer
		if got := scancli.Run(context.Background(), "mlsec-scan", tc.args, &stdout, &stderr); got != tc.code {
			t.Errorf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, got, tc.code, stdout.String(), stderr.String())
		}
	}
}
