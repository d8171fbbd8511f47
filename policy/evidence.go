package policy

import (
	"slices"
	"strings"
	"time"

	"github.com/mlsecops/mlsec/lifecycle"
)

// Evidence is the document a policy judges: everything mlsec knows about
// one artifact at one gate. Its fields, under their JSON names, are the CEL
// variables of a policy expression (docs/policy.md is the reference):
//
//	stage, artifact, source, trust, scan, signature, provenance, bom,
//	evaluation, intake, decisions, pipeline
//
// Sections that may be absent carry a Present field. A rule whose
// expression reads an absent section is not evaluated: it fails (or warns,
// if the rule says so) with the reason "missing evidence: SECTION". A gate
// never passes because evidence is missing.
type Evidence struct {
	// Stage is the stage being gated.
	Stage      string     `json:"stage"`
	Artifact   Artifact   `json:"artifact"`
	Source     Source     `json:"source"`
	Trust      Trust      `json:"trust"`
	Scan       Scan       `json:"scan"`
	Signature  Signature  `json:"signature"`
	Provenance Provenance `json:"provenance"`
	BOM        BOM        `json:"bom"`
	Evaluation Evaluation `json:"evaluation"`
	Intake     Intake     `json:"intake"`
	// Decisions are the gate decisions (VSAs) recorded in the artifact's
	// claims, oldest first.
	Decisions []PriorDecision `json:"decisions"`
	Pipeline  PipelineInfo    `json:"pipeline"`
}

// Artifact describes the artifact itself. Always present.
type Artifact struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// Kind is a lifecycle kind ("model", "external-model", "dataset", …).
	Kind string `json:"kind"`
	// Class is the kind's class ("model", "dataset", "code", …).
	Class string `json:"class"`
	// Digest is the OMS root digest, "sha256:…".
	Digest string `json:"digest"`
	// Formats are the detected file formats, sorted and unique.
	Formats []string `json:"formats"`
	Files   int      `json:"files"`
	Size    int      `json:"size"`
}

// Source says where the artifact came from. Present when URL is known.
type Source struct {
	Present bool   `json:"present"`
	URL     string `json:"url"`
	// Trust is "trusted" or "untrusted" (the default).
	Trust string `json:"trust"`
	// Allowed is true when URL matches one of the pipeline's sources.
	Allowed bool `json:"allowed"`
}

// Trust is the artifact's trust state before this gate. Always present.
type Trust struct {
	// State is quarantined, verified, released or revoked; an artifact
	// never gated is quarantined with Known false.
	State string `json:"state"`
	Known bool   `json:"known"`
}

// Scan summarises the scan run by the gate (or recorded in the claims).
type Scan struct {
	Present bool `json:"present"`
	// MaxSeverity is none, info, low, medium, high or critical; MaxRank is
	// its rank 0..5 (compare with severity_rank("high")).
	MaxSeverity string         `json:"max_severity"`
	MaxRank     int            `json:"max_rank"`
	Findings    int            `json:"findings"`
	BySeverity  map[string]int `json:"by_severity"`
	Scanned     int            `json:"scanned"`
	Skipped     int            `json:"skipped"`
	Errors      int            `json:"errors"`
	// Rules are the ids of the rules that fired, sorted and unique.
	Rules []string  `json:"rules"`
	Items []Finding `json:"items"`
	// Excepted are the findings a pipeline exception accepted for this
	// stage (see lifecycle.Exception); they are not counted above.
	Excepted []Excepted `json:"excepted"`
}

// Excepted is a finding accepted by an exception.
type Excepted struct {
	RuleID     string `json:"rule_id"`
	Severity   string `json:"severity"`
	Path       string `json:"path"`
	Message    string `json:"message"`
	Reason     string `json:"reason"`
	ApprovedBy string `json:"approved_by"`
}

// ApplyExceptions moves the scan findings whose rule an exception for
// ev.Stage names from ev.Scan's items into ev.Scan.Excepted and recounts
// the summary (findings, severities, rules) from the items left. When the
// items are incomplete (the server keeps at most a page of them), nothing
// is accepted: the summary cannot be recounted. Not-analysed files stay
// in scan.errors.
func ApplyExceptions(ev *Evidence, excs []lifecycle.Exception) {
	if !ev.Scan.Present || len(ev.Scan.Items) != ev.Scan.Findings {
		return
	}
	var keep []Finding
	for _, f := range ev.Scan.Items {
		var by *lifecycle.Exception
		for i := range excs {
			if excs[i].Stage == ev.Stage && slices.Contains(excs[i].Rules, f.RuleID) && !strings.HasPrefix(f.RuleID, "MLSEC-SCAN-") {
				by = &excs[i]
				break
			}
		}
		if by == nil {
			keep = append(keep, f)
			continue
		}
		ev.Scan.Excepted = append(ev.Scan.Excepted, Excepted{RuleID: f.RuleID, Severity: f.Severity, Path: f.Path,
			Message: f.Message, Reason: by.Reason, ApprovedBy: by.ApprovedBy})
	}
	if len(ev.Scan.Excepted) == 0 {
		return
	}
	s := &ev.Scan
	s.Items, s.Findings, s.Rules, s.MaxRank, s.MaxSeverity = keep, len(keep), nil, 0, "none"
	s.BySeverity = map[string]int{}
	for _, f := range keep {
		s.BySeverity[f.Severity]++
		if f.Rank > s.MaxRank {
			s.MaxRank, s.MaxSeverity = f.Rank, f.Severity
		}
		if !slices.Contains(s.Rules, f.RuleID) {
			s.Rules = append(s.Rules, f.RuleID)
		}
	}
	slices.Sort(s.Rules)
}

// Finding is one scan finding.
type Finding struct {
	RuleID   string `json:"rule_id"`
	Severity string `json:"severity"`
	Rank     int    `json:"rank"`
	Message  string `json:"message"`
	Path     string `json:"path"`
	Member   string `json:"member"`
	Subject  string `json:"subject"`
}

// Signature is the artifact's own OpenSSF Model Signing signature.
// Present when a signature file exists.
type Signature struct {
	Present  bool `json:"present"`
	Verified bool `json:"verified"`
	// Identity is the pipeline identity whose key verified it ("" if none).
	Identity string `json:"identity"`
	// Roles are the roles the identity holds in the pipeline.
	Roles []string `json:"roles"`
	// Org is true when the identity holds any pipeline role, i.e. the
	// organisation signed (or re-signed) the artifact. Without a pipeline
	// file every trusted identity counts as the organisation.
	Org bool `json:"org"`
	// Reason says why verification failed.
	Reason string `json:"reason"`
}

// Provenance is the SLSA provenance recorded in the claims.
type Provenance struct {
	Present   bool     `json:"present"`
	Verified  bool     `json:"verified"`
	Signer    string   `json:"signer"`
	Roles     []string `json:"roles"`
	BuilderID string   `json:"builder_id"`
	BuildType string   `json:"build_type"`
	RunType   string   `json:"run_type"`
	// Datasets, BaseModels and Code count the resolved dependencies by role.
	Datasets     int          `json:"datasets"`
	BaseModels   int          `json:"base_models"`
	Code         int          `json:"code"`
	Dependencies []Dependency `json:"dependencies"`
}

// Dependency is a resolved dependency of a run.
type Dependency struct {
	Role   string `json:"role"`
	Name   string `json:"name"`
	Digest string `json:"digest"`
	URI    string `json:"uri"`
	Commit string `json:"commit"`
}

// BOM is an AI-BOM (CycloneDX) recorded in the claims.
type BOM struct {
	Present  bool   `json:"present"`
	Verified bool   `json:"verified"`
	Signer   string `json:"signer"`
}

// Evaluation is an evaluation result (in-toto test-result) in the claims.
type Evaluation struct {
	Present  bool     `json:"present"`
	Verified bool     `json:"verified"`
	Result   string   `json:"result"`
	Failed   []string `json:"failed"`
}

// Intake is the intake record written by `mlsec intake`.
type Intake struct {
	Present  bool   `json:"present"`
	Verified bool   `json:"verified"`
	URL      string `json:"url"`
	// Upstream is the upstream signature's status at intake: "verified",
	// "invalid" or "absent".
	Upstream string `json:"upstream"`
	// Resigned is true when the organisation re-signed the artifact.
	Resigned bool   `json:"resigned"`
	Signer   string `json:"signer"`
}

// PriorDecision is a gate decision (a VSA) found in the claims.
type PriorDecision struct {
	Stage string `json:"stage"`
	// Result is the VSA's verificationResult, PASSED or FAILED.
	Result string `json:"result"`
	// Decision is PASS, WARN or FAIL.
	Decision string `json:"decision"`
	// Passed is true for PASS and WARN.
	Passed     bool   `json:"passed"`
	Overridden bool   `json:"overridden"`
	Policy     string `json:"policy"`
	// Signer is the pipeline identity that signed the VSA; Verified is
	// true when its signature checked out against that identity's key.
	Signer     string    `json:"signer"`
	Roles      []string  `json:"roles"`
	Verified   bool      `json:"verified"`
	TrustState string    `json:"trust_state"`
	Time       time.Time `json:"time"`
}

// PipelineInfo describes the pipeline the gate runs in. Always present.
type PipelineInfo struct {
	// File is the pipeline file the gate read; "" when there is none
	// (then the built-in policies trust the gate's own identities).
	File string `json:"file"`
	Name string `json:"name"`
	// Declared is true when the artifact is named in the pipeline file.
	Declared bool `json:"declared"`
	// Roles maps role ids to identity names.
	Roles map[string][]string `json:"roles"`
}

// presence lists the evidence variables and whether each is present.
func (e *Evidence) presence() map[string]bool {
	return map[string]bool{
		"stage":      true,
		"artifact":   true,
		"trust":      true,
		"pipeline":   true,
		"source":     e.Source.Present,
		"scan":       e.Scan.Present,
		"signature":  e.Signature.Present,
		"provenance": e.Provenance.Present,
		"bom":        e.BOM.Present,
		"evaluation": e.Evaluation.Present,
		"intake":     e.Intake.Present,
		"decisions":  len(e.Decisions) > 0,
	}
}

// missingReason explains why a section is absent.
func missingReason(section string) string {
	switch section {
	case "source":
		return "the artifact's source URL is unknown (pipeline file or --source)"
	case "scan":
		return "no scan result"
	case "signature":
		return "the artifact has no signature"
	case "provenance":
		return "no provenance attestation in the claims"
	case "bom":
		return "no AI-BOM in the claims"
	case "evaluation":
		return "no evaluation result in the claims"
	case "intake":
		return "no intake record (run mlsec intake)"
	case "decisions":
		return "no prior gate decision in the claims"
	}
	return "absent"
}
