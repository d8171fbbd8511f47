package policy

import "github.com/mlsecops/mlsec/lifecycle"

// ArtifactFacts turns the evidence document about one artifact — gathered
// from disk by Gatherer (`mlsec assess`) or from the store by the server's
// gate (GET /api/v1/maturity) — into the facts the CoSAI AIMM assessment
// scores (lifecycle.ArtifactFacts.Level). It is the one mapping both use:
// a signature or provenance counts when present and verified by a trusted
// identity, a verified intake record stands in for provenance, and each
// stage's latest verified decision is kept (an overridden FAIL stays FAIL:
// an exception is not a passing gate, AIMM INV-L3-05). An empty kind (an
// artifact found in an evidence directory or a store, declared nowhere) is
// inferred from the evidence (InferKind).
func ArtifactFacts(ev *Evidence, name string, kind lifecycle.Kind, stages []string) lifecycle.ArtifactFacts {
	if kind == "" {
		kind = InferKind(ev)
	}
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

// InferKind names the kind of an artifact no pipeline file declares, from
// what its evidence says it went through: a verified decision at the data
// stage or provenance of a preparation run makes it a dataset, one at the
// knowledge stage a RAG corpus, an intake record an external model; any
// other artifact is a model.
func InferKind(ev *Evidence) lifecycle.Kind {
	stages := map[string]bool{}
	for _, d := range ev.Decisions {
		if d.Verified {
			stages[d.Stage] = true
		}
	}
	switch {
	case stages[lifecycle.StageData] || ev.Provenance.Verified && ev.Provenance.RunType == "preparation":
		return lifecycle.KindDataset
	case stages[lifecycle.StageKnowledge]:
		return lifecycle.KindRAGCorpus
	case ev.Intake.Present && ev.Intake.Verified:
		return lifecycle.KindExternalModel
	}
	return lifecycle.KindModel
}
