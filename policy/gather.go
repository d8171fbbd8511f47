package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/signing"
)

// MaxDecisions bounds the gate decisions read from one artifact's claims;
// later ones are ignored (and logged).
const MaxDecisions = 10_000

// IntakeBuildType is the SLSA build type of the provenance `mlsec intake`
// records: externalParameters.parameters holds the source URL, its trust,
// and the upstream signature's status.
const IntakeBuildType = attest.IntakeBuildType

// NamedVerifier is a signing identity the gate trusts: its pipeline name
// and a verifier for its signatures.
type NamedVerifier struct {
	Name     string
	Verifier signing.Verifier
}

// Target names the artifact being gated.
type Target struct {
	Path  string
	Stage string
	// Name and Kind come from the pipeline file or flags.
	Name string
	Kind lifecycle.Kind
	// SourceURL and Trust describe its origin; Trust defaults to untrusted.
	SourceURL string
	Trust     string
}

// Gatherer collects the evidence about an artifact: it hashes it, scans
// it, verifies its signature and reads its claims.
type Gatherer struct {
	Hasher *attest.Hasher
	// Pipeline may be nil.
	Pipeline *lifecycle.Pipeline
	// Identities are tried in order on the signature and every claim.
	Identities  []NamedVerifier
	ScanConfig  scan.Config
	ScanOptions scan.Options
	// SkipScan leaves the scan section absent (for assessments that judge
	// signatures and claims only).
	SkipScan bool
	Log      *slog.Logger
}

// Gathered is the evidence plus what the gate needs to record its VSA.
type Gathered struct {
	Evidence *Evidence
	Subject  attest.Subject
	// Inputs are the verified claims the evidence used.
	Inputs []Input
	// ScanDoc is the scan the gate ran.
	ScanDoc any
}

// Gather collects the evidence about t.
func (g *Gatherer) Gather(ctx context.Context, t Target) (*Gathered, error) {
	if g.Hasher == nil {
		g.Hasher = &attest.Hasher{}
	}
	fi, err := os.Stat(t.Path)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "policy: %w", err)
	}
	subj, err := attest.Identify(ctx, g.Hasher, t.Path)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "policy: hashing %s: %w", t.Path, err)
	}
	if t.Name == "" {
		t.Name = fi.Name()
	}
	subj.Name = t.Name
	ev := &Evidence{Stage: t.Stage}
	ev.Artifact = Artifact{Name: t.Name, Path: t.Path, Kind: string(t.Kind), Class: t.Kind.Class(), Digest: string(subj.Digest)}
	ev.Pipeline.Roles = map[string][]string{}
	if p := g.Pipeline; p != nil {
		ev.Pipeline.Name = p.Name
		ev.Pipeline.File = p.File
		if ev.Pipeline.File == "" {
			ev.Pipeline.File = "pipeline file"
		}
		ev.Pipeline.Roles = p.Roles
		if def, ok := p.Artifact(t.Path); ok {
			ev.Pipeline.Declared = true
			if t.Kind == "" {
				ev.Artifact.Kind, ev.Artifact.Class = string(def.Kind), def.Kind.Class()
			}
			if t.SourceURL == "" {
				t.SourceURL = def.Source
			}
			if t.Trust == "" {
				t.Trust = def.Trust
			}
			ev.Artifact.Name = def.Name
		}
	}
	g.gatherSource(ev, t)
	if !g.SkipScan {
		if err := g.gatherScan(ctx, ev, t.Path); err != nil {
			return nil, err
		}
		if g.Pipeline != nil {
			if def, ok := g.Pipeline.Artifact(t.Path); ok {
				ApplyExceptions(ev, def.ExceptionsAt(t.Stage))
			}
		}
	}
	signed := g.gatherSignature(ctx, ev, t.Path)
	if t.Stage == lifecycle.StageMonitoring && signed != "" && signed != subj.Digest {
		// Monitoring watches a release: files that no longer match the
		// signature a trusted identity made are that release tampered
		// with, so the decision is about the signed digest (and a failure
		// revokes it), not about a new, never-gated artifact.
		subj.Digest = signed
	}
	inputs, err := g.gatherClaims(ctx, ev, t.Path, subj.Digest)
	if err != nil {
		return nil, err
	}
	return &Gathered{Evidence: ev, Subject: subj, Inputs: inputs}, nil
}

func (g *Gatherer) gatherSource(ev *Evidence, t Target) {
	ev.Source = Source{Present: t.SourceURL != "", URL: t.SourceURL, Trust: t.Trust}
	if ev.Source.Trust == "" {
		ev.Source.Trust = lifecycle.SourceUntrusted
	}
	if g.Pipeline != nil && t.SourceURL != "" {
		ev.Source.Allowed, _ = g.Pipeline.SourceAllowed(t.SourceURL)
	}
}

func (g *Gatherer) gatherScan(ctx context.Context, ev *Evidence, path string) error {
	cfg := g.ScanConfig
	if cfg.Limits == (scan.Limits{}) { // the zero Config: use the defaults
		cfg = scan.DefaultConfig()
	}
	doc, err := attest.ScanArtifact(ctx, path, cfg, g.ScanOptions)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "policy: scanning %s: %w", path, err)
	}
	s := Scan{Present: true, BySeverity: map[string]int{}}
	s.MaxSeverity = doc.Summary.MaxSeverity.String()
	s.MaxRank = int(doc.Summary.MaxSeverity)
	s.Findings, s.Scanned, s.Skipped, s.Errors = doc.Summary.Findings, doc.Summary.Scanned, doc.Summary.Skipped, doc.Summary.Errors
	for k, v := range doc.Summary.BySeverity {
		s.BySeverity[k] = v
	}
	formats := map[string]bool{}
	size := int64(0)
	for _, a := range doc.Artifacts {
		if a.Format != "" {
			formats[string(a.Format)] = true
		}
		size += a.Size
		for _, f := range a.Findings {
			s.Items = append(s.Items, Finding{RuleID: f.RuleID, Severity: f.Severity.String(), Rank: int(f.Severity),
				Message: f.Message, Path: f.Path, Member: f.Location.Member, Subject: f.Subject})
			if !slices.Contains(s.Rules, f.RuleID) {
				s.Rules = append(s.Rules, f.RuleID)
			}
		}
	}
	sort.Strings(s.Rules)
	for f := range formats {
		ev.Artifact.Formats = append(ev.Artifact.Formats, f)
	}
	sort.Strings(ev.Artifact.Formats)
	ev.Artifact.Files, ev.Artifact.Size = len(doc.Artifacts), int(size)
	ev.Scan = s
	return nil
}

// gatherSignature verifies the artifact's signature against the trusted
// identities. When one of them made the signature but the files no longer
// match it, it returns the digest that identity signed.
func (g *Gatherer) gatherSignature(ctx context.Context, ev *Evidence, path string) (signed attest.Digest) {
	sigPath, err := evidence.SignaturePath(path)
	if err != nil {
		return ""
	}
	if _, err := os.Stat(sigPath); err != nil {
		return "" // Present stays false
	}
	ev.Signature.Present = true
	if len(g.Identities) == 0 {
		ev.Signature.Reason = "no trusted identity to verify the signature against (pipeline identities or --trusted-key)"
		return ""
	}
	var first error
	var tried []string
	for _, id := range g.Identities {
		_, err := attest.VerifyArtifact(ctx, g.Hasher, id.Verifier, path)
		if err == nil {
			ev.Signature.Verified, ev.Signature.Identity = true, id.Name
			ev.Signature.Roles = g.rolesOf(id.Name)
			// Without a pipeline every trusted identity (the gate's own key,
			// --trusted-key) speaks for the organisation.
			ev.Signature.Org = len(ev.Signature.Roles) > 0 || g.Pipeline == nil
			return ""
		}
		if errors.Is(err, signing.ErrMismatch) {
			// Content changed: no other key will help.
			ev.Signature.Reason = err.Error()
			if d, err := attest.SignedDigest(sigPath); err == nil {
				return d
			}
			return ""
		}
		if first == nil {
			first = err
		}
		tried = append(tried, id.Name)
	}
	// The signature is intact but no trusted identity made it: name the
	// identities tried rather than the last key's mismatch alone.
	ev.Signature.Reason = fmt.Sprintf("not signed by a trusted identity (tried %s): %v", strings.Join(tried, ", "), first)
	return ""
}

func (g *Gatherer) rolesOf(identity string) []string {
	if g.Pipeline == nil {
		return []string{}
	}
	r := g.Pipeline.RolesOf(identity)
	if r == nil {
		r = []string{}
	}
	return r
}

// gatherClaims reads the artifact's claims: each is verified against the
// identities; claims about another digest are ignored. Unverified claims
// still count as present (with Verified false), so a policy can tell
// "absent" from "present but not trusted".
func (g *Gatherer) gatherClaims(ctx context.Context, ev *Evidence, path string, digest attest.Digest) ([]Input, error) {
	claimsPath, err := evidence.ClaimsPath(path)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "policy: %w", err)
	}
	var inputs []Input
	err = attest.ReadClaimsFile(claimsPath, func(c attest.Claim) error {
		if c.Err != nil {
			g.logf("claims line %d: %v", c.Line, c.Err)
			return nil
		}
		var st attest.Statement
		signer, verified := "", false
		for _, id := range g.Identities {
			r := attest.VerifyClaim(ctx, c, digest, id.Verifier)
			if r.OK() {
				st, signer, verified = r.Statement, id.Name, true
				break
			}
		}
		if !verified {
			var err error
			if st, err = attest.PeekStatement(c.Bundle); err != nil {
				g.logf("claims line %d: %v", c.Line, err)
				return nil
			}
			if !st.About(digest) {
				return nil
			}
		}
		if verified {
			inputs = append(inputs, Input{URI: fmt.Sprintf("%s#L%d", claimsPath, c.Line), SHA256: sha256Hex(c.Bundle)})
		}
		g.addClaim(ev, st, signer, verified)
		return nil
	})
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "policy: reading claims: %w", err)
	}
	ev.Trust = trustOf(ev.Decisions)
	if ev.Decisions == nil {
		ev.Decisions = []PriorDecision{}
	}
	return inputs, nil
}

// addClaim folds one claim into the evidence; a verified claim replaces an
// unverified one of the same kind, a later one an earlier one.
func (g *Gatherer) addClaim(ev *Evidence, st attest.Statement, signer string, verified bool) {
	roles := g.rolesOf(signer)
	switch st.GetPredicateType() {
	case attest.ProvenanceType:
		p, err := attest.ProvenanceOf(st)
		if err != nil {
			return
		}
		if p.BuildType == IntakeBuildType {
			if ev.Intake.Verified && !verified {
				return
			}
			in := Intake{Present: true, Verified: verified, Signer: signer}
			in.URL, _ = p.Parameters["source"].(string)
			in.Upstream, _ = p.Parameters["upstreamSignature"].(string)
			in.Resigned, _ = p.Parameters["resigned"].(bool)
			ev.Intake = in
			return
		}
		if ev.Provenance.Verified && !verified {
			return
		}
		pv := Provenance{Present: true, Verified: verified, Signer: signer, Roles: roles,
			BuilderID: p.BuilderID, BuildType: p.BuildType, RunType: p.RunType, Dependencies: []Dependency{}}
		for _, d := range p.Dependencies {
			pv.Dependencies = append(pv.Dependencies, Dependency{Role: string(d.Role), Name: d.Name,
				Digest: string(d.Digest), URI: d.URI, Commit: d.Commit})
			switch d.Role {
			case attest.RoleDataset:
				pv.Datasets++
			case attest.RoleBaseModel:
				pv.BaseModels++
			case attest.RoleCode:
				pv.Code++
			}
		}
		ev.Provenance = pv
	case attest.CycloneDXType:
		if ev.BOM.Verified && !verified {
			return
		}
		ev.BOM = BOM{Present: true, Verified: verified, Signer: signer}
	case attest.TestResultType:
		tr, err := attest.TestResultOf(st)
		if err != nil || (ev.Evaluation.Verified && !verified) {
			return
		}
		ev.Evaluation = Evaluation{Present: true, Verified: verified, Result: tr.Result, Failed: append([]string{}, tr.Failed...)}
	case VSAType:
		v, rec, err := ParseVSA(st)
		if err != nil {
			return
		}
		if len(ev.Decisions) >= MaxDecisions {
			g.logf("more than %d decisions in the claims: ignoring the rest", MaxDecisions)
			return
		}
		pd := priorDecision(v, rec)
		pd.Signer, pd.Verified, pd.Roles = signer, verified, roles
		ev.Decisions = append(ev.Decisions, pd)
	}
}

func (g *Gatherer) logf(format string, args ...any) {
	if g.Log != nil {
		g.Log.Warn(fmt.Sprintf(format, args...))
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// trustOf derives the trust state from the verified gate decisions: the
// state recorded by the latest one by its signed time (not by its line in
// the claims file, which anyone can append to), and revoked if any of them
// revoked the artifact (revocation is final; replaying an older decision
// cannot undo it). Decisions are sorted by time, stably.
func trustOf(ds []PriorDecision) Trust {
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Time.Before(ds[j].Time) })
	t := Trust{State: string(lifecycle.Quarantined)}
	for _, d := range ds {
		if !d.Verified || d.TrustState == "" {
			continue
		}
		if _, err := lifecycle.ParseTrustState(d.TrustState); err != nil {
			continue
		}
		if t.State != string(lifecycle.Revoked) {
			t = Trust{State: d.TrustState, Known: true}
		}
	}
	return t
}
