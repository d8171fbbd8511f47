package server

import (
	"context"
	"io"

	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/server/gating"
	"github.com/mlsecops/mlsec/store"
)

// Blobs holds uploaded artifact bytes (encrypted at rest by the
// implementation).
type Blobs interface {
	// Put stores r's bytes and returns their sha256 digest and size.
	// Nothing is kept when it fails.
	Put(ctx context.Context, r io.Reader) (store.Digest, int64, error)
	// Open returns the plaintext of blob d. The implementation verifies the
	// digest while reading: a mismatch is an error no later than EOF.
	Open(ctx context.Context, d store.Digest) (io.ReadCloser, error)
}

// Jobs runs checks and hub scans on the job queue (River); *queue.Queue
// implements it. Job arguments carry artifacts by digest: workers read the
// uploaded bytes from the encrypted blob store (or the registered file://
// path), so `mlsec worker` processes on other machines need the same data
// directory (blobs and keys) or the same paths.
type Jobs interface {
	// Enqueue queues a scan, verify, bom or gate job.
	Enqueue(ctx context.Context, r queue.Request) (int64, error)
	// Status reports a job's progress; an unknown id is store.ErrNotFound.
	Status(ctx context.Context, id int64) (queue.JobStatus, error)
	// EnqueueHubScan records a hub scan of the server-side directory root
	// and queues one scan job per model.
	EnqueueHubScan(ctx context.Context, root, actor string) (store.HubScan, error)
}

var _ Jobs = (*queue.Queue)(nil)

// The gate is package gating's, shared with the job queue's gate workers.
type (
	// GateInput is the stored evidence a gate judges.
	GateInput = gating.Input
	// GateOutput is a gate's verdict.
	GateOutput = gating.Output
	// Gate evaluates a stage's gate.
	Gate = gating.Gate
	// PolicyGate is the default Gate: the CEL stage policies of package
	// policy over the stored evidence.
	PolicyGate = gating.PolicyGate
)

// NewPolicyGate compiles the built-in policy of every lifecycle stage (see
// gating.NewPolicyGate to use a pipeline file's).
func NewPolicyGate(st store.Store) (*PolicyGate, error) { return gating.NewPolicyGate(st, nil) }
