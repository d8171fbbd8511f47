package cli

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/store"
)

func newHubCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hub",
		Short: "Scan whole model-hub mirrors with the job queue",
	}
	cmd.AddCommand(newHubScanCmd(app))
	return cmd
}

type hubScanFlags struct {
	storageFlags
	gate    gateFlags
	workers int
	noWait  bool
	format  string
	failOn  string
}

func newHubScanCmd(app *App) *cobra.Command {
	var fl hubScanFlags
	cmd := &cobra.Command{
		Use:   "scan [flags] DIR",
		Short: "Enqueue a scan of every model in a hub mirror and report progress",
		Long: `Hub scan enqueues one scan job per model of the mirror at DIR and waits
for them, reporting progress. A model is a Hugging Face cache snapshot
(DIR/models--ORG--NAME/snapshots/REV), any other directory that directly
holds files (e.g. DIR/ORG/NAME), or a loose file. Artifacts, findings and
the scan's progress land in the store.

With --database postgres://... the jobs are worked by 'mlsec worker'
processes on any machines (DIR must be readable at the same path there);
--workers N also works N jobs in this process. With the embedded SQLite
store the jobs are worked here (--workers defaults to the CPU count).

Workers in this process also take other queued jobs (an API's gates, for
example); give them the server's --pipeline, --signing-key and --trust-key
so they judge and sign as the server would.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("workers") && fl.database != "" {
				fl.workers = 0
			}
			return runHubScan(cmd.Context(), app, fl, args[0])
		},
	}
	fl.register(cmd)
	fl.keys.register(cmd)
	fl.gate.register(cmd)
	f := cmd.Flags()
	f.IntVar(&fl.workers, "workers", runtime.GOMAXPROCS(0), "jobs worked in this process (default: CPUs with SQLite, 0 with PostgreSQL)")
	f.BoolVar(&fl.noWait, "no-wait", false, "enqueue and return without waiting")
	f.StringVar(&fl.format, "format", "table", "summary format: table|json")
	f.StringVar(&fl.failOn, "fail-on", "high", "exit 1 when a model has a finding at or above this severity, or could not be scanned: critical|high|medium|low|info|none")
	return cmd
}

func runHubScan(ctx context.Context, app *App, fl hubScanFlags, dir string) error {
	if fl.format != "table" && fl.format != "json" {
		return usageError(fmt.Errorf("unknown --format %q (want table or json)", fl.format))
	}
	threshold, err := parseFailOn(fl.failOn)
	if err != nil {
		return usageError(err)
	}
	if fl.workers < 0 {
		return usageError(errors.New("--workers must not be negative"))
	}
	if fl.database == "" && fl.workers == 0 && !fl.noWait {
		return usageError(errors.New("with the embedded SQLite store jobs run in this process: --workers must be at least 1"))
	}
	st, _, q, closeStore, err := openWorkerQueue(ctx, app, &fl.storageFlags, &fl.gate, queue.Config{Concurrency: fl.workers})
	if err != nil {
		return err
	}
	defer closeStore()
	defer q.Stop(context.Background())
	if err := q.Start(ctx); err != nil {
		return mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	start := time.Now()
	h, err := q.EnqueueHubScan(ctx, dir, "cli")
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return usageError(err)
		}
		return mlsec.Errorf(mlsec.EIO, "hub scan: %w", err)
	}
	fmt.Fprintf(app.Stderr, "hub scan %d: %d models enqueued from %s\n", h.ID, h.Total, escapeText(h.Root))
	if fl.noWait {
		return writeHubScan(app, fl.format, h, 0)
	}
	var bar *progressbar.ProgressBar
	last := time.Now()
	progress := func(h store.HubScan) {
		if app.StderrIsTerminal {
			if bar == nil && h.Total > 0 {
				bar = progressbar.NewOptions(h.Total, progressbar.OptionSetWriter(app.Stderr),
					progressbar.OptionSetDescription(fmt.Sprintf("hub scan %d", h.ID)), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
			}
			if bar != nil {
				_ = bar.Set(h.Done)
			}
			return
		}
		if time.Since(last) >= 5*time.Second {
			last = time.Now()
			fmt.Fprintf(app.Stderr, "hub scan %d: %d/%d done, %d failed, %d findings\n", h.ID, h.Done, h.Total, h.Failed, h.Findings)
		}
	}
	h, err = queue.WaitHubScan(ctx, st, h.ID, 250*time.Millisecond, progress)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "hub scan %d: %w", h.ID, err)
	}
	if err := writeHubScan(app, fl.format, h, time.Since(start)); err != nil {
		return err
	}
	return hubVerdict(ctx, st, h, threshold)
}

// hubVerdict returns an error wrapping mlsec.ErrFindings (exit 1) when a
// model of the hub scan could not be scanned or has a finding at or above
// threshold, as mlsec scan does for files.
func hubVerdict(ctx context.Context, st store.Store, h store.HubScan, threshold mlsec.Severity) error {
	if threshold == mlsec.SeverityNone {
		return nil
	}
	if h.Failed > 0 {
		return fmt.Errorf("hub scan %d: %d model(s) could not be scanned: %w", h.ID, h.Failed, mlsec.ErrFindings)
	}
	if h.Findings == 0 {
		return nil
	}
	items, err := st.HubScanItems(ctx, h.ID, "done", 100_000)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "hub scan %d: %w", h.ID, err)
	}
	bad := 0
	for _, it := range items {
		if it.Findings == 0 || it.Artifact == "" {
			continue
		}
		counts, err := st.FindingCounts(ctx, it.Artifact)
		if err != nil {
			return mlsec.Errorf(mlsec.EIO, "hub scan %d: %w", h.ID, err)
		}
		for sev, n := range counts {
			if n > 0 && sev >= threshold {
				bad++
				break
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("hub scan %d: %d model(s) with findings at or above %s: %w", h.ID, bad, threshold, mlsec.ErrFindings)
	}
	return nil
}

func writeHubScan(app *App, format string, h store.HubScan, took time.Duration) error {
	if format == "json" {
		return writeJSON(app.Stdout, struct {
			store.HubScan
			Seconds float64 `json:"seconds,omitempty"`
		}{h, took.Seconds()})
	}
	rate := ""
	if took > 0 && h.Done > 0 {
		rate = fmt.Sprintf(" in %.1fs (%.1f models/s)", took.Seconds(), float64(h.Done)/took.Seconds())
	}
	_, err := fmt.Fprintf(app.Stdout, "hub scan %d %s: %d/%d models done, %d failed, %d findings%s\n",
		h.ID, h.Status, h.Done, h.Total, h.Failed, h.Findings, rate)
	return err
}
