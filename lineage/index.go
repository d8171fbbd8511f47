package lineage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
)

// Index is a MemStore filled from an evidence directory, plus what a
// verifier needs to find artifacts on disk: paths by digest and by name.
type Index struct {
	*MemStore
	// Dir is the evidence directory.
	Dir string
	// Problems lists claims lines and signature files that could not be
	// read (never fatal: one broken line hides nothing else).
	Problems []Problem

	mu       sync.Mutex
	byName   map[string][]string
	located  map[string]bool
	problems []Problem
}

// Problem is an evidence file, or a line of one, that could not be used.
type Problem struct {
	Source string `json:"source"` // path or path:line
	Reason string `json:"reason"`
}

// IndexOptions configure IndexDir.
type IndexOptions struct {
	// Workers parse claims files in parallel (default GOMAXPROCS).
	Workers int
}

// IndexDir searches dir recursively for artifacts and their evidence:
// claims files (claims.jsonl inside a directory artifact, F.claims.jsonl
// beside a file artifact) and OMS signatures (model.sig, F.sig). Each
// claim's subject names the artifact at the claims file's location; each
// signature's subject names its artifact; each provenance claim adds a run.
// Claims are read without verifying signatures: the index locates
// evidence, VerifyChain judges it.
func IndexDir(ctx context.Context, dir string, opts IndexOptions) (*Index, error) {
	idx := newIndex(dir)
	if dir == "" {
		return idx, nil
	}
	var claims, sigs []string
	root := filepath.Clean(dir)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("lineage: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		name := d.Name()
		if d.IsDir() {
			if name == ".git" && p != dir {
				return filepath.SkipDir
			}
			if filepath.Dir(p) == root {
				idx.addName(p) // top-level entries are findable by name
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		art, kind, isEvidence := evidence.ArtifactOf(p)
		if isEvidence && filepath.Clean(art) == root {
			// DIR/model.sig or DIR/claims.jsonl at the top of the evidence
			// directory would make the evidence directory an artifact (a
			// signature written to the current directory by an older mlsec
			// sign, or by model_signing): it names no artifact here.
			idx.problem(p, fmt.Errorf("%s lies at the top of the evidence directory and is not about any artifact in it: ignored", name))
			return nil
		}
		switch {
		case isEvidence && kind == evidence.Claims:
			claims = append(claims, p)
		case isEvidence && kind == evidence.Signature:
			sigs = append(sigs, p)
		default:
			if filepath.Dir(p) == root {
				idx.addName(p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan func(), workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				j()
			}
		})
	}
	for _, p := range sigs {
		jobs <- func() { idx.addSignature(p) }
	}
	for _, p := range claims {
		jobs <- func() { idx.addClaims(ctx, p) }
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	idx.Problems = idx.problems
	slices.SortFunc(idx.Problems, func(a, b Problem) int { return strings.Compare(a.Source, b.Source) })
	return idx, nil
}

func newIndex(dir string) *Index {
	return &Index{MemStore: NewMemStore(), Dir: dir, byName: map[string][]string{}, located: map[string]bool{}}
}

func (idx *Index) addName(p string) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if idx.located[p] {
		return
	}
	idx.located[p] = true
	n := filepath.Base(p)
	idx.byName[n] = append(idx.byName[n], p)
}

func (idx *Index) problem(src string, err error) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.problems = append(idx.problems, Problem{Source: src, Reason: err.Error()})
}

// artifactOfSignature maps a signature file to its artifact path.
func artifactOfSignature(p string) string {
	a, _, _ := evidence.ArtifactOf(p)
	return a
}

// ArtifactOfClaims maps a claims file to its artifact path.
func ArtifactOfClaims(p string) string {
	a, _, _ := evidence.ArtifactOf(p)
	return a
}

func (idx *Index) addSignature(p string) {
	art := artifactOfSignature(p)
	if _, err := os.Stat(art); err != nil {
		return // some other .sig file
	}
	d, err := attest.SignedDigest(p)
	if err != nil {
		idx.problem(p, err)
		return
	}
	idx.addName(art)
	idx.AddArtifact(d, filepath.Base(art), art)
}

// AddArtifactEvidence indexes one artifact's own signature and claims
// (for an artifact outside the evidence directory).
func (idx *Index) AddArtifactEvidence(ctx context.Context, path string) {
	if sp, err := evidence.SignaturePath(path); err == nil {
		if _, err := os.Stat(sp); err == nil {
			idx.addSignature(sp)
		}
	}
	if cp, err := evidence.ClaimsPath(path); err == nil {
		idx.addClaims(ctx, cp)
	}
}

func (idx *Index) addClaims(ctx context.Context, p string) {
	art := ArtifactOfClaims(p)
	if _, err := os.Stat(art); err != nil {
		art = "" // evidence of an artifact that is not here
	} else {
		idx.addName(art)
	}
	err := attest.ReadClaimsFile(p, func(c attest.Claim) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		src := p + ":" + strconv.Itoa(c.Line)
		if c.Err != nil {
			idx.problem(src, c.Err)
			return nil
		}
		pk, err := attest.PeekClaim(c.Bundle)
		if err != nil {
			idx.problem(src, err)
			return nil
		}
		for _, d := range pk.Subjects {
			idx.AddArtifact(d, pk.SubjectName, art)
		}
		if prov := pk.Provenance; prov != nil {
			for _, d := range pk.Subjects {
				idx.AddRun(Run{Child: d, RunType: prov.RunType, BuilderID: prov.BuilderID,
					InvocationID: prov.InvocationID, Inputs: prov.Dependencies, Source: src})
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		idx.problem(p, err)
	}
}

// ByName returns the artifact paths in the evidence named name (the last
// path element), sorted.
func (idx *Index) ByName(name string) []string {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	out := slices.Clone(idx.byName[name])
	slices.Sort(out)
	return out
}

// ByDigest returns the paths the evidence shows for d, sorted.
func (idx *Index) ByDigest(d Digest) []string {
	a, _, _ := idx.Artifact(context.Background(), d)
	return a.Paths
}
