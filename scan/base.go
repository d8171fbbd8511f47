package scan

import (
	"slices"
	"sync"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
)

// Base holds what every detector declares: its name, the formats it
// examines and its rules. A detector embeds a Base to implement the Name,
// Kinds and Rules methods of Detector, and builds its findings with
// Base.Finding.
//
// The rules are parsed on first use, not when the detector is built: a scan
// that reports nothing never parses them, which is most of a one-file
// scan's start-up (the yaml decoder). Copies of a Base share one parse.
type Base struct {
	name  string
	kinds []format.Kind
	lazy  *lazyRules
}

// lazyRules parses a rules.yaml document once, on first use.
type lazyRules struct {
	once  sync.Once
	yaml  []byte
	extra []Rule
	rules []Rule
	set   RuleSet
}

func (l *lazyRules) get() *lazyRules {
	l.once.Do(func() {
		// Embedded rules files are kept valid by tests (scan/list checks
		// every registered detector's), as for MustParseRules.
		l.rules = append(MustParseRules(l.yaml), l.extra...)
		l.set = NewRuleSet(l.rules)
	})
	return l
}

// NewBase returns a Base for the detector called name that examines kinds,
// with the rules of rulesYAML (a detector's embedded rules.yaml, parsed by
// MustParseRules on first use) followed by extra, such as another
// detector's rules that this one also reports.
func NewBase(name string, kinds []format.Kind, rulesYAML []byte, extra ...Rule) Base {
	return Base{name: name, kinds: kinds, lazy: &lazyRules{yaml: rulesYAML, extra: extra}}
}

// Name implements Detector.
func (b Base) Name() string { return b.name }

// Kinds implements Detector. It returns a fresh slice on each call.
func (b Base) Kinds() []format.Kind { return slices.Clone(b.kinds) }

// Rules implements Detector.
func (b Base) Rules() []Rule { return b.lazy.get().rules }

// RuleSet returns the detector's rules indexed by id.
func (b Base) RuleSet() RuleSet { return b.lazy.get().set }

// Finding is RuleSet.Finding over the detector's rules.
func (b Base) Finding(id, message, subject string, offset int64) mlsec.Finding {
	return b.lazy.get().set.Finding(id, message, subject, offset)
}
