package cli

import (
	"bytes"
	"errors"
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
identity: by default the files in DATA/keys, beside the blobs — which
protects a copy of blobs/ alone, not a copy of the data directory. Keep the
identity elsewhere with --key-file FILE (another volume, a tmpfs a secret
manager fills) or --key-command CMD (a KMS or secret-manager command that
prints the identity file; it never touches the server's disks), given alike
to serve, worker, hub scan and keys.

To rotate: 'mlsec keys rotate' adds a new identity (new blobs use it, old
ones still decrypt) — in DATA/keys, at the end of --key-file, or, with
--key-command, printed with the old ones on standard output for you to
store back in the secret manager — restart the server, run 'mlsec keys
reencrypt' to move every blob to the new identity, then remove the old
identity. See docs/server-storage.md.`,
	}
	var data string
	var kf keyFlags
	rotate := &cobra.Command{
		Use:   "rotate [--data DIR] [--key-file FILE | --key-command CMD]",
		Short: "Add a new server identity; it encrypts every blob stored from now on",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case kf.command != "" && kf.file != "":
				return usageError(errors.New("give --key-file or --key-command, not both"))
			case kf.command != "":
				old, err := dial.RunKeyCommand(kf.command)
				if err != nil {
					return mlsec.Errorf(mlsec.EIO, "keys rotate: %w", err)
				}
				if _, err := blob.ParseKeyring(bytes.NewReader(old), "from the key command"); err != nil {
					return mlsec.Errorf(mlsec.EIO, "keys rotate: %w", err)
				}
				text, recipient, err := blob.NewIdentityText(time.Now())
				if err != nil {
					return mlsec.Errorf(mlsec.EIO, "keys rotate: %w", err)
				}
				if len(old) > 0 && old[len(old)-1] != '\n' {
					old = append(old, '\n')
				}
				if _, err := app.Stdout.Write(append(old, text...)); err != nil {
					return err
				}
				fmt.Fprintf(app.Stderr, "new public key %s: store the identities printed above back where --key-command reads them, restart, then run mlsec keys reencrypt\n", recipient)
				return nil
			case kf.file != "":
				recipient, err := blob.AppendIdentity(kf.file, time.Now())
				if err != nil {
					return mlsec.Errorf(mlsec.EIO, "keys rotate: %w", err)
				}
				_, err = fmt.Fprintf(app.Stdout, "new identity appended to %s\npublic key %s\n", kf.file, recipient)
				return err
			}
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
			c := dial.Config{DataDir: data}
			kf.apply(&c)
			bs, err := dial.Blobs(c)
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
		kf.register(c)
	}
	cmd.AddCommand(rotate, reencrypt)
	return cmd
}

// keyFlags say where the blob keys live when not in DATA/keys (see
// dial.Config.KeyFile and KeyCommand).
type keyFlags struct {
	file    string
	command string
}

func (f *keyFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.file, "key-file", "", "age identity `FILE` holding the blob keys, kept apart from the data directory (default DATA/keys/)")
	fl.StringVar(&f.command, "key-command", "", "`COMMAND` (sh -c) printing the blob keys' age identity file, e.g. a KMS or secret-manager CLI")
}

func (f *keyFlags) apply(c *dial.Config) {
	c.KeyFile, c.KeyCommand = f.file, f.command
}
