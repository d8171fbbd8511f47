// Package safetensors is the safetensors detector: it validates the header
// strictly (length, JSON, duplicate keys, dtypes, shapes, offsets,
// metadata) and looks for pickles or zips hidden in the file (polyglots).
// A valid file is clean.
package safetensors

import (
	"context"
	_ "embed"
	"errors"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/safetensors"
	"github.com/mlsecops/mlsec/scan"
)

// Name is the detector's stable identifier.
const Name = "safetensors"

// Rule ids.
const (
	RuleHeaderLength = "SAFETENSORS-001"
	RuleJSON         = "SAFETENSORS-002"
	RuleDuplicate    = "SAFETENSORS-003"
	RuleSchema       = "SAFETENSORS-004"
	RuleDType        = "SAFETENSORS-005"
	RuleShape        = "SAFETENSORS-006"
	RuleOffsets      = "SAFETENSORS-007"
	RuleMetadata     = "SAFETENSORS-008"
	RuleTrailing     = "SAFETENSORS-009"
	RulePolyglot     = "SAFETENSORS-010"
	RuleTooMany      = "SAFETENSORS-011"
	RuleLimit        = "SAFETENSORS-012"
)

//go:embed rules.yaml
var rulesYAML []byte

// ruleFor maps the parser's problem kinds to rule ids.
var ruleFor = []struct {
	err  error
	rule string
}{
	{safetensors.ErrHeaderSize, RuleHeaderLength},
	{safetensors.ErrJSON, RuleJSON},
	{safetensors.ErrDuplicate, RuleDuplicate},
	{safetensors.ErrSchema, RuleSchema},
	{safetensors.ErrDType, RuleDType},
	{safetensors.ErrShape, RuleShape},
	{safetensors.ErrOffsets, RuleOffsets},
	{safetensors.ErrMetadata, RuleMetadata},
	{safetensors.ErrTrailing, RuleTrailing},
	{safetensors.ErrPolyglot, RulePolyglot},
	{safetensors.ErrTooMany, RuleTooMany},
	{safetensors.ErrLimit, RuleLimit},
}

// Detector examines safetensors files.
type Detector struct {
	scan.Base
}

var _ scan.Detector = (*Detector)(nil)

// New returns the detector; cfg is not used.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.Safetensors}, rulesYAML)
	return &Detector{Base: b}, nil
}

// Scan implements scan.Detector. It reads the header and a few small
// probes, never the tensor data.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	f, err := safetensors.Parse(in.R, in.Size)
	if err != nil {
		return err
	}
	for _, p := range f.Problems {
		rule := RuleSchema
		for _, m := range ruleFor {
			if errors.Is(p.Err, m.err) {
				rule = m.rule
				break
			}
		}
		sink.Report(d.Finding(rule, p.Error(), p.Subject, p.Offset))
	}
	return nil
}
