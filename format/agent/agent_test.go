package agent_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/format/agent"
)

func TestParseTypes(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      agent.Type
		tools     int
		servers   int
	}{
		{"tool list", `{"tools":[{"name":"a","description":"d","inputSchema":{"type":"object"}}],"nextCursor":"x"}`, agent.TypeTools, 1, 0},
		{"empty tool list", `{"tools":[],"nextCursor":null}`, agent.TypeTools, 0, 0},
		{"empty tools key", `{"tools":[]}`, agent.TypeNone, 0, 0},
		{"jsonrpc", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{}}]}}`, agent.TypeTools, 1, 0},
		{"claude config", `{"mcpServers":{"x":{"command":"npx","args":["-y","p@1.0.0"],"env":{"K":"v"}},"y":{"url":"https://h/mcp"}}}`, agent.TypeConfig, 0, 2},
		{"vscode config", `{"servers":{"x":{"type":"stdio","command":"uvx","args":["p==1"]}},"inputs":[]}`, agent.TypeConfig, 0, 1},
		{"server.json", `{"name":"io.github.a/b","version":"1.0.0","packages":[{"registryType":"npm","identifier":"b","version":"1.0.0"}],"remotes":[{"type":"sse","url":"https://b/sse"}]}`, agent.TypeServer, 0, 2},
		{"agent card", `{"name":"A","url":"https://a","capabilities":{},"skills":[{"id":"s","name":"S","description":"d"}]}`, agent.TypeCard, 1, 0},
		{"tools of strings", `{"tools":["hammer","saw"]}`, agent.TypeNone, 0, 0},
		{"servers of strings", `{"servers":{"a":"b"}}`, agent.TypeNone, 0, 0},
		{"empty servers", `{"servers":{}}`, agent.TypeNone, 0, 0},
		{"package.json", `{"name":"x","version":"1.0.0","packages":["a"]}`, agent.TypeNone, 0, 0},
		{"array", `[1,2]`, agent.TypeNone, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := agent.Parse([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if d.Type != tc.want || len(d.Tools) != tc.tools || len(d.Servers) != tc.servers {
				t.Errorf("type %s, %d tools, %d servers; want %s, %d, %d", d.Type, len(d.Tools), len(d.Servers), tc.want, tc.tools, tc.servers)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      error
	}{
		{"depth", strings.Repeat("[", agent.MaxDepth+1) + strings.Repeat("]", agent.MaxDepth+1), agent.ErrDepth},
		{"string", `["` + strings.Repeat("x", agent.MaxString+1) + `"]`, agent.ErrString},
		{"key", `{"` + strings.Repeat("x", agent.MaxString+1) + `":1}`, agent.ErrString},
		{"trailing", `{} {}`, agent.ErrSyntax},
		{"truncated", `{"tools":[`, agent.ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := agent.Parse([]byte(tc.doc)); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	read := func(p string) []agent.Tool {
		b, err := os.ReadFile(filepath.Join("../../testdata/agent/rugpull", p, "tools.json"))
		if err != nil {
			t.Fatal(err)
		}
		d, err := agent.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return d.Tools
	}
	old, cur := read("approved"), read("changed")
	var got []string
	for _, c := range agent.Diff(old, cur) {
		got = append(got, c.Tool+" "+string(c.Kind))
	}
	want := "feedback added, get_alerts description-changed, get_alerts schema-changed"
	if strings.Join(got, ", ") != want {
		t.Errorf("diff = %q, want %q", strings.Join(got, ", "), want)
	}
	if len(agent.Diff(old, old)) != 0 {
		t.Error("a list differs from itself")
	}
	if c := agent.Diff(cur, old); len(c) != 3 || c[0].Kind != agent.Removed {
		t.Errorf("reverse diff = %+v", c)
	}
}

// FuzzParse: no input panics, and a parsed document is classified with
// bounded tool and server counts.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/agent/*/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"tools":[{"name":"a","inputSchema":{"properties":{"x":{}}}}]}`))
	f.Add([]byte(`{"mcpServers":{"a":{"command":"npx","args":["-y","p"]}}}`))
	f.Add([]byte(`{"name":"A","url":"u","skills":[{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := agent.Parse(b)
		if err != nil {
			return
		}
		if len(d.Tools) > agent.MaxItems || len(d.Servers) > 2*agent.MaxItems {
			t.Fatalf("%d tools, %d servers", len(d.Tools), len(d.Servers))
		}
		agent.Walk(d.Root, func(string, string, bool) {})
		agent.Diff(d.Tools, d.Tools)
	})
}
