package format

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestAgentKinds(t *testing.T) {
	deepTools := `{"tools":[{"name":"a","inputSchema":` + strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200) + `}]}`
	for _, tc := range []struct {
		name, doc string
		want      Kind
	}{
		{"tool list", `{"tools":[{"name":"a","description":"d","inputSchema":{"type":"object"}}]}`, MCPTools},
		{"jsonrpc tool list", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{}}]}}`, MCPTools},
		{"claude config", `{"mcpServers":{"fs":{"command":"npx","args":["-y","x@1.0.0","/tmp"]}}}`, MCPConfig},
		{"vscode config", `{"servers":{"fs":{"type":"stdio","command":"uvx","args":["x==1.0"]}}}`, MCPConfig},
		{"server.json", `{"name":"io.github.a/b","packages":[{"registryType":"pypi","identifier":"b","version":"1.0"}]}`, MCPServer},
		{"agent card", `{"name":"A","url":"https://a.example","capabilities":{},"skills":[]}`, AgentCard},
		{"too deep but a tool list", deepTools, MCPTools},
		{"package.json", `{"name":"x","version":"1.0.0","packages":["a"],"servers":{"a":1}}`, JSON},
		{"tool names only", `{"tools":["hammer"]}`, JSON},
		{"plain", `{"a":1}`, JSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.doc)
			if got, err := DetectFile("x.json", bytes.NewReader(b), int64(len(b))); err != nil || got != tc.want {
				t.Errorf("DetectFile = %s, %v; want %s", got, err, tc.want)
			}
			claims, err := DetectAll("x.json", bytes.NewReader(b), int64(len(b)))
			if err != nil || len(claims) != 1 || claims[0].Kind != tc.want {
				t.Errorf("DetectAll = %+v, %v", claims, err)
			}
		})
	}
}

// TestAgentKindLarge: a tool list over the parse cap is still classed by
// its head, never read whole.
func TestAgentKindLarge(t *testing.T) {
	head := []byte(`{"tools":[{"name":"a","description":"d","inputSchema":{"type":"object"}}`)
	r := &padded{head: head, size: maxAgentManifest + 1}
	if got := agentKind(r, r.size, head); got != MCPTools {
		t.Errorf("agentKind = %s, want %s", got, MCPTools)
	}
	if got := agentKind(r, r.size, []byte(`{"servers":{"a":{"command":"x"}}`)); got != JSON {
		t.Errorf("agentKind of a large servers map = %s, want json", got)
	}
}

// padded is a large input that fails any read past its head.
type padded struct {
	head []byte
	size int64
}

func (p *padded) ReadAt(b []byte, off int64) (int, error) {
	if off+int64(len(b)) > int64(len(p.head)) {
		return 0, errors.New("read past the head")
	}
	return copy(b, p.head[off:]), nil
}
