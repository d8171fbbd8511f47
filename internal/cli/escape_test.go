package cli

import (
	"encoding/json"
	"testing"
)

func TestEscapeText(t *testing.T) {
	for in, want := range map[string]string{
		"org/model":         "org/model",
		"模型 🙂":              "模型 🙂",
		"a\x1b[2Jb":         `a\x1b[2Jb`,
		"a\nb\tc\x00":       `a\x0ab\x09c\x00`,
		"a\u202egpj.exe":    `a\u202egpj.exe`,
		"a\u009bb":          `a\u009bb`,
		"a\x7fb":            `a\x7fb`,
		"a\xffb":            `a\xffb`,
		`back\slash`:        `back\\slash`,
		`not\x1b an escape`: `not\\x1b an escape`,
	} {
		if got := escapeText(in); got != want {
			t.Errorf("escapeText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJSONSafe(t *testing.T) {
	v := map[string]string{"actor": "token:x\u202e\u009b\x7f\x1b"}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out := jsonSafe(b)
	want := `{"actor":"token:x\u202e\u009b\u007f\u001b"}`
	if string(out) != want {
		t.Fatalf("jsonSafe = %s, want %s", out, want)
	}
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil || back["actor"] != v["actor"] {
		t.Fatalf("round trip: %v %q", err, back)
	}
}
