package server

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

// PolicyGate is the server's default Gate: the CEL policies of package
// policy (the same built-in stage policies `mlsec gate` applies), judged on
// an evidence document built from the store instead of from files on disk.
//
// How stored evidence maps to the policy's evidence document:
//
//   - artifact: name, kind, class, digest, size; formats from the latest
//     stored scan attestation;
//   - source: the artifact's source URL, always "untrusted" (the server has
//     no pipeline file yet, like `mlsec gate` without --pipeline);
//   - trust: the stored trust state (known once any decision exists);
//   - scan: the latest scan attestation's summary and the stored findings;
//   - signature, provenance, bom, evaluation, intake: present when a fact
//     of that predicate type exists; verified when its signature was
//     verified at ingestion by the server's key (the fact has a signer). As
//     without a pipeline file, every verified identity counts as the
//     organisation;
//   - decisions: the stored decisions, which the server recorded for
//     authenticated callers (verified), with the caller's role.
type PolicyGate struct {
	store store.Store
	gates map[string]*policy.Gate
}

var _ Gate = (*PolicyGate)(nil)

// NewPolicyGate compiles the built-in policy of every lifecycle stage.
func NewPolicyGate(st store.Store) (*PolicyGate, error) {
	e, err := policy.NewEngine()
	if err != nil {
		return nil, fmt.Errorf("server: policy engine: %w", err)
	}
	g := &PolicyGate{store: st, gates: map[string]*policy.Gate{}}
	for _, stage := range lifecycle.StageNames() {
		if g.gates[stage], err = e.StageGate(stage, nil, ""); err != nil {
			return nil, fmt.Errorf("server: policy for stage %s: %w", stage, err)
		}
	}
	return g, nil
}

// Evaluate implements Gate.
func (g *PolicyGate) Evaluate(ctx context.Context, in GateInput) (GateOutput, error) {
	gate, ok := g.gates[in.Stage]
	if !ok {
		return GateOutput{}, errorf(mlsec.EINVALID, "no policy for stage %q", in.Stage)
	}
	ev, err := g.evidence(ctx, in)
	if err != nil {
		return GateOutput{}, err
	}
	d := gate.Evaluate(ev)
	out := GateOutput{Result: store.Result(strings.ToLower(string(d.Result)))}
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

// latest returns the statement of the newest fact of predicate type pt
// (facts are newest first), or ok false.
func (g *PolicyGate) latest(ctx context.Context, facts []store.Fact, pt string) (attest.Statement, store.Fact, bool, error) {
	for _, f := range facts {
		if f.PredicateType != pt {
			continue
		}
		e, err := g.store.Evidence(ctx, f.EvidenceID)
		if err != nil {
			return attest.Statement{}, f, false, fromStore(err)
		}
		st, err := statementOf(e)
		if err != nil {
			continue // unreadable evidence is no evidence
		}
		return st, f, true, nil
	}
	return attest.Statement{}, store.Fact{}, false, nil
}

func (g *PolicyGate) evidence(ctx context.Context, in GateInput) (*policy.Evidence, error) {
	a := in.Artifact
	kind := a.Kind
	ev := &policy.Evidence{
		Stage: in.Stage,
		Artifact: policy.Artifact{Name: a.Name, Path: a.Name, Kind: kind, Class: lifecycle.Kind(kind).Class(),
			Digest: string(a.Digest), Size: int(a.Size), Formats: []string{}},
		Source: policy.Source{Present: a.Source != "", URL: a.Source, Trust: "untrusted"},
		Trust:  policy.Trust{State: string(a.State), Known: len(in.Decisions) > 0},
	}
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
	st, _, ok, err := g.latest(ctx, in.Facts, attest.ScanType)
	if err != nil {
		return nil, err
	}
	if ok {
		if sum, err := attest.ScanOf(st); err == nil {
			ev.Scan.Present = true
			ev.Scan.Scanned, ev.Scan.Skipped, ev.Scan.Errors = sum.Summary.Scanned, sum.Summary.Skipped, sum.Summary.Errors
			for _, raw := range sum.Artifacts {
				var art struct {
					Format string `json:"format"`
				}
				if json.Unmarshal(raw, &art) == nil && art.Format != "" && !slices.Contains(ev.Artifact.Formats, art.Format) {
					ev.Artifact.Formats = append(ev.Artifact.Formats, art.Format)
				}
			}
			slices.Sort(ev.Artifact.Formats)
			ev.Artifact.Files = sum.Summary.Artifacts
		}
	}
	if ev.Scan.Present {
		fs, err := g.store.Findings(ctx, store.FindingQuery{Artifact: a.Digest, Limit: 1000})
		if err != nil {
			return nil, fromStore(err)
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
		slices.Sort(ev.Scan.Rules)
		ev.Scan.Findings, ev.Scan.MaxSeverity, ev.Scan.MaxRank = len(fs), max.String(), int(max)
	}

	// Signature (OpenSSF Model Signing).
	var present, verified bool
	var signer string
	if present, verified, signer = signed(signing.PredicateType); present {
		ev.Signature = policy.Signature{Present: true, Verified: verified, Identity: signer, Org: verified}
		if !verified {
			ev.Signature.Reason = "the stored signature was not verified by the server's key"
		}
	} else {
		ev.Signature.Reason = "no signature stored"
	}

	// Provenance, or intake provenance.
	if st, f, ok, err := g.latest(ctx, in.Facts, attest.ProvenanceType); err != nil {
		return nil, err
	} else if ok {
		if p, err := attest.ProvenanceOf(st); err == nil {
			if p.BuildType == policy.IntakeBuildType {
				ev.Intake = policy.Intake{Present: true, Verified: f.Signer != "", Signer: f.Signer, Resigned: f.Signer != ""}
			} else {
				ev.Provenance = policy.Provenance{Present: true, Verified: f.Signer != "", Signer: f.Signer,
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
	if st, f, ok, err := g.latest(ctx, in.Facts, attest.TestResultType); err != nil {
		return nil, err
	} else if ok {
		ev.Evaluation = policy.Evaluation{Present: true, Verified: f.Signer != ""}
		if tr, err := attest.TestResultOf(st); err == nil {
			ev.Evaluation.Result, ev.Evaluation.Failed = tr.Result, tr.Failed
		}
	}

	// Decisions the server recorded, with the role of the token that asked.
	roles := map[string]string{}
	if len(in.Decisions) > 0 {
		toks, err := g.store.Tokens(ctx)
		if err != nil {
			return nil, fromStore(err)
		}
		for _, t := range toks {
			roles["token:"+t.Name] = string(t.Role)
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
		if r := roles[d.Actor]; r != "" {
			pd.Roles = []string{r}
		}
		ev.Decisions = append(ev.Decisions, pd)
	}
	return ev, nil
}

func maxSeverity(a, b mlsec.Severity) mlsec.Severity {
	if b > a {
		return b
	}
	return a
}
