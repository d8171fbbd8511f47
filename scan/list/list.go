// Package list is the explicit registry of scan detectors: a name to
// constructor table, with no init() side effects. Adding a detector is one
// line here.
package list

import (
	"fmt"
	"sort"

	"github.com/mlsecops/mlsec/scan"
)

// Constructor builds a detector from the user's configuration.
type Constructor func(cfg scan.Config) (scan.Detector, error)

// constructors returns the table of every detector mlsec ships, by name.
func constructors() map[string]Constructor {
	return map[string]Constructor{
		// "pickle": pickle.New,
	}
}

// Names returns the names of all detectors, sorted.
func Names() []string {
	var names []string
	for n := range constructors() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// All builds every detector with cfg, in name order.
func All(cfg scan.Config) ([]scan.Detector, error) {
	table := constructors()
	var ds []scan.Detector
	for _, n := range Names() {
		d, err := table[n](cfg)
		if err != nil {
			return nil, fmt.Errorf("detector %s: %w", n, err)
		}
		ds = append(ds, d)
	}
	return ds, nil
}
