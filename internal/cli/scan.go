package cli

import (
	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/internal/scancli"
)

// newScanCmd is the scan command of package scancli, on the app's streams.
func newScanCmd(app *App) *cobra.Command {
	return scancli.NewCmd(&scancli.Env{Stdout: app.Stdout, Stderr: app.Stderr, Log: app.Log, StderrIsTerminal: app.StderrIsTerminal})
}

// parseFailOn parses --fail-on; "none" never fails.
func parseFailOn(s string) (mlsec.Severity, error) { return scancli.ParseFailOn(s) }
