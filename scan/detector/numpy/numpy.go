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
	RuleDtype     = "NPY-006"
)

// PickleMember is the member name under which an object array's pickle is
// scanned.
const PickleMember = "[pickle]"

//go:embed rules.yaml
var rulesYAML []byte

// Detector examines .npy files.
type Detector struct {
	scan.Base
}

var _ scan.Detector = (*Detector)(nil)

// New returns the numpy detector.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.NumPy}, rulesYAML)
	return &Detector{Base: b}, nil
}

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	h, err := numpy.ReadHeader(in.R, in.Size)
	if errors.Is(err, numpy.ErrDtype) && h != nil {
		// numpy's dtype spellings vary by version: one this scanner
		// cannot place may be an object dtype, so the data is scanned
		// as whatever it is (a pickle is judged as one).
		sink.Report(d.Finding(RuleDtype, err.Error()+"; the array data is scanned by content", "", 0))
		data := in.Size - h.DataOffset
		if data <= 0 {
			return nil
		}
		err := sink.Nested(ctx, PickleMember, io.NewSectionReader(in.R, h.DataOffset, data), data)
		if errors.Is(err, scan.ErrLimit) {
			return nil
		}
		return err
	}
	if err != nil {
		if errors.Is(err, numpy.ErrMagic) || errors.Is(err, numpy.ErrVersion) || errors.Is(err, numpy.ErrHeader) || errors.Is(err, numpy.ErrTooBig) {
			sink.Report(d.Finding(RuleMalformed, err.Error(), "", 0))
			return nil
		}
		return err
	}
	if h.HeaderLen > numpy.NumpyMaxHeaderLen {
		sink.Report(d.Finding(RuleBigHeader, fmt.Sprintf("header of %d bytes (numpy's default limit is %d)", h.HeaderLen, numpy.NumpyMaxHeaderLen), "", 8))
	}
	data := in.Size - h.DataOffset
	if h.Object {
		sink.Report(d.Finding(RuleObject, fmt.Sprintf("object dtype %s: the array data is a pickle", h.Descr), h.Descr, h.DataOffset))
		err := sink.Nested(ctx, PickleMember, io.NewSectionReader(in.R, h.DataOffset, data), data)
		if errors.Is(err, scan.ErrLimit) {
			return nil
		}
		return err
	}
	switch want := h.DataSize(); {
	case want < 0:
	case data < want:
		sink.Report(d.Finding(RuleShort, fmt.Sprintf("%d bytes of array data, header declares %d", data, want), "", h.DataOffset))
	case data > want:
		sink.Report(d.Finding(RuleTrailing, fmt.Sprintf("%d bytes after the %d bytes of array data", data-want, want), "", h.DataOffset+want))
	}
	return nil
}
