// Package sinktest provides a recording scan.Sink for detector tests: it
// keeps every finding and the bytes of every Nested call, and can recurse
// into nested inputs with a set of detectors, as the runner does.
package sinktest

import (
	"bytes"
	"context"
	"io"
	"sort"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
)

// MaxNested caps the bytes kept per Nested call.
const MaxNested = 64 << 20

// Sink records findings and Nested calls.
type Sink struct {
	T testing.TB
	// Detectors, when set, scan nested inputs of their kinds (by content).
	Detectors []scan.Detector
	// Lim is returned by Limits (scan.DefaultLimits() from New).
	Lim scan.Limits
	// Findings are the reported findings, Location.Member prefixed like the
	// runner does.
	Findings []mlsec.Finding
	// Members maps full member names ("a!b") to their content.
	Members map[string][]byte
	// Declared records scan.ReportNotAnalysed calls as
	// "member: limit: reason".
	Declared []string

	prefix string
	depth  int
}

// New returns an empty Sink recursing with ds.
func New(t testing.TB, ds ...scan.Detector) *Sink {
	return &Sink{T: t, Detectors: ds, Lim: scan.DefaultLimits(), Members: map[string][]byte{}}
}

// Detector builds a detector with newDetector and the default
// configuration, failing the test on error.
func Detector(tb testing.TB, newDetector func(scan.Config) (scan.Detector, error)) scan.Detector {
	tb.Helper()
	d, err := newDetector(scan.DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// Input returns an input of kind named path whose content is b.
func Input(path string, b []byte, kind format.Kind) *scan.Input {
	return &scan.Input{Path: path, R: bytes.NewReader(b), Size: int64(len(b)), Kind: kind}
}

// Scan runs d on in, reporting to s, fails the test if d returns an
// error, and returns s.
func (s *Sink) Scan(d scan.Detector, in *scan.Input) *Sink {
	s.T.Helper()
	if err := d.Scan(context.Background(), in, s); err != nil {
		s.T.Fatal(err)
	}
	return s
}

// Report implements scan.Sink.
func (s *Sink) Report(f mlsec.Finding) {
	switch {
	case s.prefix == "":
	case f.Location.Member == "":
		f.Location.Member = s.prefix
	default:
		f.Location.Member = s.prefix + "!" + f.Location.Member
	}
	s.Findings = append(s.Findings, f)
}

// NotAnalysed implements scan.NotAnalysedReporter.
func (s *Sink) NotAnalysed(limit, reason string) {
	s.Declared = append(s.Declared, s.prefix+": "+limit+": "+reason)
}

// Limits implements scan.Sink.
func (s *Sink) Limits() scan.Limits { return s.Lim }

// Nested implements scan.Sink.
func (s *Sink) Nested(ctx context.Context, name string, r io.ReaderAt, size int64) error {
	full := name
	if s.prefix != "" {
		full = s.prefix + "!" + name
	}
	if size > MaxNested {
		s.T.Fatalf("nested %s: %d bytes", full, size)
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		s.T.Fatalf("nested %s: %v", full, err)
	}
	s.Members[full] = b
	if s.depth >= s.Lim.MaxDepth {
		return scan.ErrLimit
	}
	k, _ := format.Detect(bytes.NewReader(b), size)
	for _, d := range s.Detectors {
		for _, dk := range d.Kinds() {
			if dk != k {
				continue
			}
			old := s.prefix
			s.prefix, s.depth = full, s.depth+1
			err := d.Scan(ctx, &scan.Input{Member: full, R: bytes.NewReader(b), Size: size, Kind: k, Depth: s.depth}, s)
			s.prefix, s.depth = old, s.depth-1
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Rules returns "RULE@member" for every finding, sorted.
func (s *Sink) Rules() []string {
	var ids []string
	for _, f := range s.Findings {
		ids = append(ids, f.RuleID+"@"+f.Location.Member)
	}
	sort.Strings(ids)
	return ids
}

// Names returns the names passed to Nested, sorted.
func (s *Sink) Names() []string {
	var ns []string
	for n := range s.Members {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// AtLeast returns the findings at or above sev.
func (s *Sink) AtLeast(sev mlsec.Severity) []mlsec.Finding {
	var out []mlsec.Finding
	for _, f := range s.Findings {
		if f.Severity >= sev {
			out = append(out, f)
		}
	}
	return out
}

// Discard is a scan.Sink for fuzz targets: it drops findings and reads
// every nested input through to the end, as a detector for the member
// would, returning the read error if any.
type Discard struct {
	// Lim is returned by Limits.
	Lim scan.Limits
}

// Report implements scan.Sink.
func (Discard) Report(mlsec.Finding) {}

// Limits implements scan.Sink.
func (d Discard) Limits() scan.Limits { return d.Lim }

// Nested implements scan.Sink.
func (Discard) Nested(_ context.Context, _ string, r io.ReaderAt, size int64) error {
	_, err := io.Copy(io.Discard, io.NewSectionReader(r, 0, size))
	return err
}
