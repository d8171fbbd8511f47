package server

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
)

// Blobs holds uploaded artifact bytes (encrypted at rest by the
// implementation).
type Blobs interface {
	// Put stores r's bytes and returns their sha256 digest and size.
	// Nothing is kept when it fails.
	Put(ctx context.Context, r io.Reader) (store.Digest, int64, error)
	// Open returns the plaintext of blob d. The implementation verifies the
	// digest while reading: a mismatch is an error no later than EOF.
	Open(ctx context.Context, d store.Digest) (io.ReadCloser, error)
}

// Jobs runs checks asynchronously (on the River queue). Kinds are "scan",
// "verify", "bom" and "gate"; args carry e.g. the stage of a gate.
type Jobs interface {
	Enqueue(ctx context.Context, kind string, artifact store.Digest, args map[string]string) (jobID int64, err error)
}

// GateInput is the stored evidence a gate judges.
type GateInput struct {
	Artifact      store.Artifact
	Stage         string
	FindingCounts map[mlsec.Severity]int
	// Facts are the indexed evidence about the artifact, newest first.
	Facts []store.Fact
	// Decisions are the earlier gate decisions, oldest first.
	Decisions []store.Decision
}

// GateOutput is a gate's verdict.
type GateOutput struct {
	Result store.Result
	// Policy names what decided, e.g. "builtin/cd".
	Policy  string
	Reasons []string
}

// Gate evaluates a stage's gate. Implementations are pure over the input.
type Gate interface {
	Evaluate(ctx context.Context, in GateInput) (GateOutput, error)
}

// BuiltinGate is the gate the server applies when no policy engine is
// configured.
//
// SEAM(policy): package policy (issue 7) evaluates CEL stage policies over
// an evidence document; once it exports an evaluator, an adapter from
// GateInput to its evidence document replaces BuiltinGate as the default.
// Until then these rules mirror its built-in library's intent, and, like
// it, never pass on missing evidence:
//
//   - a revoked artifact fails every gate;
//   - every stage needs scan evidence; a critical or high finding fails,
//     a medium one warns;
//   - cd and serving need a verified signature (a model-signing fact with
//     a signer); cd warns without provenance;
//   - cd needs a passing decision from an earlier stage; serving needs the
//     released state.
type BuiltinGate struct{}

var _ Gate = BuiltinGate{}

// Evaluate implements Gate.
func (BuiltinGate) Evaluate(_ context.Context, in GateInput) (GateOutput, error) {
	out := GateOutput{Result: store.ResultPass, Policy: "builtin/" + in.Stage}
	fail := func(format string, args ...any) {
		out.Result = store.ResultFail
		out.Reasons = append(out.Reasons, "FAIL: "+fmt.Sprintf(format, args...))
	}
	warn := func(format string, args ...any) {
		if out.Result == store.ResultPass {
			out.Result = store.ResultWarn
		}
		out.Reasons = append(out.Reasons, "WARN: "+fmt.Sprintf(format, args...))
	}
	has := func(predicate string, signed bool) bool {
		return slices.ContainsFunc(in.Facts, func(f store.Fact) bool {
			return f.PredicateType == predicate && (!signed || f.Signer != "")
		})
	}
	if in.Artifact.State == store.StateRevoked {
		fail("artifact is revoked")
	}
	if !has(attest.ScanType, false) {
		fail("no scan evidence: request a scan first (missing evidence never passes)")
	} else {
		switch c := in.FindingCounts; {
		case c[mlsec.SeverityCritical]+c[mlsec.SeverityHigh] > 0:
			fail("%d critical and %d high finding(s)", c[mlsec.SeverityCritical], c[mlsec.SeverityHigh])
		case c[mlsec.SeverityMedium] > 0:
			warn("%d medium finding(s)", c[mlsec.SeverityMedium])
		}
	}
	switch in.Stage {
	case "cd", "serving":
		if !has(signing.PredicateType, true) {
			fail("no verified signature (OpenSSF Model Signing)")
		}
	}
	switch in.Stage {
	case "cd":
		if !has(attest.ProvenanceType, false) {
			warn("no provenance recorded")
		}
		if !slices.ContainsFunc(in.Decisions, func(d store.Decision) bool {
			return d.Stage != "cd" && d.Result != store.ResultFail
		}) {
			fail("no passing decision from an earlier stage")
		}
	case "serving":
		if in.Artifact.State != store.StateReleased {
			fail("artifact is %s, not released", in.Artifact.State)
		}
	}
	if out.Result == store.ResultPass {
		out.Reasons = append(out.Reasons, "PASS: all checks of "+out.Policy+" passed")
	}
	return out, nil
}
