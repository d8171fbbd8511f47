package policy

import (
	"context"
	"fmt"
	"time"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/signing"
)

// Runner runs a gate on artifacts: gather, evaluate, decide the trust
// state, sign the decision as a VSA and append it to the artifact's claims.
type Runner struct {
	Gatherer *Gatherer
	Gate     *Gate
	// Signer signs the VSA. Without one the decision is not recorded
	// (Outcome.Bundle is nil) and the trust state does not change.
	Signer signing.Signer
	// Operator is the identity recorded as having run the gate.
	Operator string
	// Store, when set, also receives the trust-state change (the server's
	// store). The CLI's state lives in the VSAs themselves.
	Store lifecycle.Store
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Outcome is the result of running a gate on one artifact.
type Outcome struct {
	*Gathered
	Decision    Decision
	TrustBefore lifecycle.TrustState
	TrustAfter  lifecycle.TrustState
	Override    *Override
	// Statement is the VSA statement; Bundle its signed bundle (nil when
	// unsigned); ClaimsPath where it was appended.
	Statement  []byte
	Bundle     []byte
	ClaimsPath string
}

// Run gates the artifact t. A non-nil override records a break-glass
// decision: the result stays FAIL, the VSA is marked overridden with the
// identity and reason, and the trust state moves on as after a pass.
// Overriding a gate that did not fail is an error.
func (r *Runner) Run(ctx context.Context, t Target, override *Override) (*Outcome, error) {
	t.Stage = r.Gate.Stage
	g, err := r.Gatherer.Gather(ctx, t)
	if err != nil {
		return nil, err
	}
	d := r.Gate.Evaluate(g.Evidence)
	out := &Outcome{Gathered: g, Decision: d, TrustBefore: lifecycle.TrustState(g.Evidence.Trust.State)}
	if override != nil {
		if d.Result != Fail {
			return nil, mlsec.Errorf(mlsec.EINVALID, "policy: --override-reason given but the gate did not fail (%s)", d.Result)
		}
		if override.Reason == "" {
			return nil, mlsec.Errorf(mlsec.EINVALID, "policy: an override needs a reason")
		}
		if override.Identity == "" {
			override.Identity = r.Operator
		}
		out.Override = override
	}
	out.TrustAfter = lifecycle.Next(out.TrustBefore, d.Stage, outcomeOf(d.Result), override != nil)
	if r.Signer == nil {
		out.TrustAfter = out.TrustBefore
		return out, nil
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	uri := g.Evidence.Source.URL
	if uri == "" {
		uri = "file:" + t.Path
	}
	st, err := VSAStatement(VSARequest{Subject: g.Subject, ResourceURI: uri, Decision: d,
		TrustBefore: string(out.TrustBefore), TrustState: string(out.TrustAfter),
		Operator: r.Operator, Override: out.Override, Inputs: g.Inputs, Time: now()})
	if err != nil {
		return nil, err
	}
	out.Statement = st
	b, err := attest.Sign(ctx, r.Signer, st)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "policy: signing the VSA: %w", err)
	}
	out.Bundle = b
	if out.ClaimsPath, err = evidence.ClaimsPath(t.Path); err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	if err := attest.AppendClaim(out.ClaimsPath, b); err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "policy: appending the VSA: %w", err)
	}
	if r.Store != nil {
		rec := lifecycle.Record{Subject: string(g.Subject.Digest), Artifact: g.Evidence.Artifact.Name,
			State: out.TrustAfter, Stage: d.Stage, Decision: string(d.Result), Actor: r.Operator, Time: now()}
		if out.Override != nil {
			rec.Overridden, rec.Reason, rec.Actor = true, out.Override.Reason, out.Override.Identity
		}
		if err := r.Store.Record(ctx, rec); err != nil {
			return nil, fmt.Errorf("policy: recording trust state: %w", err)
		}
	}
	return out, nil
}

func outcomeOf(r Result) lifecycle.Outcome {
	switch r {
	case Pass:
		return lifecycle.OutcomePass
	case Warn:
		return lifecycle.OutcomeWarn
	}
	return lifecycle.OutcomeFail
}
