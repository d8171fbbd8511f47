// Package gguf is the GGUF detector: header, metadata and tensor-info
// validation with bounded counts and lengths, tensor offsets and alignment,
// and server-side template injection in tokenizer.chat_template and the
// named tokenizer.chat_template.* templates.
package gguf

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/gguf"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/template"
)

// Name is the detector's stable identifier.
const Name = "gguf"

// Rule ids.
const (
	RuleVersion    = "GGUF-001"
	RuleTruncated  = "GGUF-002"
	RuleCount      = "GGUF-003"
	RuleLength     = "GGUF-004"
	RuleValueType  = "GGUF-005"
	RuleDuplicate  = "GGUF-006"
	RuleDims       = "GGUF-007"
	RuleTensorType = "GGUF-008"
	RuleAlignment  = "GGUF-009"
	RuleOffset     = "GGUF-010"
	RuleValue      = "GGUF-011"
	RuleTooMany    = "GGUF-012"
)

//go:embed rules.yaml
var rulesYAML []byte

var ruleFor = []struct {
	err  error
	rule string
}{
	{gguf.ErrMagic, RuleVersion},
	{gguf.ErrVersion, RuleVersion},
	{gguf.ErrTruncated, RuleTruncated},
	{gguf.ErrCount, RuleCount},
	{gguf.ErrLength, RuleLength},
	{gguf.ErrValueType, RuleValueType},
	{gguf.ErrDuplicate, RuleDuplicate},
	{gguf.ErrDims, RuleDims},
	{gguf.ErrTensorType, RuleTensorType},
	{gguf.ErrAlignment, RuleAlignment},
	{gguf.ErrOffset, RuleOffset},
	{gguf.ErrValue, RuleValue},
	{gguf.ErrTooMany, RuleTooMany},
}

// Detector examines GGUF files.
type Detector struct {
	scan.Base
}

var _ scan.Detector = (*Detector)(nil)

// New returns the detector; cfg is not used. Its rules include the chat
// template rules (TEMPLATE-*), which it reports for embedded templates.
func New(cfg scan.Config) (scan.Detector, error) {
	trs, err := template.Rules()
	if err != nil {
		return nil, err
	}
	b := scan.NewBase(Name, []format.Kind{format.GGUF}, rulesYAML, trs...)
	return &Detector{Base: b}, nil
}

// Scan implements scan.Detector. It reads the header, metadata and tensor
// infos, never the tensor data.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	f, err := gguf.Parse(in.R, in.Size)
	if err != nil {
		return err
	}
	for _, p := range f.Problems {
		rule := RuleValue
		for _, m := range ruleFor {
			if errors.Is(p.Err, m.err) {
				rule = m.rule
				break
			}
		}
		sink.Report(d.Finding(rule, p.Error(), p.Subject, p.Offset))
	}
	for _, t := range f.ChatTemplates() {
		if err := ctx.Err(); err != nil {
			return err
		}
		template.Report(d.RuleSet(), sink, t.Source, fmt.Sprintf("GGUF %s", t.Key), t.SourceOffset, true)
	}
	return nil
}
