package queue

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/riverqueue/river"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/aibom"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/confine"
	"github.com/mlsecops/mlsec/inspect"
	"github.com/mlsecops/mlsec/report"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
	"github.com/mlsecops/mlsec/server/gating"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/blob"
)

// Actor is the audit-log actor of everything workers write.
const Actor = "worker"

// FindingSource is the store source of findings written by scan jobs.
const FindingSource = "scan"

// ScanArgs scans one model (a file or a model directory) in process and
// stores the artifact, its findings and a scan attestation (an unsigned
// in-toto statement the gate reads); with HubScanID it also records the
// item's result in that hub scan.
//
// The model is either at Path, or the stored artifact with digest
// Artifact: its uploaded bytes from the blob store, else the file:// path
// it was registered with (its digest checked).
type ScanArgs struct {
	// Artifact is a stored artifact's digest (instead of Path).
	Artifact store.Digest `json:"artifact,omitempty"`
	// Actor is who asked (the audit log's actor; default "worker").
	Actor string `json:"actor,omitempty"`
	// Path is the model's absolute path, readable by every worker.
	Path    string `json:"path,omitempty"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	// HubScanID and Item (the path relative to the hub scan's root) tie
	// the job to a hub scan.
	HubScanID int64  `json:"hub_scan_id,omitempty"`
	Item      string `json:"item,omitempty"`
}

// Kind implements river.JobArgs.
func (ScanArgs) Kind() string { return KindScan }

// VerifyArgs verifies an OpenSSF Model Signing bundle (stored evidence)
// over a model and records the result as a decision-free fact: the
// bundle's evidence gains nothing, the artifact gains a "verify" finding
// source (empty on success; VERIFY-001 on failure) and the audit log an
// "artifact.verify" entry.
//
// Either Path with EvidenceID and PublicKeyPEM, or the stored artifact
// Artifact (read as for ScanArgs) checked against the worker's configured
// verifiers (Config.Verifiers) with the signature evidence EvidenceID, or
// when 0 each of the artifact's stored signatures, newest first, until one
// verifies.
type VerifyArgs struct {
	Artifact   store.Digest `json:"artifact,omitempty"`
	Actor      string       `json:"actor,omitempty"`
	Path       string       `json:"path,omitempty"`
	EvidenceID int64        `json:"evidence_id,omitempty"`
	// PublicKeyPEM is the signer's public key (with Path).
	PublicKeyPEM string `json:"public_key_pem,omitempty"`
}

// Kind implements river.JobArgs.
func (VerifyArgs) Kind() string { return KindVerify }

// BOMArgs builds a CycloneDX AI-BOM for the model at Path, or of the
// stored artifact Artifact (read as for ScanArgs), and stores it as an
// (unsigned) in-toto statement about the artifact.
type BOMArgs struct {
	Artifact store.Digest `json:"artifact,omitempty"`
	Actor    string       `json:"actor,omitempty"`
	Path     string       `json:"path,omitempty"`
	Name     string       `json:"name,omitempty"`
	Revision string       `json:"revision,omitempty"`
}

// Kind implements river.JobArgs.
func (BOMArgs) Kind() string { return KindBOM }

// GateArgs evaluates a lifecycle stage's gate on an artifact's stored
// evidence with the queue's gating.Decider — the same CEL stage policies
// and trust-state rules as the API's gate endpoint and `mlsec gate` — and
// records the decision (signed as a VSA when the decider has a signer),
// even when it changes nothing.
type GateArgs struct {
	Artifact store.Digest `json:"artifact"`
	Stage    string       `json:"stage"`
	// Actor is who asked (recorded as the decision's actor; default
	// "worker").
	Actor string `json:"actor,omitempty"`
}

// Kind implements river.JobArgs.
func (GateArgs) Kind() string { return KindGate }

func (q *Queue) workers() (*river.Workers, error) {
	cfg := scan.DefaultConfig()
	if q.cfg.ScanConfig != nil {
		cfg = *q.cfg.ScanConfig
	}
	dets, err := list.All(cfg)
	if err != nil {
		return nil, fmt.Errorf("queue: detectors: %w", err)
	}
	// One file at a time per job: parallelism comes from River's workers.
	runner := scan.NewRunner(dets, cfg, scan.Options{Workers: 1, Log: q.log})
	w := river.NewWorkers()
	if err := river.AddWorkerSafely(w, &scanWorker{q: q, runner: runner}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(w, &verifyWorker{q: q}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(w, &bomWorker{q: q}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(w, &gateWorker{q: q}); err != nil {
		return nil, err
	}
	return w, nil
}

func (q *Queue) delay(ctx context.Context) error {
	if q.cfg.JobDelay <= 0 {
		return nil
	}
	select {
	case <-time.After(q.cfg.JobDelay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Digest returns a model's content address, with its size: the sha256 of
// a file's bytes (the address of an uploaded blob, and the one item digest
// of its OpenSSF Model Signing manifest), or for a directory
// attest.ArtifactDigest — the digest `mlsec digest DIR` prints and the
// directory's signature and claims name, leaving out its own model.sig and
// claims.jsonl (symbolic links are followed, as hub mirrors need).
func Digest(ctx context.Context, path string) (d store.Digest, dir bool, size int64, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", false, 0, err
	}
	if st.IsDir() {
		root, err := attest.ArtifactDigest(ctx, nil, path, attest.DigestOptions{FollowSymlinks: true})
		if err != nil {
			return "", true, 0, err
		}
		_ = filepath.WalkDir(path, func(_ string, de fs.DirEntry, err error) error {
			if err == nil && !de.IsDir() {
				if info, err := de.Info(); err == nil && info.Mode().IsRegular() {
					size += info.Size()
				}
			}
			return nil
		})
		return store.Digest(root), true, size, nil
	}
	if !st.Mode().IsRegular() {
		return "", false, 0, fmt.Errorf("%s: not a regular file or directory", path)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", false, 0, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return "", false, 0, fmt.Errorf("%s: not a regular file", path)
	}
	d, n, err := digestReader(ctx, f)
	return d, false, n, err
}

// digestReader returns the sha256 digest and length of r's bytes.
func digestReader(ctx context.Context, r io.Reader) (store.Digest, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, r})
	if err != nil {
		return "", 0, err
	}
	return store.Digest("sha256:" + hex.EncodeToString(h.Sum(nil))), n, nil
}

// actorOr returns a, or Actor when a is empty.
func actorOr(a string) string {
	if a == "" {
		return Actor
	}
	return a
}

// permanent marks an error about the model itself (unreadable, not
// hashable, bytes not its digest): retrying cannot help, so hub scans
// record the item as failed and other jobs are cancelled.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// finish maps a job's error to River's: nil, a retry (transient, e.g. the
// database), or a cancellation (permanent).
func finish(err error) error {
	var p permanent
	if err != nil && (errors.As(err, &p) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) ||
		mlsec.ErrorCode(err) == mlsec.EINVALID) {
		return river.JobCancel(err)
	}
	return err
}

// materialize returns a path holding stored artifact a's bytes: its
// uploaded blob decrypted into a fresh directory of the queue's scratch
// space (inside the data directory, mode 0700) under the artifact's base
// name (the blob store verifies the digest while it is read), else the
// file:// path it was registered with — only inside Config.SourceRoots,
// only a regular file or a directory of them — whose digest is checked.
// cleanup removes what materialize created.
func (q *Queue) materialize(ctx context.Context, a store.Artifact) (p string, cleanup func(), err error) {
	nop := func() {}
	if a.Blob && q.cfg.Blobs != nil && !a.Directory {
		rc, err := q.cfg.Blobs.Open(a.Digest)
		switch {
		case err == nil:
			defer rc.Close()
			dir, cleanup, err := q.cfg.Scratch.Dir()
			if err != nil {
				return "", nil, err
			}
			p := filepath.Join(dir, baseName(a.Name))
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				cleanup()
				return "", nil, err
			}
			_, err = io.Copy(f, ctxReader{ctx, rc})
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				cleanup()
				if errors.Is(err, blob.ErrDigestMismatch) {
					return "", nil, permanent{fmt.Errorf("blob %s: %w", a.Digest, err)}
				}
				return "", nil, fmt.Errorf("queue: reading blob %s: %w", a.Digest, err)
			}
			return p, cleanup, nil
		case !errors.Is(err, blob.ErrNotFound):
			return "", nil, fmt.Errorf("queue: blob %s: %w", a.Digest, err)
		}
	}
	if path, ok := strings.CutPrefix(a.Source, "file://"); ok {
		real, err := q.SourcePath(ctx, filepath.FromSlash(path), a.Digest)
		if err != nil {
			return "", nil, permanent{fmt.Errorf("artifact %s: %w", a.Digest, err)}
		}
		return real, nop, nil
	}
	return "", nil, permanent{fmt.Errorf("artifact %s has no uploaded bytes and no file:// reference readable by this worker", a.Digest)}
}

// SourcePath checks a file:// reference: path must lie inside
// Config.SourceRoots (symbolic links resolved), be a regular file or a
// directory of them, and hold the content with digest want. It returns the
// resolved path. Errors never say what digest a refused or changed path
// has.
func (q *Queue) SourcePath(ctx context.Context, path string, want store.Digest) (string, error) {
	return checkSource(ctx, q.cfg.SourceRoots, path, want)
}

func checkSource(ctx context.Context, roots *confine.Roots, path string, want store.Digest) (string, error) {
	real, st, err := roots.Check(path)
	if err != nil {
		return "", err
	}
	var d store.Digest
	if st.IsDir() {
		d, _, _, err = Digest(ctx, real)
	} else {
		var f *os.File
		if f, err = confine.OpenRegular(real); err == nil {
			d, _, err = digestReader(ctx, f)
			f.Close()
		}
	}
	if err != nil {
		return "", fmt.Errorf("%s cannot be read: %w", path, confine.ErrRefused)
	}
	if d != want {
		return "", fmt.Errorf("%s does not hold the registered content (changed since it was registered)", path)
	}
	return real, nil
}

// checkPath confines a path-based job (hub-scan items) to Config.HubRoots
// when the worker has any.
func (q *Queue) checkPath(p string) error {
	if q.cfg.HubRoots.Empty() {
		return nil
	}
	_, _, err := q.cfg.HubRoots.Check(p)
	return err
}

// baseName is a safe file name for an artifact name.
func baseName(name string) string {
	n := path.Base(strings.ReplaceAll(name, `\`, "/"))
	if n == "" || n == "." || n == "/" || n == ".." {
		return "artifact"
	}
	return n
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type scanWorker struct {
	river.WorkerDefaults[ScanArgs]
	q      *Queue
	runner *scan.Runner
}

func (w *scanWorker) Work(ctx context.Context, job *river.Job[ScanArgs]) error {
	a := job.Args
	if err := w.q.delay(ctx); err != nil {
		return err
	}
	if a.Artifact != "" {
		return finish(w.scanStored(ctx, a))
	}
	err := w.scanOne(ctx, a)
	var p permanent
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &p):
		return err // transient (database): River retries
	case a.HubScanID == 0:
		return river.JobCancel(err)
	}
	return w.q.cfg.Store.CompleteHubScanItem(ctx, a.HubScanID, a.Item, store.ItemResult{Error: err.Error()})
}

// scanOne digests and scans the model and stores the result (artifact,
// findings and hub scan item) in one transaction, then the scan
// attestation.
func (w *scanWorker) scanOne(ctx context.Context, a ScanArgs) error {
	if !filepath.IsAbs(a.Path) {
		return permanent{fmt.Errorf("scan job path %q is not absolute", a.Path)}
	}
	if err := w.q.checkPath(a.Path); err != nil {
		return permanent{err}
	}
	d, dir, size, err := Digest(ctx, a.Path)
	if err != nil {
		return permanent{fmt.Errorf("digest %s: %w", a.Path, err)}
	}
	res, err := w.runner.Scan(ctx, []string{a.Path})
	if err != nil {
		return permanent{fmt.Errorf("scan %s: %w", a.Path, err)}
	}
	_, err = w.q.cfg.Store.RecordScan(ctx, store.ScanRecord{
		Artifact: store.Artifact{
			Digest: d, Name: a.Name, Version: a.Version, Kind: "model", Directory: dir, Size: size, Source: "file://" + filepath.ToSlash(a.Path),
		},
		Source:    FindingSource,
		Findings:  res.Findings(),
		HubScanID: a.HubScanID,
		Item:      a.Item,
		Actor:     actorOr(a.Actor),
	})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) {
		return permanent{err}
	}
	if err != nil {
		return err
	}
	name := a.Name
	if name == "" {
		name = filepath.Base(a.Path)
	}
	_, err = w.q.storeScan(ctx, d, name, res, actorOr(a.Actor))
	return err
}

// scanStored scans a stored artifact's bytes and replaces its findings;
// paths in findings are the artifact's name, not the temporary file.
func (w *scanWorker) scanStored(ctx context.Context, a ScanArgs) error {
	st := w.q.cfg.Store
	art, err := st.Artifact(ctx, a.Artifact)
	if err != nil {
		return err
	}
	res, err := w.scanInMemory(ctx, art)
	if res == nil && err == nil {
		p, cleanup, err := w.q.materialize(ctx, art)
		if err != nil {
			return err
		}
		defer cleanup()
		if res, err = w.runner.Scan(ctx, []string{p}); err != nil {
			return permanent{fmt.Errorf("scan %s: %w", art.Digest, err)}
		}
	}
	if err != nil {
		return err
	}
	display := art.Name
	if display == "" {
		display = string(art.Digest)
	}
	if !strings.HasPrefix(art.Source, "file://") {
		for i := range res.Artifacts {
			res.Artifacts[i].Path = display
			for j := range res.Artifacts[i].Findings {
				res.Artifacts[i].Findings[j].Path = display
			}
		}
	}
	if err := st.ReplaceFindings(ctx, art.Digest, FindingSource, res.Findings(), actorOr(a.Actor)); err != nil {
		return err
	}
	_, err = w.q.storeScan(ctx, art.Digest, display, res, actorOr(a.Actor))
	return err
}

// scanInMemory scans an uploaded artifact of at most Config.SpoolBytes
// from its decrypted bytes in memory (the blob store verifies the digest as
// they are read), so no plaintext file exists. It returns nil, nil when
// the artifact is not such a blob.
func (w *scanWorker) scanInMemory(ctx context.Context, art store.Artifact) (*scan.Result, error) {
	q := w.q
	if !art.Blob || art.Directory || q.cfg.Blobs == nil || q.cfg.SpoolBytes <= 0 || art.Size > q.cfg.SpoolBytes {
		return nil, nil
	}
	rc, err := q.cfg.Blobs.Open(art.Digest)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("queue: blob %s: %w", art.Digest, err)
	}
	defer rc.Close()
	buf := bytes.NewBuffer(make([]byte, 0, max(art.Size, 0)))
	n, err := io.Copy(buf, io.LimitReader(ctxReader{ctx, rc}, q.cfg.SpoolBytes+1))
	switch {
	case errors.Is(err, blob.ErrDigestMismatch):
		return nil, permanent{fmt.Errorf("blob %s: %w", art.Digest, err)}
	case err != nil:
		return nil, fmt.Errorf("queue: reading blob %s: %w", art.Digest, err)
	case n > q.cfg.SpoolBytes:
		return nil, nil // larger than recorded: spool to scratch instead
	}
	res, err := w.runner.ScanReaderAt(ctx, baseName(art.Name), bytes.NewReader(buf.Bytes()), n)
	if err != nil {
		return nil, permanent{fmt.Errorf("scan %s: %w", art.Digest, err)}
	}
	return res, nil
}

// storeScan stores a scan's result as an unsigned in-toto statement with
// the mlsec scan predicate, indexed under d, and returns its evidence id.
// Evidence is deduplicated on its bytes, so a retried job adds nothing.
func (q *Queue) storeScan(ctx context.Context, d store.Digest, name string, res *scan.Result, actor string) (int64, error) {
	doc := report.NewScanDocument(res)
	stmt, err := attest.ScanStatement(attest.Subject{Name: name, Digest: attest.Digest(d)}, &doc)
	if err != nil {
		return 0, permanent{fmt.Errorf("scan statement: %w", err)}
	}
	ev, _, err := q.cfg.Store.AddEvidence(ctx, store.Evidence{
		MediaType: gating.MediaStatement, Bundle: stmt,
		Facts: []store.Fact{{PredicateType: attest.ScanType, Subject: d, Time: time.Now().UTC()}},
	}, actor)
	return ev.ID, err
}

type verifyWorker struct {
	river.WorkerDefaults[VerifyArgs]
	q *Queue
}

func (w *verifyWorker) Work(ctx context.Context, job *river.Job[VerifyArgs]) error {
	a := job.Args
	if a.Artifact != "" {
		return finish(w.verifyStored(ctx, a))
	}
	st := w.q.cfg.Store
	ev, err := st.Evidence(ctx, a.EvidenceID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return river.JobCancel(err)
		}
		return err
	}
	key, err := signing.ParsePublicKey([]byte(a.PublicKeyPEM))
	if err != nil {
		return river.JobCancel(err)
	}
	if err := w.q.checkPath(a.Path); err != nil {
		return river.JobCancel(err)
	}
	d, dir, size, err := Digest(ctx, a.Path)
	if err != nil {
		return river.JobCancel(err)
	}
	if _, _, err := st.PutArtifact(ctx, store.Artifact{Digest: d, Directory: dir, Size: size, Kind: "model", Source: "file://" + filepath.ToSlash(a.Path)}, actorOr(a.Actor)); err != nil {
		return err
	}
	var fs []mlsec.Finding
	if _, err := signing.Verify(ctx, a.Path, ev.Bundle, &signing.KeyVerifier{Key: key}, signing.VerifyOptions{}); err != nil {
		if !signing.IsNegative(err) {
			return river.JobCancel(err)
		}
		fs = append(fs, verifyFinding(err, a.Path))
	}
	return st.ReplaceFindings(ctx, d, "verify", fs, actorOr(a.Actor))
}

func verifyFinding(err error, path string) mlsec.Finding {
	return mlsec.Finding{RuleID: "VERIFY-001", Severity: mlsec.SeverityCritical, Message: err.Error(), Path: path, Location: mlsec.Location{Offset: -1}}
}

// verifyStored verifies a stored artifact against its stored signatures
// with the configured verifiers.
func (w *verifyWorker) verifyStored(ctx context.Context, a VerifyArgs) error {
	st := w.q.cfg.Store
	if len(w.q.cfg.Verifiers) == 0 {
		return permanent{errors.New("this worker trusts no signing key (serve --trust-key or --pipeline identities)")}
	}
	art, err := st.Artifact(ctx, a.Artifact)
	if err != nil {
		return err
	}
	v, err := gating.VerifyStored(ctx, st, art.Digest, a.EvidenceID, w.q.cfg.Verifiers, func() (string, func(), error) {
		return w.q.materialize(ctx, art)
	})
	if err != nil {
		return err
	}
	detail := map[string]string{"verified": "true", "evidence": fmt.Sprint(v.EvidenceID), "signer": v.Signer}
	var problem error
	if !v.Verified {
		detail = map[string]string{"verified": "false"}
		problem = errors.New(v.Problem)
	}
	var fs []mlsec.Finding
	if problem != nil {
		detail["problem"] = problem.Error()
		name := art.Name
		if name == "" {
			name = string(art.Digest)
		}
		fs = append(fs, verifyFinding(problem, name))
	}
	if err := st.ReplaceFindings(ctx, art.Digest, "verify", fs, actorOr(a.Actor)); err != nil {
		return err
	}
	_, err = st.Audit(ctx, store.AuditEntry{Time: time.Now(), Actor: actorOr(a.Actor), Action: "artifact.verify", Subject: string(art.Digest), Detail: detail})
	return err
}

type bomWorker struct {
	river.WorkerDefaults[BOMArgs]
	q *Queue
}

func (w *bomWorker) Work(ctx context.Context, job *river.Job[BOMArgs]) error {
	a := job.Args
	st := w.q.cfg.Store
	var art store.Artifact
	if a.Artifact != "" {
		var err error
		if art, err = st.Artifact(ctx, a.Artifact); err != nil {
			return finish(err)
		}
		p, cleanup, err := w.q.materialize(ctx, art)
		if err != nil {
			return finish(err)
		}
		defer cleanup()
		a.Path = p
		if a.Name == "" {
			a.Name = art.Name
		}
		if a.Revision == "" {
			a.Revision = art.Version
		}
	} else {
		if err := w.q.checkPath(a.Path); err != nil {
			return river.JobCancel(err)
		}
		d, dir, size, err := Digest(ctx, a.Path)
		if err != nil {
			return river.JobCancel(err)
		}
		art = store.Artifact{Digest: d, Directory: dir, Size: size, Name: a.Name, Version: a.Revision, Kind: "model", Source: "file://" + filepath.ToSlash(a.Path)}
	}
	d := art.Digest
	rep, err := inspect.Inspect(ctx, a.Path, inspect.Options{Name: a.Name, Revision: a.Revision, Log: w.q.log})
	if err != nil {
		return river.JobCancel(err)
	}
	// A serial from the digest and the job's creation time keep the
	// statement's bytes (and so the stored evidence) identical when this
	// job is retried.
	b, err := aibom.CycloneDX(rep, aibom.Options{Spec: "1.6", SerialNumber: "urn:uuid:" + uuidFrom(d), Timestamp: job.CreatedAt.UTC().Truncate(time.Second)})
	if err != nil {
		return river.JobCancel(err)
	}
	var buf bytes.Buffer
	if err := b.Encode(&buf, aibom.FormatCycloneDXJSON, "1.6"); err != nil {
		return river.JobCancel(err)
	}
	name := a.Name
	if name == "" {
		name = filepath.Base(a.Path)
	}
	stmt, err := attest.BOMStatement(attest.Subject{Name: name, Digest: attest.Digest(d)}, buf.Bytes())
	if err != nil {
		return river.JobCancel(err)
	}
	if a.Artifact == "" {
		if _, _, err := st.PutArtifact(ctx, art, actorOr(a.Actor)); err != nil {
			return err
		}
	}
	_, _, err = st.AddEvidence(ctx, store.Evidence{
		MediaType: gating.MediaStatement,
		Bundle:    stmt,
		Facts:     []store.Fact{{PredicateType: attest.CycloneDXType, Subject: d, Time: time.Now()}},
	}, actorOr(a.Actor))
	return err
}

// uuidFrom derives a stable RFC 4122-shaped UUID from a digest.
func uuidFrom(d store.Digest) string {
	h := strings.TrimPrefix(string(d), "sha256:")
	return h[0:8] + "-" + h[8:12] + "-5" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

type gateWorker struct {
	river.WorkerDefaults[GateArgs]
	q *Queue
}

func (w *gateWorker) Work(ctx context.Context, job *river.Job[GateArgs]) error {
	_, err := w.q.Gate(ctx, job.Args)
	return finish(err)
}

// Gate evaluates the gate described at GateArgs with the queue's decider
// (the API's gate) and records its decision. A rerun records the verdict
// again; once the artifact has moved, without a state change.
func (q *Queue) Gate(ctx context.Context, a GateArgs) (gating.Result, error) {
	return q.cfg.Decider.Decide(ctx, a.Artifact, a.Stage, actorOr(a.Actor))
}
