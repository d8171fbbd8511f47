package policy

import "github.com/mlsecops/mlsec/lifecycle"

// ArtifactFacts turns the evidence document about one artifact — gathered
// from disk by Gatherer (`mlsec assess`) or from the store by the server's
// gate (GET /api/v1/maturity) — into the facts the CoSAI AIMM assessment
// scores (lifecycle.ArtifactFacts.Level). It is the one mapping both use:
// a signature or provenance counts when present and verified by a trusted
// identity, a verified intake record stands in for provenance, and each
// stage's latest verified decision is kept (an overridden FAIL stays FAIL:
// an exception is not a passing gate, AIMM INV-L3-05).
func ArtifactFacts(ev *Evidence, name string, kind lifecycle.Kind, stages []string) lifecycle.ArtifactFacts {
	f := lifecycle.ArtifactFacts{Name: name, Kind: kind, Stages: stages, Exists: true, Decisions: map[string]string{}}
	f.Signed, f.SignatureVerified = ev.Signature.Present, ev.Signature.Verified
	f.Provenance, f.ProvenanceVerified = ev.Provenance.Present, ev.Provenance.Verified
	f.BuilderID = ev.Provenance.BuilderID
	f.ParentsDeclared = ev.Provenance.Datasets + ev.Provenance.BaseModels
	f.Intake = ev.Intake.Present && ev.Intake.Verified
	if f.Intake && !f.ProvenanceVerified {
		f.ProvenanceVerified = true
	}
	f.TrustState = ev.Trust.State
	for _, d := range ev.Decisions {
		if d.Verified && d.Stage != "" {
			f.Decisions[d.Stage] = d.Decision
		}
	}
	return f
}
