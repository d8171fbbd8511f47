package lineage

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/mlsecops/mlsec/attest"
)

// Provenance states of a node.
const (
	// ProvenanceRecorded: at least one provenance names the node's inputs.
	ProvenanceRecorded = "recorded"
	// ProvenanceUnknown: no provenance was found; where the artifact came
	// from is unknown (never treated as a root of trust silently).
	ProvenanceUnknown = "unknown"
)

// Node is a node of an ancestry tree.
type Node struct {
	Digest Digest      `json:"digest"`
	Name   string      `json:"name,omitempty"`
	Paths  []string    `json:"paths,omitempty"`
	Role   attest.Role `json:"role,omitempty"` // as an input of its child
	// Provenance is ProvenanceRecorded or ProvenanceUnknown.
	Provenance string `json:"provenance"`
	Runs       []Run  `json:"runs,omitempty"`
	// Code lists source-code inputs (not artifacts in the graph).
	Code []attest.Dependency `json:"code,omitempty"`
	// Sources lists the upstream locations the artifact was taken in from
	// (mlsec intake): its origin outside the graph, by URI and the digest
	// it had there.
	Sources []attest.Dependency `json:"sources,omitempty"`
	Parents []*Node             `json:"parents,omitempty"`
	// Truncated: the node has parents beyond the requested depth.
	Truncated bool `json:"truncated,omitempty"`
	// Cycle: the node already appears above it (a malformed graph).
	Cycle bool `json:"cycle,omitempty"`
}

// Ancestry returns the ancestry tree of d: its provenance runs' inputs,
// recursively, down to depth levels (depth < 0: unlimited). Shared
// ancestors appear under each child; a cycle is cut and marked.
func Ancestry(ctx context.Context, s Store, d Digest, depth int) (*Node, error) {
	return ancestry(ctx, s, d, "", depth, map[Digest]bool{})
}

func ancestry(ctx context.Context, s Store, d Digest, role attest.Role, depth int, onPath map[Digest]bool) (*Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a, _, err := s.Artifact(ctx, d)
	if err != nil {
		return nil, err
	}
	n := &Node{Digest: d, Name: a.Name, Paths: a.Paths, Role: role, Provenance: ProvenanceUnknown}
	if onPath[d] {
		n.Cycle = true
		return n, nil
	}
	runs, err := s.Runs(ctx, d)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return n, nil
	}
	n.Provenance, n.Runs = ProvenanceRecorded, runs
	seen := map[Digest]bool{}
	var parents []attest.Dependency
	for _, r := range runs {
		for _, in := range r.Inputs {
			switch {
			case in.IsSource():
				n.Sources = append(n.Sources, in)
			case !in.IsArtifact():
				n.Code = append(n.Code, in)
			case !seen[in.Digest]:
				seen[in.Digest] = true
				parents = append(parents, in)
			}
		}
	}
	if len(parents) == 0 {
		return n, nil
	}
	if depth == 0 {
		n.Truncated = true
		return n, nil
	}
	onPath[d] = true
	defer delete(onPath, d)
	for _, in := range parents {
		p, err := ancestry(ctx, s, in.Digest, in.Role, depth-1, onPath)
		if err != nil {
			return nil, err
		}
		if p.Name == "" {
			p.Name = in.Name
		}
		n.Parents = append(n.Parents, p)
	}
	return n, nil
}

// Impacted is an artifact derived from a compromised one.
type Impacted struct {
	Digest Digest   `json:"digest"`
	Name   string   `json:"name,omitempty"`
	Paths  []string `json:"paths,omitempty"`
	// Depth is 1 for direct children.
	Depth int `json:"depth"`
	// Via is the parent through which it was first reached, and Role
	// that parent's role in the run.
	Via     Digest      `json:"via"`
	Role    attest.Role `json:"role"`
	RunType string      `json:"run_type,omitempty"`
}

// Impact lists every artifact derived, directly or transitively, from d
// (and from each of more: other identities of the same compromised input,
// such as the digest its signature recorded and the digest of what is on
// disk now), breadth first (nearest first), each once.
func Impact(ctx context.Context, s Store, d Digest, more ...Digest) ([]Impacted, error) {
	frontier := append([]Digest{d}, more...)
	seen := map[Digest]bool{}
	for _, r := range frontier {
		seen[r] = true
	}
	var out []Impacted
	for depth := 1; len(frontier) > 0; depth++ {
		var next []Digest
		var level []Impacted
		for _, p := range frontier {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			es, err := s.Children(ctx, p)
			if err != nil {
				return nil, err
			}
			for _, e := range es {
				if seen[e.Child] {
					continue
				}
				seen[e.Child] = true
				a, _, err := s.Artifact(ctx, e.Child)
				if err != nil {
					return nil, err
				}
				level = append(level, Impacted{Digest: e.Child, Name: a.Name, Paths: a.Paths,
					Depth: depth, Via: p, Role: e.Role, RunType: e.RunType})
				next = append(next, e.Child)
			}
		}
		slices.SortFunc(level, func(a, b Impacted) int {
			return cmp.Or(cmp.Compare(firstPath(a.Paths), firstPath(b.Paths)), cmp.Compare(a.Digest, b.Digest))
		})
		out = append(out, level...)
		frontier = next
	}
	return out, nil
}

func firstPath(ps []string) string {
	if len(ps) == 0 {
		return "\uffff" // unknown locations last
	}
	return ps[0]
}

// CheckAcyclic reports (wrapping attest.ErrCycle) whether recording a run
// that produced child from parents would close a cycle in s: a parent that
// is the child itself, or one whose recorded ancestry already contains the
// child. Writers of provenance call it before recording, so that a cycle is
// refused when it is written, not only cut when the graph is walked.
func CheckAcyclic(ctx context.Context, s Store, child Digest, parents []Digest) error {
	seen := map[Digest]bool{}
	var walk func(d Digest, path []Digest) error
	walk = func(d Digest, path []Digest) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if d == child {
			chain := ""
			for _, p := range append(path, d) {
				chain += " → " + p.Short()
			}
			return fmt.Errorf("%w: %s would be its own ancestor (%s%s)", attest.ErrCycle, child, child.Short(), chain)
		}
		if seen[d] {
			return nil
		}
		seen[d] = true
		runs, err := s.Runs(ctx, d)
		if err != nil {
			return err
		}
		for _, r := range runs {
			for _, in := range r.Inputs {
				if !in.IsArtifact() || in.Digest == d {
					continue
				}
				if err := walk(in.Digest, append(path, d)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, p := range parents {
		if err := walk(p, nil); err != nil {
			return err
		}
	}
	return nil
}
