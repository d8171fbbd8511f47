package server

import (
	"context"
	"io"

	"github.com/mlsecops/mlsec"
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

// Jobs runs checks asynchronously (on the River queue). Kinds are "scan",
// "verify", "bom" and "gate"; args carry e.g. the stage of a gate.
type Jobs interface {
	Enqueue(ctx context.Context, kind string, artifact store.Digest, args map[string]string) (jobID int64, err error)
}

// GateInput is the stored evidence a gate judges.
type GateInput struct {
	Artifact      store.Artifact
	Stage         string
	FindingCounts map[mlsec.Severity]int
	// Facts are the indexed evidence about the artifact, newest first.
	Facts []store.Fact
	// Decisions are the earlier gate decisions, oldest first.
	Decisions []store.Decision
}

// GateOutput is a gate's verdict.
type GateOutput struct {
	Result store.Result
	// Policy names what decided, e.g. "builtin/cd".
	Policy  string
	Reasons []string
}

// Gate evaluates a stage's gate. Implementations are pure over the input.
type Gate interface {
	Evaluate(ctx context.Context, in GateInput) (GateOutput, error)
}
