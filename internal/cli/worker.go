package cli

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/scratch"
	"github.com/mlsecops/mlsec/server/gating"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/blob"
	"github.com/mlsecops/mlsec/store/dial"
)

// storageFlags name the store: --data DIR (embedded SQLite) or --database
// URL (PostgreSQL). Shared by worker, hub, audit and keys.
type storageFlags struct {
	data     string
	database string
	schema   string
	keys     keyFlags // registered by commands that read blobs
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
	c := dial.Config{DataDir: f.data, DatabaseURL: f.database, Schema: f.schema, Log: log}
	f.keys.apply(&c)
	return c, nil
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

// openWorkerQueue loads the gate flags, opens the store and opens its job
// queue with workers that judge and sign as the server would: the setup
// shared by mlsec worker and mlsec hub scan. qc carries the caller's
// concurrency and timeouts; the returned closer closes the store.
func openWorkerQueue(ctx context.Context, app *App, sf *storageFlags, gf *gateFlags, qc queue.Config) (store.Store, dial.Config, *queue.Queue, func(), error) {
	gs, err := gf.load(app.Log)
	if err != nil {
		return nil, dial.Config{}, nil, nil, err
	}
	st, c, err := sf.open(ctx, app.Log)
	if err != nil {
		return nil, dial.Config{}, nil, nil, err
	}
	closeStore := func() { st.Close() }
	fail := func(err error) (store.Store, dial.Config, *queue.Queue, func(), error) {
		closeStore()
		return nil, dial.Config{}, nil, nil, err
	}
	if qc.Decider, err = gs.decider(st); err != nil {
		return fail(err)
	}
	if qc.Blobs, err = workerBlobs(c); err != nil {
		return fail(err)
	}
	qc.Verifiers = gs.verifiers()
	if qc.Blobs != nil && qc.Scratch == nil {
		// Decrypted artifacts live only in the data directory's scratch
		// space; what a crash left behind is removed now.
		dir := c.DataDir
		if dir == "" {
			dir = dial.DefaultDataDir
		}
		space, err := scratch.Open(dir, app.Log)
		if err != nil {
			return fail(mlsec.Errorf(mlsec.EIO, "%w", err))
		}
		qc.Scratch = space
		closeStore = func() { st.Close(); space.Close() }
	}
	q, err := openQueue(ctx, st, c, qc)
	if err != nil {
		return fail(err)
	}
	return st, c, q, closeStore, nil
}

type workerFlags struct {
	storageFlags
	gate        gateFlags
	concurrency int
	jobTimeout  time.Duration
	rescueAfter time.Duration
	jobDelay    time.Duration
	id          string
	roots       rootFlags
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
machines share the queue. Workers heartbeat every 5 seconds: a job whose
worker dies (even kill -9) is re-queued once that worker has been silent for
30 seconds (at once when it ran on this host), and jobs are idempotent;
--rescue-after is River's own backstop. Without
--database the queue is the SQLite file in --data (one node).

Jobs the API queues name artifacts by digest: a worker reads uploaded
bytes from the encrypted blob store in --data (share the server's data
directory, keys included) or the file:// path an artifact was registered
with. Give workers the server's --pipeline, --signing-key and --trust-key so
their gates decide and sign exactly as the server's would.

The worker stops taking jobs on SIGINT or SIGTERM and lets running jobs
finish for up to 30 seconds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWorker(cmd.Context(), app, fl)
		},
	}
	fl.register(cmd)
	fl.keys.register(cmd)
	fl.gate.register(cmd)
	f := cmd.Flags()
	f.IntVar(&fl.concurrency, "concurrency", runtime.GOMAXPROCS(0), "jobs worked at once")
	f.DurationVar(&fl.jobTimeout, "job-timeout", 10*time.Minute, "longest a job may run")
	f.DurationVar(&fl.rescueAfter, "rescue-after", 15*time.Minute, "backstop: retry a job still running after this long even if its worker still heartbeats; at least --job-timeout")
	f.StringVar(&fl.id, "id", "", "worker name in the queue (default HOST-PID)")
	f.DurationVar(&fl.jobDelay, "job-delay", 0, "sleep this long before every job (fault-injection testing)")
	_ = f.MarkHidden("job-delay")
	fl.roots.register(cmd, "confine path-based jobs (hub-scan items) to directories inside `DIR` (repeatable; default: as enqueued — the API confines its own hub scans)")
	return cmd
}

func runWorker(ctx context.Context, app *App, fl workerFlags) error {
	if fl.concurrency < 1 {
		return usageError(errors.New("--concurrency must be at least 1"))
	}
	sourceRoots, hubRoots, err := fl.roots.roots()
	if err != nil {
		return err
	}
	_, c, q, closeStore, err := openWorkerQueue(ctx, app, &fl.storageFlags, &fl.gate, queue.Config{
		Concurrency: fl.concurrency, JobTimeout: fl.jobTimeout, RescueAfter: fl.rescueAfter, JobDelay: fl.jobDelay, ID: fl.id,
		SourceRoots: sourceRoots, HubRoots: hubRoots,
	})
	if err != nil {
		return err
	}
	defer closeStore()
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

// gateFlags configure the gate that `mlsec serve` and `mlsec worker`
// share (package gating): the organisation's pipeline file, the key that
// signs decisions, and the key whose signatures the server trusts.
type gateFlags struct {
	pipeline   string
	signingKey string
	trustKey   string
}

func (f *gateFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.pipeline, "pipeline", "", "pipeline `FILE`: sources and their trust, identities (trusted keys) and roles, stage policies, as for mlsec gate")
	fl.StringVar(&f.signingKey, "signing-key", "", "PEM ECDSA private key `FILE` (as for mlsec sign --key) that signs every gate decision as an SLSA VSA stored as evidence; without it decisions are recorded unsigned")
	fl.StringVar(&f.trustKey, "trust-key", "", "PEM public key `FILE` whose signatures the server verifies")
}

// gateSetup is what gateFlags load.
type gateSetup struct {
	pipeline     *lifecycle.Pipeline
	signer       signing.Signer
	signerID     string
	verifier     signing.Verifier
	verifierName string
	identities   []policy.NamedVerifier
}

func (s gateSetup) verifiers() []policy.NamedVerifier {
	var vs []policy.NamedVerifier
	if s.verifier != nil {
		vs = append(vs, policy.NamedVerifier{Name: s.verifierName, Verifier: s.verifier})
	}
	return append(vs, s.identities...)
}

// decider builds the gate decider for st.
func (s gateSetup) decider(st store.Store) (*gating.Decider, error) {
	d, err := gating.New(gating.Config{Store: st, Pipeline: s.pipeline, Signer: s.signer, Operator: s.signerID})
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "%w", err)
	}
	return d, nil
}

func readPublicKey(flag, file string) (*ecdsa.PublicKey, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, usageError(fmt.Errorf("%s: %w", flag, err))
	}
	pub, err := signing.ParsePublicKey(pem)
	if err != nil {
		return nil, usageError(fmt.Errorf("%s: %s: %w", flag, file, err))
	}
	return pub, nil
}

func keyName(pub *ecdsa.PublicKey) (string, error) {
	hint, err := signing.PublicKeyHint(pub)
	if err != nil {
		return "", err
	}
	return "key:" + hint[:16], nil
}

func (f *gateFlags) load(log *slog.Logger) (gateSetup, error) {
	var s gateSetup
	if f.pipeline != "" {
		pl, err := lifecycle.LoadPipeline(f.pipeline)
		if err != nil {
			return s, usageError(fmt.Errorf("--pipeline: %w", err))
		}
		s.pipeline = pl
		for _, id := range pl.Identities {
			if id.Key == "" {
				continue
			}
			pub, err := readPublicKey("--pipeline identity "+id.Name, pl.Resolve(id.Key))
			if err != nil {
				return s, err
			}
			s.identities = append(s.identities, policy.NamedVerifier{Name: id.Name, Verifier: &signing.KeyVerifier{Key: pub, Log: log}})
		}
	}
	if f.trustKey != "" {
		pub, err := readPublicKey("--trust-key", f.trustKey)
		if err != nil {
			return s, err
		}
		if s.verifierName, err = keyName(pub); err != nil {
			return s, usageError(fmt.Errorf("--trust-key: %w", err))
		}
		s.verifier = &signing.KeyVerifier{Key: pub, Log: log}
	}
	if f.signingKey != "" {
		data, err := os.ReadFile(f.signingKey)
		if err != nil {
			return s, usageError(fmt.Errorf("--signing-key: %w", err))
		}
		k, err := signing.ParsePrivateKey(data)
		if err != nil {
			return s, usageError(fmt.Errorf("--signing-key: %s: %w", f.signingKey, err))
		}
		s.signer = &signing.KeySigner{Key: k}
		// The decision signer goes by its pipeline identity when the
		// pipeline names its key, else by its key hint.
		if s.signerID, err = keyName(&k.PublicKey); err != nil {
			return s, usageError(fmt.Errorf("--signing-key: %w", err))
		}
		if s.pipeline != nil {
			for _, id := range s.pipeline.Identities {
				if id.Key == "" {
					continue
				}
				if pub, err := readPublicKey("--pipeline", s.pipeline.Resolve(id.Key)); err == nil && pub.Equal(&k.PublicKey) {
					s.signerID = id.Name
					break
				}
			}
		}
	}
	return s, nil
}

// workerBlobs opens the data directory's blob store when it has keys (the
// server's, shared with this worker), else returns nil: jobs then read
// artifacts by their file:// references only.
func workerBlobs(c dial.Config) (*blob.Store, error) {
	if !dial.HasKeys(c) {
		return nil, nil
	}
	b, err := dial.Blobs(c)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	return b, nil
}
