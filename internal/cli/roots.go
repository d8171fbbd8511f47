package cli

import (
	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec/confine"
)

// rootFlags name the server-side directories API callers may make the
// server read (package confine): artifact sources registered as file://
// references and hub-scan mirrors. None by default: nothing is read.
type rootFlags struct {
	source []string
	hub    []string
}

func (f *rootFlags) register(cmd *cobra.Command, hubHelp string) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.source, "source-root", nil, "let jobs read artifacts registered as file:// references inside `DIR` (repeatable; default none: file:// sources are refused)")
	fl.StringArrayVar(&f.hub, "hub-root", nil, hubHelp)
}

// roots returns the configured source and hub roots.
func (f *rootFlags) roots() (source, hub *confine.Roots, err error) {
	if source, err = confine.New("--source-root", "artifact source", f.source...); err != nil {
		return nil, nil, usageError(err)
	}
	if hub, err = confine.New("--hub-root", "hub scan", f.hub...); err != nil {
		return nil, nil, usageError(err)
	}
	return source, hub, nil
}
