package agent

import "sort"

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
			out = append(out, Change{Tool: n, Kind: SchemaChanged, Old: o.Schema, New: t.Schema})
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
