package agent_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/llmkind"
)

// TestAgreesWithLLMKind: the scanner's content recognition (format kinds
// mcp-tools, mcp-server, mcp-config, a2a-agent-card) and llmkind's (used by
// inspect and bom) name the same fixtures the same way.
func TestAgreesWithLLMKind(t *testing.T) {
	want := map[format.Kind]llmkind.Kind{
		format.MCPTools: llmkind.MCPManifest, format.MCPServer: llmkind.MCPManifest,
		format.MCPConfig: llmkind.MCPManifest, format.AgentCard: llmkind.A2AAgentCard,
	}
	files, _ := filepath.Glob(filepath.Join(fixtures, "*", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		k, err := format.DetectFile(p, bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if got := llmkind.Classify(b).Kind; got != want[k] {
			t.Errorf("%s: format %s, llmkind %q (want %q)", p, k, got, want[k])
		}
	}
}
