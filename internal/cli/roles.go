package cli

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/lifecycle"
)

type rolesOutput struct {
	Roles []lifecycle.Role             `json:"roles"`
	Gates map[string]map[string]string `json:"gates"`
	Order []string                     `json:"stages"`
	// Identities maps roles to the pipeline's identities (with --pipeline).
	Identities map[string][]string `json:"identities,omitempty"`
	// Unassigned lists accountable or responsible roles of a stage the
	// pipeline uses that no identity holds.
	Unassigned []string `json:"unassigned,omitempty"`
}

func newRolesCmd(app *App) *cobra.Command {
	var pipelineFile, format string
	cmd := &cobra.Command{
		Use:   "roles [--pipeline FILE]",
		Short: "Print the RACI of the MLSecOps personas for every lifecycle gate",
		Long: `Roles prints who is Responsible, Accountable, Consulted and Informed at each
gate, for the personas data engineer, data scientist / ML engineer, security
engineer, platform / operations, GRC and model owner. With --pipeline it also
shows which identities hold each role (policies can require a decision signed
by a role holder) and which accountable or responsible roles nobody holds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(strings.Replace(format, "table", "text", 1)); err != nil {
				return mlsec.Errorf(mlsec.EINVALID, "--format %q: want table or json", format)
			}
			r, err := lifecycle.LoadRACI()
			if err != nil {
				return err
			}
			out := rolesOutput{Roles: r.Roles, Gates: r.Gates, Order: lifecycle.StageNames()}
			if pipelineFile != "" {
				pl, err := lifecycle.LoadPipeline(pipelineFile)
				if err != nil {
					return mlsec.Errorf(mlsec.EINVALID, "%w", err)
				}
				out.Identities = pl.Roles
				for _, st := range pipelineStages(pl) {
					for _, role := range r.RoleIDs() {
						if l := r.Gates[st][role]; (l == "A" || l == "R") && len(pl.Roles[role]) == 0 {
							msg := fmt.Sprintf("%s: %s (%s) has no identity", st, role, l)
							if !slices.Contains(out.Unassigned, msg) {
								out.Unassigned = append(out.Unassigned, msg)
							}
						}
					}
				}
			}
			if format == "json" {
				return writeJSON(app.Stdout, out)
			}
			tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "STAGE\t%s\n", strings.Join(r.RoleIDs(), "\t"))
			for _, st := range out.Order {
				var cells []string
				for _, role := range r.RoleIDs() {
					cells = append(cells, r.Gates[st][role])
				}
				fmt.Fprintf(tw, "%s\t%s\n", st, strings.Join(cells, "\t"))
			}
			tw.Flush()
			fmt.Fprintln(app.Stdout, "\nR responsible, A accountable, C consulted, I informed")
			for _, role := range r.Roles {
				line := fmt.Sprintf("  %-18s %s (CSA AICM SSRM: %s)", role.ID, role.Name, strings.Join(role.SSRM, ", "))
				if out.Identities != nil {
					ids := out.Identities[role.ID]
					if len(ids) == 0 {
						line += " — no identity"
					} else {
						line += " — " + strings.Join(ids, ", ")
					}
				}
				fmt.Fprintln(app.Stdout, line)
			}
			for _, u := range out.Unassigned {
				fmt.Fprintf(app.Stdout, "warning: %s\n", u)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pipelineFile, "pipeline", "", "pipeline file whose role → identity mapping to show")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}
