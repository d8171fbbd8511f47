// Package scancli is the `mlsec scan` command. It lives apart from
// internal/cli so that cmd/mlsec-scan can link the scanner alone: Go runs
// the initialisation of every linked package whatever the command, and
// mlsec's signing, policy, AI-BOM, server and storage stacks dominate its
// start-up (bench/startup.sh).
package scancli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/report"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
)

// Env is what the command writes to.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Log    *slog.Logger
	// StderrIsTerminal enables the progress bar.
	StderrIsTerminal bool
}

// NewEnv returns the Env of a process writing to stdout and stderr.
func NewEnv(stdout, stderr io.Writer) *Env {
	env := &Env{
		Stdout: stdout,
		Stderr: stderr,
		Log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if f, ok := stderr.(*os.File); ok {
		env.StderrIsTerminal = term.IsTerminal(int(f.Fd()))
	}
	return env
}

// Run runs the scan command alone (args are its flags and paths, as after
// `mlsec scan`) and returns the process exit code, as mlsec does.
func Run(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	env := NewEnv(stdout, stderr)
	cmd := NewCmd(env)
	cmd.Use = strings.Replace(cmd.Use, "scan", name, 1)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return UsageError(err) })
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return mlsec.ExitOK
	}
	if !errors.Is(err, mlsec.ErrFindings) {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
	}
	return mlsec.ExitCode(err)
}

// UsageError marks err as a usage error (exit code 2).
func UsageError(err error) error {
	return &mlsec.Error{Code: mlsec.EINVALID, Message: err.Error(), Err: err}
}

type scanFlags struct {
	format  string
	output  string
	failOn  string
	config  string
	digest  bool
	quiet   bool
	verbose bool
	workers int
}

// NewCmd returns the scan command writing to env's streams.
func NewCmd(env *Env) *cobra.Command {
	var fl scanFlags
	cmd := &cobra.Command{
		Use:   "scan [flags] PATH...",
		Short: "Scan model files, directories and archives for code execution and tampering",
		Long: `Scan recognises each file's format by content (never by extension) and
examines it from the bytes alone: nothing is loaded, imported or executed.
PATH may be a file, a directory (scanned recursively) or an archive.

Exit codes: 0 no finding at or above --fail-on; 1 at least one such finding;
2 usage error or a path that cannot be read. A file that fails to parse is a
finding, not an exit code 2.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd.Context(), env, fl, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.format, "format", "table", "output format: "+strings.Join(report.Formats(), "|"))
	f.StringVarP(&fl.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	f.StringVar(&fl.failOn, "fail-on", "high", "exit 1 when a finding is at or above this severity: critical|high|medium|low|info|none")
	f.StringVar(&fl.config, "config", "", "scan configuration `FILE` (mlsec.yaml): import allow/deny lists, limits")
	f.BoolVar(&fl.digest, "digest", false, "compute the sha256 of every file (reads whole files)")
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "print nothing; only the exit code tells the result")
	f.BoolVarP(&fl.verbose, "verbose", "v", false, "table output also lists inert files and what they were recognised as")
	f.IntVar(&fl.workers, "workers", 0, "files scanned in parallel (default: number of CPUs)")
	return cmd
}

func runScan(ctx context.Context, env *Env, fl scanFlags, paths []string) error {
	threshold, err := ParseFailOn(fl.failOn)
	if err != nil {
		return UsageError(err)
	}
	var write func(io.Writer, *scan.Result) error
	switch fl.format {
	case "table":
		write = func(w io.Writer, r *scan.Result) error { return report.WriteTable(w, r, fl.verbose) }
	case "json":
		write = report.WriteJSON
	case "sarif":
		write = report.WriteSARIF
	default:
		return UsageError(fmt.Errorf("unknown --format %q (want %s)", fl.format, strings.Join(report.Formats(), ", ")))
	}
	cfg := scan.DefaultConfig()
	if fl.config != "" {
		if cfg, err = scan.LoadConfig(fl.config); err != nil {
			return UsageError(err)
		}
	}
	dets, err := list.All(cfg)
	if err != nil {
		return UsageError(err)
	}
	opts := scan.Options{Workers: fl.workers, Digest: fl.digest, Log: env.Log}
	if env.StderrIsTerminal && !fl.quiet {
		var bar *progressbar.ProgressBar
		opts.Progress = func(done, total int) {
			if total < 20 {
				return
			}
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(env.Stderr),
					progressbar.OptionSetDescription("scanning"), progressbar.OptionClearOnFinish())
			}
			_ = bar.Set(done)
		}
	}
	res, err := scan.NewRunner(dets, cfg, opts).Scan(ctx, paths)
	if err != nil {
		return err
	}
	if !fl.quiet {
		out := env.Stdout
		if fl.output != "" {
			f, err := os.Create(fl.output)
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "scan: %w", err)
			}
			defer f.Close()
			out = f
		}
		if err := write(out, res); err != nil {
			return mlsec.Errorf(mlsec.EIO, "scan: %w", err)
		}
	}
	if threshold != mlsec.SeverityNone {
		if max := mlsec.MaxSeverity(res.Findings()); max >= threshold {
			return fmt.Errorf("scan: %s finding(s) at or above %s: %w", max, threshold, mlsec.ErrFindings)
		}
	}
	return nil
}

// ParseFailOn parses --fail-on; "none" never fails.
func ParseFailOn(s string) (mlsec.Severity, error) {
	sev, err := mlsec.ParseSeverity(s)
	if err != nil {
		return 0, fmt.Errorf("--fail-on: %w", err)
	}
	return sev, nil
}
