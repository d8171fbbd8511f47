// Package tflite is the TensorFlow Lite detector: custom operators and
// FlatBuffer structures that lie out of bounds.
package tflite

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/tflite"
	"github.com/mlsecops/mlsec/scan"
)

// Name is the detector's stable identifier.
const Name = "tflite"

// Rule ids.
const (
	RuleCustomOp  = "TFLITE-001"
	RuleMalformed = "TFLITE-002"
	RuleLimit     = "TFLITE-003"
)

//go:embed rules.yaml
var rulesYAML []byte

// Detector examines TFLite models.
type Detector struct {
	scan.Base
}

var _ scan.Detector = (*Detector)(nil)

// New returns the TFLite detector.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.TFLite}, rulesYAML)
	return &Detector{Base: b}, nil
}

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	if in.R == nil {
		return nil
	}
	m, err := tflite.Decode(in.R, in.Size)
	switch {
	case errors.Is(err, tflite.ErrTooLarge):
		sink.Report(d.Finding(RuleLimit, "TFLite model not (fully) analysed: "+err.Error(), "", -1))
	case errors.Is(err, tflite.ErrMalformed), errors.Is(err, tflite.ErrNotTFLite):
		sink.Report(d.Finding(RuleMalformed, "malformed TFLite model: "+err.Error(), "", -1))
	case err != nil:
		return fmt.Errorf("tflite: %w", err)
	}
	if m == nil {
		return nil
	}
	for i, oc := range m.OperatorCodes {
		if !oc.IsCustom() {
			continue
		}
		name := oc.Custom
		what := "custom operator"
		switch {
		case name == "":
			name = "(unnamed)"
		case strings.HasPrefix(name, "Flex"):
			what = fmt.Sprintf("TensorFlow op %s run by the Flex delegate as custom operator", strings.TrimPrefix(name, "Flex"))
		}
		sink.Report(d.Finding(RuleCustomOp, fmt.Sprintf("%s %q (operator code %d, builtin code %d)", what, name, i, oc.Builtin), name, -1))
	}
	return ctx.Err()
}
