package scan

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/mlsecops/mlsec"
)

// Rule is the metadata of one finding type. Rules are data: each detector
// keeps its rules in a rules.yaml beside its code and embeds it.
type Rule struct {
	ID          string         `yaml:"id" json:"id"`
	Severity    mlsec.Severity `yaml:"severity" json:"severity"`
	Title       string         `yaml:"title" json:"title"`
	Description string         `yaml:"description" json:"description"`
	Remediation string         `yaml:"remediation" json:"remediation"`
	// Mappings tie the rule to OWASP ML/LLM Top 10, MITRE ATLAS and other
	// catalogues in taxonomy/.
	Mappings []mlsec.Mapping `yaml:"mappings" json:"mappings"`
	// NotAnalysed marks a rule whose finding means the input was not
	// (completely) analysed — a parse error or a limit hit the detector
	// reports itself. The runner gives such an input the not-analysed
	// verdict, as if the detector had called ReportNotAnalysed.
	NotAnalysed bool `yaml:"not_analysed,omitempty" json:"not_analysed,omitempty"`
	// Limit names the limit a NotAnalysed rule reports (see the Limit*
	// constants), "" for parse errors.
	Limit string `yaml:"limit,omitempty" json:"limit,omitempty"`
}

// rulesFile is the layout of a rules.yaml file.
type rulesFile struct {
	Rules []Rule `yaml:"rules"`
}

// ParseRules decodes a rules.yaml document and checks that every rule has an
// id, a severity above none, a title, a remediation and at least one mapping,
// and that ids are unique.
func ParseRules(data []byte) ([]Rule, error) {
	var f rulesFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("scan: parse rules: %w", err)
	}
	seen := map[string]bool{}
	for _, r := range f.Rules {
		switch {
		case r.ID == "":
			return nil, fmt.Errorf("scan: rule without id")
		case seen[r.ID]:
			return nil, fmt.Errorf("scan: duplicate rule id %q", r.ID)
		case r.Severity == mlsec.SeverityNone:
			return nil, fmt.Errorf("scan: rule %s: no severity", r.ID)
		case r.Title == "" || r.Remediation == "":
			return nil, fmt.Errorf("scan: rule %s: title and remediation are required", r.ID)
		case len(r.Mappings) == 0:
			return nil, fmt.Errorf("scan: rule %s: no framework mappings", r.ID)
		}
		seen[r.ID] = true
	}
	return f.Rules, nil
}

// MustParseRules is ParseRules for embedded rules files, which tests keep
// valid; it panics on error.
func MustParseRules(data []byte) []Rule {
	rs, err := ParseRules(data)
	if err != nil {
		panic(err)
	}
	return rs
}

// RuleSet indexes rules by id.
type RuleSet map[string]Rule

// NewRuleSet indexes rs.
func NewRuleSet(rs []Rule) RuleSet {
	m := make(RuleSet, len(rs))
	for _, r := range rs {
		m[r.ID] = r
	}
	return m
}

// Finding builds a finding for rule id with the rule's severity and
// mappings. A message of "" uses the rule's title. It panics on an unknown
// id: rule ids are constants in code, checked by tests.
func (s RuleSet) Finding(id, message, subject string, offset int64) mlsec.Finding {
	r, ok := s[id]
	if !ok {
		panic("scan: unknown rule " + id)
	}
	if message == "" {
		message = r.Title
	}
	return mlsec.Finding{
		RuleID:   r.ID,
		Severity: r.Severity,
		Message:  message,
		Subject:  subject,
		Location: mlsec.Location{Offset: offset},
		Mappings: r.Mappings,
	}
}
