package agent

import (
	"encoding/json"
	"sort"
	"strings"
)

// ChangeKind says how a tool differs from its approved version.
type ChangeKind string

// Change kinds.
const (
	Added              ChangeKind = "added"
	Removed            ChangeKind = "removed"
	DescriptionChanged ChangeKind = "description-changed"
	SchemaChanged      ChangeKind = "schema-changed"
)

// Change is one difference between an approved tool list and a current
// one.
type Change struct {
	Tool string     `json:"tool"`
	Kind ChangeKind `json:"change"`
	// Old and New are the approved and current description or schema
	// (the whole text; callers shorten it for display).
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// Detail summarises a schema change by parameter ("parameters added:
	// x; changed: y"), "" when the schemas have no properties to compare.
	Detail string `json:"detail,omitempty"`
}

// Diff compares approved tools with current ones by name: tools added and
// removed, and for tools in both, a changed description (or title) and a
// changed schema. Changes come sorted by tool name, then kind.
func Diff(approved, current []Tool) []Change {
	old := map[string]Tool{}
	for _, t := range approved {
		old[t.Name] = t
	}
	cur := map[string]Tool{}
	for _, t := range current {
		cur[t.Name] = t
	}
	var out []Change
	for n, t := range cur {
		o, ok := old[n]
		if !ok {
			out = append(out, Change{Tool: n, Kind: Added, New: t.Description})
			continue
		}
		if o.Description != t.Description || o.Title != t.Title {
			out = append(out, Change{Tool: n, Kind: DescriptionChanged, Old: o.Description, New: t.Description})
		}
		if o.Schema != t.Schema {
			out = append(out, Change{Tool: n, Kind: SchemaChanged, Old: o.Schema, New: t.Schema, Detail: schemaDetail(o.Schema, t.Schema)})
		}
	}
	for n, o := range old {
		if _, ok := cur[n]; !ok {
			out = append(out, Change{Tool: n, Kind: Removed, Old: o.Description})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Tool != out[j].Tool {
			return out[i].Tool < out[j].Tool
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// schemaDetail names the parameters (inputSchema properties) added,
// removed or changed, and a changed required list.
func schemaDetail(oldSchema, newSchema string) string {
	type schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	var o, n schema
	if json.Unmarshal([]byte(oldSchema), &o) != nil || json.Unmarshal([]byte(newSchema), &n) != nil {
		return ""
	}
	var added, removed, changed []string
	for k, v := range n.Properties {
		if ov, ok := o.Properties[k]; !ok {
			added = append(added, k)
		} else if string(ov) != string(v) {
			changed = append(changed, k)
		}
	}
	for k := range o.Properties {
		if _, ok := n.Properties[k]; !ok {
			removed = append(removed, k)
		}
	}
	var parts []string
	for _, p := range []struct {
		what  string
		names []string
	}{{"parameters added", added}, {"removed", removed}, {"changed", changed}} {
		if len(p.names) > 0 {
			sort.Strings(p.names)
			parts = append(parts, p.what+": "+strings.Join(p.names, ", "))
		}
	}
	if strings.Join(o.Required, ",") != strings.Join(n.Required, ",") {
		parts = append(parts, "required: ["+strings.Join(o.Required, ", ")+"] -> ["+strings.Join(n.Required, ", ")+"]")
	}
	return strings.Join(parts, "; ")
}
