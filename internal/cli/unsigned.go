package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/scorecard"
)

func newUnsignedCmd(app *App) *cobra.Command {
	var root string
	cmd := &cobra.Command{
		Use:   "unsigned [flags] FILE...",
		Short: "List model files (by content) that no signature covers; exit 1 when there is one",
		Long: `Unsigned looks at each FILE's content (never its name) and, for every model
file, looks for a signature where the evidence layout puts one: FILE.sig
beside it, or DIR/model.sig of a directory that contains it, up to --root
(the current directory by default). Files that are not model files
(source, text, JSON, images, signatures) are skipped, so every file of a
commit can be passed: this is the pre-commit hook mlsec-unsigned.

Signatures are found, not verified: run mlsec verify for that.

Exit codes: 0 every model file is covered; 1 some are not (each is named);
2 usage or I/O error.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := scorecard.Unsigned(args, root)
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "%w", err)
			}
			for _, f := range files {
				fmt.Fprintf(app.Stdout, "%s: unsigned %s model file (no signature at %s; sign it with mlsec sign)\n", f.Path, f.Format, f.Looked)
			}
			if len(files) > 0 {
				return fmt.Errorf("unsigned: %d model file(s) without a signature: %w", len(files), mlsec.ErrFindings)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", ".", "highest `DIR` whose directory signature (DIR/model.sig) covers the files")
	return cmd
}
