package attest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/report"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
)

// ScanArtifact runs every registered detector over the model at path, in
// process, and returns the mlsec.scan/v1 document with artifact and finding
// paths made relative to the model (so the predicate does not depend on
// where the model was when it was scanned). The signature and claims files
// are left out while they scan clean: a file under one of those names that
// the scanner reports on (a pickle saved as claims.jsonl) is kept, so it is
// a finding rather than a silent pass.
func ScanArtifact(ctx context.Context, path string, cfg scan.Config, opts scan.Options) (*report.ScanDocument, error) {
	dets, err := list.All(cfg)
	if err != nil {
		return nil, err
	}
	res, err := scan.NewRunner(dets, cfg, opts).Scan(ctx, []string{path})
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	rel := func(p string) string {
		if !fi.IsDir() {
			return filepath.Base(path)
		}
		r, err := filepath.Rel(path, p)
		if err != nil {
			return filepath.ToSlash(p)
		}
		return filepath.ToSlash(r)
	}
	kept := res.Artifacts[:0]
	for _, a := range res.Artifacts {
		a.Path = rel(a.Path)
		if fi.IsDir() && evidence.IsInside(a.Path) && len(a.Findings) == 0 {
			continue
		}
		for i := range a.Findings {
			a.Findings[i].Path = a.Path
		}
		kept = append(kept, a)
	}
	res.Artifacts = kept
	doc := report.NewScanDocument(res)
	return &doc, nil
}

// ScanStatement wraps a scan document as a ScanType statement about subject.
func ScanStatement(subject Subject, doc *report.ScanDocument) ([]byte, error) {
	s, err := structOf(doc)
	if err != nil {
		return nil, err
	}
	return NewStatement(subject, ScanType, s)
}

// ScanSummary is the part of a scan predicate a verifier judges.
type ScanSummary struct {
	Schema  string         `json:"schema"`
	Tool    report.Tool    `json:"tool"`
	Summary report.Summary `json:"summary"`
	// Artifacts is kept raw: findings are for people and policies.
	Artifacts []json.RawMessage `json:"artifacts"`
}

// ScanOf reads and checks a scan predicate: the mlsec.scan/v1 schema name,
// a tool name and a summary consistent with the artifacts.
func ScanOf(st Statement) (*ScanSummary, error) {
	if st.GetPredicateType() != ScanType {
		return nil, fmt.Errorf("%w: predicate type %q is not %s", ErrMalformed, st.GetPredicateType(), ScanType)
	}
	b, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("%w: scan predicate: %v", ErrMalformed, err)
	}
	var s ScanSummary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: scan predicate: %v", ErrMalformed, err)
	}
	switch {
	case s.Schema != report.ScanSchema:
		return nil, fmt.Errorf("%w: scan predicate schema %q, want %q", ErrMalformed, s.Schema, report.ScanSchema)
	case s.Tool.Name == "":
		return nil, fmt.Errorf("%w: scan predicate has no tool name", ErrMalformed)
	case s.Summary.Artifacts != len(s.Artifacts):
		return nil, fmt.Errorf("%w: scan predicate summary counts %d artifacts, the predicate lists %d", ErrMalformed, s.Summary.Artifacts, len(s.Artifacts))
	}
	return &s, nil
}

// MaxSeverity is the highest severity the scan found.
func (s *ScanSummary) MaxSeverity() mlsec.Severity { return s.Summary.MaxSeverity }
