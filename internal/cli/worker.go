package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/dial"
)

// storageFlags name the store: --data DIR (embedded SQLite) or --database
// URL (PostgreSQL). Shared by worker, hub, audit and keys.
type storageFlags struct {
	data     string
	database string
	schema   string
}

func (f *storageFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", dial.DefaultDataDir, "data `DIR`: SQLite database and job queue, blobs and their keys")
	fl.StringVar(&f.database, "database", "", "PostgreSQL `URL` (postgres://...) instead of the embedded SQLite")
	fl.StringVar(&f.schema, "schema", "", "PostgreSQL schema holding mlsec's tables (default: the search_path)")
	_ = fl.MarkHidden("schema")
}

func (f *storageFlags) config(log *slog.Logger) (dial.Config, error) {
	if f.database != "" && !dial.IsPostgres(f.database) {
		return dial.Config{}, usageError(errors.New("--database must be a postgres:// URL (omit it for the embedded SQLite in --data)"))
	}
	return dial.Config{DataDir: f.data, DatabaseURL: f.database, Schema: f.schema, Log: log}, nil
}

func (f *storageFlags) open(ctx context.Context, log *slog.Logger) (store.Store, dial.Config, error) {
	c, err := f.config(log)
	if err != nil {
		return nil, c, err
	}
	st, err := dial.Open(ctx, c)
	if err != nil {
		return nil, c, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	return st, c, nil
}

// openQueue opens the job queue that belongs to the store c names.
func openQueue(ctx context.Context, st store.Store, c dial.Config, qc queue.Config) (*queue.Queue, error) {
	qc.Store = st
	qc.SQLitePath = c.QueuePath()
	qc.PostgresURL = c.DatabaseURL
	qc.Schema = c.Schema
	qc.Log = c.Log
	q, err := queue.Open(ctx, qc)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	return q, nil
}

type workerFlags struct {
	storageFlags
	concurrency int
	jobTimeout  time.Duration
	rescueAfter time.Duration
	jobDelay    time.Duration
	id          string
}

func newWorkerCmd(app *App) *cobra.Command {
	var fl workerFlags
	cmd := &cobra.Command{
		Use:   "worker [--database URL | --data DIR]",
		Short: "Work scan, verify, BOM and gate jobs from the job queue",
		Long: `Worker takes jobs from the River job queue and runs them in process:
scans (hub scans included), signature verification, AI-BOMs and gates.
Results land in the store.

With --database postgres://... any number of workers on any number of
machines share the queue; a job whose worker dies (even kill -9) is retried
on another worker after --rescue-after, and jobs are idempotent. Without
--database the queue is the SQLite file in --data (one node).

The worker stops taking jobs on SIGINT or SIGTERM and lets running jobs
finish for up to 30 seconds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWorker(cmd.Context(), app, fl)
		},
	}
	fl.register(cmd)
	f := cmd.Flags()
	f.IntVar(&fl.concurrency, "concurrency", runtime.GOMAXPROCS(0), "jobs worked at once")
	f.DurationVar(&fl.jobTimeout, "job-timeout", 10*time.Minute, "longest a job may run")
	f.DurationVar(&fl.rescueAfter, "rescue-after", 15*time.Minute, "retry a job still running after this long (its worker presumably died); at least --job-timeout")
	f.StringVar(&fl.id, "id", "", "worker name in the queue (default HOST-PID)")
	f.DurationVar(&fl.jobDelay, "job-delay", 0, "sleep this long before every job (fault-injection testing)")
	_ = f.MarkHidden("job-delay")
	return cmd
}

func runWorker(ctx context.Context, app *App, fl workerFlags) error {
	if fl.concurrency < 1 {
		return usageError(errors.New("--concurrency must be at least 1"))
	}
	st, c, err := fl.open(ctx, app.Log)
	if err != nil {
		return err
	}
	defer st.Close()
	q, err := openQueue(ctx, st, c, queue.Config{
		Concurrency: fl.concurrency, JobTimeout: fl.jobTimeout, RescueAfter: fl.rescueAfter, JobDelay: fl.jobDelay, ID: fl.id,
	})
	if err != nil {
		return err
	}
	if err := q.Start(ctx); err != nil {
		q.Stop(context.Background())
		return mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	backend := "sqlite " + c.QueuePath()
	if c.DatabaseURL != "" {
		backend = "postgres"
	}
	fmt.Fprintf(app.Stderr, "mlsec worker: working jobs (%s, concurrency %d)\n", backend, fl.concurrency)
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := q.Stop(stop); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return mlsec.Errorf(mlsec.EIO, "worker: %w", err)
	}
	fmt.Fprintln(app.Stderr, "mlsec worker: stopped")
	return nil
}
