// Package queue runs mlsec's background jobs — scan, verify, bom and gate —
// on River (github.com/riverqueue/river). With SQLite the queue lives in a
// second database file beside the store and runs on one node; with
// PostgreSQL it shares the store's database and any number of `mlsec
// worker` processes, on any machines, take jobs from it.
//
// The API (`mlsec serve`) queues jobs about stored artifacts by digest
// (Enqueue, Status) and hub scans (EnqueueHubScan); workers read uploaded
// artifacts from the encrypted blob store (Config.Blobs). Gate jobs run
// Config.Decider, package server/gating: the same gate the API runs.
//
// Jobs are idempotent: every worker writes its results with the store's
// idempotent operations (PutArtifact, ReplaceFindings, AddEvidence,
// CompleteHubScanItem), so a job retried after a crash leaves the same
// state as one that ran once. Working processes heartbeat (see
// Config.HeartbeatTimeout): the running jobs of a worker that died are
// re-queued within seconds, and River's RescueAfter remains a backstop.
package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/mlsecops/mlsec/confine"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scratch"
	"github.com/mlsecops/mlsec/server/gating"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/blob"
	"github.com/mlsecops/mlsec/store/postgres"
	"github.com/mlsecops/mlsec/store/sqlite"
)

// Job kinds.
const (
	KindScan   = "scan"
	KindVerify = "verify"
	KindBOM    = "bom"
	KindGate   = "gate"
)

// DefaultSpoolBytes is Config.SpoolBytes' default: with the default
// concurrency (the CPU count) it bounds the memory of in-memory scans to a
// few hundred MiB.
const DefaultSpoolBytes = 64 << 20

// QueueName is the River queue mlsec's jobs go to.
const QueueName = river.QueueDefault

// Config configures Open.
type Config struct {
	// Store receives the jobs' results.
	Store store.Store
	// SQLitePath is the queue's SQLite database file (single node), or
	// PostgresURL the PostgreSQL database (with optional Schema) shared by
	// all workers. Exactly one must be set.
	SQLitePath  string
	PostgresURL string
	Schema      string
	// Concurrency is how many jobs this process works at once; 0 makes an
	// insert-only client (it enqueues but does not work).
	Concurrency int
	// JobTimeout bounds one job (default 10m).
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before River assumes
	// its worker died and retries it elsewhere (default 15m; must be at
	// least JobTimeout).
	RescueAfter time.Duration
	// HeartbeatInterval is how often a working process records that it is
	// alive and looks for running jobs of dead workers (default 5s);
	// HeartbeatTimeout is how long a worker may be silent before its
	// running jobs are re-queued (default 30s). A process on the same host
	// that no longer exists loses its jobs at once, so a single-node
	// (SQLite) server re-queues what it was working when it crashed as it
	// starts again.
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
	// JobDelay makes every job sleep this long first. It exists to test
	// crash recovery (a worker is killed mid-job) and is otherwise 0.
	JobDelay time.Duration
	// ScanConfig configures the in-process scanner (default
	// scan.DefaultConfig()).
	ScanConfig *scan.Config
	// Blobs is the encrypted store of uploaded artifacts: jobs about an
	// artifact by digest read its bytes from here (decrypted to a temporary
	// file, digest verified). Nil limits them to artifacts registered by a
	// file:// reference readable on this worker.
	Blobs *blob.Store
	// Decider runs gate jobs: package gating, the same gate the API runs.
	// Nil builds one over Store with the built-in policies, unsigned.
	Decider *gating.Decider
	// Verifiers are the signers verify jobs on artifacts by digest trust.
	Verifiers []policy.NamedVerifier
	// SourceRoots confine the file:// references jobs read artifacts
	// from (serve/worker --source-root); nil or empty allows none.
	SourceRoots *confine.Roots
	// HubRoots, when not empty, confine the paths of path-based jobs
	// (hub-scan items); the API confines the hub scans it starts itself.
	HubRoots *confine.Roots
	// Scratch is where jobs decrypt uploaded artifacts (scratch.Open in
	// the data directory). Nil opens one in a fresh private temporary
	// directory removed by Stop.
	Scratch *scratch.Space
	// SpoolBytes is the largest uploaded artifact a scan job decrypts into
	// memory and scans from there, so no plaintext file exists at all
	// (default DefaultSpoolBytes; negative: always use Scratch). Larger
	// ones, and verify and BOM jobs, which need a path, use Scratch.
	SpoolBytes int64
	// ID names this worker in River (default host-pid).
	ID  string
	Log *slog.Logger
}

// jobClient is what the queue uses of a *river.Client, whatever its driver.
type jobClient interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	InsertManyFast(ctx context.Context, params []river.InsertManyParams) (int, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Queue is an open job queue.
type Queue struct {
	client      jobClient
	cfg         Config
	log         *slog.Logger
	close       func()
	dropScratch func() // removes a scratch space Open made itself
	beats       *beats
	stopBeats   func() // stops the heartbeat and waits for it
}

// Open connects to the queue's database, migrates River's tables and
// returns a queue whose workers (if cfg.Concurrency > 0) start with Start.
func Open(ctx context.Context, cfg Config) (_ *Queue, err error) {
	if cfg.Store == nil {
		return nil, errors.New("queue: no store")
	}
	if (cfg.SQLitePath == "") == (cfg.PostgresURL == "") {
		return nil, errors.New("queue: set exactly one of SQLitePath and PostgresURL")
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 10 * time.Minute
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = max(15*time.Minute, cfg.JobTimeout)
	}
	if cfg.RescueAfter < cfg.JobTimeout {
		return nil, fmt.Errorf("queue: rescue-after %v is shorter than the job timeout %v", cfg.RescueAfter, cfg.JobTimeout)
	}
	if cfg.SpoolBytes == 0 {
		cfg.SpoolBytes = DefaultSpoolBytes
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = max(DefaultHeartbeatTimeout, 3*cfg.HeartbeatInterval)
	}
	host, _ := os.Hostname()
	if cfg.ID == "" {
		cfg.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Decider == nil {
		d, err := gating.New(gating.Config{Store: cfg.Store, Operator: Actor})
		if err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		cfg.Decider = d
	}
	var dropScratch func()
	if cfg.Scratch == nil && cfg.Concurrency > 0 {
		tmp, err := os.MkdirTemp("", "mlsec-queue-")
		if err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		sp, err := scratch.Open(tmp, log)
		if err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("queue: %w", err)
		}
		cfg.Scratch = sp
		dropScratch = func() { sp.Close(); os.RemoveAll(tmp) }
		defer func() {
			if err != nil {
				dropScratch()
			}
		}()
	}
	q := &Queue{cfg: cfg, log: log, dropScratch: dropScratch}
	workers, err := q.workers()
	if err != nil {
		return nil, err
	}
	rc := &river.Config{
		ID:                   cfg.ID,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		MaxAttempts:          10,
		Logger:               log,
		Schema:               cfg.Schema,
		Workers:              workers,
		// Keep finished jobs a day: progress is in the store, River's rows
		// are only for debugging.
		CompletedJobRetentionPeriod: 24 * time.Hour,
	}
	if cfg.Concurrency > 0 {
		rc.Queues = map[string]river.QueueConfig{QueueName: {MaxWorkers: cfg.Concurrency}}
		rc.FetchCooldown = 20 * time.Millisecond
		rc.FetchPollInterval = 250 * time.Millisecond
	}
	if cfg.SQLitePath != "" {
		db, err := sql.Open("sqlite", sqlite.DSN(cfg.SQLitePath, "FULL"))
		if err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		// River's SQLite driver expects one connection at a time.
		db.SetMaxOpenConns(1)
		driver := riversqlite.New(db)
		if err := migrate(ctx, driver, cfg.Schema, log); err != nil {
			db.Close()
			return nil, err
		}
		rc.PollOnly = true
		client, err := river.NewClient(driver, rc)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("queue: %w", err)
		}
		q.client, q.close = client, func() { db.Close() }
		q.beats = &beats{sqlite: db, id: cfg.ID, host: host}
		return q, nil
	}
	pool, err := openPool(ctx, cfg.PostgresURL, cfg.Schema, cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	driver := riverpgxv5.New(pool)
	if err := migratePG(ctx, pool, driver, cfg.Schema, log); err != nil {
		pool.Close()
		return nil, err
	}
	client, err := river.NewClient(driver, rc)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("queue: %w", err)
	}
	q.client, q.close = client, pool.Close
	q.beats = &beats{pg: pool, id: cfg.ID, host: host}
	return q, nil
}

func openPool(ctx context.Context, url, schema string, concurrency int) (*pgxpool.Pool, error) {
	cc, err := postgres.ConnConfig(url, postgres.Options{Schema: schema})
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	pc.ConnConfig = cc
	pc.MaxConns = int32(max(4, concurrency+4))
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("queue: postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("queue: postgres: %w", err)
	}
	return pool, nil
}

func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], schema string, log *slog.Logger) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: schema, Logger: log})
	if err != nil {
		return fmt.Errorf("queue: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("queue: migrate: %w", err)
	}
	return nil
}

// migratePG migrates under a session advisory lock so workers starting
// together do not race.
func migratePG(ctx context.Context, pool *pgxpool.Pool, driver *riverpgxv5.Driver, schema string, log *slog.Logger) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("queue: migrate: %w", err)
	}
	defer conn.Release()
	const lockID = 7146524354
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockID); err != nil {
		return fmt.Errorf("queue: migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockID)
	return migrate[pgx.Tx](ctx, driver, schema, log)
}

// Start starts working jobs (a no-op for an insert-only queue).
func (q *Queue) Start(ctx context.Context) error {
	if q.cfg.Concurrency <= 0 {
		return nil
	}
	// Before taking new jobs, record this process and re-queue the running
	// jobs of workers that are gone (on a single node: the jobs this
	// server was working when it crashed).
	if err := q.beats.init(ctx); err != nil {
		return err
	}
	if err := q.beats.beat(ctx); err != nil {
		return err
	}
	q.rescueDead(ctx, q.beats)
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("queue: start: %w", err)
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.heartbeat(hctx, q.beats)
	}()
	q.stopBeats = func() { cancel(); <-done }
	return nil
}

// Stop stops taking jobs and waits for running ones to finish (until ctx
// ends), then closes the database.
func (q *Queue) Stop(ctx context.Context) error {
	var err error
	if q.cfg.Concurrency > 0 {
		err = q.client.Stop(ctx)
	}
	if q.stopBeats != nil {
		q.stopBeats()
		if err == nil {
			// Every job finished: nothing of ours is left running.
			q.beats.forget(context.WithoutCancel(ctx))
		}
	}
	q.close()
	if q.dropScratch != nil {
		q.dropScratch()
	}
	return err
}

// Insert enqueues one job.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs) (int64, error) {
	res, err := q.client.Insert(ctx, args, nil)
	if err != nil {
		return 0, fmt.Errorf("queue: insert %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// Job returns River's row for a job (state, attempts, errors).
func (q *Queue) Job(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	return q.client.JobGet(ctx, id)
}

// insertMany enqueues jobs in batches.
func (q *Queue) insertMany(ctx context.Context, args []river.JobArgs) error {
	for start := 0; start < len(args); start += 1000 {
		end := min(start+1000, len(args))
		params := make([]river.InsertManyParams, 0, end-start)
		for _, a := range args[start:end] {
			params = append(params, river.InsertManyParams{Args: a})
		}
		if _, err := q.client.InsertManyFast(ctx, params); err != nil {
			return fmt.Errorf("queue: insert: %w", err)
		}
	}
	return nil
}
