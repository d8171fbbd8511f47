package scan

import (
	"slices"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
)

// Base holds what every detector declares: its name, the formats it
// examines and its rules. A detector embeds a Base to implement the Name,
// Kinds and Rules methods of Detector, and builds its findings with
// Base.Finding.
type Base struct {
	name  string
	kinds []format.Kind
	rules []Rule
	set   RuleSet
}

// NewBase parses rulesYAML (a detector's embedded rules.yaml) with
// ParseRules and returns a Base for the detector called name that examines
// kinds. Rules in extra, such as another detector's rules that this one also
// reports, are appended to the parsed ones.
func NewBase(name string, kinds []format.Kind, rulesYAML []byte, extra ...Rule) (Base, error) {
	rs, err := ParseRules(rulesYAML)
	if err != nil {
		return Base{}, err
	}
	rs = append(rs, extra...)
	return Base{name: name, kinds: kinds, rules: rs, set: NewRuleSet(rs)}, nil
}

// Name implements Detector.
func (b Base) Name() string { return b.name }

// Kinds implements Detector. It returns a fresh slice on each call.
func (b Base) Kinds() []format.Kind { return slices.Clone(b.kinds) }

// Rules implements Detector.
func (b Base) Rules() []Rule { return b.rules }

// RuleSet returns the detector's rules indexed by id.
func (b Base) RuleSet() RuleSet { return b.set }

// Finding is RuleSet.Finding over the detector's rules.
func (b Base) Finding(id, message, subject string, offset int64) mlsec.Finding {
	return b.set.Finding(id, message, subject, offset)
}
