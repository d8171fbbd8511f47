package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mlsecops/mlsec"
)

// RuleResult is the outcome of one rule.
type RuleResult struct {
	Policy string `json:"policy"`
	RuleID string `json:"rule"`
	Title  string `json:"title"`
	Result Result `json:"result"`
	// Reason says why, for every result.
	Reason string `json:"reason"`
	// Missing names the absent evidence sections that decided the result.
	Missing     []string        `json:"missing,omitempty"`
	Remediation string          `json:"remediation,omitempty"`
	Mappings    []mlsec.Mapping `json:"mappings,omitempty"`
}

// Decision is the outcome of a gate: the worst rule result.
type Decision struct {
	Stage  string       `json:"stage"`
	Result Result       `json:"result"`
	Rules  []RuleResult `json:"rules"`
	// Policies are the policies evaluated, "name@version".
	Policies []PolicyRef `json:"policies"`
	// Exceptions are the findings pipeline exceptions accepted before the
	// rules ran (recorded in the VSA).
	Exceptions []Excepted `json:"exceptions,omitempty"`
}

// PolicyRef identifies an evaluated policy.
type PolicyRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	File    string `json:"file"`
	Digest  string `json:"sha256"`
}

// Gate is the compiled set of policies of one stage with their parameters
// bound. Build it once per run with NewGate; Evaluate is cheap and safe for
// concurrent use.
type Gate struct {
	Stage    string
	Policies []*Policy
	params   []map[string]any
}

// NewGate binds each policy's parameters with the pipeline's overrides.
func NewGate(stage string, policies []*Policy, overrides map[string]any) (*Gate, error) {
	g := &Gate{Stage: stage}
	for _, p := range policies {
		if p.Stage != "" && stage != "" && p.Stage != stage {
			return nil, fmt.Errorf("%w: %s gates stage %s, not %s", ErrInvalid, p.File, p.Stage, stage)
		}
		params, err := p.BindParams(overrides)
		if err != nil {
			return nil, err
		}
		g.Policies = append(g.Policies, p)
		g.params = append(g.params, params)
	}
	return g, nil
}

// Evaluate judges ev with every rule of every policy of the gate.
func (g *Gate) Evaluate(ev *Evidence) Decision {
	d := Decision{Stage: g.Stage, Result: Pass, Exceptions: ev.Scan.Excepted}
	present := ev.presence()
	vars := map[string]any{
		"stage": ev.Stage, "artifact": ev.Artifact, "source": ev.Source, "trust": ev.Trust,
		"scan": ev.Scan, "signature": ev.Signature, "provenance": ev.Provenance, "bom": ev.BOM,
		"evaluation": ev.Evaluation, "intake": ev.Intake, "decisions": ev.Decisions, "pipeline": ev.Pipeline,
	}
	for i, p := range g.Policies {
		d.Policies = append(d.Policies, PolicyRef{Name: p.Name, Version: p.Version, File: p.File, Digest: p.Digest})
		act := make(map[string]any, len(vars)+len(g.params[i]))
		for k, v := range vars {
			act[k] = v
		}
		for k, v := range g.params[i] {
			act[k] = v
		}
		for _, r := range p.Rules {
			rr := r.evaluate(p.Name, act, present)
			if rr.Result.rank() > d.Result.rank() {
				d.Result = rr.Result
			}
			d.Rules = append(d.Rules, rr)
		}
	}
	return d
}

func (r *Rule) evaluate(policy string, act map[string]any, present map[string]bool) RuleResult {
	rr := RuleResult{Policy: policy, RuleID: r.ID, Title: r.Title, Mappings: r.Mappings}
	var missing []string
	for _, s := range r.Requires {
		if !present[s] {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		var why []string
		for _, s := range missing {
			why = append(why, s+" ("+missingReason(s)+")")
		}
		rr.Result, rr.Missing = r.OnMissing, missing
		rr.Reason = "missing evidence: " + strings.Join(why, "; ")
		rr.Remediation = r.Remediation
		return rr
	}
	out, _, err := r.prg.Eval(act)
	if err != nil {
		rr.Result, rr.Reason, rr.Remediation = Fail, "evaluation error: "+err.Error(), r.Remediation
		return rr
	}
	ok, isBool := out.Value().(bool)
	switch {
	case !isBool:
		rr.Result, rr.Reason = Fail, fmt.Sprintf("evaluation returned %v, not a bool", out.Value())
	case ok:
		rr.Result, rr.Reason = Pass, r.Title
	default:
		rr.Result, rr.Reason, rr.Remediation = r.OnFail, "not met: "+r.Title, r.Remediation
		if r.explain != nil {
			if ev, _, err := r.explain.Eval(act); err == nil {
				if s, ok := ev.Value().(string); ok && s != "" {
					rr.Reason = s
				}
			}
		}
	}
	return rr
}

// Counts returns how many rules passed, warned and failed.
func (d Decision) Counts() (pass, warn, fail int) {
	for _, r := range d.Rules {
		switch r.Result {
		case Pass:
			pass++
		case Warn:
			warn++
		default:
			fail++
		}
	}
	return
}

// Mappings returns every mapping of the evaluated rules, deduplicated.
func (d Decision) Mappings() []mlsec.Mapping {
	var out []mlsec.Mapping
	for _, r := range d.Rules {
		for _, m := range r.Mappings {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}
