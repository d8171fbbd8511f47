package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/inspect"
)

type inspectFlags struct {
	format   string
	output   string
	digest   bool
	name     string
	revision string
}

func (f *inspectFlags) registerSource(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.digest, "digest", false, "hash every file (sha256) and compute the OMS root digest (reads whole files)")
	fl.StringVar(&f.name, "name", "", "repository id `ORG/NAME` (overrides what is found on disk; used for package URLs)")
	fl.StringVar(&f.revision, "revision", "", "repository revision (commit) for package URLs")
}

func (f *inspectFlags) options(app *App) inspect.Options {
	return inspect.Options{Digest: f.digest, Name: f.name, Revision: f.revision, Log: app.Log}
}

func newInspectCmd(app *App) *cobra.Command {
	var fl inspectFlags
	cmd := &cobra.Command{
		Use:   "inspect [flags] PATH",
		Short: "Print the facts of a model or dataset: formats, architecture, parameters, licence, lineage",
		Long: `Inspect reads a model file or a model or dataset directory (a Hugging Face
repository, cache snapshot or plain directory) and prints what its files say:
format and framework, architecture, parameter and tensor counts, dtypes,
quantization, context length, tokenizer and chat template hashes, ONNX opsets,
producer and domains, Keras layers, and from the model card the licence, base
models, datasets and evaluation results.

Only headers and small configuration files are read; tensor data is not. With
--digest every file is hashed (sha256) and the OpenSSF Model Signing root
digest is computed, which reads every byte.

Exit codes: 0 success; 2 usage error or unreadable path.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd.Context(), app, fl, args[0])
		},
	}
	cmd.Flags().StringVar(&fl.format, "format", "table", "output format: table|json")
	cmd.Flags().StringVarP(&fl.output, "output", "o", "", "write to `FILE` instead of standard output")
	fl.registerSource(cmd)
	return cmd
}

func runInspect(ctx context.Context, app *App, fl inspectFlags, path string) error {
	var write func(io.Writer, *inspect.Report) error
	switch fl.format {
	case "table":
		write = inspect.WriteTable
	case "json":
		write = inspect.WriteJSON
	default:
		return usageError(fmt.Errorf("unknown --format %q (want table or json)", fl.format))
	}
	rep, err := inspectPath(ctx, app, fl, path)
	if err != nil {
		return err
	}
	return writeOutput(app, fl.output, "inspect", func(w io.Writer) error { return write(w, rep) })
}

// inspectPath runs inspect.Inspect, mapping errors to exit codes.
func inspectPath(ctx context.Context, app *App, fl inspectFlags, path string) (*inspect.Report, error) {
	rep, err := inspect.Inspect(ctx, path, fl.options(app))
	if err != nil {
		if errors.Is(err, inspect.ErrPath) {
			return nil, mlsec.Errorf(mlsec.EINVALID, "%w", err)
		}
		return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	return rep, nil
}

// writeOutput writes to --output FILE or standard output.
func writeOutput(app *App, output, cmdName string, write func(io.Writer) error) error {
	out := app.Stdout
	var f *os.File
	if output != "" {
		var err error
		if f, err = os.Create(output); err != nil {
			return mlsec.Errorf(mlsec.EIO, "%s: %w", cmdName, err)
		}
		out = f
	}
	err := write(out)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "%s: %w", cmdName, err)
	}
	return nil
}
