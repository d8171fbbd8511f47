package report

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/mlsecops/mlsec/scan"
)

// WriteJSON writes res as an indented mlsec.scan/v1 document.
func WriteJSON(w io.Writer, res *scan.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(NewScanDocument(res)); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return nil
}

func newTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}
