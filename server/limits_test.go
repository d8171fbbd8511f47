package server

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/store"
)

// TestListCapsMatchDocs: every list's limit cap is what docs/api.md and
// the OpenAPI parameter say: one above it is a 400, the cap itself works.
func TestListCapsMatchDocs(t *testing.T) {
	e := newEnv(t, nil)
	b, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(b)), " ")
	if !strings.Contains(doc, "maximum 1000; the audit log, `GET /api/v1/audit`, up to 10,000 per page") {
		t.Fatal("docs/api.md does not state the list caps")
	}
	for path, max := range map[string]int{
		"/api/v1/artifacts": 1000,
		"/api/v1/findings":  1000,
		"/api/v1/hubscans":  1000,
		"/api/v1/audit":     10000,
	} {
		sep := "?"
		for _, tc := range []struct {
			limit, want int
		}{{max, 200}, {max + 1, 400}} {
			if s := e.json(store.RoleAdmin, "GET", path+sep+"limit="+strconv.Itoa(tc.limit), nil, nil); s != tc.want {
				t.Errorf("%s limit=%d: %d, want %d", path, tc.limit, s, tc.want)
			}
		}
	}
	for _, rt := range e.srv.routes {
		for _, p := range rt.Params {
			if p.Name == "limit" && rt.ID == "auditLog" && !strings.Contains(p.Desc, "maximum 10000") {
				t.Errorf("OpenAPI limit of %s: %q", rt.ID, p.Desc)
			}
		}
	}
}
