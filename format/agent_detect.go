package format

import (
	"bytes"
	"errors"
	"io"

	"github.com/mlsecops/mlsec/format/agent"
)

// maxAgentManifest caps the JSON document parsed to recognise an agent or
// tool manifest (the agent detector's own cap). A larger document is
// classed by the keys in its head alone, so the detector reports it not
// analysed.
const maxAgentManifest = 16 << 20

// agentKind refines a JSON document into an agent or tool manifest kind
// (MCP tool list, server manifest, client configuration, A2A agent card)
// by its shape, or returns JSON. A manifest the parser gives up on (too
// deep, too many tools, an overlong string) is still classed by the keys
// in its head, so its detector reports it not analysed instead of the
// manifest checks being skipped.
func agentKind(r io.ReaderAt, size int64, head []byte) Kind {
	if !agent.Sniff(head) {
		return JSON
	}
	if size > maxAgentManifest {
		return agentKindOfHead(head)
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
		return agentKindOfHead(head)
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

// agentKindOfHead classes a manifest the parser could not read to the end
// by unmistakable keys in its head; anything else stays JSON.
func agentKindOfHead(head []byte) Kind {
	switch {
	case bytes.Contains(head, []byte(`"inputSchema"`)):
		return MCPTools
	case bytes.Contains(head, []byte(`"mcpServers"`)):
		return MCPConfig
	}
	return JSON
}
