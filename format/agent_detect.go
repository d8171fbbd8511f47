package format

import (
	"bytes"
	"errors"
	"io"

	"github.com/mlsecops/mlsec/format/agent"
)

// maxAgentManifest caps the JSON document read to recognise an agent or
// tool manifest; larger JSON stays JSON (and the rag detector's own cap
// makes it not analysed).
const maxAgentManifest = 64 << 20

// agentKind refines a JSON document into an agent or tool manifest kind
// (MCP tool list, server manifest, client configuration, A2A agent card)
// by its shape, or returns JSON. A manifest the parser gives up on (too
// deep, too many tools, an overlong string) is still classed by the keys
// in its head, so its detector reports it not analysed instead of the
// manifest checks being skipped.
func agentKind(r io.ReaderAt, size int64, head []byte) Kind {
	if size > maxAgentManifest || !agent.Sniff(head) {
		return JSON
	}
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return JSON
	}
	doc, err := agent.Parse(data)
	if err != nil {
		if errors.Is(err, agent.ErrSyntax) {
			return JSON
		}
		switch {
		case bytes.Contains(head, []byte(`"inputSchema"`)):
			return MCPTools
		case bytes.Contains(head, []byte(`"mcpServers"`)):
			return MCPConfig
		}
		return JSON
	}
	switch doc.Type {
	case agent.TypeTools:
		return MCPTools
	case agent.TypeServer:
		return MCPServer
	case agent.TypeConfig:
		return MCPConfig
	case agent.TypeCard:
		return AgentCard
	}
	return JSON
}
