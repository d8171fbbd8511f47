package mlsec_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering enforces the dependency direction of DESIGN.md: parsers and
// detectors (format/..., scan/...) import nothing from the store, queue,
// server or sigstore packages, so scanning never needs a database, network
// client or signing stack.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./format/...", "./scan/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/mlsecops/mlsec/store",
		"github.com/mlsecops/mlsec/queue",
		"github.com/mlsecops/mlsec/server",
		"github.com/mlsecops/mlsec/signing",
		"github.com/mlsecops/mlsec/internal/cli",
		"github.com/sigstore/",
		"github.com/riverqueue/",
		"github.com/jackc/",
		"modernc.org/sqlite",
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned too few packages (%d): %s", len(deps), out)
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, strings.TrimSuffix(f, "/")+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(d, f)) {
				t.Errorf("format/ or scan/ depends on %s (forbidden prefix %s)", d, f)
			}
		}
	}
}
