// Package mlsec holds the domain types shared by every part of mlsec: the
// severity scale, findings and their locations, framework mappings and the
// application error with its exit code. It depends on the standard library only.
package mlsec

import (
	"fmt"
	"strings"
)

// Version is the mlsec release; the build may override it with -ldflags.
var Version = "0.1.0-dev"

// Severity grades a finding. The zero value is SeverityNone.
type Severity int

// The severity scale, lowest first.
const (
	SeverityNone Severity = iota
	SeverityInfo
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"none", "info", "low", "medium", "high", "critical"}

// String returns the lower-case name of s.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity parses a severity name case-insensitively.
func ParseSeverity(name string) (Severity, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for i, s := range severityNames {
		if s == n {
			return Severity(i), nil
		}
	}
	return SeverityNone, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames[:], ", "))
}

// MarshalText encodes s as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Mapping ties a rule or control to one item of a security framework.
type Mapping struct {
	// Framework is a catalogue id such as "owasp-ml-2023", "owasp-llm-2025"
	// or "mitre-atlas".
	Framework string `json:"framework" yaml:"framework"`
	// ID is the item's identifier in that framework, e.g. "ML06" or "AML.T0010.003".
	ID string `json:"id" yaml:"id"`
}
