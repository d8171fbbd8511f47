// Package report renders scan results as a table for people, as the
// mlsec.scan/v1 JSON document for machines, and as SARIF 2.1.0 for code
// scanning platforms. Every renderer is a pure function of the result and is
// golden-tested.
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/scan"
)

// ScanSchema names the JSON document layout written by WriteJSON.
const ScanSchema = "mlsec.scan/v1"

// Formats lists the output formats of mlsec scan.
var formats = []string{"table", "json", "sarif"}

// Formats returns the names of the supported scan output formats.
func Formats() []string { return append([]string(nil), formats...) }

// Tool identifies the program that wrote a report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Summary counts a scan's outcome.
type Summary struct {
	Artifacts int `json:"artifacts"`
	Scanned   int `json:"scanned"`
	Skipped   int `json:"skipped"`
	Errors    int `json:"errors"`
	// Analysed, Inert and NotAnalysed count artifacts by verdict.
	Analysed    int            `json:"analysed"`
	Inert       int            `json:"inert"`
	NotAnalysed int            `json:"not_analysed"`
	Findings    int            `json:"findings"`
	BySeverity  map[string]int `json:"by_severity"`
	MaxSeverity mlsec.Severity `json:"max_severity"`
}

// ScanDocument is the mlsec.scan/v1 JSON document (see docs/scan-json.md).
type ScanDocument struct {
	Schema    string          `json:"schema"`
	Tool      Tool            `json:"tool"`
	Artifacts []scan.Artifact `json:"artifacts"`
	Summary   Summary         `json:"summary"`
}

// NewScanDocument builds the JSON document of res.
func NewScanDocument(res *scan.Result) ScanDocument {
	doc := ScanDocument{
		Schema:    ScanSchema,
		Tool:      Tool{Name: "mlsec", Version: mlsec.Version},
		Artifacts: res.Artifacts,
		Summary:   Summarize(res),
	}
	if doc.Artifacts == nil {
		doc.Artifacts = []scan.Artifact{}
	}
	return doc
}

// Summarize counts artifacts by status and findings by severity.
func Summarize(res *scan.Result) Summary {
	s := Summary{BySeverity: map[string]int{}}
	for _, sev := range []mlsec.Severity{mlsec.SeverityCritical, mlsec.SeverityHigh, mlsec.SeverityMedium, mlsec.SeverityLow, mlsec.SeverityInfo} {
		s.BySeverity[sev.String()] = 0
	}
	for _, a := range res.Artifacts {
		s.Artifacts++
		switch a.Status {
		case scan.StatusScanned:
			s.Scanned++
		case scan.StatusSkipped:
			s.Skipped++
		case scan.StatusError:
			s.Errors++
		}
		switch a.Verdict {
		case scan.VerdictAnalysed:
			s.Analysed++
		case scan.VerdictInert:
			s.Inert++
		case scan.VerdictNotAnalysed:
			s.NotAnalysed++
		}
		for _, f := range a.Findings {
			s.Findings++
			s.BySeverity[f.Severity.String()]++
			if f.Severity > s.MaxSeverity {
				s.MaxSeverity = f.Severity
			}
		}
	}
	return s
}

// WriteTable writes a human-readable table: one line per finding, most
// severe first, then a summary line with the artifacts counted by verdict.
// Artifacts that were not analysed are listed with the reason and limit
// (they also have a finding); with verbose, inert ones are listed with
// what they were recognised as.
func WriteTable(w io.Writer, res *scan.Result, verbose bool) error {
	fs := res.Findings()
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Severity > fs[j].Severity })
	var b strings.Builder
	if len(fs) > 0 {
		tw := newTabWriter(&b)
		fmt.Fprintln(tw, "SEVERITY\tRULE\tPATH\tLOCATION\tMESSAGE")
		for _, f := range fs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(f.Severity.String()), f.RuleID, f.Path, location(f.Location), oneLine(f.Message))
		}
		tw.Flush()
	}
	for _, a := range res.Artifacts {
		switch {
		case a.Verdict == scan.VerdictNotAnalysed:
			fmt.Fprintf(&b, "%s: not analysed (%s): %s", a.Path, a.Format, oneLine(a.Reason))
			if a.Limit != "" {
				fmt.Fprintf(&b, " [limit %s]", a.Limit)
			}
			b.WriteString("\n")
		case verbose && a.Verdict == scan.VerdictInert:
			fmt.Fprintf(&b, "%s: inert (%s): %s\n", a.Path, a.Format, oneLine(a.Reason))
		}
	}
	s := Summarize(res)
	fmt.Fprintf(&b, "%d artifacts (%d analysed, %d inert, %d not analysed), %d findings", s.Artifacts, s.Analysed, s.Inert, s.NotAnalysed, s.Findings)
	if s.Findings > 0 {
		var parts []string
		for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
			if n := s.BySeverity[sev]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, sev))
			}
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func location(l mlsec.Location) string {
	switch {
	case l.Member != "" && l.Offset >= 0:
		return fmt.Sprintf("%s@%d", l.Member, l.Offset)
	case l.Member != "":
		return l.Member
	case l.Offset >= 0:
		return fmt.Sprintf("@%d", l.Offset)
	}
	return "-"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
