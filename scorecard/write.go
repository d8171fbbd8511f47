package scorecard

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes r as a table: the aggregate score, then one row per
// check with its score, reason and, for checks below 10, the remediation
// and details.
func WriteTable(w io.Writer, r *Result) error {
	fmt.Fprintf(w, "Repository: %s\n", r.Repo.Name)
	if r.Repo.Commit != "" {
		fmt.Fprintf(w, "Commit: %s\n", r.Repo.Commit)
	}
	fmt.Fprintf(w, "Aggregate score: %.1f / 10\n\n", r.Score)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCORE\tCHECK\tRISK\tREASON")
	for _, c := range r.Checks {
		score := fmt.Sprintf("%d / 10", c.Score)
		if c.Score == Inconclusive {
			score = "?"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", score, c.Name, c.Risk, c.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range r.Checks {
		if c.Score == Inconclusive || c.Score == 10 {
			continue
		}
		fmt.Fprintf(w, "\n%s (%d / 10): %s\n", c.Name, c.Score, c.Documentation.Remediation)
		for _, d := range c.Details {
			if strings.HasPrefix(d, "Warn:") {
				fmt.Fprintf(w, "  %s\n", d)
			}
		}
	}
	_, err := fmt.Fprintf(w, "\nChecks are documented at %s\n", strings.TrimSuffix(docURL, "#"))
	return err
}
