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
	"path/filepath"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/aibom"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/inspect"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
)

// Actor is the audit-log actor of everything workers write.
const Actor = "worker"

// FindingSource is the store source of findings written by scan jobs.
const FindingSource = "scan"

// ScanArgs scans one model (a file or a model directory) in process and
// stores the artifact and its findings; with HubScanID it also records
// the item's result in that hub scan.
type ScanArgs struct {
	// Path is the model's absolute path, readable by every worker.
	Path    string `json:"path"`
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
// over the model at Path with an ECDSA public key, and records the result
// as a decision-free fact: the bundle's evidence gains nothing, the
// artifact gains a "verify" finding source (empty on success).
type VerifyArgs struct {
	Path       string `json:"path"`
	EvidenceID int64  `json:"evidence_id"`
	// PublicKeyPEM is the signer's public key.
	PublicKeyPEM string `json:"public_key_pem"`
}

// Kind implements river.JobArgs.
func (VerifyArgs) Kind() string { return KindVerify }

// BOMArgs builds a CycloneDX AI-BOM for the model at Path and stores it
// as an (unsigned) in-toto statement about the artifact.
type BOMArgs struct {
	Path     string `json:"path"`
	Name     string `json:"name,omitempty"`
	Revision string `json:"revision,omitempty"`
}

// Kind implements river.JobArgs.
func (BOMArgs) Kind() string { return KindBOM }

// GateArgs runs the store's built-in gate for a stage on an artifact: FAIL
// when it has a finding at or above MaxSeverity (default high), else PASS;
// a PASS promotes quarantined → verified (and verified → released at the
// "cd" stage). The decision is recorded even when it changes nothing.
type GateArgs struct {
	Artifact    store.Digest `json:"artifact"`
	Stage       string       `json:"stage"`
	MaxSeverity string       `json:"max_severity,omitempty"`
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

// Digest returns a model's content address: the sha256 of a file, or the
// OMS root digest (files method, sha256) of a directory, with its size.
func Digest(ctx context.Context, path string) (d store.Digest, dir bool, size int64, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", false, 0, err
	}
	if st.IsDir() {
		m, err := signing.HashModel(ctx, path, signing.HashOptions{AllowSymlinks: true})
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
		return store.Digest("sha256:" + hex.EncodeToString(m.RootDigest())), true, size, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", false, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", false, 0, err
	}
	return store.Digest("sha256:" + hex.EncodeToString(h.Sum(nil))), false, n, nil
}

type scanWorker struct {
	river.WorkerDefaults[ScanArgs]
	q      *Queue
	runner *scan.Runner
}

// permanent marks an error about the model itself (unreadable, not
// hashable): retrying cannot help, so hub scans record the item as failed.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

func (w *scanWorker) Work(ctx context.Context, job *river.Job[ScanArgs]) error {
	a := job.Args
	if err := w.q.delay(ctx); err != nil {
		return err
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
// findings and hub scan item) in one transaction.
func (w *scanWorker) scanOne(ctx context.Context, a ScanArgs) error {
	if !filepath.IsAbs(a.Path) {
		return permanent{fmt.Errorf("scan job path %q is not absolute", a.Path)}
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
		Actor:     Actor,
	})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) {
		return permanent{err}
	}
	return err
}

type verifyWorker struct {
	river.WorkerDefaults[VerifyArgs]
	q *Queue
}

func (w *verifyWorker) Work(ctx context.Context, job *river.Job[VerifyArgs]) error {
	a := job.Args
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
	d, dir, size, err := Digest(ctx, a.Path)
	if err != nil {
		return river.JobCancel(err)
	}
	if _, _, err := st.PutArtifact(ctx, store.Artifact{Digest: d, Directory: dir, Size: size, Kind: "model", Source: "file://" + filepath.ToSlash(a.Path)}, Actor); err != nil {
		return err
	}
	var fs []mlsec.Finding
	if _, err := signing.Verify(ctx, a.Path, ev.Bundle, &signing.KeyVerifier{Key: key}, signing.VerifyOptions{}); err != nil {
		if !signing.IsNegative(err) {
			return river.JobCancel(err)
		}
		fs = append(fs, mlsec.Finding{RuleID: "VERIFY-001", Severity: mlsec.SeverityCritical, Message: err.Error(), Path: a.Path, Location: mlsec.Location{Offset: -1}})
	}
	return st.ReplaceFindings(ctx, d, "verify", fs, Actor)
}

type bomWorker struct {
	river.WorkerDefaults[BOMArgs]
	q *Queue
}

func (w *bomWorker) Work(ctx context.Context, job *river.Job[BOMArgs]) error {
	a := job.Args
	d, dir, size, err := Digest(ctx, a.Path)
	if err != nil {
		return river.JobCancel(err)
	}
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
	stmt, err := attest.BOMStatement(attest.Subject{Name: filepath.Base(a.Path), Digest: attest.Digest(d)}, buf.Bytes())
	if err != nil {
		return river.JobCancel(err)
	}
	st := w.q.cfg.Store
	if _, _, err := st.PutArtifact(ctx, store.Artifact{Digest: d, Directory: dir, Size: size, Name: a.Name, Version: a.Revision, Kind: "model", Source: "file://" + filepath.ToSlash(a.Path)}, Actor); err != nil {
		return err
	}
	_, _, err = st.AddEvidence(ctx, store.Evidence{
		MediaType: "application/vnd.in-toto+json",
		Bundle:    stmt,
		Facts:     []store.Fact{{PredicateType: attest.CycloneDXType, Subject: d, Time: time.Now()}},
	}, Actor)
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
	_, err := Gate(ctx, w.q.cfg.Store, job.Args)
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	return err
}

// Gate runs the built-in gate described at GateArgs and records its
// decision. It is idempotent: once the artifact has moved, a rerun records
// the verdict without a state change.
func Gate(ctx context.Context, st store.Store, a GateArgs) (store.Decision, error) {
	limit := mlsec.SeverityHigh
	if a.MaxSeverity != "" {
		var err error
		if limit, err = mlsec.ParseSeverity(a.MaxSeverity); err != nil {
			return store.Decision{}, fmt.Errorf("%w: %w", store.ErrInvalid, err)
		}
	}
	art, err := st.Artifact(ctx, a.Artifact)
	if err != nil {
		return store.Decision{}, err
	}
	counts, err := st.FindingCounts(ctx, a.Artifact)
	if err != nil {
		return store.Decision{}, err
	}
	d := store.Decision{Artifact: a.Artifact, Stage: a.Stage, Policy: "builtin/max-severity", Result: store.ResultPass, Actor: Actor}
	for sev := mlsec.SeverityCritical; sev >= limit && sev > mlsec.SeverityNone; sev-- {
		if n := counts[sev]; n > 0 {
			d.Result = store.ResultFail
			d.Reasons = append(d.Reasons, fmt.Sprintf("%d %s finding(s)", n, sev))
		}
	}
	if d.Result == store.ResultPass {
		switch {
		case art.State == store.StateQuarantined:
			d.To = store.StateVerified
		case art.State == store.StateVerified && a.Stage == "cd":
			d.To = store.StateReleased
		}
	}
	return st.RecordDecision(ctx, d)
}
