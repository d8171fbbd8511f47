package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/report"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
	"github.com/mlsecops/mlsec/server/gating"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
)

// Media types of stored evidence.
const (
	MediaBundle    = gating.MediaBundle
	MediaDSSE      = gating.MediaDSSE
	MediaStatement = gating.MediaStatement
)

// findingSource is the store source of findings the server's scans produce.
const findingSource = "scan"

// ScanResult summarises a scan the server ran.
type ScanResult struct {
	Artifact    store.Digest   `json:"artifact"`
	Findings    int            `json:"findings"`
	MaxSeverity string         `json:"max_severity"`
	Counts      map[string]int `json:"counts"`
	// EvidenceID is the stored scan attestation (an unsigned in-toto
	// statement with the mlsec scan predicate).
	EvidenceID int64 `json:"evidence_id"`
}

func (s *Server) handleScan(w http.ResponseWriter, r *http.Request) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	a, err := s.store.Artifact(r.Context(), d)
	if err != nil {
		return fromStore(err)
	}
	if s.cfg.Jobs != nil {
		if !a.Blob && !strings.HasPrefix(a.Source, "file://") {
			return errorf(mlsec.EINVALID, "artifact %s has no uploaded bytes and no file:// reference: upload it first", a.Digest)
		}
		return s.enqueue(w, r, queue.Request{Kind: queue.KindScan, Artifact: d})
	}
	res, err := s.scanArtifact(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// materialize writes blob a to a fresh scratch directory under the
// artifact's base name (detectors and signatures see the real file name)
// and returns its path and a cleanup function.
func (s *Server) materialize(ctx context.Context, a store.Artifact) (string, func(), error) {
	if !a.Blob || s.cfg.Blobs == nil {
		return "", nil, errorf(mlsec.EINVALID, "artifact %s has no uploaded bytes on this server: upload it first", a.Digest)
	}
	if a.Directory {
		return "", nil, errorf(mlsec.EINVALID, "artifact %s is a directory; the server holds single-file blobs only", a.Digest)
	}
	dir, cleanup, err := s.scratchDir()
	if err != nil {
		return "", nil, fmt.Errorf("server: %w", err)
	}
	name := path.Base(strings.ReplaceAll(a.Name, `\`, "/"))
	if name == "" || name == "." || name == "/" || name == ".." {
		name = "artifact"
	}
	p := filepath.Join(dir, name)
	rc, err := s.cfg.Blobs.Open(ctx, a.Digest)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	defer rc.Close()
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("server: %w", err)
	}
	_, err = io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("server: reading blob %s: %w", a.Digest, err)
	}
	return p, cleanup, nil
}

// scratchDir returns a fresh private directory for decrypted bytes: in the
// configured scratch space (the data directory), else the system's
// temporary directory.
func (s *Server) scratchDir() (string, func(), error) {
	if s.cfg.Scratch != nil {
		return s.cfg.Scratch.Dir()
	}
	dir, err := os.MkdirTemp("", "mlsec-blob-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// scanArtifact scans an uploaded artifact with the registered detectors,
// replaces its stored findings and stores the scan attestation.
func (s *Server) scanArtifact(ctx context.Context, a store.Artifact) (ScanResult, error) {
	p, cleanup, err := s.materialize(ctx, a)
	if err != nil {
		return ScanResult{}, err
	}
	defer cleanup()
	dets, err := list.All(s.scanCfg)
	if err != nil {
		return ScanResult{}, fmt.Errorf("server: detectors: %w", err)
	}
	res, err := scan.NewRunner(dets, s.scanCfg, scan.Options{Workers: 1, Log: s.log}).Scan(ctx, []string{p})
	if err != nil {
		return ScanResult{}, fmt.Errorf("server: scan: %w", err)
	}
	// Report paths as the artifact's name, not the temporary file.
	display := a.Name
	if display == "" {
		display = string(a.Digest)
	}
	for i := range res.Artifacts {
		res.Artifacts[i].Path = display
		for j := range res.Artifacts[i].Findings {
			res.Artifacts[i].Findings[j].Path = display
		}
	}
	fs := res.Findings()
	if err := s.store.ReplaceFindings(ctx, a.Digest, findingSource, fs, actor(ctx)); err != nil {
		return ScanResult{}, fromStore(err)
	}
	doc := report.NewScanDocument(res)
	stmt, err := attest.ScanStatement(attest.Subject{Name: display, Digest: attest.Digest(a.Digest)}, &doc)
	if err != nil {
		return ScanResult{}, fmt.Errorf("server: scan statement: %w", err)
	}
	ev, _, err := s.store.AddEvidence(ctx, store.Evidence{
		MediaType: MediaStatement, Bundle: stmt,
		Facts: []store.Fact{{PredicateType: attest.ScanType, Subject: a.Digest, Time: s.cfg.Now().UTC()}},
	}, actor(ctx))
	if err != nil {
		return ScanResult{}, fromStore(err)
	}
	counts := map[mlsec.Severity]int{}
	for _, f := range fs {
		counts[f.Severity]++
	}
	return ScanResult{Artifact: a.Digest, Findings: len(fs), MaxSeverity: mlsec.MaxSeverity(fs).String(),
		Counts: severityCounts(counts), EvidenceID: ev.ID}, nil
}

// errNoTrustKey says why a server without a trust key verifies nothing.
const errNoTrustKey = "this server trusts no signing key, so it cannot verify signatures: " +
	"start it with --trust-key PUB.pem or a --pipeline file with key identities (signatures and attestations are still stored, as unverified)"

// VerifyRequest optionally names the signature evidence to check.
type VerifyRequest struct {
	EvidenceID int64 `json:"evidence_id,omitempty"`
}

// VerifyResult reports a signature verification.
type VerifyResult struct {
	Artifact   store.Digest `json:"artifact"`
	Verified   bool         `json:"verified"`
	EvidenceID int64        `json:"evidence_id,omitempty"`
	Signer     string       `json:"signer,omitempty"`
	Problem    string       `json:"problem,omitempty"`
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	var req VerifyRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	a, err := s.store.Artifact(r.Context(), d)
	if err != nil {
		return fromStore(err)
	}
	verifiers := s.verifiers()
	if len(verifiers) == 0 {
		return errorf(mlsec.EINVALID, "%s", errNoTrustKey)
	}
	if s.cfg.Jobs != nil {
		return s.enqueue(w, r, queue.Request{Kind: queue.KindVerify, Artifact: d, EvidenceID: req.EvidenceID})
	}
	v, err := gating.VerifyStored(r.Context(), s.store, d, req.EvidenceID, verifiers, func() (string, func(), error) {
		return s.materialize(r.Context(), a)
	})
	if err != nil {
		return fromStore(err)
	}
	res := VerifyResult{Artifact: d, Verified: v.Verified, EvidenceID: v.EvidenceID, Signer: v.Signer, Problem: v.Problem}
	if v.EvidenceID == 0 && !v.Verified {
		writeJSON(w, http.StatusOK, res)
		return nil
	}
	detail := map[string]string{"verified": fmt.Sprint(res.Verified), "evidence": fmt.Sprint(res.EvidenceID)}
	if _, err := s.store.Audit(r.Context(), store.AuditEntry{Time: s.cfg.Now(), Actor: actor(r.Context()), Action: "artifact.verify", Subject: string(d), Detail: detail}); err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// AttestationResult answers an attestation submission.
type AttestationResult struct {
	Evidence store.Evidence `json:"evidence"`
	Created  bool           `json:"created"`
	// Verified is true when the server's verifier accepted the signature;
	// the facts then carry its signer identity.
	Verified bool   `json:"verified"`
	Problem  string `json:"problem,omitempty"`
	// Edges are the lineage edges taken from a provenance predicate.
	Edges []store.Edge `json:"edges,omitempty"`
}

func (s *Server) handleAttestation(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return errorf(ETOOLARGE, "attestation exceeds %d bytes", maxErr.Limit)
		}
		return errorf(mlsec.EIO, "reading attestation: %v", err)
	}
	res, err := s.ingest(r.Context(), body)
	if err != nil {
		return err
	}
	writeJSON(w, putStatus(res.Created), res)
	return nil
}

// envelopeProbe is enough of a bundle, envelope or statement to tell which.
type envelopeProbe struct {
	MediaType   string          `json:"mediaType"`
	PayloadType string          `json:"payloadType"`
	Payload     string          `json:"payload"`
	Type        string          `json:"_type"`
	DSSE        json.RawMessage `json:"dsseEnvelope"`
}

// parsedAttestation is a submitted attestation taken apart.
type parsedAttestation struct {
	mediaType string
	bundle    bool // a Sigstore bundle (the only form the verifier checks)
	statement attest.Statement
	// subjects are the statement's sha256 subjects; other algorithms are
	// kept verbatim in the bundle but not indexed.
	subjects []store.Digest
}

// parseAttestation classifies body as a Sigstore bundle, a DSSE envelope or
// a bare in-toto statement and parses the statement inside. It verifies no
// signature. Every failure is an EINVALID error.
func parseAttestation(body []byte) (parsedAttestation, error) {
	var probe envelopeProbe
	if err := json.Unmarshal(body, &probe); err != nil {
		return parsedAttestation{}, errorf(mlsec.EINVALID, "attestation is not a JSON object: %v", err)
	}
	var p parsedAttestation
	var payload []byte
	switch {
	case strings.HasPrefix(probe.MediaType, "application/vnd.dev.sigstore.bundle"):
		p.mediaType, p.bundle = probe.MediaType, true
		b, err := signing.ReadBundle(body)
		if err != nil {
			return parsedAttestation{}, errorf(mlsec.EINVALID, "sigstore bundle: %v", err)
		}
		env := b.GetDsseEnvelope()
		if env == nil {
			return parsedAttestation{}, errorf(mlsec.EINVALID, "sigstore bundle has no DSSE envelope (message signatures are not attestations)")
		}
		payload = env.GetPayload()
	case probe.PayloadType != "":
		p.mediaType = MediaDSSE
		var err error
		if payload, err = base64.StdEncoding.DecodeString(probe.Payload); err != nil {
			return parsedAttestation{}, errorf(mlsec.EINVALID, "DSSE payload is not base64: %v", err)
		}
	case probe.Type != "":
		p.mediaType, payload = MediaStatement, body
	default:
		return parsedAttestation{}, errorf(mlsec.EINVALID, "not a Sigstore bundle, DSSE envelope or in-toto statement")
	}
	st, err := attest.ParseStatement(payload)
	if err != nil {
		return parsedAttestation{}, errorf(mlsec.EINVALID, "%v", err)
	}
	p.statement = st
	for _, sub := range st.Subjects() {
		if d, err := store.ParseDigest(string(sub)); err == nil {
			p.subjects = append(p.subjects, d)
		}
	}
	// An OpenSSF Model Signing signature of a single file names the OMS
	// root digest; the store addresses files by the sha256 of their bytes,
	// which is the manifest's one item digest. Index both.
	if st.GetPredicateType() == signing.PredicateType {
		if m, err := signing.ParseStatement(payload); err == nil && len(m.Items) == 1 && m.Items[0].Path == "." &&
			!m.Items[0].Shard && m.Items[0].Algorithm == "sha256" && len(m.Items[0].Digest) == 32 {
			d := store.Digest("sha256:" + hex.EncodeToString(m.Items[0].Digest))
			if !slices.Contains(p.subjects, d) {
				p.subjects = append(p.subjects, d)
			}
		}
	}
	if len(p.subjects) == 0 {
		return parsedAttestation{}, errorf(mlsec.EINVALID, "attestation has no sha256 subject")
	}
	return p, nil
}

// checkAcyclic refuses the lineage edge from → to (from was made from to)
// when from is already upstream of to: the edge would close a cycle, and
// no artifact is derived from itself (issue 12 §3: cycles are refused when
// claims are written, not only when they are walked).
func (s *Server) checkAcyclic(ctx context.Context, from, to store.Digest) error {
	up, err := s.store.Lineage(ctx, to, store.Upstream, 16)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fromStore(err)
	}
	for _, e := range up {
		if e.To == from {
			return errorf(mlsec.ECONFLICT, "provenance would make a lineage cycle: %s is already derived from %s", to, from)
		}
	}
	return nil
}

// FileRootDigest is the OpenSSF Model Signing root digest of a single file
// whose sha256 is d — the digest `mlsec digest FILE` prints and the CLI's
// signatures and claims name (the sha256 over the manifest's one item
// digest) — while the server addresses an uploaded file by d itself.
func FileRootDigest(d store.Digest) (store.Digest, error) {
	raw, err := hex.DecodeString(strings.TrimPrefix(string(d), "sha256:"))
	if err != nil || len(raw) != sha256.Size || !strings.HasPrefix(string(d), "sha256:") {
		return "", errorf(mlsec.EINVALID, "not a sha256 digest: %q", d)
	}
	sum := sha256.Sum256(raw)
	return store.Digest("sha256:" + hex.EncodeToString(sum[:])), nil
}

// maxAliasCandidates bounds the stored artifacts of one name fileAlias
// checks.
const maxAliasCandidates = 100

// fileAlias finds the stored single-file artifact that a claim's subject
// (or a provenance dependency) names by its OMS root digest x: among the
// stored files called name (the claim's subject name, or its base name),
// the one whose FileRootDigest is x. The name only narrows the search; the
// match is the digest relation. ok is false when x is itself stored or no
// file matches.
func (s *Server) fileAlias(ctx context.Context, name string, x store.Digest) (store.Digest, bool, error) {
	if name == "" {
		return "", false, nil
	}
	if _, err := s.store.Artifact(ctx, x); err == nil {
		return "", false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", false, fromStore(err)
	}
	names := []string{name}
	if b := path.Base(name); b != name {
		names = append(names, b)
	}
	for _, n := range names {
		arts, err := s.store.ListArtifacts(ctx, store.ArtifactQuery{Name: n, Limit: maxAliasCandidates})
		if err != nil {
			return "", false, fromStore(err)
		}
		for _, a := range arts {
			if a.Directory {
				continue
			}
			if r, err := FileRootDigest(a.Digest); err == nil && r == x {
				return a.Digest, true, nil
			}
		}
	}
	return "", false, nil
}

// ingest stores an attestation verbatim and indexes one fact per subject.
func (s *Server) ingest(ctx context.Context, body []byte) (AttestationResult, error) {
	p, err := parseAttestation(body)
	if err != nil {
		return AttestationResult{}, err
	}
	st, mediaType := p.statement, p.mediaType
	out := AttestationResult{}
	// A claim the CLI made about a single file names the file's OMS root
	// digest; index it under the uploaded artifact too.
	aliases := map[store.Digest]store.Digest{}
	for _, rd := range st.GetSubject() {
		x, err := store.ParseDigest("sha256:" + rd.GetDigest()["sha256"])
		if err != nil {
			continue
		}
		if d, ok, err := s.fileAlias(ctx, rd.GetName(), x); err != nil {
			return AttestationResult{}, err
		} else if ok && !slices.Contains(p.subjects, d) {
			aliases[x] = d
			p.subjects = append(p.subjects, d)
		}
	}
	signer := ""
	switch {
	case !p.bundle:
		out.Problem = "not verified: only a Sigstore bundle carries a signature the server can check"
	case len(s.verifiers()) == 0:
		out.Problem = "not verified: " + errNoTrustKey
	}
	if p.bundle {
		for _, v := range s.verifiers() {
			if _, err := attest.Verify(ctx, v.Verifier, body); err == nil {
				out.Verified, signer, out.Problem = true, v.Name, ""
				break
			} else {
				out.Problem = err.Error()
			}
		}
	}
	now := s.cfg.Now().UTC()
	var facts []store.Fact
	for _, d := range p.subjects {
		facts = append(facts, store.Fact{PredicateType: st.GetPredicateType(), Subject: d, Signer: signer, Time: now})
	}
	// Lineage edges from a provenance statement, planned before anything
	// is stored: one that would close a cycle refuses the statement.
	var edges []store.Edge
	if st.GetPredicateType() == attest.ProvenanceType {
		prov, err := attest.ProvenanceOf(st)
		if err != nil {
			out.Problem = strings.TrimSpace(out.Problem + "; provenance: " + err.Error())
		} else {
			for _, dep := range prov.Dependencies {
				if !dep.IsArtifact() {
					continue
				}
				to, err := store.ParseDigest(string(dep.Digest))
				if err != nil {
					continue
				}
				if d, ok, err := s.fileAlias(ctx, dep.Name, to); err != nil {
					return AttestationResult{}, err
				} else if ok {
					to = d
				}
				for _, f := range facts {
					if _, ok := aliases[f.Subject]; ok {
						continue // the edge is recorded from the stored artifact
					}
					if f.Subject == to {
						continue // a statement naming its own subject as a parent is no edge
					}
					if err := s.checkAcyclic(ctx, f.Subject, to); err != nil {
						return AttestationResult{}, err
					}
					edges = append(edges, store.Edge{From: f.Subject, To: to, Relation: string(dep.Role)})
				}
			}
		}
	}
	ev, created, err := s.store.AddEvidence(ctx, store.Evidence{MediaType: mediaType, Bundle: body, Facts: facts}, actor(ctx))
	if err != nil {
		return AttestationResult{}, fromStore(err)
	}
	out.Evidence, out.Created = ev, created
	for _, e := range edges {
		e.EvidenceID = ev.ID
		e, err := s.addEdge(ctx, e)
		if err != nil {
			return AttestationResult{}, err
		}
		out.Edges = append(out.Edges, e)
	}
	s.metrics.attestations.inc()
	return out, nil
}
