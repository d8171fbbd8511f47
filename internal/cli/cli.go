// Package cli is mlsec's command tree. Every command runs in-process through
// Run, which takes the context, arguments and standard streams, so tests
// drive the real commands without a subprocess.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mlsecops/mlsec"
)

// App carries what a command needs from its process: the standard streams
// and a logger. Commands never touch os.Stdout or os.Stderr directly.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Log    *slog.Logger
	// StderrIsTerminal enables progress bars.
	StderrIsTerminal bool
}

// Run executes the mlsec command line args (without the program name) and
// returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := &App{
		Stdin:  stdin,
		Stdout: stdout,
		Stderr: stderr,
		Log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if f, ok := stderr.(*os.File); ok {
		app.StderrIsTerminal = term.IsTerminal(int(f.Fd()))
	}
	return app.Run(ctx, args)
}

// Run executes args with the app's streams and returns the exit code.
func (app *App) Run(ctx context.Context, args []string) int {
	root := newRootCmd(app)
	root.SetArgs(args)
	root.SetIn(app.Stdin)
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return mlsec.ExitOK
	}
	if !errors.Is(err, mlsec.ErrFindings) {
		fmt.Fprintf(app.Stderr, "mlsec: %v\n", err)
	}
	return mlsec.ExitCode(err)
}

func newRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "mlsec",
		Short: "Security checks for every ML artifact at every hand-off of the ML lifecycle",
		Long: `mlsec scans model files for code execution and tampering, signs and verifies
models and datasets with OpenSSF Model Signing, records provenance and AI-BOMs,
and gates each lifecycle stage with policies whose decisions are signed evidence.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageError(err)
	})
	// The command list is explicit: one constructor per file in this package,
	// one line each here.
	root.AddCommand(
		newVersionCmd(app),
		newScanCmd(app),
		newSignCmd(app),
		newVerifyCmd(app),
		newDigestCmd(app),
		newGateCmd(app), newIntakeCmd(app), newPipelineCmd(app), newPolicyCmd(app), newFrameworksCmd(app), newAssessCmd(app), newRolesCmd(app), newDiagramCmd(app),
		newAttestCmd(app),
		newLineageCmd(app),
		newVerifyChainCmd(app),
		newInspectCmd(app),
		newBOMCmd(app),
		newServeCmd(app),
		newWorkerCmd(app),
		newHubCmd(app),
		newAuditCmd(app),
		newKeysCmd(app),
		newScorecardCmd(app), newUnsignedCmd(app),
		newSealCmd(app), newUnsealCmd(app), newPushCmd(app), newPullCmd(app),
		newAdmissionCmd(app),
	)
	return root
}

// usageError marks err as a usage error (exit code 2).
func usageError(err error) error {
	return &mlsec.Error{Code: mlsec.EINVALID, Message: err.Error(), Err: err}
}

func newVersionCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the mlsec version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(app.Stdout, "mlsec %s\n", mlsec.Version)
			return err
		},
	}
}
