package scan

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlsecops/mlsec"
)

// Config is the user's scan configuration (mlsec.yaml). It extends the
// built-in policy; it never needs code changes.
type Config struct {
	// Limits overrides the default caps; zero fields keep their defaults.
	Limits Limits `yaml:"limits"`
	// Imports extends the pickle import allow- and denylists.
	Imports ImportLists `yaml:"imports"`
	// NotAnalysedSeverity is the severity of the MLSEC-SCAN finding every
	// not-analysed file gets (unrecognised bytes, parse error, limit hit,
	// detector crash). Unset means high; lowering it accepts the risk that
	// a file nobody analysed is loaded.
	NotAnalysedSeverity mlsec.Severity `yaml:"not_analysed_severity"`
	// Lineage constrains the base models artifacts may derive from.
	Lineage LineageConfig `yaml:"lineage"`
}

// LineageConfig is the allowed lineage of derived artifacts (LoRA/PEFT
// adapters today).
type LineageConfig struct {
	// AllowedBaseModels lists the base models an adapter may apply to:
	// Hugging Face ids "ORG/NAME", "ORG/*" for every model of an
	// organisation. Empty means no allowlist is configured (the adapter
	// rule that checks it stays silent).
	AllowedBaseModels []string `yaml:"allowed_base_models"`
}

// BaseAllowed reports whether name matches AllowedBaseModels (case
// insensitive, as the Hub's ids are) and whether any allowlist is
// configured.
func (l LineageConfig) BaseAllowed(name string) (allowed, configured bool) {
	if len(l.AllowedBaseModels) == 0 {
		return false, false
	}
	name = strings.ToLower(strings.TrimSpace(name))
	for _, p := range l.AllowedBaseModels {
		p = strings.ToLower(strings.TrimSpace(p))
		if org, ok := strings.CutSuffix(p, "/*"); ok {
			if o, n, ok := strings.Cut(name, "/"); ok && o == org && n != "" && !strings.Contains(n, "/") {
				return true, true
			}
			continue
		}
		if p == name {
			return true, true
		}
	}
	return false, true
}

// notAnalysedSeverity returns the configured severity, high by default.
func (c Config) notAnalysedSeverity() mlsec.Severity {
	if c.NotAnalysedSeverity == mlsec.SeverityNone {
		return mlsec.SeverityHigh
	}
	return c.NotAnalysedSeverity
}

// ImportLists extends the pickle import policy. Entries are written
// "module:qualname" (e.g. "mypkg.layers:Block"); "module:*" matches every
// name of a module.
type ImportLists struct {
	// Allow marks imports as safe reconstruction helpers.
	Allow []string `yaml:"allow"`
	// Deny grades imports as critical, overriding the allowlist.
	Deny []string `yaml:"deny"`
}

// LoadConfig reads a configuration file. Unknown keys are errors, so typos
// do not silently weaken a policy.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig decodes a configuration document and fills unset limits with
// their defaults.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && err.Error() != "EOF" {
		return Config{}, fmt.Errorf("parse config: %w", err)
	}
	c.Limits = c.Limits.withDefaults()
	return c, nil
}

// DefaultConfig is the configuration used without --config.
func DefaultConfig() Config {
	return Config{Limits: DefaultLimits()}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxMembers <= 0 {
		l.MaxMembers = d.MaxMembers
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = d.MaxTotalBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.MaxMemberBytes <= 0 {
		l.MaxMemberBytes = d.MaxMemberBytes
	}
	if l.MaxPickleOps <= 0 {
		l.MaxPickleOps = d.MaxPickleOps
	}
	if l.MaxFileSeconds <= 0 {
		l.MaxFileSeconds = d.MaxFileSeconds
	}
	if l.MaxInflatedBytes <= 0 {
		l.MaxInflatedBytes = d.MaxInflatedBytes
	}
	if l.MaxInflatedMembers <= 0 {
		l.MaxInflatedMembers = d.MaxInflatedMembers
	}
	return l
}
