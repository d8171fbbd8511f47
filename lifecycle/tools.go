package lifecycle

import (
	_ "embed"
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/mlsecops/mlsec"
)

//go:embed data/tools.yaml
var toolsYAML []byte

// Control is a security control of the reference architecture.
type Control struct {
	ID     string   `json:"id" yaml:"id"`
	Title  string   `json:"title" yaml:"title"`
	Stages []string `json:"stages" yaml:"stages"`
	// MLSec lists the mlsec commands that implement the control itself.
	MLSec []string `json:"mlsec,omitempty" yaml:"mlsec"`
	// Gap says where the OpenSSF / Sigstore tools stop for this control.
	Gap string `json:"gap" yaml:"gap"`
	// Adds says what mlsec adds beyond the tools, or that it adds nothing
	// yet.
	Adds     string          `json:"adds" yaml:"adds"`
	Mappings []mlsec.Mapping `json:"mappings" yaml:"mappings"`
}

// Tool is an OpenSSF or Sigstore supply-chain tool.
type Tool struct {
	ID          string   `json:"id" yaml:"id"`
	Name        string   `json:"name" yaml:"name"`
	URL         string   `json:"url" yaml:"url"`
	Description string   `json:"description" yaml:"description"`
	Controls    []string `json:"controls" yaml:"controls"`
}

// ToolCatalogue is the controls and tools map.
type ToolCatalogue struct {
	Controls []Control `json:"controls" yaml:"controls"`
	Tools    []Tool    `json:"tools" yaml:"tools"`
}

// LoadTools parses the embedded catalogue and checks that every control
// names known stages and every tool known controls.
func LoadTools() (*ToolCatalogue, error) {
	var c ToolCatalogue
	if err := yaml.Unmarshal(toolsYAML, &c); err != nil {
		return nil, fmt.Errorf("lifecycle: tools: %w", err)
	}
	ids := map[string]bool{}
	for _, ctl := range c.Controls {
		if ids[ctl.ID] || ctl.ID == "" || len(ctl.Stages) == 0 || ctl.Gap == "" || ctl.Adds == "" {
			return nil, fmt.Errorf("lifecycle: tools: control %q is duplicated or incomplete", ctl.ID)
		}
		ids[ctl.ID] = true
		for _, s := range ctl.Stages {
			if _, ok := LookupStage(s); !ok {
				return nil, fmt.Errorf("lifecycle: tools: control %s: unknown stage %q", ctl.ID, s)
			}
		}
	}
	for _, t := range c.Tools {
		for _, ctl := range t.Controls {
			if !ids[ctl] {
				return nil, fmt.Errorf("lifecycle: tools: tool %s: unknown control %q", t.ID, ctl)
			}
		}
	}
	return &c, nil
}

// ControlStatus says who closes a control at a stage.
type ControlStatus struct {
	Control Control `json:"control"`
	// Tools are the OpenSSF/Sigstore tools that close it.
	Tools []string `json:"tools"`
	// MLSec is true when mlsec closes it itself.
	MLSec bool `json:"mlsec"`
	// Open is true when neither does.
	Open bool `json:"open"`
	// ClosedBy summarises who closes it: "openssf+mlsec", "openssf",
	// "mlsec" or "open".
	ClosedBy string `json:"closed_by"`
}

// StageTools is the tools map of one stage.
type StageTools struct {
	Stage    string          `json:"stage"`
	Controls []ControlStatus `json:"controls"`
}

// ByStage returns, for every stage in lifecycle order, each control of the
// stage with the tools and mlsec commands that close it.
func (c *ToolCatalogue) ByStage() []StageTools {
	var out []StageTools
	for _, st := range StageNames() {
		s := StageTools{Stage: st}
		for _, ctl := range c.Controls {
			if !slices.Contains(ctl.Stages, st) {
				continue
			}
			cs := ControlStatus{Control: ctl, MLSec: len(ctl.MLSec) > 0, Tools: []string{}}
			for _, t := range c.Tools {
				if slices.Contains(t.Controls, ctl.ID) {
					cs.Tools = append(cs.Tools, t.Name)
				}
			}
			cs.Open = !cs.MLSec && len(cs.Tools) == 0
			switch {
			case cs.Open:
				cs.ClosedBy = "open"
			case cs.MLSec && len(cs.Tools) > 0:
				cs.ClosedBy = "openssf+mlsec"
			case cs.MLSec:
				cs.ClosedBy = "mlsec"
			default:
				cs.ClosedBy = "openssf"
			}
			s.Controls = append(s.Controls, cs)
		}
		out = append(out, s)
	}
	return out
}
