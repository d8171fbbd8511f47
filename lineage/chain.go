package lineage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/signing"
)

// Link states in a chain report.
const (
	// LinkVerified: signature valid, content matches, digest as recorded,
	// provenance (if any) verified.
	LinkVerified = "verified"
	// LinkBroken: something failed; Reason says what.
	LinkBroken = "broken"
)

// ChainOptions configure VerifyChain.
type ChainOptions struct {
	// Verifier checks every signature and claim in the chain.
	Verifier signing.Verifier
	// Evidence locates parents on disk (an *Index over the evidence
	// directory); nil finds none.
	Evidence Locator
	// Hasher hashes each artifact once (shared parents included); a fresh
	// one is used when nil.
	Hasher *attest.Hasher
	// MaxDepth bounds the walk (0: unlimited).
	MaxDepth int
}

// Locator finds artifacts on disk: by digest (from their signatures and
// claims) and by name (the last path element). *Index implements it.
type Locator interface {
	ByDigest(d Digest) []string
	ByName(name string) []string
}

// ChainLink is the verification of one artifact of the chain.
type ChainLink struct {
	Path   string      `json:"path,omitempty"`
	Name   string      `json:"name,omitempty"`
	Digest Digest      `json:"digest,omitempty"`
	Role   attest.Role `json:"role,omitempty"`
	Depth  int         `json:"depth"`
	// Child is the path of the artifact whose provenance named this one
	// (empty for the model itself), and Recorded the digest it recorded.
	Child    string `json:"child,omitempty"`
	Recorded Digest `json:"recorded,omitempty"`
	Source   string `json:"source,omitempty"` // provenance claim "path:line"
	// Status is LinkVerified or LinkBroken.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Provenance is ProvenanceRecorded or ProvenanceUnknown (the walk
	// stops at this artifact: where it came from is not known).
	Provenance string `json:"provenance"`
	// Code lists source-code inputs, recorded but not checkable here.
	Code []attest.Dependency `json:"code,omitempty"`
	// Sources lists the upstream locations the artifact was taken in from
	// (recorded by intake; the walk ends there).
	Sources []attest.Dependency `json:"sources,omitempty"`
	// Warnings are claims that did not verify but do not break the chain
	// (evaluations, scans, lines that are not bundles).
	Warnings []string `json:"warnings,omitempty"`
}

// ChainReport is the result of VerifyChain.
type ChainReport struct {
	Model string      `json:"model"`
	OK    bool        `json:"ok"`
	Links []ChainLink `json:"links"`
	// FirstBroken indexes Links (-1 when none is broken).
	FirstBroken int `json:"first_broken"`
	// Unknown lists the paths (or digests) whose provenance is unknown.
	Unknown []string `json:"unknown_provenance,omitempty"`
	// Hashed is how many artifacts were hashed (each once).
	Hashed int `json:"hashed"`
}

type pending struct {
	path, child, source string
	recorded            Digest
	name                string
	role                attest.Role
	depth               int
}

// VerifyChain verifies the model at path and walks its provenance: the
// model's own signature and content; each provenance claim's signature,
// subject and predicate; then every dataset and base model the provenance
// names, found in the evidence by digest (or else by name), with its
// signature, content and the digest the provenance recorded; and so on to
// artifacts without provenance, which are reported as such. Links are in
// breadth-first order, so the first broken one is the one nearest the
// model. Every artifact is verified and hashed once.
func VerifyChain(ctx context.Context, path string, opts ChainOptions) (*ChainReport, error) {
	if opts.Verifier == nil {
		return nil, errors.New("lineage: VerifyChain needs a verifier")
	}
	h := opts.Hasher
	if h == nil {
		h = &attest.Hasher{}
	}
	var idx Locator = newIndex("")
	if opts.Evidence != nil {
		idx = opts.Evidence
	}
	rep := &ChainReport{Model: path, FirstBroken: -1}
	done := map[string]*ChainLink{} // by absolute path
	queue := []pending{{path: path}}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := queue[0]
		queue = queue[1:]
		link, parents, err := verifyLink(ctx, h, opts.Verifier, idx, p, done)
		if err != nil {
			return nil, err
		}
		rep.Links = append(rep.Links, link)
		if link.Status == LinkBroken && rep.FirstBroken < 0 {
			rep.FirstBroken = len(rep.Links) - 1
		}
		if link.Provenance == ProvenanceUnknown && link.Status != LinkBroken && !slices.Contains(rep.Unknown, link.Path) {
			rep.Unknown = append(rep.Unknown, link.Path)
		}
		if opts.MaxDepth > 0 && p.depth+1 > opts.MaxDepth && len(parents) > 0 {
			rep.Links[len(rep.Links)-1].Warnings = append(rep.Links[len(rep.Links)-1].Warnings,
				fmt.Sprintf("%d parents not verified: beyond the depth limit %d", len(parents), opts.MaxDepth))
			continue
		}
		queue = append(queue, parents...)
	}
	rep.OK = rep.FirstBroken < 0 && rep.Links[0].Provenance == ProvenanceRecorded
	rep.Hashed = h.Count()
	return rep, nil
}

func verifyLink(ctx context.Context, h *attest.Hasher, v signing.Verifier, idx Locator, p pending, done map[string]*ChainLink) (ChainLink, []pending, error) {
	link := ChainLink{Path: p.path, Name: p.name, Role: p.role, Depth: p.depth, Child: p.child,
		Recorded: p.recorded, Source: p.source, Status: LinkBroken, Provenance: ProvenanceUnknown}
	if p.path == "" { // a parent not found in the evidence
		link.Digest = p.recorded
		name := ""
		if p.name != "" {
			name = fmt.Sprintf(" %q", p.name)
		}
		link.Reason = fmt.Sprintf("missing parent: %s%s %s recorded by %s (%s) is not in the evidence%s",
			roleWord(p.role), name, p.recorded, p.child, p.source, evidenceWhere(idx))
		return link, nil, nil
	}
	abs, err := filepath.Abs(p.path)
	if err != nil {
		return link, nil, fmt.Errorf("lineage: %w", err)
	}
	if prev, ok := done[abs]; ok { // shared parent: verified already
		link.Digest, link.Provenance, link.Code, link.Sources = prev.Digest, prev.Provenance, prev.Code, prev.Sources
		link.Status, link.Reason = prev.Status, prev.Reason
		if link.Status != LinkBroken && p.recorded != "" && prev.Digest != p.recorded {
			link.Status, link.Reason = LinkBroken, digestMismatch(p, prev.Digest)
		}
		if link.Reason == "" && link.Status == LinkVerified {
			link.Reason = "verified above"
		}
		return link, nil, nil
	}
	if link.Name == "" {
		link.Name = filepath.Base(abs)
	}
	chk, err := attest.VerifyArtifact(ctx, h, v, p.path)
	link.Digest = chk.Digest
	done[abs] = &link
	switch {
	case errors.Is(err, attest.ErrNoSignature):
		link.Reason = fmt.Sprintf("%s has no signature (%s)", p.path, chk.Signature)
	case errors.Is(err, signing.ErrMismatch):
		link.Reason = fmt.Sprintf("%s does not match its signature %s: %s", p.path, chk.Signature, chk.Diff)
	case errors.Is(err, signing.ErrInvalidSignature):
		link.Reason = fmt.Sprintf("signature %s of %s is invalid: %s", chk.Signature, p.path, trimErr(err))
	case err != nil:
		return link, nil, err
	case p.recorded != "" && chk.Digest != p.recorded:
		link.Reason = digestMismatch(p, chk.Digest)
	}
	if link.Reason != "" {
		done[abs] = &link
		return link, nil, nil
	}
	// The provenance of this artifact, from its own claims file.
	cp, err := evidence.ClaimsPath(p.path)
	if err != nil {
		return link, nil, err
	}
	var provs []provAt
	var broken string
	err = attest.ReadClaimsFile(cp, func(c attest.Claim) error {
		src := cp + ":" + strconv.Itoa(c.Line)
		r := attest.VerifyClaim(ctx, c, chk.Digest, v)
		isProv := r.PredicateType == attest.ProvenanceType
		if !isProv && r.Status == attest.ClaimInvalid && c.Err == nil {
			if st, perr := attest.PeekStatement(c.Bundle); perr == nil && st.GetPredicateType() == attest.ProvenanceType {
				isProv = true
			}
		}
		switch {
		case r.OK() && isProv:
			prov, _ := attest.ProvenanceOf(r.Statement)
			provs = append(provs, provAt{prov, src})
		case isProv && r.Status == attest.ClaimInvalid:
			if broken == "" {
				broken = fmt.Sprintf("provenance claim %s is invalid: %s", src, r.Reason)
			}
		default:
			if !r.OK() {
				link.Warnings = append(link.Warnings, fmt.Sprintf("%s: %s: %s", src, r.Status, r.Reason))
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return link, nil, err
	}
	if broken != "" {
		link.Reason = broken
		return link, nil, nil
	}
	link.Status = LinkVerified
	if len(provs) == 0 {
		return link, nil, nil
	}
	link.Provenance = ProvenanceRecorded
	var parents []pending
	seen := map[Digest]bool{}
	for _, pa := range provs {
		for _, dep := range pa.prov.Dependencies {
			if dep.IsSource() {
				link.Sources = append(link.Sources, dep)
				continue
			}
			if !dep.IsArtifact() {
				link.Code = append(link.Code, dep)
				continue
			}
			if seen[dep.Digest] {
				continue
			}
			seen[dep.Digest] = true
			parents = append(parents, pending{
				path: locate(idx, dep, abs), child: p.path, source: pa.src,
				recorded: dep.Digest, name: dep.Name, role: dep.Role, depth: p.depth + 1,
			})
		}
	}
	return link, parents, nil
}

type provAt struct {
	prov *attest.Provenance
	src  string
}

// locate finds a parent in the evidence: by digest first, then by its
// recorded name (so a changed parent is reported as changed, not missing).
func locate(idx Locator, dep attest.Dependency, self string) string {
	for _, c := range idx.ByDigest(dep.Digest) {
		if a, err := filepath.Abs(c); err == nil && a != self {
			return c
		}
	}
	if dep.Name != "" {
		for _, c := range idx.ByName(dep.Name) {
			if a, err := filepath.Abs(c); err == nil && a != self {
				return c
			}
		}
	}
	return ""
}

func digestMismatch(p pending, actual Digest) string {
	return fmt.Sprintf("parent digest no longer matches: %s recorded %s %s, but %s is %s now",
		p.source, roleWord(p.role), p.recorded, p.path, actual)
}

func roleWord(r attest.Role) string {
	if r == "" {
		return string(attest.RoleArtifact)
	}
	return string(r)
}

func evidenceWhere(l Locator) string {
	idx, ok := l.(*Index)
	if !ok {
		return ""
	}
	if idx.Dir == "" {
		return " (no --evidence directory given)"
	}
	return " " + idx.Dir
}

func trimErr(err error) string {
	s := err.Error()
	for _, p := range []string{"signing: invalid signature: ", "signing: "} {
		if len(s) > len(p) && s[:len(p)] == p {
			s = s[len(p):]
		}
	}
	return s
}
