package gating

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
)

// PolicyGate is the default Gate: the CEL policies of package policy (the
// same stage policies `mlsec gate` applies: the pipeline file's, else the
// built-in ones), judged on an evidence document built from the store
// instead of from files on disk.
//
// How stored evidence maps to the policy's evidence document:
//
//   - artifact: name, kind, class, digest, size; formats from the latest
//     stored scan attestation; with a pipeline, an artifact declared there
//     under the stored name is "declared" and gives a missing kind;
//   - source: the artifact's source URL (or the pipeline declaration's);
//     trust is the declaration's, else that of the pipeline source the URL
//     starts with, else "untrusted" (always untrusted without a pipeline,
//     like `mlsec gate` without --pipeline);
//   - trust: the stored trust state (known once any decision exists);
//   - scan: the latest scan attestation's summary and the stored findings;
//   - signature, provenance, bom, evaluation, intake: present when a fact
//     of that predicate type exists; verified when its signature was
//     verified at ingestion (the fact has a signer). The signer's roles are
//     its roles in the pipeline; without a pipeline every verified identity
//     counts as the organisation;
//   - decisions: the stored decisions, which the server recorded for
//     authenticated callers (verified), with the caller's token role and,
//     with a pipeline, the pipeline roles of an identity named like the
//     token.
type PolicyGate struct {
	store    store.Store
	pipeline *lifecycle.Pipeline
	gates    map[string]*policy.Gate
}

var _ Gate = (*PolicyGate)(nil)

// NewPolicyGate compiles the policies of every lifecycle stage: those the
// pipeline names for the stage, else the stage's built-in policy. pl may be
// nil.
func NewPolicyGate(st store.Store, pl *lifecycle.Pipeline) (*PolicyGate, error) {
	e, err := policy.NewEngine()
	if err != nil {
		return nil, fmt.Errorf("gating: policy engine: %w", err)
	}
	g := &PolicyGate{store: st, pipeline: pl, gates: map[string]*policy.Gate{}}
	for _, stage := range lifecycle.StageNames() {
		if g.gates[stage], err = e.StageGate(stage, pl, ""); err != nil {
			return nil, fmt.Errorf("gating: policy for stage %s: %w", stage, err)
		}
	}
	return g, nil
}

// Evaluate implements Gate.
func (g *PolicyGate) Evaluate(ctx context.Context, in Input) (Output, error) {
	gate, ok := g.gates[in.Stage]
	if !ok {
		return Output{}, mlsec.Errorf(mlsec.EINVALID, "gating: no policy for stage %q", in.Stage)
	}
	ev, inputs, err := g.evidence(ctx, in)
	if err != nil {
		return Output{}, err
	}
	d := gate.Evaluate(ev)
	out := Output{Result: store.Result(strings.ToLower(string(d.Result))), Decision: &d, Inputs: inputs}
	var refs []string
	for _, p := range d.Policies {
		refs = append(refs, p.Name+"@"+p.Version)
	}
	out.Policy = strings.Join(refs, ",")
	for _, r := range d.Rules {
		line := fmt.Sprintf("%s %s: %s", r.Result, r.RuleID, r.Title)
		if r.Result != policy.Pass && r.Reason != "" && r.Reason != r.Title {
			line += " — " + r.Reason
		}
		out.Reasons = append(out.Reasons, line)
	}
	return out, nil
}

// UploadSource is the source the server records for an upload that names
// none. It is no origin: the evidence document then has no source, as a
// file `mlsec gate` judges without --source.
const UploadSource = "upload"

// sourceURL is a stored artifact's source as the policies see it.
func sourceURL(s string) string {
	if s == UploadSource {
		return ""
	}
	return s
}

// Media types of stored evidence.
const (
	MediaStatement = "application/vnd.in-toto+json"
	MediaDSSE      = "application/vnd.dsse.envelope.v1+json"
)

// StatementOf returns the in-toto statement inside stored evidence: a bare
// statement, a DSSE envelope or a Sigstore bundle (by media type). It
// verifies no signature.
func StatementOf(ev store.Evidence) (attest.Statement, error) {
	switch ev.MediaType {
	case MediaStatement:
		return attest.ParseStatement(ev.Bundle)
	case MediaDSSE:
		var env struct {
			Payload []byte `json:"payload"`
		}
		if err := json.Unmarshal(ev.Bundle, &env); err != nil {
			return attest.Statement{}, err
		}
		return attest.ParseStatement(env.Payload)
	default:
		b, err := signing.ReadBundle(ev.Bundle)
		if err != nil {
			return attest.Statement{}, err
		}
		return attest.ParseStatement(b.GetDsseEnvelope().GetPayload())
	}
}

// latest returns the statement of the newest fact of predicate type pt
// (facts are newest first), or ok false; the evidence read is added to
// inputs.
func (g *PolicyGate) latest(ctx context.Context, facts []store.Fact, pt string, inputs *[]policy.Input) (attest.Statement, store.Fact, bool, error) {
	for _, f := range facts {
		if f.PredicateType != pt {
			continue
		}
		e, err := g.store.Evidence(ctx, f.EvidenceID)
		if err != nil {
			return attest.Statement{}, f, false, err
		}
		st, err := StatementOf(e)
		if err != nil {
			continue // unreadable evidence is no evidence
		}
		*inputs = append(*inputs, policy.Input{URI: fmt.Sprintf("mlsec:evidence/%d", e.ID),
			SHA256: strings.TrimPrefix(string(e.Digest), "sha256:")})
		return st, f, true, nil
	}
	return attest.Statement{}, store.Fact{}, false, nil
}

// rolesOf returns an identity's pipeline roles (empty without a pipeline).
func (g *PolicyGate) rolesOf(identity string) []string {
	if g.pipeline == nil || identity == "" {
		return []string{}
	}
	r := g.pipeline.RolesOf(identity)
	if r == nil {
		r = []string{}
	}
	return r
}

func (g *PolicyGate) evidence(ctx context.Context, in Input) (*policy.Evidence, []policy.Input, error) {
	a := in.Artifact
	var inputs []policy.Input
	kind := a.Kind
	ev := &policy.Evidence{
		Stage:    in.Stage,
		Artifact: policy.Artifact{Name: a.Name, Path: a.Name, Digest: string(a.Digest), Size: int(a.Size), Formats: []string{}},
		Source:   policy.Source{URL: sourceURL(a.Source), Trust: lifecycle.SourceUntrusted},
		Trust:    policy.Trust{State: string(a.State), Known: len(in.Decisions) > 0},
		Pipeline: policy.PipelineInfo{Roles: map[string][]string{}},
	}
	if pl := g.pipeline; pl != nil {
		ev.Pipeline.Name, ev.Pipeline.Roles = pl.Name, pl.Roles
		// As policy.Gatherer: a pipeline is named by its file, so the
		// built-in policies apply their with-a-pipeline rules.
		ev.Pipeline.File = pl.File
		if ev.Pipeline.File == "" {
			ev.Pipeline.File = "pipeline file"
		}
		if ev.Pipeline.Roles == nil {
			ev.Pipeline.Roles = map[string][]string{}
		}
		declaredTrust := ""
		if def, ok := pl.Artifact(a.Name); ok && a.Name != "" {
			ev.Pipeline.Declared = true
			if kind == "" {
				kind = string(def.Kind)
			}
			if ev.Source.URL == "" {
				ev.Source.URL = def.Source
			}
			declaredTrust = def.Trust
		}
		allowed, trust := pl.SourceAllowed(ev.Source.URL)
		ev.Source.Allowed = allowed
		switch {
		case declaredTrust != "":
			ev.Source.Trust = declaredTrust
		case allowed:
			ev.Source.Trust = trust
		}
	}
	ev.Source.Present = ev.Source.URL != ""
	ev.Artifact.Kind, ev.Artifact.Class = kind, lifecycle.Kind(kind).Class()
	signed := func(pt string) (present, verified bool, signer string) {
		for _, f := range in.Facts {
			if f.PredicateType == pt {
				present = true
				if f.Signer != "" {
					return true, true, f.Signer
				}
			}
		}
		return present, false, ""
	}

	// Scan: the latest scan attestation, and the stored findings.
	st, _, ok, err := g.latest(ctx, in.Facts, attest.ScanType, &inputs)
	if err != nil {
		return nil, nil, err
	}
	// What the attested scan itself found: a scan reported to the server
	// (a corpus ingestion run) has findings the store never indexed, and
	// they count as much as the stored ones (fail closed).
	attestedMax, attestedFindings := mlsec.SeverityNone, 0
	var attestedRules []string
	if ok {
		if sum, err := attest.ScanOf(st); err == nil {
			ev.Scan.Present = true
			ev.Scan.Scanned, ev.Scan.Skipped, ev.Scan.Errors = sum.Summary.Scanned, sum.Summary.Skipped, sum.Summary.Errors
			attestedMax, attestedFindings = sum.Summary.MaxSeverity, sum.Summary.Findings
			for _, raw := range sum.Artifacts {
				var art struct {
					Format   string `json:"format"`
					Findings []struct {
						RuleID string `json:"rule_id"`
					} `json:"findings"`
				}
				if json.Unmarshal(raw, &art) != nil {
					continue
				}
				if art.Format != "" && !slices.Contains(ev.Artifact.Formats, art.Format) {
					ev.Artifact.Formats = append(ev.Artifact.Formats, art.Format)
				}
				for _, f := range art.Findings {
					if !slices.Contains(attestedRules, f.RuleID) && len(attestedRules) < 1000 {
						attestedRules = append(attestedRules, f.RuleID)
					}
				}
			}
			slices.Sort(ev.Artifact.Formats)
			ev.Artifact.Files = sum.Summary.Artifacts
		}
	}
	if ev.Scan.Present {
		fs, err := g.store.Findings(ctx, store.FindingQuery{Artifact: a.Digest, Limit: 1000})
		if err != nil {
			return nil, nil, err
		}
		ev.Scan.BySeverity = map[string]int{}
		max := mlsec.SeverityNone
		for _, f := range fs {
			s := f.Finding.Severity
			ev.Scan.BySeverity[s.String()]++
			max = maxSeverity(max, s)
			if !slices.Contains(ev.Scan.Rules, f.Finding.RuleID) {
				ev.Scan.Rules = append(ev.Scan.Rules, f.Finding.RuleID)
			}
			ev.Scan.Items = append(ev.Scan.Items, policy.Finding{RuleID: f.Finding.RuleID, Severity: s.String(), Rank: int(s),
				Message: f.Finding.Message, Path: f.Finding.Path, Member: f.Finding.Location.Member, Subject: f.Finding.Subject})
		}
		max = maxSeverity(max, attestedMax)
		for _, r := range attestedRules {
			if !slices.Contains(ev.Scan.Rules, r) {
				ev.Scan.Rules = append(ev.Scan.Rules, r)
			}
		}
		slices.Sort(ev.Scan.Rules)
		ev.Scan.Findings, ev.Scan.MaxSeverity, ev.Scan.MaxRank = len(fs), max.String(), int(max)
		if attestedFindings > ev.Scan.Findings {
			ev.Scan.Findings = attestedFindings
		}
		// The pipeline's exceptions for this artifact and stage (as
		// policy.Gatherer); with findings the store holds only in part,
		// nothing is accepted.
		if pl := g.pipeline; pl != nil && a.Name != "" {
			if def, ok := pl.Artifact(a.Name); ok {
				policy.ApplyExceptions(ev, def.ExceptionsAt(in.Stage))
			}
		}
	}

	// Signature (OpenSSF Model Signing).
	var present, verified bool
	var signer string
	if present, verified, signer = signed(signing.PredicateType); present {
		roles := g.rolesOf(signer)
		ev.Signature = policy.Signature{Present: true, Verified: verified, Identity: signer, Roles: roles,
			Org: verified && (g.pipeline == nil || len(roles) > 0)}
		if !verified {
			ev.Signature.Reason = "the stored signature was not verified by a key the server trusts"
		}
	} else {
		ev.Signature.Reason = "no signature stored"
	}

	// Provenance, or intake provenance.
	if st, f, ok, err := g.latest(ctx, in.Facts, attest.ProvenanceType, &inputs); err != nil {
		return nil, nil, err
	} else if ok {
		if p, err := attest.ProvenanceOf(st); err == nil {
			if p.BuildType == policy.IntakeBuildType {
				ev.Intake = policy.Intake{Present: true, Verified: f.Signer != "", Signer: f.Signer, Resigned: f.Signer != ""}
				ev.Intake.URL, _ = p.Parameters["source"].(string)
				ev.Intake.Upstream, _ = p.Parameters["upstreamSignature"].(string)
			} else {
				ev.Provenance = policy.Provenance{Present: true, Verified: f.Signer != "", Signer: f.Signer, Roles: g.rolesOf(f.Signer),
					BuilderID: p.BuilderID, BuildType: p.BuildType, RunType: p.RunType}
				for _, d := range p.Dependencies {
					switch d.Role {
					case attest.RoleDataset:
						ev.Provenance.Datasets++
					case attest.RoleBaseModel:
						ev.Provenance.BaseModels++
					case attest.RoleCode:
						ev.Provenance.Code++
					}
					ev.Provenance.Dependencies = append(ev.Provenance.Dependencies, policy.Dependency{Role: string(d.Role), Name: d.Name,
						Digest: string(d.Digest), URI: d.URI, Commit: d.Commit})
				}
			}
		}
	}
	if present, verified, signer = signed(attest.CycloneDXType); present {
		ev.BOM = policy.BOM{Present: true, Verified: verified, Signer: signer}
	}
	if st, f, ok, err := g.latest(ctx, in.Facts, attest.TestResultType, &inputs); err != nil {
		return nil, nil, err
	} else if ok {
		ev.Evaluation = policy.Evaluation{Present: true, Verified: f.Signer != ""}
		if tr, err := attest.TestResultOf(st); err == nil {
			ev.Evaluation.Result, ev.Evaluation.Failed = tr.Result, tr.Failed
		}
	}

	// Decisions the server recorded, with the role of the token that asked:
	// by token id (actors "token:NAME#ID"), or for older records by name
	// (token names are unique).
	byID, byName := map[int64]string{}, map[string]string{}
	if len(in.Decisions) > 0 {
		toks, err := g.store.Tokens(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, t := range toks {
			byID[t.ID], byName[t.Name] = string(t.Role), string(t.Role)
		}
	}
	for _, d := range in.Decisions {
		pd := policy.PriorDecision{Stage: d.Stage, Decision: strings.ToUpper(string(d.Result)), Passed: d.Result != store.ResultFail,
			Policy: d.Policy, Signer: d.Actor, Verified: true, TrustState: string(d.From), Time: d.CreatedAt}
		if d.To != "" {
			pd.TrustState = string(d.To)
		}
		pd.Result = "PASSED"
		if !pd.Passed {
			pd.Result = "FAILED"
		}
		if name, id, ok := store.ParseTokenActor(d.Actor); ok {
			r := byID[id]
			if id == 0 {
				r = byName[name]
			}
			if r != "" {
				pd.Roles = []string{r}
			}
			for _, r := range g.rolesOf(name) {
				if !slices.Contains(pd.Roles, r) {
					pd.Roles = append(pd.Roles, r)
				}
			}
		}
		ev.Decisions = append(ev.Decisions, pd)
	}
	return ev, inputs, nil
}

func maxSeverity(a, b mlsec.Severity) mlsec.Severity {
	if b > a {
		return b
	}
	return a
}

// StageGate returns the compiled gate of stage, or nil for an unknown
// stage.
func (g *PolicyGate) StageGate(stage string) *policy.Gate { return g.gates[stage] }
