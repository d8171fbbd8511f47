// Package problem records the violations a format parser finds in its
// input, up to a cap, so that hostile input cannot grow the list without
// bound.
package problem

import "fmt"

// Max caps the problems recorded for one input; a further problem of the
// parser's "too many" kind marks that the list was cut.
const Max = 1000

// Problem is one violation of a format.
type Problem struct {
	// Err is one of the parsing package's sentinel errors.
	Err error
	// Offset is the byte offset in the file the problem refers to, -1 when
	// no single offset applies.
	Offset int64
	// Subject names the key or tensor involved, if any.
	Subject string
	// Detail explains the problem.
	Detail string
}

// Error implements error; errors.Is(p, ErrX) reports the problem's kind.
func (p Problem) Error() string {
	s := p.Err.Error()
	if p.Subject != "" {
		s += " (" + p.Subject + ")"
	}
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Unwrap returns the sentinel error.
func (p Problem) Unwrap() error { return p.Err }

// Add returns ps with a problem of kind err appended, its detail formatted
// from format and args. Once ps holds Max problems it appends one problem
// of kind tooMany instead and drops every later problem.
func Add(ps []Problem, tooMany, err error, off int64, subject, format string, args ...any) []Problem {
	if len(ps) == Max {
		ps = append(ps, Problem{Err: tooMany, Offset: -1, Detail: fmt.Sprintf("more than %d problems; the rest are not listed", Max)})
	}
	if len(ps) > Max {
		return ps
	}
	return append(ps, Problem{Err: err, Offset: off, Subject: subject, Detail: fmt.Sprintf(format, args...)})
}
