// Package lineage builds the lineage graph of models and datasets from
// their SLSA provenance (dataset → run → model; base model → fine-tune →
// quantized or converted model) and answers the questions incident
// response and verifiers ask of it: where did this model come from
// (Ancestry), what was derived from this compromised artifact (Impact),
// and does every link of this model's chain verify (VerifyChain).
//
// Queries run over a Store, a small interface: the in-memory MemStore,
// filled from an evidence directory by IndexDir, implements it today; a
// database-backed store can implement it for the server.
package lineage

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/mlsecops/mlsec/attest"
)

// Digest identifies an artifact: its OMS root digest.
type Digest = attest.Digest

// Artifact is a node of the graph: an artifact known by digest.
type Artifact struct {
	Digest Digest   `json:"digest"`
	Name   string   `json:"name,omitempty"`
	Paths  []string `json:"paths,omitempty"` // where the evidence shows it
}

// Run is one recorded provenance: the run that produced Child from Inputs.
type Run struct {
	Child        Digest              `json:"child"`
	RunType      string              `json:"run_type,omitempty"`
	BuilderID    string              `json:"builder_id,omitempty"`
	InvocationID string              `json:"invocation_id,omitempty"`
	Inputs       []attest.Dependency `json:"inputs,omitempty"`
	// Source is where the provenance was read ("path:line").
	Source string `json:"source,omitempty"`
}

// Edge links a parent artifact to a child produced from it.
type Edge struct {
	Parent  Digest      `json:"parent"`
	Child   Digest      `json:"child"`
	Role    attest.Role `json:"role"`
	Name    string      `json:"name,omitempty"` // the parent's recorded name
	RunType string      `json:"run_type,omitempty"`
}

// Store is what lineage queries read. Implementations must be safe for
// concurrent use; results are returned in a deterministic order.
type Store interface {
	// Artifact returns what is known about d; ok is false when nothing is.
	Artifact(ctx context.Context, d Digest) (a Artifact, ok bool, err error)
	// Runs returns the provenance recorded for d (empty: unknown).
	Runs(ctx context.Context, d Digest) ([]Run, error)
	// Children returns the edges whose parent is d.
	Children(ctx context.Context, d Digest) ([]Edge, error)
}

// MemStore is an in-memory Store.
type MemStore struct {
	mu        sync.RWMutex
	artifacts map[Digest]*Artifact
	runs      map[Digest][]Run
	runSeen   map[string]bool
	children  map[Digest][]Edge
	edgeSeen  map[[2]Digest]bool
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{
		artifacts: map[Digest]*Artifact{},
		runs:      map[Digest][]Run{},
		runSeen:   map[string]bool{},
		children:  map[Digest][]Edge{},
		edgeSeen:  map[[2]Digest]bool{},
	}
}

// AddArtifact records that the artifact d (named name) is at path; path
// or name may be empty.
func (m *MemStore) AddArtifact(d Digest, name, path string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addArtifact(d, name, path)
}

func (m *MemStore) addArtifact(d Digest, name, path string) {
	a := m.artifacts[d]
	if a == nil {
		a = &Artifact{Digest: d}
		m.artifacts[d] = a
	}
	if a.Name == "" {
		a.Name = name
	}
	if path != "" && !slices.ContainsFunc(a.Paths, func(p string) bool { return samePath(p, path) }) {
		a.Paths = append(a.Paths, path)
		slices.Sort(a.Paths)
	}
}

// AddRun records a provenance and its edges. The same run (child, inputs,
// builder, invocation) recorded twice is kept once.
func (m *MemStore) AddRun(r Run) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := string(r.Child) + "\x00" + r.BuilderID + "\x00" + r.InvocationID + "\x00" + r.RunType
	for _, in := range r.Inputs {
		key += "\x00" + string(in.Digest) + in.URI + in.Commit
	}
	if m.runSeen[key] {
		return
	}
	m.runSeen[key] = true
	m.runs[r.Child] = append(m.runs[r.Child], r)
	m.addArtifact(r.Child, "", "")
	for _, in := range r.Inputs {
		if !in.IsArtifact() || in.Digest == r.Child {
			continue // code, sources, and never a self-edge
		}
		m.addArtifact(in.Digest, in.Name, "")
		k := [2]Digest{in.Digest, r.Child}
		if m.edgeSeen[k] {
			continue
		}
		m.edgeSeen[k] = true
		m.children[in.Digest] = append(m.children[in.Digest], Edge{
			Parent: in.Digest, Child: r.Child, Role: in.Role, Name: in.Name, RunType: r.RunType,
		})
	}
}

// Artifact implements Store.
func (m *MemStore) Artifact(_ context.Context, d Digest) (Artifact, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, ok := m.artifacts[d]
	if !ok {
		return Artifact{Digest: d}, false, nil
	}
	out := *a
	out.Paths = slices.Clone(a.Paths)
	return out, true, nil
}

// Runs implements Store.
func (m *MemStore) Runs(_ context.Context, d Digest) ([]Run, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	rs := slices.Clone(m.runs[d])
	slices.SortStableFunc(rs, func(a, b Run) int { return cmp.Compare(a.Source, b.Source) })
	return rs, nil
}

// Children implements Store.
func (m *MemStore) Children(_ context.Context, d Digest) ([]Edge, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	es := slices.Clone(m.children[d])
	slices.SortFunc(es, func(a, b Edge) int { return cmp.Compare(a.Child, b.Child) })
	return es, nil
}

// Len returns the number of artifacts and runs known.
func (m *MemStore) Len() (artifacts, runs int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, rs := range m.runs {
		runs += len(rs)
	}
	return len(m.artifacts), runs
}

// samePath reports whether a and b name the same file ("." and
// "../model" from inside model do).
func samePath(a, b string) bool {
	if a == b {
		return true
	}
	a, b = filepath.Clean(a), filepath.Clean(b)
	if a == b {
		return true
	}
	// Two absolute paths, or two relative ones that do not climb out of the
	// current directory, name the same file only when they are equal:
	// only then is the current directory (a system call) not needed.
	up := func(p string) bool { return p == ".." || strings.HasPrefix(p, ".."+string(filepath.Separator)) }
	if filepath.IsAbs(a) == filepath.IsAbs(b) && !up(a) && !up(b) && a != "." && b != "." {
		return false
	}
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && x == y
}
