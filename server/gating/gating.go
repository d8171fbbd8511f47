// Package gating is the one implementation of a lifecycle gate over the
// evidence in a store.Store, shared by the server's API (package server)
// and the job queue's gate workers (package queue): it gathers the stored
// evidence about an artifact, evaluates the stage's gate (by default the
// CEL policies of package policy, the same `mlsec gate` applies, optionally
// those of the organisation's pipeline file), moves the trust state as
// lifecycle.Next prescribes, and records the decision — with a signed SLSA
// Verification Summary Attestation stored as evidence when a signer is
// configured.
package gating

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
)

// MediaBundle is the media type of a signed VSA stored as evidence when
// the bundle does not name its own.
const MediaBundle = "application/vnd.dev.sigstore.bundle.v0.3+json"

// MaxFacts bounds the facts about one artifact a gate reads.
const MaxFacts = 1000

// Input is the stored evidence a gate judges.
type Input struct {
	Artifact      store.Artifact
	Stage         string
	FindingCounts map[mlsec.Severity]int
	// Facts are the indexed evidence about the artifact, newest first.
	Facts []store.Fact
	// Decisions are the earlier gate decisions, oldest first.
	Decisions []store.Decision
}

// Output is a gate's verdict.
type Output struct {
	Result store.Result
	// Policy names what decided, e.g. "builtin/cd@1.0.0".
	Policy  string
	Reasons []string
	// Decision is the policy engine's full decision (rules, policies), used
	// for the VSA; a Gate other than PolicyGate may leave it nil.
	Decision *policy.Decision
	// Inputs are the stored attestations the verdict read.
	Inputs []policy.Input
}

// Gate evaluates a stage's gate. Implementations are pure over the input
// (and the store they read evidence bodies from).
type Gate interface {
	Evaluate(ctx context.Context, in Input) (Output, error)
}

// Config configures a Decider.
type Config struct {
	Store store.Store
	// Gate evaluates; nil is a PolicyGate over Store with Pipeline.
	Gate Gate
	// Pipeline is the organisation's pipeline file (sources, trust,
	// identities, roles, stage policies); nil uses the built-in policies
	// and treats every source as untrusted, as `mlsec gate` without
	// --pipeline.
	Pipeline *lifecycle.Pipeline
	// Signer, when set, signs each decision as an SLSA VSA stored verbatim
	// as evidence (the decision's EvidenceID). Without it decisions are
	// recorded unsigned.
	Signer signing.Signer
	// Operator is the identity recorded in VSAs and as their facts'
	// signer (default "mlsec-server").
	Operator string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Decider runs gates and records their decisions. It is safe for
// concurrent use.
type Decider struct {
	cfg Config
}

// New checks cfg and compiles the default gate's policies.
func New(cfg Config) (*Decider, error) {
	if cfg.Store == nil {
		return nil, errors.New("gating: Config.Store is required")
	}
	if cfg.Gate == nil {
		g, err := NewPolicyGate(cfg.Store, cfg.Pipeline)
		if err != nil {
			return nil, err
		}
		cfg.Gate = g
	}
	if cfg.Operator == "" {
		cfg.Operator = "mlsec-server"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Decider{cfg: cfg}, nil
}

// Signed reports whether decisions are signed.
func (d *Decider) Signed() bool { return d.cfg.Signer != nil }

// Result is a recorded gate decision.
type Result struct {
	Decision store.Decision `json:"decision"`
	// Artifact is the artifact after the decision.
	Artifact store.Artifact `json:"artifact"`
	// Output is the gate's verdict.
	Output Output `json:"-"`
}

// input reads the stored evidence about dg a gate of stage judges.
func (d *Decider) input(ctx context.Context, dg store.Digest, stage string) (Input, error) {
	st := d.cfg.Store
	a, err := st.Artifact(ctx, dg)
	if err != nil {
		return Input{}, err
	}
	in := Input{Artifact: a, Stage: stage}
	if in.FindingCounts, err = st.FindingCounts(ctx, dg); err != nil {
		return Input{}, err
	}
	if in.Facts, err = st.Facts(ctx, store.FactQuery{Subject: dg, Limit: MaxFacts}); err != nil {
		return Input{}, err
	}
	if in.Decisions, err = st.Decisions(ctx, dg); err != nil {
		return Input{}, err
	}
	return in, nil
}

// Evidence returns the policy evidence document about the stored artifact
// dg, as the decider's gates judge it (stage names the document's stage and
// may be empty): the store's counterpart of what policy.Gatherer reads from
// disk, for views such as the maturity assessment (policy.ArtifactFacts).
// Nothing is recorded.
func (d *Decider) Evidence(ctx context.Context, dg store.Digest, stage string) (*policy.Evidence, error) {
	pg, ok := d.cfg.Gate.(*PolicyGate)
	if !ok {
		var err error
		if pg, err = NewPolicyGate(d.cfg.Store, d.cfg.Pipeline); err != nil {
			return nil, err
		}
	}
	in, err := d.input(ctx, dg, stage)
	if err != nil {
		return nil, err
	}
	ev, _, err := pg.evidence(ctx, in)
	return ev, err
}

// Decide evaluates the gate of stage on the artifact with digest dg and
// records the decision, by actor (e.g. "token:ci-bot" or "worker"), with
// the trust-state change lifecycle.Next prescribes. With a signer the
// decision's VSA is signed and stored first, and the decision points at it.
func (d *Decider) Decide(ctx context.Context, dg store.Digest, stage, actor string) (Result, error) {
	if _, ok := lifecycle.LookupStage(stage); !ok {
		return Result{}, mlsec.Errorf(mlsec.EINVALID, "gating: unknown stage %q (want one of %s)", stage, strings.Join(lifecycle.StageNames(), ", "))
	}
	st := d.cfg.Store
	in, err := d.input(ctx, dg, stage)
	if err != nil {
		return Result{}, err
	}
	a := in.Artifact
	out, err := d.cfg.Gate.Evaluate(ctx, in)
	if err != nil {
		return Result{}, fmt.Errorf("gating: gate %s: %w", stage, err)
	}
	dec := store.Decision{Artifact: dg, Stage: stage, Policy: out.Policy, Result: out.Result, Reasons: out.Reasons, Actor: actor}
	next := store.TrustState(lifecycle.Next(lifecycle.TrustState(a.State), stage, lifecycle.Outcome(out.Result), false))
	if next != a.State {
		dec.To = next
	}
	if d.cfg.Signer != nil {
		after := next
		if after == "" {
			after = a.State
		}
		if dec.EvidenceID, err = d.signVSA(ctx, a, stage, out, after, actor); err != nil {
			return Result{}, err
		}
	}
	dec, err = st.RecordDecision(ctx, dec)
	if err != nil {
		return Result{}, err
	}
	if dec.To != "" {
		a.State = dec.To
	}
	return Result{Decision: dec, Artifact: a, Output: out}, nil
}

// signVSA renders the decision as an SLSA VSA (policy.VSAStatement), signs
// it and stores the bundle verbatim with a VSA fact.
func (d *Decider) signVSA(ctx context.Context, a store.Artifact, stage string, out Output, after store.TrustState, actor string) (int64, error) {
	pd := policy.Decision{Stage: stage, Result: policyResult(out.Result), Rules: []policy.RuleResult{}, Policies: []policy.PolicyRef{}}
	if out.Decision != nil {
		pd = *out.Decision
	}
	uri := a.Source
	if uri == "" {
		uri = "mlsec:artifact/" + string(a.Digest)
	}
	before := a.State
	if before == "" {
		before = store.StateQuarantined
	}
	now := d.cfg.Now().UTC()
	stmt, err := policy.VSAStatement(policy.VSARequest{
		Subject: attest.Subject{Name: a.Name, Digest: attest.Digest(a.Digest)}, ResourceURI: uri, Decision: pd,
		TrustBefore: string(before), TrustState: string(after), Operator: d.cfg.Operator, Inputs: out.Inputs, Time: now,
	})
	if err != nil {
		return 0, fmt.Errorf("gating: %w", err)
	}
	b, err := attest.Sign(ctx, d.cfg.Signer, stmt)
	if err != nil {
		return 0, fmt.Errorf("gating: signing the VSA: %w", err)
	}
	mt := MediaBundle
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(b, &probe) == nil && probe.MediaType != "" {
		mt = probe.MediaType
	}
	ev, _, err := d.cfg.Store.AddEvidence(ctx, store.Evidence{MediaType: mt, Bundle: b,
		Facts: []store.Fact{{PredicateType: policy.VSAType, Subject: a.Digest, Signer: d.cfg.Operator, Time: now}}}, actor)
	if err != nil {
		return 0, err
	}
	return ev.ID, nil
}

func policyResult(r store.Result) policy.Result {
	switch r {
	case store.ResultPass:
		return policy.Pass
	case store.ResultWarn:
		return policy.Warn
	}
	return policy.Fail
}

// Gate returns the gate the decider evaluates.
func (d *Decider) Gate() Gate { return d.cfg.Gate }
