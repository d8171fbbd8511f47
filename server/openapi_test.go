package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOpenAPI checks the served document: every route is described with a
// unique operationId, every $ref resolves, and mutating operations name
// the roles allowed to call them.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t, nil)
	status, b, _ := e.do("", "GET", "/api/openapi.json", nil, "")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	ids := map[string]bool{}
	for _, rt := range e.srv.routes {
		op, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("route %s %s missing from the document", rt.Method, rt.Path)
			continue
		}
		id, _ := op["operationId"].(string)
		if id != rt.ID || ids[id] {
			t.Errorf("route %s %s: operationId %q (duplicate: %v)", rt.Method, rt.Path, id, ids[id])
		}
		ids[id] = true
		if rt.mutating() {
			desc, _ := op["description"].(string)
			if !strings.Contains(desc, "admin") || strings.Contains(desc, "auditor") {
				t.Errorf("%s: description %q does not name the allowed roles", rt.ID, desc)
			}
		}
		for _, p := range rt.Params {
			if p.In == "path" && !strings.Contains(rt.Path, "{"+p.Name+"}") {
				t.Errorf("%s: path parameter %s not in %s", rt.ID, p.Name, rt.Path)
			}
		}
	}
	// Every $ref points at a component.
	var walk func(v any)
	refs := 0
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				refs++
				name := strings.TrimPrefix(r, "#/components/schemas/")
				if doc.Components.Schemas[name] == nil {
					t.Errorf("unresolved $ref %s", r)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var all any
	_ = json.Unmarshal(b, &all)
	walk(all)
	if refs < 30 {
		t.Fatalf("only %d $refs", refs)
	}
	// Spot-check a generated schema against its Go type.
	art, _ := doc.Components.Schemas["Artifact"].(map[string]any)
	props, _ := art["properties"].(map[string]any)
	state, _ := props["state"].(map[string]any)
	if enum, _ := state["enum"].([]any); len(enum) != 4 {
		t.Fatalf("Artifact.state schema %v", state)
	}
	if d, _ := props["digest"].(map[string]any); d["pattern"] != "^sha256:[0-9a-f]{64}$" {
		t.Fatalf("Artifact.digest schema %v", d)
	}
}
