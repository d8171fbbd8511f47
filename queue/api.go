package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store"
)

// Request is a job about a stored artifact, as the API asks for one.
type Request struct {
	// Kind is KindScan, KindVerify, KindBOM or KindGate.
	Kind     string
	Artifact store.Digest
	// Stage is the lifecycle stage of a gate.
	Stage string
	// EvidenceID is the signature evidence a verification checks (0: the
	// artifact's stored signatures).
	EvidenceID int64
	// Actor is who asked, recorded in the audit log and on decisions.
	Actor string
}

// Enqueue queues the job r describes and returns its id.
func (q *Queue) Enqueue(ctx context.Context, r Request) (int64, error) {
	var args river.JobArgs
	switch r.Kind {
	case KindScan:
		args = ScanArgs{Artifact: r.Artifact, Actor: r.Actor}
	case KindVerify:
		args = VerifyArgs{Artifact: r.Artifact, EvidenceID: r.EvidenceID, Actor: r.Actor}
	case KindBOM:
		args = BOMArgs{Artifact: r.Artifact, Actor: r.Actor}
	case KindGate:
		args = GateArgs{Artifact: r.Artifact, Stage: r.Stage, Actor: r.Actor}
	default:
		return 0, mlsec.Errorf(mlsec.EINVALID, "queue: unknown job kind %q", r.Kind)
	}
	return q.Insert(ctx, args)
}

// Job states as JobStatus reports them (River's).
const (
	StateAvailable = string(rivertype.JobStateAvailable)
	StateRunning   = string(rivertype.JobStateRunning)
	StateRetryable = string(rivertype.JobStateRetryable)
	StateCompleted = string(rivertype.JobStateCompleted)
	StateCancelled = string(rivertype.JobStateCancelled)
	StateDiscarded = string(rivertype.JobStateDiscarded)
)

// JobStatus is a job's progress.
type JobStatus struct {
	ID    int64  `json:"id"`
	Kind  string `json:"kind"`
	State string `json:"state"`
	// Done is true once the job is completed, cancelled or discarded.
	Done        bool         `json:"done"`
	Artifact    store.Digest `json:"artifact,omitempty"`
	Stage       string       `json:"stage,omitempty"`
	HubScanID   int64        `json:"hub_scan_id,omitempty"`
	Attempt     int          `json:"attempt"`
	MaxAttempts int          `json:"max_attempts"`
	// Errors are the failed attempts' errors, oldest first.
	Errors      []string   `json:"errors,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	FinalizedAt *time.Time `json:"finalized_at,omitempty"`
}

// Status returns a job's status; an unknown id is a store.ErrNotFound.
func (q *Queue) Status(ctx context.Context, id int64) (JobStatus, error) {
	j, err := q.client.JobGet(ctx, id)
	if errors.Is(err, rivertype.ErrNotFound) {
		return JobStatus{}, fmt.Errorf("%w: job %d", store.ErrNotFound, id)
	}
	if err != nil {
		return JobStatus{}, fmt.Errorf("queue: job %d: %w", id, err)
	}
	s := JobStatus{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		CreatedAt: j.CreatedAt, FinalizedAt: j.FinalizedAt}
	switch j.State {
	case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
		s.Done = true
	}
	var args struct {
		Artifact  store.Digest `json:"artifact"`
		Stage     string       `json:"stage"`
		HubScanID int64        `json:"hub_scan_id"`
	}
	if json.Unmarshal(j.EncodedArgs, &args) == nil {
		s.Artifact, s.Stage, s.HubScanID = args.Artifact, args.Stage, args.HubScanID
	}
	for _, e := range j.Errors {
		s.Errors = append(s.Errors, e.Error)
	}
	return s, nil
}
