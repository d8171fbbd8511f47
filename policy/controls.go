package policy

import (
	"fmt"
	"slices"

	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
	"github.com/mlsecops/mlsec/taxonomy"
)

// UsedStages returns the stages a pipeline uses: those it configures or
// an artifact of it names. Without a pipeline (nil) every stage is used,
// with its built-in gate.
func UsedStages(pl *lifecycle.Pipeline) []string {
	if pl == nil {
		return lifecycle.StageNames()
	}
	var out []string
	for _, st := range lifecycle.StageNames() {
		_, used := pl.Stages[st]
		for _, a := range pl.Artifacts {
			used = used || slices.Contains(a.Stages, st)
		}
		if used {
			out = append(out, st)
		}
	}
	return out
}

// Controls lists the controls in force for a pipeline (nil: the built-in
// gates of every stage): the rules of the gate of each UsedStages stage
// ("gate:STAGE/RULE"), every rule of the scanner's runner and of the
// detectors cfg registers ("scanner:RULE", each once) and mlsec's own
// capabilities from the tools catalogue ("capability:ID").
//
// gateOf returns a stage's compiled gate, for callers that hold them
// already (the server's gating.PolicyGate); nil compiles them with a new
// Engine exactly as `mlsec gate --pipeline` does.
//
// This is the one list behind `mlsec frameworks coverage`, `mlsec assess`
// and the server's GET /api/v1/coverage.
func Controls(pl *lifecycle.Pipeline, cfg scan.Config, gateOf func(stage string) (*Gate, error)) ([]lifecycle.CoverageControl, error) {
	if gateOf == nil {
		eng, err := NewEngine()
		if err != nil {
			return nil, err
		}
		gateOf = func(stage string) (*Gate, error) { return eng.StageGate(stage, pl, "") }
	}
	var out []lifecycle.CoverageControl
	for _, st := range UsedStages(pl) {
		g, err := gateOf(st)
		if err != nil {
			return nil, err
		}
		if g == nil {
			return nil, fmt.Errorf("policy: no gate for stage %s", st)
		}
		for _, p := range g.Policies {
			for _, r := range p.Rules {
				out = append(out, lifecycle.CoverageControl{ID: "gate:" + st + "/" + r.ID, Kind: lifecycle.ControlGate,
					Stage: st, Title: r.Title, Mappings: r.Mappings})
			}
		}
	}
	dets, err := list.All(cfg)
	if err != nil {
		return nil, fmt.Errorf("policy: detectors: %w", err)
	}
	seen := map[string]bool{}
	add := func(rs []scan.Rule) {
		for _, r := range rs {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, lifecycle.CoverageControl{ID: "scanner:" + r.ID, Kind: lifecycle.ControlScanner, Title: r.Title, Mappings: r.Mappings})
			}
		}
	}
	add(scan.RunnerRules())
	for _, d := range dets {
		add(d.Rules())
	}
	tc, err := lifecycle.LoadTools()
	if err != nil {
		return nil, err
	}
	return append(out, tc.CapabilityControls()...), nil
}

// FrameworkCoverage maps Controls onto the embedded framework catalogues
// with lifecycle.Coverage: for each framework item, the controls covering
// it, and the gaps. A control mapped to an unknown item is an error.
func FrameworkCoverage(pl *lifecycle.Pipeline, cfg scan.Config, gateOf func(stage string) (*Gate, error)) ([]lifecycle.FrameworkCoverage, error) {
	ctls, err := Controls(pl, cfg, gateOf)
	if err != nil {
		return nil, err
	}
	cat, err := taxonomy.Load()
	if err != nil {
		return nil, err
	}
	return lifecycle.Coverage(cat, ctls)
}
