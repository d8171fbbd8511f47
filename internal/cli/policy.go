package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/policy"
)

func newPolicyCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Test, check and list gate policies",
	}
	cmd.AddCommand(newPolicyTestCmd(app), newPolicyCheckCmd(app), newPolicyListCmd(app), newPolicyShowCmd(app))
	return cmd
}

func newPolicyTestCmd(app *App) *cobra.Command {
	var format string
	var builtin bool
	cmd := &cobra.Command{
		Use:   "test [--builtin] [DIR]",
		Short: "Run the policy tests (*_test.yaml) under DIR",
		Long: `Test runs every NAME_test.yaml under DIR: each case gives an evidence
document and the result the policy (NAME.yaml beside it, or the file named by
"policy:") must reach, overall and per rule. --builtin runs the tests of the
built-in policies.

Exit status: 0 all cases pass; 1 a case fails; 2 a policy or test file does
not compile.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			eng, err := policy.NewEngine()
			if err != nil {
				return err
			}
			var res []policy.CaseResult
			switch {
			case builtin && len(args) == 0:
				res, err = eng.RunTests(policy.BuiltinFS(), "builtin")
			case !builtin && len(args) == 1:
				if fi, serr := os.Stat(args[0]); serr != nil || !fi.IsDir() {
					return mlsec.Errorf(mlsec.EINVALID, "%s is not a directory", args[0])
				}
				res, err = eng.RunTestsDir(args[0])
			default:
				return mlsec.Errorf(mlsec.EINVALID, "give a directory or --builtin")
			}
			if err != nil {
				return mlsec.Errorf(mlsec.EINVALID, "%w", err)
			}
			failed := 0
			for _, r := range res {
				if !r.OK {
					failed++
				}
			}
			if format == "json" {
				if err := writeJSON(app.Stdout, res); err != nil {
					return err
				}
			} else {
				for _, r := range res {
					status := "ok  "
					if !r.OK {
						status = "FAIL"
					}
					fmt.Fprintf(app.Stdout, "%s %s: %s (%s)\n", status, r.File, r.Case, r.Got)
					for _, e := range r.Errors {
						fmt.Fprintf(app.Stdout, "       %s\n", e)
					}
				}
				fmt.Fprintf(app.Stdout, "%d cases, %d failed\n", len(res), failed)
			}
			if failed > 0 {
				return fmt.Errorf("policy test: %d case(s) failed: %w", failed, mlsec.ErrFindings)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&builtin, "builtin", false, "test the built-in policies")
	return cmd
}

func newPolicyCheckCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE...",
		Short: "Compile policy files and report every error with file, line and column",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := policy.NewEngine()
			if err != nil {
				return err
			}
			var errs []string
			for _, f := range args {
				p, err := eng.Load(f, "")
				if err != nil {
					errs = append(errs, err.Error())
					continue
				}
				fmt.Fprintf(app.Stdout, "ok %s: %s %s, %d rules\n", f, p.Name, p.Version, len(p.Rules))
			}
			if len(errs) > 0 {
				return mlsec.Errorf(mlsec.EINVALID, "%s", strings.Join(errs, "\n"))
			}
			return nil
		},
	}
}

func newPolicyListCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the built-in policies and their rules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			eng, err := policy.NewEngine()
			if err != nil {
				return err
			}
			type ruleOut struct {
				ID, Title, OnFail, OnMissing string
				Requires                     []string
			}
			type polOut struct {
				Ref, Name, Version, Stage, Description string
				Params                                 map[string]any
				Rules                                  []ruleOut
			}
			var out []polOut
			for _, n := range policy.BuiltinNames() {
				p, err := eng.Builtin(n)
				if err != nil {
					return err
				}
				po := polOut{Ref: policy.BuiltinPrefix + n, Name: p.Name, Version: p.Version, Stage: p.Stage, Description: p.Description, Params: p.Params}
				for _, r := range p.Rules {
					po.Rules = append(po.Rules, ruleOut{r.ID, r.Title, string(r.OnFail), string(r.OnMissing), r.Requires})
				}
				out = append(out, po)
			}
			if format == "json" {
				return writeJSON(app.Stdout, out)
			}
			for _, p := range out {
				fmt.Fprintf(app.Stdout, "%s (%s %s): %s\n", p.Ref, p.Name, p.Version, p.Description)
				for _, r := range p.Rules {
					fmt.Fprintf(app.Stdout, "  %-11s %s [needs: %s]\n", r.ID, r.Title, strings.Join(r.Requires, ", "))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func newPolicyShowCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Print a built-in policy's source (a starting point for your own)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.TrimPrefix(args[0], policy.BuiltinPrefix)
			data, err := policy.BuiltinFS().ReadFile("builtin/" + name + ".yaml")
			if err != nil {
				return mlsec.Errorf(mlsec.EINVALID, "no built-in policy %q (have %s)", name, strings.Join(policy.BuiltinNames(), ", "))
			}
			_, err = app.Stdout.Write(data)
			return err
		},
	}
}
