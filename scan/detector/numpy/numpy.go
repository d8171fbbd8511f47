// Package numpy is the detector for numpy .npy files. It parses the header
// only (format/numpy): an object array's data is a pickle and goes to the
// runner through Sink.Nested; plain arrays are never read past the header.
package numpy

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/numpy"
	"github.com/mlsecops/mlsec/scan"
)

// Name is the detector's stable identifier.
const Name = "numpy"

// Rule ids.
const (
	RuleMalformed = "NPY-001"
	RuleObject    = "NPY-002"
	RuleBigHeader = "NPY-003"
	RuleShort     = "NPY-004"
	RuleTrailing  = "NPY-005"
)

// PickleMember is the member name under which an object array's pickle is
// scanned.
const PickleMember = "[pickle]"

//go:embed rules.yaml
var rulesYAML []byte

// Detector examines .npy files.
type Detector struct {
	rules []scan.Rule
	set   scan.RuleSet
}

var _ scan.Detector = (*Detector)(nil)

// New returns the numpy detector.
func New(cfg scan.Config) (scan.Detector, error) {
	rs, err := scan.ParseRules(rulesYAML)
	if err != nil {
		return nil, fmt.Errorf("numpy: %w", err)
	}
	return &Detector{rules: rs, set: scan.NewRuleSet(rs)}, nil
}

// Name implements scan.Detector.
func (d *Detector) Name() string { return Name }

// Kinds implements scan.Detector.
func (d *Detector) Kinds() []format.Kind { return []format.Kind{format.NumPy} }

// Rules implements scan.Detector.
func (d *Detector) Rules() []scan.Rule { return d.rules }

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	h, err := numpy.ReadHeader(in.R, in.Size)
	if err != nil {
		if errors.Is(err, numpy.ErrMagic) || errors.Is(err, numpy.ErrVersion) || errors.Is(err, numpy.ErrHeader) || errors.Is(err, numpy.ErrTooBig) {
			sink.Report(d.set.Finding(RuleMalformed, err.Error(), "", 0))
			return nil
		}
		return err
	}
	if h.HeaderLen > numpy.NumpyMaxHeaderLen {
		sink.Report(d.set.Finding(RuleBigHeader, fmt.Sprintf("header of %d bytes (numpy's default limit is %d)", h.HeaderLen, numpy.NumpyMaxHeaderLen), "", 8))
	}
	data := in.Size - h.DataOffset
	if h.Object {
		sink.Report(d.set.Finding(RuleObject, fmt.Sprintf("object dtype %s: the array data is a pickle", h.Descr), h.Descr, h.DataOffset))
		err := sink.Nested(ctx, PickleMember, io.NewSectionReader(in.R, h.DataOffset, data), data)
		if errors.Is(err, scan.ErrLimit) {
			return nil
		}
		return err
	}
	switch want := h.DataSize(); {
	case want < 0:
	case data < want:
		sink.Report(d.set.Finding(RuleShort, fmt.Sprintf("%d bytes of array data, header declares %d", data, want), "", h.DataOffset))
	case data > want:
		sink.Report(d.set.Finding(RuleTrailing, fmt.Sprintf("%d bytes after the %d bytes of array data", data-want, want), "", h.DataOffset+want))
	}
	return nil
}
