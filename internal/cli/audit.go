package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store"
)

func newAuditCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Inspect and verify the store's hash-chained audit log",
	}
	cmd.AddCommand(newAuditVerifyCmd(app), newAuditLogCmd(app))
	return cmd
}

func newAuditVerifyCmd(app *App) *cobra.Command {
	var fl storageFlags
	cmd := &cobra.Command{
		Use:   "verify [--data DIR | --database URL]",
		Short: "Recompute the audit log's hash chain and locate any tampering",
		Long: `Verify reads the whole audit log in order and recomputes each entry's
hash over the previous entry's hash and the entry's canonical form. It
exits 0 when the chain is intact; otherwise it names the first entry that
was changed, inserted or deleted (a truncated tail included) and exits 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuditVerify(cmd.Context(), app, fl)
		},
	}
	fl.register(cmd)
	return cmd
}

func runAuditVerify(ctx context.Context, app *App, fl storageFlags) error {
	st, _, err := fl.open(ctx, app.Log)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.VerifyAudit(ctx)
	var ae *store.AuditError
	if errors.As(err, &ae) {
		fmt.Fprintf(app.Stdout, "audit log TAMPERED at entry %d: %s (%d entries before it verified)\n", ae.Seq, escapeText(ae.Reason), n)
		return fmt.Errorf("audit verify: %w: %w", err, mlsec.ErrFindings)
	}
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "audit verify: %w", err)
	}
	head := ""
	if n > 0 {
		if last, err := st.AuditLog(ctx, n-1, 1); err == nil && len(last) == 1 {
			head = ", head " + last[0].Hash
		}
	}
	_, err = fmt.Fprintf(app.Stdout, "audit log OK: %d entries%s\n", n, head)
	return err
}

func newAuditLogCmd(app *App) *cobra.Command {
	var fl storageFlags
	var after int64
	var limit int
	cmd := &cobra.Command{
		Use:   "log [--after SEQ] [--limit N]",
		Short: "Print audit log entries as JSON lines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := fl.open(cmd.Context(), app.Log)
			if err != nil {
				return err
			}
			defer st.Close()
			es, err := st.AuditLog(cmd.Context(), after, limit)
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "audit log: %w", err)
			}
			for _, e := range es {
				if err := writeJSONLine(app, e); err != nil {
					return err
				}
			}
			return nil
		},
	}
	fl.register(cmd)
	cmd.Flags().Int64Var(&after, "after", 0, "print entries after sequence number `SEQ`")
	cmd.Flags().IntVar(&limit, "limit", 100, "print at most `N` entries (max 10000)")
	return cmd
}

func writeJSONLine(app *App, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = app.Stdout.Write(append(jsonSafe(b), '\n'))
	return err
}
