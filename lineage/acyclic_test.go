package lineage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/lineage"
)

func TestCheckAcyclic(t *testing.T) {
	d := func(c byte) attest.Digest {
		h := make([]byte, 64)
		for i := range h {
			h[i] = c
		}
		return attest.Digest("sha256:" + string(h))
	}
	a, b, c, x := d('a'), d('b'), d('c'), d('e')
	s := lineage.NewMemStore()
	// a → b → c (c trained from b, b from a); an intake source of a.
	s.AddRun(lineage.Run{Child: a, Inputs: []attest.Dependency{{Role: attest.RoleSource, URI: "https://hf.example/a", Digest: a}}})
	s.AddRun(lineage.Run{Child: b, Inputs: []attest.Dependency{{Role: attest.RoleBaseModel, Digest: a}}})
	s.AddRun(lineage.Run{Child: c, Inputs: []attest.Dependency{{Role: attest.RoleBaseModel, Digest: b}}})
	for _, tc := range []struct {
		name    string
		child   attest.Digest
		parents []attest.Digest
		cycle   bool
	}{
		{"new child of c", x, []attest.Digest{c}, false},
		{"self", x, []attest.Digest{x}, true},
		{"a from c closes a → b → c → a", a, []attest.Digest{c}, true},
		{"b from c", b, []attest.Digest{x, c}, true},
		{"c from a again (a diamond, no cycle)", c, []attest.Digest{a}, false},
		{"a from nothing known", a, []attest.Digest{x}, false},
	} {
		err := lineage.CheckAcyclic(context.Background(), s, tc.child, tc.parents)
		if got := errors.Is(err, attest.ErrCycle); got != tc.cycle {
			t.Errorf("%s: %v, want cycle %v", tc.name, err, tc.cycle)
		}
	}
	// The intake source is no edge: nothing derives from a through it.
	if es, _ := s.Children(context.Background(), a); len(es) != 1 || es[0].Child != b {
		t.Errorf("children of a: %+v, want only b", es)
	}
}
