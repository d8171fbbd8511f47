// Package taxonomy holds the security frameworks that mlsec's rules and
// gates map to, as embedded catalogues with exact ids and names:
//
//   - "owasp-ml-2023": OWASP Machine Learning Security Top 10 (2023), ML01–ML10
//   - "owasp-llm-2025": OWASP Top 10 for LLM Applications 2025, LLM01–LLM10
//   - "mitre-atlas": MITRE ATLAS 5.6.0 tactics, techniques, sub-techniques
//     and mitigations, generated from the upstream ATLAS.yaml
//   - "nist-ai-rmf-1.0": NIST AI RMF 1.0 functions, categories and subcategories
//   - "nist-ssdf-1.1": NIST SSDF 1.1 (SP 800-218) practices and tasks with the
//     SP 800-218A additions
//   - "cosai-aimm": CoSAI Artifact Integrity Maturity Model levels L1–L3
//   - "csa-aicm": CSA AI Controls Matrix control ids across its 18 domains,
//     with short titles in mlsec's own words, and the five actors of its
//     Shared Security Responsibility Model
//
// Each catalogue cites its source and version in its data file under data/.
// [Load] parses the embedded files into a fresh, read-only [Catalogues]
// value; the package keeps no state of its own.
//
// A rule or gate ties itself to a framework item with an [mlsec.Mapping];
// [Catalogues.Validate] checks that the framework and the id exist.
package taxonomy

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlsecops/mlsec"
)

//go:generate go run ./internal/genatlas -in ../../shared/taxonomy/atlas/ATLAS.yaml -out data/atlas/atlas.yaml

// data holds one YAML file per catalogue; data/atlas/atlas.yaml is generated.
//
//go:embed data/*.yaml data/atlas/atlas.yaml
var data embed.FS

// Framework ids of the embedded catalogues.
const (
	OWASPML2023  = "owasp-ml-2023"
	OWASPLLM2025 = "owasp-llm-2025"
	MITREATLAS   = "mitre-atlas"
	NISTAIRMF10  = "nist-ai-rmf-1.0"
	NISTSSDF11   = "nist-ssdf-1.1"
	CoSAIAIMM    = "cosai-aimm"
	CSAAICM      = "csa-aicm"
)

// Sentinel errors returned (wrapped) by [Catalogues.Validate] and [Load].
var (
	// ErrUnknownFramework means a mapping names no known catalogue.
	ErrUnknownFramework = errors.New("taxonomy: unknown framework")
	// ErrUnknownID means the catalogue exists but has no item with that id.
	ErrUnknownID = errors.New("taxonomy: unknown id")
	// ErrInvalidCatalogue means an embedded data file is malformed; tests
	// keep it from happening in a release.
	ErrInvalidCatalogue = errors.New("taxonomy: invalid catalogue")
)

// Item is one entry of a framework: a risk, tactic, technique, mitigation,
// function, category, subcategory, practice, task or maturity level.
type Item struct {
	// Framework is the id of the catalogue the item belongs to.
	Framework string `json:"framework" yaml:"framework"`
	// ID is the item's identifier in its framework, e.g. "ML06",
	// "AML.T0010.003", "GOVERN 6.1" or "PW.3.1".
	ID string `json:"id" yaml:"id"`
	// Name is the item's title as the framework spells it; for AI RMF
	// categories and subcategories and SSDF tasks it is the outcome or
	// task statement.
	Name string `json:"name" yaml:"name"`
	// Kind says what the item is within its framework: "risk";
	// "tactic", "technique", "sub-technique", "mitigation"; "function",
	// "category", "subcategory"; "group", "practice", "task";
	// "level", "invariant"; "domain", "control", "actor".
	Kind string `json:"kind" yaml:"kind"`
	// Parent is the id of the enclosing item (the technique of a
	// sub-technique, the category of a subcategory, the practice of a
	// task), empty for top-level items.
	Parent string `json:"parent,omitempty" yaml:"parent,omitempty"`
	// Description adds context where the framework's name alone is terse
	// (AI RMF functions, AIMM levels) or notes a change between editions.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Source is the document the item comes from when a catalogue merges
	// several ("SP 800-218" or "SP 800-218A" in nist-ssdf-1.1).
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
	// Tactics lists the ATLAS tactics a technique serves.
	Tactics []string `json:"tactics,omitempty" yaml:"tactics,omitempty"`
	// Techniques lists the ATLAS techniques and sub-techniques a
	// mitigation addresses.
	Techniques []string `json:"techniques,omitempty" yaml:"techniques,omitempty"`
}

// Catalogue is one framework with its items in the framework's own order.
type Catalogue struct {
	// ID is the framework id used in mappings, e.g. "mitre-atlas".
	ID string `json:"id" yaml:"id"`
	// Name is the framework's title.
	Name string `json:"name" yaml:"name"`
	// Version is the edition the catalogue was taken from.
	Version string `json:"version" yaml:"version"`
	// Source cites where the ids and names come from.
	Source string `json:"source" yaml:"source"`
	// Items are the framework's entries.
	Items []Item `json:"items" yaml:"items"`
}

// Catalogues is the parsed set of embedded catalogues. It is read-only after
// [Load] and safe for concurrent use.
type Catalogues struct {
	cats  []Catalogue
	index map[string]int            // framework id → position in cats
	items map[string]map[string]int // framework id → item id → position in Items
}

// Load parses the embedded catalogue files and checks them: every catalogue
// has an id, name, version and source; item ids are unique within their
// catalogue; and every parent, tactic and technique an item refers to exists
// in the same catalogue. Each call parses afresh and returns an independent
// value.
func Load() (*Catalogues, error) {
	names, err := fs.Glob(data, "data/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("taxonomy: %w", err)
	}
	names = append(names, "data/atlas/atlas.yaml")
	c := &Catalogues{index: map[string]int{}, items: map[string]map[string]int{}}
	for _, name := range names {
		b, err := data.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("taxonomy: %w", err)
		}
		cat, err := parse(path.Base(name), b)
		if err != nil {
			return nil, err
		}
		if _, dup := c.index[cat.ID]; dup {
			return nil, fmt.Errorf("%w: %s: framework %q defined twice", ErrInvalidCatalogue, name, cat.ID)
		}
		ids := make(map[string]int, len(cat.Items))
		for i, it := range cat.Items {
			ids[it.ID] = i
		}
		c.index[cat.ID] = len(c.cats)
		c.items[cat.ID] = ids
		c.cats = append(c.cats, cat)
	}
	sort.SliceStable(c.cats, func(i, j int) bool { return order(c.cats[i].ID) < order(c.cats[j].ID) })
	for i, cat := range c.cats {
		c.index[cat.ID] = i
	}
	return c, nil
}

// order fixes the order of Frameworks: the threat catalogues first, then the
// governance frameworks, then the maturity model; unknown ids last.
func order(id string) int {
	i := slices.Index([]string{OWASPML2023, OWASPLLM2025, MITREATLAS, NISTAIRMF10, NISTSSDF11, CoSAIAIMM, CSAAICM}, id)
	if i < 0 {
		return 1 << 30
	}
	return i
}

// parse decodes and checks one catalogue file.
func parse(name string, b []byte) (Catalogue, error) {
	var cat Catalogue
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&cat); err != nil {
		return Catalogue{}, fmt.Errorf("%w: %s: %w", ErrInvalidCatalogue, name, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidCatalogue, name, fmt.Sprintf(format, args...))
	}
	if cat.ID == "" || cat.Name == "" || cat.Version == "" || cat.Source == "" {
		return Catalogue{}, bad("id, name, version and source are required")
	}
	if len(cat.Items) == 0 {
		return Catalogue{}, bad("no items")
	}
	ids := make(map[string]bool, len(cat.Items))
	for i := range cat.Items {
		it := &cat.Items[i]
		if it.Framework != "" && it.Framework != cat.ID {
			return Catalogue{}, bad("item %q names framework %q", it.ID, it.Framework)
		}
		it.Framework = cat.ID
		if it.ID == "" || it.Name == "" || it.Kind == "" {
			return Catalogue{}, bad("item %d: id, name and kind are required", i)
		}
		if ids[it.ID] {
			return Catalogue{}, bad("duplicate id %q", it.ID)
		}
		ids[it.ID] = true
	}
	for _, it := range cat.Items {
		refs := append(append([]string{it.Parent}, it.Tactics...), it.Techniques...)
		for _, r := range refs {
			if r != "" && !ids[r] {
				return Catalogue{}, bad("item %q refers to unknown id %q", it.ID, r)
			}
		}
	}
	// Parents form a forest: following them from any item ends at a
	// top-level item within len(items) steps.
	parent := make(map[string]string, len(cat.Items))
	for _, it := range cat.Items {
		parent[it.ID] = it.Parent
	}
	for _, it := range cat.Items {
		id := it.ID
		for steps := 0; parent[id] != ""; steps++ {
			if steps >= len(cat.Items) {
				return Catalogue{}, bad("item %q is its own ancestor", it.ID)
			}
			id = parent[id]
		}
	}
	return cat, nil
}

// Frameworks returns a copy of every catalogue, in a fixed order: OWASP ML,
// OWASP LLM, MITRE ATLAS, NIST AI RMF, NIST SSDF, CoSAI AIMM, CSA AICM.
func (c *Catalogues) Frameworks() []Catalogue {
	out := make([]Catalogue, len(c.cats))
	for i, cat := range c.cats {
		out[i] = cat
		out[i].Items = make([]Item, len(cat.Items))
		for j, it := range cat.Items {
			out[i].Items[j] = it.clone()
		}
	}
	return out
}

// Catalogue returns a copy of the catalogue with the given framework id.
func (c *Catalogues) Catalogue(framework string) (Catalogue, bool) {
	i, ok := c.index[framework]
	if !ok {
		return Catalogue{}, false
	}
	cat := c.cats[i]
	cat.Items = make([]Item, len(c.cats[i].Items))
	for j, it := range c.cats[i].Items {
		cat.Items[j] = it.clone()
	}
	return cat, true
}

// Lookup returns the item id of framework. Ids are matched exactly.
func (c *Catalogues) Lookup(framework, id string) (Item, bool) {
	j, ok := c.items[framework][id]
	if !ok {
		return Item{}, false
	}
	return c.cats[c.index[framework]].Items[j].clone(), true
}

// Title returns the display title of an item: its name, prefixed with the
// parent technique's name for ATLAS sub-techniques ("AI Supply Chain
// Compromise: Model"). It returns "" for an unknown item.
func (c *Catalogues) Title(framework, id string) string {
	it, ok := c.Lookup(framework, id)
	if !ok {
		return ""
	}
	if it.Kind == "sub-technique" {
		if p, ok := c.Lookup(framework, it.Parent); ok {
			return p.Name + ": " + it.Name
		}
	}
	return it.Name
}

// Validate reports whether m names a known framework and an item of it. The
// error wraps [ErrUnknownFramework] or [ErrUnknownID] and says which.
func (c *Catalogues) Validate(m mlsec.Mapping) error {
	ids, ok := c.items[m.Framework]
	if !ok {
		known := make([]string, len(c.cats))
		for i, cat := range c.cats {
			known[i] = cat.ID
		}
		return fmt.Errorf("%w %q (known: %s)", ErrUnknownFramework, m.Framework, strings.Join(known, ", "))
	}
	if _, ok := ids[m.ID]; !ok {
		return fmt.Errorf("%w %q in framework %q", ErrUnknownID, m.ID, m.Framework)
	}
	return nil
}

// ValidateAll validates every mapping and joins the errors, nil if all are
// known.
func (c *Catalogues) ValidateAll(ms []mlsec.Mapping) error {
	var errs []error
	for _, m := range ms {
		if err := c.Validate(m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (it Item) clone() Item {
	it.Tactics = slices.Clone(it.Tactics)
	it.Techniques = slices.Clone(it.Techniques)
	return it
}
