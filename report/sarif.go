package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/scan"
)

// SARIF 2.1.0 documents, only the parts mlsec writes.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Results     []sarifResult     `json:"results"`
	Artifacts   []sarifArtifact   `json:"artifacts,omitempty"`
	Invocations []sarifInvocation `json:"invocations"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool `json:"executionSuccessful"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	ShortDescription     sarifMessage       `json:"shortDescription"`
	FullDescription      sarifMessage       `json:"fullDescription"`
	Help                 sarifMessage       `json:"help"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
	Properties           sarifRuleProps     `json:"properties"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags             []string `json:"tags"`
	SecuritySeverity string   `json:"security-severity"`
	Precision        string   `json:"precision"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations"`
	// PartialFingerprints lets GitHub code scanning match a result across
	// runs. Model files have no lines for upload-sarif to hash, so mlsec
	// supplies the intra-file location hash itself.
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical          `json:"physicalLocation"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

type sarifArtifactLocation struct {
	URI   string `json:"uri"`
	Index int    `json:"index"`
}

type sarifRegion struct {
	ByteOffset int64 `json:"byteOffset"`
	ByteLength int64 `json:"byteLength"`
}

type sarifLogicalLocation struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifArtifact struct {
	Location sarifArtifactLocation `json:"location"`
	Length   int64                 `json:"length"`
	Hashes   map[string]string     `json:"hashes,omitempty"`
	// Properties carry the scan verdict (analysed, inert, not-analysed),
	// its reason and the limit hit.
	Properties map[string]string `json:"properties,omitempty"`
}

// sarifLevel maps a severity to a SARIF result level.
func sarifLevel(s mlsec.Severity) string {
	switch {
	case s >= mlsec.SeverityHigh:
		return "error"
	case s == mlsec.SeverityMedium:
		return "warning"
	default:
		return "note"
	}
}

// securitySeverity is GitHub code scanning's numeric severity.
func securitySeverity(s mlsec.Severity) string {
	switch s {
	case mlsec.SeverityCritical:
		return "9.5"
	case mlsec.SeverityHigh:
		return "8.0"
	case mlsec.SeverityMedium:
		return "5.5"
	case mlsec.SeverityLow:
		return "3.0"
	}
	return "0.0"
}

// WriteSARIF writes res as a SARIF 2.1.0 log with one run. Rule metadata
// covers every rule that fired; artifact URIs are the paths as given on
// the command line (see uri).
func WriteSARIF(w io.Writer, res *scan.Result) error {
	fired := map[string]bool{}
	for _, f := range res.Findings() {
		fired[f.RuleID] = true
	}
	ids := make([]string, 0, len(fired))
	for id := range fired {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	index := map[string]int{}
	var rules []sarifRule
	for i, id := range ids {
		index[id] = i
		r, ok := res.Rules[id]
		if !ok {
			r = scan.Rule{ID: id, Title: id}
		}
		tags := []string{"security"}
		for _, m := range r.Mappings {
			tags = append(tags, m.Framework+"/"+m.ID)
		}
		desc := r.Description
		if desc == "" {
			desc = r.Title
		}
		rules = append(rules, sarifRule{
			ID:                   r.ID,
			Name:                 ruleName(r.Title),
			ShortDescription:     sarifMessage{Text: r.Title},
			FullDescription:      sarifMessage{Text: oneLine(desc)},
			Help:                 sarifMessage{Text: oneLine(r.Remediation)},
			DefaultConfiguration: sarifConfiguration{Level: sarifLevel(r.Severity)},
			Properties:           sarifRuleProps{Tags: tags, SecuritySeverity: securitySeverity(r.Severity), Precision: "high"},
		})
	}
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "mlsec",
			Version:        mlsec.Version,
			InformationURI: "https://github.com/mlsecops/mlsec",
			Rules:          rules,
		}},
		Results:     []sarifResult{},
		Invocations: []sarifInvocation{{ExecutionSuccessful: true}},
	}
	if run.Tool.Driver.Rules == nil {
		run.Tool.Driver.Rules = []sarifRule{}
	}
	for ai, a := range res.Artifacts {
		art := sarifArtifact{Location: sarifArtifactLocation{URI: uri(a.Path), Index: ai}, Length: a.Size}
		if a.SHA256 != "" {
			art.Hashes = map[string]string{"sha-256": a.SHA256}
		}
		if a.Verdict != "" {
			art.Properties = map[string]string{"verdict": string(a.Verdict), "format": string(a.Format)}
			if a.Reason != "" {
				art.Properties["reason"] = a.Reason
			}
			if a.Limit != "" {
				art.Properties["limit"] = a.Limit
			}
		}
		run.Artifacts = append(run.Artifacts, art)
		for _, f := range a.Findings {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifactLocation{URI: uri(a.Path), Index: ai}}}
			if f.Location.Member == "" && f.Location.Offset >= 0 {
				loc.PhysicalLocation.Region = &sarifRegion{ByteOffset: f.Location.Offset, ByteLength: 1}
			}
			if f.Location.Member != "" {
				name := f.Location.Member
				if f.Location.Offset >= 0 {
					name = fmt.Sprintf("%s@%d", name, f.Location.Offset)
				}
				loc.LogicalLocations = []sarifLogicalLocation{{FullyQualifiedName: name, Kind: "member"}}
			}
			props := map[string]any{"severity": f.Severity.String()}
			if f.Subject != "" {
				props["subject"] = f.Subject
			}
			run.Results = append(run.Results, sarifResult{
				RuleID:    f.RuleID,
				RuleIndex: index[f.RuleID],
				Level:     sarifLevel(f.Severity),
				Message:   sarifMessage{Text: oneLine(f.Message)},
				Locations: []sarifLocation{loc},
				PartialFingerprints: map[string]string{
					"primaryLocationLineHash": locationHash(f),
				},
				Properties: props,
			})
		}
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("report: write sarif: %w", err)
	}
	return nil
}

// locationHash identifies a finding's place inside its artifact (member,
// offset, subject), stable across runs over the same bytes: GitHub code
// scanning combines it with the path and rule id into the alert
// fingerprint.
func locationHash(f mlsec.Finding) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%s", f.Location.Member, f.Location.Offset, f.Subject)))
	return hex.EncodeToString(h[:8]) + ":1"
}

// ruleName turns a rule title into a PascalCase SARIF rule name.
func ruleName(title string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(title, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// uri turns a scanned path into a SARIF artifact URI: a relative path
// stays relative (GitHub code scanning resolves it against the checkout
// root) and an absolute one becomes a file:// URI; both are
// percent-encoded, since SARIF requires valid URI references and paths may
// hold spaces, '#' or '%'.
func uri(p string) string {
	if filepath.IsAbs(p) {
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
	}
	return (&url.URL{Path: strings.TrimPrefix(filepath.ToSlash(p), "./")}).String()
}
