package server

import (
	"os"
	"strings"
	"testing"
)

// TestAPIDocs keeps docs/api.md true: it lists every route with its
// permission.
func TestAPIDocs(t *testing.T) {
	b, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	e := newEnv(t, nil)
	for _, rt := range e.srv.routes {
		row := "| `" + rt.Method + " " + rt.Path + "` | " + string(rt.Perm) + " |"
		if !strings.Contains(doc, row) {
			t.Errorf("docs/api.md lacks the row %q", row)
		}
	}
}
