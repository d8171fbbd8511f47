package attest_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/attest/attesttest"
)

// An intake's source is recorded as an upstream (URI and digest), read back
// as a source by both the full parser and the index's peek, and is never an
// artifact of the lineage graph.
func TestSourceDependency(t *testing.T) {
	k := attesttest.NewKey(t)
	src := attest.Dependency{Role: attest.RoleSource, URI: "https://huggingface.co/acme/tiny", Digest: digestA}
	p := &attest.Provenance{Subject: attest.Subject{Name: "tiny", Digest: digestA}, RunType: "intake",
		BuildType: attest.IntakeBuildType, BuilderID: "https://mlsec.dev/intake/v1", Dependencies: []attest.Dependency{src}}
	st, err := p.Statement()
	if err != nil {
		t.Fatalf("intake provenance with its source: %v", err)
	}
	checkSource := func(t *testing.T, st []byte, want attest.Dependency) {
		t.Helper()
		parsed, err := attest.ParseStatement(st)
		if err != nil {
			t.Fatal(err)
		}
		got, err := attest.ProvenanceOf(parsed)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]attest.Dependency{want}, got.Dependencies); d != "" {
			t.Errorf("ProvenanceOf (-want +got):\n%s", d)
		}
		if len(got.Parents()) != 0 || got.Dependencies[0].IsArtifact() || !got.Dependencies[0].IsSource() {
			t.Errorf("the source is a parent artifact: %+v", got.Dependencies)
		}
		line, err := attest.Sign(context.Background(), k.Signer(), st)
		if err != nil {
			t.Fatal(err)
		}
		pk, err := attest.PeekClaim(line)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]attest.Dependency{want}, pk.Provenance.Dependencies); d != "" {
			t.Errorf("PeekClaim (-want +got):\n%s", d)
		}
	}
	checkSource(t, st, src)

	// The intake records of earlier versions named the source URL as an
	// artifact with the subject's own digest: read as the source.
	old := &attest.Provenance{Subject: p.Subject, RunType: "intake", BuildType: attest.IntakeBuildType, BuilderID: p.BuilderID,
		Dependencies: []attest.Dependency{{Role: attest.RoleArtifact, Name: src.URI, Digest: digestB}}}
	legacy, err := old.Statement()
	if err != nil {
		t.Fatal(err)
	}
	legacy = bytes.ReplaceAll(legacy, []byte(digestB.Hex()), []byte(digestA.Hex()))
	checkSource(t, legacy, src)
}

// Provenance naming its own subject as a dataset or base model is refused
// when written.
func TestProvenanceSelfParentRefused(t *testing.T) {
	for _, role := range []attest.Role{attest.RoleDataset, attest.RoleBaseModel, attest.RoleArtifact} {
		p := &attest.Provenance{Subject: attest.Subject{Name: "m", Digest: digestA}, BuilderID: "https://ci.example/b",
			Dependencies: []attest.Dependency{{Role: role, Name: "m", Digest: digestA}}}
		if _, err := p.Statement(); !errors.Is(err, attest.ErrCycle) {
			t.Errorf("%s: the subject as its own parent: %v, want ErrCycle", role, err)
		}
	}
}
