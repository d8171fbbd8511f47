package cli

import (
	"github.com/spf13/cobra"
)

func newScanCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scan [flags] PATH...",
		Short: "Scan model files, directories and archives for code execution and tampering",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return nil
		},
	}
	return cmd
}
