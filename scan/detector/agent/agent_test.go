package agent_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/agent"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
)

const fixtures = "../../../testdata/agent"

func ruleSet(s *sinktest.Sink) string {
	seen := map[string]bool{}
	var out []string
	for _, f := range s.Findings {
		if !seen[f.RuleID] {
			seen[f.RuleID] = true
			out = append(out, f.RuleID)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "+")
}

func manifestKind(k format.Kind) bool {
	switch k {
	case format.MCPTools, format.MCPServer, format.MCPConfig, format.AgentCard:
		return true
	}
	return false
}

// TestFixtures scans every generated fixture: each poisoned manifest gets
// exactly the rules its name lists, each benign one none.
func TestFixtures(t *testing.T) {
	d := sinktest.Detector(t, agent.New)
	for _, sub := range []string{"poisoned", "benign"} {
		files, err := filepath.Glob(filepath.Join(fixtures, sub, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no fixtures in %s (run python3 testdata/agent/gen.py): %v", sub, err)
		}
		for _, p := range files {
			t.Run(sub+"/"+filepath.Base(p), func(t *testing.T) {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				kind, err := format.DetectFile(p, bytes.NewReader(b), int64(len(b)))
				if err != nil || !manifestKind(kind) {
					t.Fatalf("detected as %s (%v), want an agent manifest kind", kind, err)
				}
				s := sinktest.New(t).Scan(d, sinktest.Input(p, b, kind))
				want := ""
				if sub == "poisoned" {
					parts := strings.SplitN(filepath.Base(p), "-", 3)
					want = parts[0] + "-" + parts[1]
				}
				if got := ruleSet(s); got != want {
					t.Errorf("rules = %q, want %q; findings: %+v", got, want, s.Findings)
				}
			})
		}
	}
}

// TestFixtureSums checks the committed fixtures against SHA256SUMS.
func TestFixtureSums(t *testing.T) {
	sums, err := os.ReadFile(filepath.Join(fixtures, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		b, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		if hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s: sha256 differs from SHA256SUMS", name)
		}
	}
}

func TestCheck(t *testing.T) {
	c := agent.NewChecker()
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"empty config", `{"mcpServers": {}}`, ""},
		{"pinned npx", `{"mcpServers": {"a": {"command": "npx", "args": ["-y", "@scope/pkg@1.2.3"]}}}`, ""},
		{"range npx", `{"mcpServers": {"a": {"command": "npx", "args": ["-y", "@scope/pkg@^1.2.3"]}}}`, agent.RuleUnpinned},
		{"npx --package", `{"mcpServers": {"a": {"command": "npx", "args": ["--package=pkg", "pkg-bin"]}}}`, agent.RuleUnpinned},
		{"pnpm dlx pinned", `{"mcpServers": {"a": {"command": "pnpm", "args": ["dlx", "pkg@2.0.0"]}}}`, ""},
		{"uvx from pinned", `{"mcpServers": {"a": {"command": "uvx", "args": ["--from", "pkg==1.0.1", "pkg-server"]}}}`, ""},
		{"docker digest", `{"mcpServers": {"a": {"command": "docker", "args": ["run", "-i", "--rm", "-e", "X", "img@sha256:abcd"]}}}`, ""},
		{"docker latest", `{"mcpServers": {"a": {"command": "docker", "args": ["run", "-i", "img:latest"]}}}`, agent.RuleUnpinned},
		{"docker host net", `{"mcpServers": {"a": {"command": "docker", "args": ["run", "--network", "host", "img:1.0"]}}}`, agent.RuleNetwork},
		{"env wildcard", `{"mcpServers": {"a": {"command": "node", "args": ["s.js"], "env": {"ALLOWED_HOSTS": "*"}}}}`, agent.RuleNetwork},
		{"home tilde", `{"mcpServers": {"a": {"command": "node", "args": ["s.js", "~"]}}}`, agent.RuleFSRoot},
		{"windows home", `{"mcpServers": {"a": {"command": "node", "args": ["s.js", "C:\\Users\\bob"]}}}`, agent.RuleFSRoot},
		{"project dir", `{"mcpServers": {"a": {"command": "node", "args": ["s.js", "/home/bob/src/app", "/tmp"]}}}`, ""},
		{"env reference", `{"mcpServers": {"a": {"command": "node", "args": ["s.js"], "env": {"API_KEY": "${API_KEY}", "DB_PASSWORD_FILE": "/run/secrets/db"}}}}`, ""},
		{"env literal", `{"mcpServers": {"a": {"command": "node", "args": ["s.js"], "env": {"DB_PASSWORD": "hunter2hunter2"}}}}`, agent.RuleSecret},
		{"placeholder", `{"mcpServers": {"a": {"command": "node", "args": ["s.js"], "env": {"API_KEY": "<your-api-key>"}}}}`, ""},
		{"token flag", `{"mcpServers": {"a": {"command": "node", "args": ["s.js", "--api-key", "a8f3k2l9q0w7e6r5"]}}}`, agent.RuleSecret},
		{"https remote", `{"mcpServers": {"a": {"url": "https://mcp.example.com/sse"}}}`, ""},
		{"http remote", `{"mcpServers": {"a": {"url": "http://mcp.example.com/sse"}}}`, agent.RulePlainHTTP},
		{"http loopback", `{"mcpServers": {"a": {"url": "http://127.0.0.1:3000/mcp"}}}`, ""},
		{"shell by description", `{"tools": [{"name": "helper", "description": "Executes arbitrary shell commands.", "inputSchema": {"type": "object"}}]}`, agent.RuleShell},
		{"refresh is no shell", `{"tools": [{"name": "refresh_cache", "description": "Refreshes the cache.", "inputSchema": {"type": "object"}}]}`, ""},
		{"camel shell", `{"tools": [{"name": "runShellCommand", "description": "Runs a command.", "inputSchema": {"type": "object"}}]}`, agent.RuleShell},
		{"ordinary reference", `{"tools": [{"name": "get_page", "description": "Fetches a page. Use search_docs first to find its id.", "inputSchema": {"type": "object"}}, {"name": "search_docs", "description": "Searches.", "inputSchema": {"type": "object"}}]}`, ""},
		{"tag in property name", "{\"tools\": [{\"name\": \"a_b\", \"inputSchema\": {\"type\": \"object\", \"properties\": {\"x\U000E0041\U000E0042\U000E0043\": {}}}}]}", agent.RuleSmuggling},
		{"aws mention is benign", `{"tools": [{"name": "s3_list", "description": "Lists buckets. Reads AWS credentials from ~/.aws/credentials or the environment.", "inputSchema": {"type": "object"}}]}`, ""},
		{"card with auth list", `{"name": "A", "url": "https://a.example", "skills": [], "authentication": {"schemes": ["Bearer"]}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is, err := c.CheckDocument([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			var got []string
			for _, i := range is {
				if !seen[i.Rule] {
					seen[i.Rule] = true
					got = append(got, i.Rule)
				}
			}
			sort.Strings(got)
			if g := strings.Join(got, "+"); g != tc.want {
				t.Errorf("rules = %q, want %q (%+v)", g, tc.want, is)
			}
		})
	}
}

func TestNotAnalysed(t *testing.T) {
	d := sinktest.Detector(t, agent.New)
	deep := `{"tools": [{"name": "a", "description": "x", "inputSchema": ` + strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200) + `}]}`
	var many strings.Builder
	many.WriteString(`{"tools": [`)
	for i := 0; i < 4097; i++ {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`{"name": "t", "description": "d"}`)
	}
	many.WriteString(`]}`)
	long := `{"tools": [{"name": "a", "description": "` + strings.Repeat("a", 256<<10+1) + `"}]}`
	for _, tc := range []struct {
		name  string
		in    *scan.Input
		limit string
	}{
		{"too large", &scan.Input{Path: "big.json", R: bytes.NewReader(nil), Size: agent.MaxDocumentBytes + 1, Kind: format.MCPTools}, agent.LimitDocumentBytes},
		{"too deep", sinktest.Input("deep.json", []byte(deep), format.MCPTools), agent.LimitJSONDepth},
		{"too many tools", sinktest.Input("many.json", []byte(many.String()), format.MCPTools), agent.LimitItems},
		{"description too long", sinktest.Input("long.json", []byte(long), format.MCPTools), agent.LimitString},
		{"broken", sinktest.Input("broken.json", []byte(`{"tools": [`), format.MCPTools), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.Scan(context.Background(), tc.in, sinktest.New(t))
			var na *scan.NotAnalysedError
			if !errors.As(err, &na) || na.Limit != tc.limit {
				t.Fatalf("err = %v, want not analysed with limit %q", err, tc.limit)
			}
		})
	}
}

// TestRunnerVerdict: manifests are picked by content and end analysed,
// with findings; their limits still make them not analysed.
func TestRunnerVerdict(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tools.txt"), []byte(`{"tools":[{"name":"get_time","description":"Current time.","inputSchema":{"type":"object"}}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "cfg"), []byte(`{"mcpServers":{"fs":{"command":"npx","args":["-y","fs-server@1.0.0","/"]}}}`), 0o644)
	res, err := scan.NewRunner([]scan.Detector{sinktest.Detector(t, agent.New)}, scan.DefaultConfig(), scan.Options{}).Scan(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range res.Artifacts {
		var ids []string
		for _, f := range a.Findings {
			ids = append(ids, f.RuleID)
		}
		got[filepath.Base(a.Path)] = string(a.Format) + " " + string(a.Verdict) + " " + strings.Join(ids, ",")
	}
	want := map[string]string{"tools.txt": "mcp-tools analysed ", "cfg": "mcp-config analysed " + agent.RuleFSRoot}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
}
