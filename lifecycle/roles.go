package lifecycle

import (
	_ "embed"
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

//go:embed data/raci.yaml
var raciYAML []byte

// Role is a persona of the MLSecOps reference architecture.
type Role struct {
	ID          string `json:"id" yaml:"id"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description" yaml:"description"`
	// SSRM are the CSA AI Controls Matrix shared-security-responsibility
	// actors (ids of kind "actor" in the csa-aicm catalogue) whose
	// responsibilities the persona carries in an organisation that trains,
	// fine-tunes or deploys models.
	SSRM []string `json:"ssrm" yaml:"ssrm"`
}

// RACI is the responsibility matrix: for each gate (stage name), each
// role's letter R, A, C or I.
type RACI struct {
	Roles []Role                       `json:"roles" yaml:"roles"`
	Gates map[string]map[string]string `json:"gates" yaml:"gates"`
}

// LoadRACI parses the embedded RACI and checks it: every stage has a row,
// every row names every role exactly with one of R, A, C, I, and exactly one
// role is accountable.
func LoadRACI() (*RACI, error) {
	var r RACI
	if err := yaml.Unmarshal(raciYAML, &r); err != nil {
		return nil, fmt.Errorf("lifecycle: raci: %w", err)
	}
	for _, role := range r.Roles {
		if len(role.SSRM) == 0 {
			return nil, fmt.Errorf("lifecycle: raci: role %s names no SSRM actor", role.ID)
		}
	}
	for _, st := range StageNames() {
		row, ok := r.Gates[st]
		if !ok {
			return nil, fmt.Errorf("lifecycle: raci: no row for stage %s", st)
		}
		accountable := 0
		for _, role := range r.Roles {
			l, ok := row[role.ID]
			if !ok || !slices.Contains([]string{"R", "A", "C", "I"}, l) {
				return nil, fmt.Errorf("lifecycle: raci: stage %s role %s: %q is not R, A, C or I", st, role.ID, l)
			}
			if l == "A" {
				accountable++
			}
		}
		if len(row) != len(r.Roles) {
			return nil, fmt.Errorf("lifecycle: raci: stage %s names an unknown role", st)
		}
		if accountable != 1 {
			return nil, fmt.Errorf("lifecycle: raci: stage %s has %d accountable roles, want 1", st, accountable)
		}
	}
	if len(r.Gates) != len(StageNames()) {
		return nil, fmt.Errorf("lifecycle: raci: rows for unknown stages")
	}
	return &r, nil
}

// RoleIDs returns the ids of the roles, in order.
func (r *RACI) RoleIDs() []string {
	var out []string
	for _, x := range r.Roles {
		out = append(out, x.ID)
	}
	return out
}

// HasRole reports whether id names a role.
func (r *RACI) HasRole(id string) bool { return slices.Contains(r.RoleIDs(), id) }
