package cli

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store/blob"
	"github.com/mlsecops/mlsec/store/dial"
)

func newKeysCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the server identity that encrypts stored blobs",
		Long: `Blobs (uploaded artifacts) are encrypted at rest with age under the server
identity in DATA/keys. To rotate: 'mlsec keys rotate' adds a new identity
(new blobs use it, old ones still decrypt), restart the server, run
'mlsec keys reencrypt' to move every blob to the new identity, then
delete the old identity file. See docs/server-storage.md.`,
	}
	var data string
	rotate := &cobra.Command{
		Use:   "rotate [--data DIR]",
		Short: "Add a new server identity; it encrypts every blob stored from now on",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, recipient, err := blob.GenerateIdentity(filepath.Join(data, "keys"), time.Now())
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "keys rotate: %w", err)
			}
			_, err = fmt.Fprintf(app.Stdout, "new identity %s\npublic key %s\n", path, recipient)
			return err
		},
	}
	reencrypt := &cobra.Command{
		Use:   "reencrypt [--data DIR]",
		Short: "Re-encrypt every blob to the newest identity, verifying digests",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bs, err := dial.Blobs(dial.Config{DataDir: data})
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "keys reencrypt: %w", err)
			}
			n, err := bs.ReEncrypt(cmd.Context())
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "keys reencrypt: %w", err)
			}
			_, err = fmt.Fprintf(app.Stdout, "re-encrypted %d blob(s)\n", n)
			return err
		},
	}
	for _, c := range []*cobra.Command{rotate, reencrypt} {
		c.Flags().StringVar(&data, "data", dial.DefaultDataDir, "data `DIR` holding keys/ and blobs/")
	}
	cmd.AddCommand(rotate, reencrypt)
	return cmd
}
