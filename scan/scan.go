// Package scan turns parsed facts into findings. A Detector examines one
// input of the formats it declares; the Runner walks paths, recognises each
// file's format by content, dispatches it to the detectors for that format,
// recurses into container members, and records a per-artifact status so one
// bad file never stops a run.
package scan

import (
	"context"
	"io"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
)

// Input is one artifact, or one member of a container, to examine.
type Input struct {
	// Path is the top-level artifact path as the user named it.
	Path string
	// Member is the location inside containers ("" for the artifact itself);
	// nested members are joined by "!".
	Member string
	// R and Size give the bytes. Detectors read only what they need.
	R    io.ReaderAt
	Size int64
	// Kind is the detected format.
	Kind format.Kind
	// Depth is the container nesting depth (0 for the artifact itself).
	Depth int
	// Dir is set when the artifact is a directory (model repositories,
	// SavedModel directories); R is nil then.
	Dir string
}

// Sink receives what a detector finds and lets container detectors hand
// members back to the Runner for scanning by content.
type Sink interface {
	// Report records a finding. Path and Location.Member are filled in from
	// the Input when left empty.
	Report(f mlsec.Finding)
	// Nested scans a container member by content, with the Runner's caps on
	// depth, member count and total bytes. name is the member's name inside
	// the current input. Exceeding a cap is reported as a finding, and Nested
	// returns ErrLimit.
	Nested(ctx context.Context, name string, r io.ReaderAt, size int64) error
	// Limits returns the caps in force.
	Limits() Limits
}

// Detector examines inputs of the formats it declares.
type Detector interface {
	// Name is the detector's stable identifier, e.g. "pickle".
	Name() string
	// Kinds lists the formats this detector examines.
	Kinds() []format.Kind
	// Rules lists the rules this detector can report.
	Rules() []Rule
	// Scan examines in and reports findings to sink. An error means the
	// input could not be examined at all; parse failures of hostile input
	// are findings, not errors.
	Scan(ctx context.Context, in *Input, sink Sink) error
}

// Limits bounds the work spent on one top-level artifact.
type Limits struct {
	// MaxDepth is the deepest container nesting scanned.
	MaxDepth int `yaml:"max_depth"`
	// MaxMembers caps the container members scanned per artifact.
	MaxMembers int `yaml:"max_members"`
	// MaxTotalBytes caps the decompressed bytes read per artifact.
	MaxTotalBytes int64 `yaml:"max_total_bytes"`
	// MaxRatio caps a member's decompressed size over its compressed size.
	MaxRatio int64 `yaml:"max_ratio"`
	// MaxMemberBytes caps one decompressed member that must be held in memory.
	MaxMemberBytes int64 `yaml:"max_member_bytes"`
	// MaxPickleOps caps the opcodes executed symbolically per pickle.
	MaxPickleOps int `yaml:"max_pickle_ops"`
	// MaxFileSeconds caps the wall time spent on one top-level artifact;
	// past it the scan of that artifact stops with the not-analysed
	// verdict (limit "timeout").
	MaxFileSeconds int `yaml:"max_file_seconds"`
	// MaxInflatedBytes caps the bytes decompressed per artifact, across all
	// nesting levels, including heads inflated only to sniff a member.
	MaxInflatedBytes int64 `yaml:"max_inflated_bytes"`
	// MaxInflatedMembers caps the compressed members opened per artifact,
	// across all nesting levels: a 42.zip-style bomb's fan-out.
	MaxInflatedMembers int `yaml:"max_inflated_members"`
}

// DefaultLimits returns the caps used when the configuration names none.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth:       8,
		MaxMembers:     100_000,
		MaxTotalBytes:  8 << 30,
		MaxRatio:       200,
		MaxMemberBytes: 512 << 20,
		MaxPickleOps:   50_000_000,
		MaxFileSeconds: 300,
		// About 3 s of inflation on one core, and 10,000 opened members
		// about 1 s: a bomb ends in a verdict within the 5 s budget.
		MaxInflatedBytes:   1 << 30,
		MaxInflatedMembers: 10_000,
	}
}
