package lifecycle

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/taxonomy"
)

//go:embed data/aicm-scanner.yaml
var aicmScannerYAML []byte

// AICMCrosswalk maps scanner rules to the CSA AI Controls Matrix controls
// they implement, by rule-id prefix.
type AICMCrosswalk struct {
	Scanner []AICMPrefix `json:"scanner" yaml:"scanner"`
}

// AICMPrefix is one entry of the crosswalk: every rule whose id starts
// with Prefix ("" for every rule) implements Controls.
type AICMPrefix struct {
	Prefix   string   `json:"prefix" yaml:"prefix"`
	Controls []string `json:"controls" yaml:"controls"`
}

// LoadAICMCrosswalk parses the embedded scanner crosswalk.
func LoadAICMCrosswalk() (*AICMCrosswalk, error) {
	var c AICMCrosswalk
	dec := yaml.NewDecoder(strings.NewReader(string(aicmScannerYAML)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("lifecycle: aicm crosswalk: %w", err)
	}
	for _, p := range c.Scanner {
		if len(p.Controls) == 0 {
			return nil, fmt.Errorf("lifecycle: aicm crosswalk: prefix %q names no control", p.Prefix)
		}
	}
	return &c, nil
}

// ScannerMappings returns the AICM mappings of the scanner rule id.
func (c *AICMCrosswalk) ScannerMappings(ruleID string) []mlsec.Mapping {
	var out []mlsec.Mapping
	for _, p := range c.Scanner {
		if !strings.HasPrefix(ruleID, p.Prefix) {
			continue
		}
		for _, id := range p.Controls {
			m := mlsec.Mapping{Framework: taxonomy.CSAAICM, ID: id}
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// withAICM returns the controls with each scanner rule's AICM mappings
// added (a rule that already maps an AICM control keeps it).
func (c *AICMCrosswalk) withAICM(controls []CoverageControl) []CoverageControl {
	out := make([]CoverageControl, len(controls))
	for i, ctl := range controls {
		out[i] = ctl
		if ctl.Kind != ControlScanner {
			continue
		}
		ms := slices.Clone(ctl.Mappings)
		for _, m := range c.ScannerMappings(strings.TrimPrefix(ctl.ID, "scanner:")) {
			if !slices.Contains(ms, m) {
				ms = append(ms, m)
			}
		}
		out[i].Mappings = ms
	}
	return out
}
