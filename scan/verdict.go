package scan

import (
	"errors"
	"fmt"
)

// Verdict is how the scan of one file (an artifact or a container member)
// ended. Every scanned file ends in exactly one verdict.
type Verdict string

// The three verdicts.
const (
	// VerdictAnalysed: a format was recognised and analysed completely.
	VerdictAnalysed Verdict = "analysed"
	// VerdictInert: the content was positively recognised as something no
	// supported loader executes (plain text that is not a pickle program,
	// an image, a known data format); Reason says what it was shown to be.
	VerdictInert Verdict = "inert"
	// VerdictNotAnalysed: anything else — unrecognised bytes, a parse
	// error, a limit hit, a timeout, a detector crash. Reason says why and
	// Limit names the limit when one was hit. Always a finding (high by
	// default, see Config.NotAnalysedSeverity).
	VerdictNotAnalysed Verdict = "not-analysed"
)

// worse returns the more severe of two verdicts (not-analysed over analysed
// over inert; "" is the least).
func worse(a, b Verdict) Verdict {
	rank := func(v Verdict) int {
		switch v {
		case VerdictNotAnalysed:
			return 3
		case VerdictAnalysed:
			return 2
		case VerdictInert:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Names of the limits the runner and detectors report in
// NotAnalysedError.Limit and Artifact.Limit. The runner's own caps use their
// mlsec.yaml key; detectors may name their own (stable, lower-case, snake
// case, e.g. "onnx_graph_depth", "lzma_dictionary", "json_depth").
const (
	LimitMaxDepth       = "max_depth"
	LimitMaxMembers     = "max_members"
	LimitMaxTotalBytes  = "max_total_bytes"
	LimitMaxRatio       = "max_ratio"
	LimitMaxMemberBytes = "max_member_bytes"
	LimitMaxPickleOps   = "max_pickle_ops"
	LimitTimeout        = "timeout"
)

// NotAnalysedError is the error a detector returns (or wraps) to declare
// that its input was not analysed: Reason says why in words, Limit names
// the limit that was hit ("" for a parse error or an unsupported
// construct). The runner turns it into the not-analysed verdict and one
// MLSEC-SCAN finding; the detector need not report a finding of its own.
//
// A detector that can go on after the problem (to report what it did see)
// calls ReportNotAnalysed instead and returns nil.
type NotAnalysedError struct {
	Reason string
	Limit  string
	// Err is the underlying cause, if any (kept for errors.Is/As).
	Err error
}

// Error implements error.
func (e *NotAnalysedError) Error() string {
	s := "not analysed: " + e.Reason
	if e.Limit != "" {
		s += " (limit " + e.Limit + ")"
	}
	if e.Err != nil && e.Reason == "" {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *NotAnalysedError) Unwrap() error { return e.Err }

// NotAnalysed returns a *NotAnalysedError for limit (or "") and reason.
func NotAnalysed(limit, reason string) error {
	return &NotAnalysedError{Reason: reason, Limit: limit}
}

// NotAnalysedf is NotAnalysed with a formatted reason; a %w verb in format
// becomes the cause.
func NotAnalysedf(limit, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &NotAnalysedError{Reason: err.Error(), Limit: limit, Err: errors.Unwrap(err)}
}

// NotAnalysedReporter is implemented by sinks that record the not-analysed
// verdict of the input being scanned. The runner's sink and
// sinktest.Sink implement it; use ReportNotAnalysed rather than asserting
// for it.
type NotAnalysedReporter interface {
	// NotAnalysed marks the current input as not analysed because of
	// reason, limit naming the limit hit ("" when none).
	NotAnalysed(limit, reason string)
}

// ReportNotAnalysed declares through sink that the current input was not
// (completely) analysed, without stopping the detector: the runner gives
// the input the not-analysed verdict and reports one MLSEC-SCAN finding
// naming reason and limit. Sinks that cannot record a verdict get the
// equivalent finding-free no-op; detectors need not care.
func ReportNotAnalysed(sink Sink, limit, reason string) {
	if r, ok := sink.(NotAnalysedReporter); ok {
		r.NotAnalysed(limit, reason)
	}
}

// asNotAnalysed extracts reason and limit from a detector's error.
func asNotAnalysed(err error) (reason, limit string, ok bool) {
	var na *NotAnalysedError
	if errors.As(err, &na) {
		reason = na.Reason
		if reason == "" && na.Err != nil {
			reason = na.Err.Error()
		}
		return reason, na.Limit, true
	}
	return "", "", false
}
