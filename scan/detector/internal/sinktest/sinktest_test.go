package sinktest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
)

// echo reports one finding per input and hands "inner" back once, at the
// top level.
type echo struct{}

func (echo) Name() string         { return "echo" }
func (echo) Kinds() []format.Kind { return []format.Kind{format.Pickle} }
func (echo) Rules() []scan.Rule   { return nil }
func (echo) Scan(ctx context.Context, in *scan.Input, s scan.Sink) error {
	s.Report(mlsec.Finding{RuleID: "ECHO-001", Severity: mlsec.SeverityLow})
	if in.Depth == 0 {
		inner := []byte("\x80\x02N.")
		return s.Nested(ctx, "inner", bytes.NewReader(inner), int64(len(inner)))
	}
	return nil
}

func TestSinkScanRecurses(t *testing.T) {
	d := Detector(t, func(scan.Config) (scan.Detector, error) { return echo{}, nil })
	s := New(t, d).Scan(d, Input("x", []byte("\x80\x02N."), format.Pickle))
	if diff := cmp.Diff([]string{"ECHO-001@", "ECHO-001@inner"}, s.Rules()); diff != "" {
		t.Errorf("Rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"inner"}, s.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
}

// errReaderAt fails every read.
type errReaderAt struct{}

func (errReaderAt) ReadAt([]byte, int64) (int, error) { return 0, errors.New("broken") }

func TestDiscard(t *testing.T) {
	lim := scan.DefaultLimits()
	lim.MaxDepth = 3
	s := Discard{Lim: lim}
	if s.Limits() != lim {
		t.Errorf("Limits() = %+v, want %+v", s.Limits(), lim)
	}
	if err := s.Nested(context.Background(), "a", bytes.NewReader(make([]byte, 100)), 100); err != nil {
		t.Errorf("Nested: %v", err)
	}
	if err := s.Nested(context.Background(), "b", errReaderAt{}, 10); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("Nested over a failing reader: %v, want its error", err)
	}
}
