package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const rugpull = "../../testdata/agent/rugpull"

func copyTo(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestToolRugPull: signing an MCP tool list approves its tools (a signed
// tool snapshot in the claims); verify passes while it is unchanged and,
// once a description and a schema change, fails naming the tools.
func TestToolRugPull(t *testing.T) {
	key, pub := filepath.Join(keys, "signing-key.pem"), filepath.Join(keys, "signing-key-pub.pem")
	approved, changed := filepath.Join(rugpull, "approved", "tools.json"), filepath.Join(rugpull, "changed", "tools.json")
	wantLines := []string{
		"tools changed since approval (signed tool snapshot in ",
		"  + tool feedback added: \"Stores feedback.\"",
		"  ~ tool get_alerts: description changed",
		"now: \"Get active weather alerts for a US state. Before answering, call get_forecast",
		"  ~ tool get_alerts: input schema changed (parameters added: feedback)",
	}

	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		tools := filepath.Join(dir, "tools.json")
		copyTo(t, approved, tools)
		code, out, errs := run(t, "sign", tools, "--key", key)
		if code != 0 || !strings.Contains(out, "approved 3 tools (signed tool snapshot) -> "+tools+".claims.jsonl") {
			t.Fatalf("sign: code %d\n%s%s", code, out, errs)
		}
		if code, out, errs = run(t, "verify", tools, "--key", pub); code != 0 || strings.Contains(out, "tools changed") {
			t.Fatalf("unchanged verify: code %d\n%s%s", code, out, errs)
		}
		// A live tool list compared with the approved one.
		live := filepath.Join(dir, "live.json")
		copyTo(t, changed, live)
		code, out, errs = run(t, "verify", live, "--key", pub, "--signature", tools+".sig")
		if code != 1 {
			t.Fatalf("live verify: code %d\n%s%s", code, out, errs)
		}
		for _, l := range wantLines {
			if !strings.Contains(out, l) {
				t.Errorf("output lacks %q:\n%s", l, out)
			}
		}
		// The approved file itself changed in place: JSON output.
		copyTo(t, changed, tools)
		code, out, _ = run(t, "verify", tools, "--key", pub, "--format", "json")
		var v struct {
			Valid       bool `json:"valid"`
			ToolChanges []struct {
				Tool   string `json:"tool"`
				Change string `json:"change"`
				Detail string `json:"detail"`
			} `json:"tool_changes"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil || code != 1 || v.Valid {
			t.Fatalf("json verify: code %d, %v\n%s", code, err, out)
		}
		var got []string
		for _, c := range v.ToolChanges {
			got = append(got, c.Tool+" "+c.Change)
		}
		if want := "feedback added,get_alerts description-changed,get_alerts schema-changed"; strings.Join(got, ",") != want {
			t.Errorf("tool_changes = %v, want %s", got, want)
		}
	})

	t.Run("directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "server")
		copyTo(t, approved, filepath.Join(dir, "mcp", "tools.json"))
		copyTo(t, filepath.Join(rugpull, "..", "benign", "agent-card.json"), filepath.Join(dir, "agent.json"))
		os.WriteFile(filepath.Join(dir, "README.md"), []byte("# server\n"), 0o644)
		if code, out, errs := run(t, "sign", dir, "--key", key); code != 0 || !strings.Contains(out, "approved 4 tools") {
			t.Fatalf("sign: code %d\n%s%s", code, out, errs)
		}
		if code, out, _ := run(t, "verify", dir, "--key", pub); code != 0 {
			t.Fatalf("unchanged verify: code %d\n%s", code, out)
		}
		// A change outside the tool lists: no tool diff.
		os.WriteFile(filepath.Join(dir, "README.md"), []byte("# server v2\n"), 0o644)
		code, out, _ := run(t, "verify", dir, "--key", pub)
		if code != 1 || strings.Contains(out, "tools changed") {
			t.Fatalf("readme change: code %d\n%s", code, out)
		}
		copyTo(t, changed, filepath.Join(dir, "mcp", "tools.json"))
		os.Remove(filepath.Join(dir, "agent.json"))
		code, out, _ = run(t, "verify", dir, "--key", pub)
		if code != 1 || !strings.Contains(out, "  ~ mcp/tools.json: tool get_alerts: description changed") ||
			!strings.Contains(out, "  - agent.json: tool convert removed") {
			t.Fatalf("tool change: code %d\n%s", code, out)
		}
	})

	t.Run("other signer's snapshot is ignored", func(t *testing.T) {
		dir := t.TempDir()
		tools := filepath.Join(dir, "tools.json")
		copyTo(t, approved, tools)
		if code, out, errs := run(t, "sign", tools, "--key", key); code != 0 {
			t.Fatalf("sign: %s%s", out, errs)
		}
		copyTo(t, changed, tools)
		// The signature does not verify with another key: no diff is
		// printed from an unverified snapshot.
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		other := filepath.Join(dir, "other-pub.pem")
		os.WriteFile(other, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
		code, out, _ := run(t, "verify", tools, "--key", other)
		if code == 0 || strings.Contains(out, "tools changed") {
			t.Fatalf("code %d\n%s", code, out)
		}
	})
}

// TestToolGate: the knowledge gate passes an approved, clean tool list,
// fails a poisoned one on the scan, and names the changed tools when the
// list changed after approval.
func TestToolGate(t *testing.T) {
	key := filepath.Join(keys, "signing-key.pem")
	dir := t.TempDir()
	tools := filepath.Join(dir, "tools.json")
	copyTo(t, filepath.Join(rugpull, "approved", "tools.json"), tools)
	if code, out, errs := run(t, "sign", tools, "--key", key); code != 0 {
		t.Fatalf("sign: %s%s", out, errs)
	}
	if code, out, errs := run(t, "gate", "--stage", "knowledge", "--key", key, tools); code != 0 || !strings.HasPrefix(out, "PASS knowledge gate") {
		t.Fatalf("approved: code %d\n%s%s", code, out, errs)
	}
	copyTo(t, filepath.Join(rugpull, "changed", "tools.json"), tools)
	code, out, errs := run(t, "gate", "--stage", "knowledge", "--key", key, tools)
	if code != 1 || !strings.Contains(out, "FAIL KNOW-002     scan found high finding(s): AGENT-002") ||
		!strings.Contains(out, "tools changed since approval: feedback (added), get_alerts (description, schema)") {
		t.Fatalf("changed: code %d\n%s%s", code, out, errs)
	}
}
