package lifecycle

import (
	"errors"
	"fmt"
	"slices"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/taxonomy"
)

// Control kinds in a coverage report.
const (
	ControlGate       = "gate"       // a rule of a stage's policy
	ControlScanner    = "scanner"    // a scanner rule
	ControlCapability = "capability" // an mlsec capability from the tools catalogue
)

// CoverageControl is anything that covers framework items: a gate rule, a
// scanner rule or an mlsec capability.
type CoverageControl struct {
	// ID is unique across kinds, e.g. "gate:cd/CD-002", "scanner:PICKLE-001",
	// "capability:artifact-signing".
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Stage    string          `json:"stage,omitempty"`
	Title    string          `json:"title"`
	Mappings []mlsec.Mapping `json:"mappings"`
}

// CoverageItem is one framework item and the controls that cover it.
type CoverageItem struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Controls []string `json:"controls"`
	Gap      bool     `json:"gap"`
}

// FrameworkCoverage is the coverage of one framework.
type FrameworkCoverage struct {
	Framework string         `json:"framework"`
	Name      string         `json:"name"`
	Version   string         `json:"version"`
	Covered   int            `json:"covered"`
	Total     int            `json:"total"`
	Percent   float64        `json:"percent"`
	Items     []CoverageItem `json:"items"`
}

// coverageKinds are the item kinds counted per framework: the actionable
// items (risks, tasks, subcategories, invariants, mitigations). ATLAS
// techniques are counted only when a control maps to them, since mlsec
// addresses the supply-chain part of ATLAS.
func coverageKinds(framework string) []string {
	switch framework {
	case taxonomy.OWASPML2023, taxonomy.OWASPLLM2025:
		return []string{"risk"}
	case taxonomy.MITREATLAS:
		return []string{"mitigation"}
	case taxonomy.NISTAIRMF10:
		return []string{"subcategory"}
	case taxonomy.NISTSSDF11:
		return []string{"task"}
	case taxonomy.CoSAIAIMM:
		return []string{"invariant"}
	case taxonomy.CSAAICM:
		return []string{"control"}
	}
	return nil
}

// Coverage computes, for each framework, which controls cover each item
// and which items are gaps. Scanner rules gain their CSA AICM mappings from
// the crosswalk (LoadAICMCrosswalk). A control mapping to an unknown
// framework item is an error (taxonomy.ErrUnknownID or ErrUnknownFramework).
func Coverage(cat *taxonomy.Catalogues, controls []CoverageControl) ([]FrameworkCoverage, error) {
	cw, err := LoadAICMCrosswalk()
	if err != nil {
		return nil, err
	}
	controls = cw.withAICM(controls)
	by := map[mlsec.Mapping][]string{}
	var errs []error
	for _, c := range controls {
		for _, m := range c.Mappings {
			if err := cat.Validate(m); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", c.ID, err))
				continue
			}
			if !slices.Contains(by[m], c.ID) {
				by[m] = append(by[m], c.ID)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []FrameworkCoverage
	for _, fw := range cat.Frameworks() {
		fc := FrameworkCoverage{Framework: fw.ID, Name: fw.Name, Version: fw.Version}
		kinds := coverageKinds(fw.ID)
		for _, it := range fw.Items {
			m := mlsec.Mapping{Framework: fw.ID, ID: it.ID}
			ctl := by[m]
			if !slices.Contains(kinds, it.Kind) && len(ctl) == 0 {
				continue
			}
			ci := CoverageItem{ID: it.ID, Name: cat.Title(fw.ID, it.ID), Kind: it.Kind, Controls: ctl, Gap: len(ctl) == 0}
			if ci.Controls == nil {
				ci.Controls = []string{}
			}
			fc.Total++
			if !ci.Gap {
				fc.Covered++
			}
			fc.Items = append(fc.Items, ci)
		}
		if fc.Total > 0 {
			fc.Percent = float64(int(1000*float64(fc.Covered)/float64(fc.Total)+0.5)) / 10
		}
		out = append(out, fc)
	}
	return out, nil
}

// CapabilityControls turns the catalogue's controls that mlsec closes into
// coverage controls.
func (c *ToolCatalogue) CapabilityControls() []CoverageControl {
	var out []CoverageControl
	for _, ctl := range c.Controls {
		if len(ctl.MLSec) == 0 {
			continue
		}
		out = append(out, CoverageControl{ID: "capability:" + ctl.ID, Kind: ControlCapability, Title: ctl.Title, Mappings: ctl.Mappings})
	}
	return out
}
