package agent_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/mlsecops/mlsec/scan/detector/agent"
)

// BenchmarkCheckDocument checks a tool list of 1,000 realistic tools
// (about 0.5 MB): parse, every string through the rag matchers, and the
// tool checks.
func BenchmarkCheckDocument(b *testing.B) {
	var tools []map[string]any
	for i := range 1000 {
		tools = append(tools, map[string]any{
			"name":        fmt.Sprintf("get_record_%d", i),
			"description": "Returns one record of the inventory by its identifier, with the owner, the location and the last audit date. Use list_records to find identifiers.",
			"inputSchema": map[string]any{"type": "object", "required": []string{"id"}, "properties": map[string]any{
				"id":     map[string]any{"type": "string", "description": "Record identifier, e.g. INV-2024-0042"},
				"fields": map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "Fields to return; all when empty"},
			}},
		})
	}
	doc, err := json.Marshal(map[string]any{"tools": tools})
	if err != nil {
		b.Fatal(err)
	}
	c := agent.NewChecker()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := c.CheckDocument(doc); err != nil {
			b.Fatal(err)
		}
	}
}
