package scan

import (
	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
)

// Status says how far the scan of one artifact got.
type Status string

// Artifact statuses.
const (
	// StatusScanned: at least one detector examined the artifact.
	StatusScanned Status = "scanned"
	// StatusSkipped: the format is not a model format, or no detector
	// examines it yet; Reason says which.
	StatusSkipped Status = "skipped"
	// StatusError: the artifact could not be read or a detector failed; the
	// failure is also a finding.
	StatusError Status = "error"
)

// Artifact is the scan result of one top-level path (a file, or a directory
// that is a model repository).
type Artifact struct {
	Path   string      `json:"path"`
	Format format.Kind `json:"format"`
	// Formats lists every format of a polyglot (bytes that loaders accept
	// as several formats, each analysed), Format first; empty otherwise.
	Formats []format.Kind `json:"formats,omitempty"`
	Size    int64         `json:"size"`
	// SHA256 is the hex digest of the whole file, set only when digests were
	// requested (a plain scan reads only what detection needs).
	SHA256 string `json:"sha256,omitempty"`
	Status Status `json:"status"`
	// Verdict is analysed, inert or not-analysed: the worst verdict of the
	// file itself and of every member scanned inside it.
	Verdict Verdict `json:"verdict"`
	// Reason explains Status and Verdict: what an inert file was shown to
	// be, why a file was not analysed.
	Reason string `json:"reason,omitempty"`
	// Limit names the limit that was hit when Verdict is not-analysed
	// because of one (see the Limit* constants).
	Limit string `json:"limit,omitempty"`
	// Facts are detector annotations such as a repository's name and revision.
	Facts map[string]string `json:"facts,omitempty"`
	// Members lists container members that were examined (capped).
	Members  []Member        `json:"members,omitempty"`
	Findings []mlsec.Finding `json:"findings"`
}

// Member is one container member the runner examined.
type Member struct {
	Name   string      `json:"name"`
	Format format.Kind `json:"format"`
	// Formats is as for Artifact.
	Formats []format.Kind `json:"formats,omitempty"`
	Size    int64         `json:"size"`
	Status  Status        `json:"status"`
	// Verdict, Reason and Limit are as for Artifact, for this member alone
	// (and what is nested in it).
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason,omitempty"`
	Limit   string  `json:"limit,omitempty"`
}

// Result is the outcome of a scan run, artifacts in input order.
type Result struct {
	Artifacts []Artifact `json:"artifacts"`
	// Rules are the metadata of every rule that fired, by id, for reports.
	Rules RuleSet `json:"-"`
}

// Findings returns every finding of every artifact, in artifact order.
func (r *Result) Findings() []mlsec.Finding {
	var out []mlsec.Finding
	for _, a := range r.Artifacts {
		out = append(out, a.Findings...)
	}
	return out
}
