package taxonomy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/mlsecops/mlsec"
)

func mustLoad(t *testing.T) *Catalogues {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestFrameworks(t *testing.T) {
	c := mustLoad(t)
	var got []string
	for _, cat := range c.Frameworks() {
		got = append(got, cat.ID)
		if cat.Name == "" || cat.Version == "" || cat.Source == "" {
			t.Errorf("%s: name, version or source missing: %+v", cat.ID, cat)
		}
		for _, it := range cat.Items {
			if it.Framework != cat.ID {
				t.Errorf("%s: item %s has framework %q", cat.ID, it.ID, it.Framework)
			}
		}
	}
	want := []string{OWASPML2023, OWASPLLM2025, MITREATLAS, NISTAIRMF10, NISTSSDF11, CoSAIAIMM, CSAAICM}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Frameworks() ids (-want +got):\n%s", diff)
	}
}

// countKinds counts a catalogue's items by kind, and by kind/source where
// items name a source document.
func countKinds(cat Catalogue) map[string]int {
	n := map[string]int{}
	for _, it := range cat.Items {
		n[it.Kind]++
		if it.Source != "" {
			n[it.Kind+"/"+it.Source]++
		}
	}
	return n
}

func TestCounts(t *testing.T) {
	c := mustLoad(t)
	want := map[string]map[string]int{
		OWASPML2023:  {"risk": 10},
		OWASPLLM2025: {"risk": 10},
		MITREATLAS:   {"tactic": 16, "technique": 101, "sub-technique": 69, "mitigation": 35},
		NISTAIRMF10:  {"function": 4, "category": 19, "subcategory": 72},
		NISTSSDF11: {
			"group": 4, "group/SP 800-218": 4,
			"practice": 20, "practice/SP 800-218": 19, "practice/SP 800-218A": 1,
			"task": 48, "task/SP 800-218": 42, "task/SP 800-218A": 6,
		},
		CoSAIAIMM: {"level": 3, "invariant": 15},
		// 18 domains; the five SSRM actors; the control ids confirmed
		// from public sources (see the data file's header).
		CSAAICM: {"domain": 18, "actor": 5, "control": 232},
	}
	for id, w := range want {
		cat, ok := c.Catalogue(id)
		if !ok {
			t.Errorf("catalogue %s missing", id)
			continue
		}
		if diff := cmp.Diff(w, countKinds(cat)); diff != "" {
			t.Errorf("%s: item counts by kind (-want +got):\n%s", id, diff)
		}
	}
}

// TestSSDFSources checks that exactly the SP 800-218A additions are marked
// as coming from SP 800-218A.
func TestSSDFSources(t *testing.T) {
	cat, _ := mustLoad(t).Catalogue(NISTSSDF11)
	var got []string
	for _, it := range cat.Items {
		switch it.Source {
		case "SP 800-218A":
			got = append(got, it.ID)
		case "SP 800-218":
		default:
			t.Errorf("%s: source %q, want SP 800-218 or SP 800-218A", it.ID, it.Source)
		}
	}
	want := []string{"PO.5.3", "PS.1.2", "PS.1.3", "PW.3", "PW.3.1", "PW.3.2", "PW.3.3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SP 800-218A items (-want +got):\n%s", diff)
	}
}

// TestHierarchy checks that sub-items nest as their ids say: "GOVERN 6.1"
// under "GOVERN 6" under "GOVERN", "PW.3.1" under "PW.3" under "PW",
// "AML.T0010.003" under "AML.T0010".
func TestHierarchy(t *testing.T) {
	c := mustLoad(t)
	for _, cat := range c.Frameworks() {
		for _, it := range cat.Items {
			var want string
			switch it.Kind {
			case "category", "subcategory", "practice", "task", "sub-technique":
				sep := "."
				if cat.ID == NISTAIRMF10 && it.Kind == "category" {
					sep = " "
				}
				want = it.ID[:strings.LastIndex(it.ID, sep)]
			case "invariant":
				want = strings.Split(it.ID, "-")[1]
			case "control": // AICM "MDS-09" under "MDS", "A&A-01" under "A&A"
				want = it.ID[:strings.LastIndex(it.ID, "-")]
			}
			if it.Parent != want {
				t.Errorf("%s %s: parent %q, want %q", cat.ID, it.ID, it.Parent, want)
			}
		}
	}
}

func TestNames(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		framework, id string
		want          Item
	}{
		{OWASPML2023, "ML06", Item{Name: "AI Supply Chain Attacks", Kind: "risk"}},
		{OWASPML2023, "ML10", Item{Name: "Model Poisoning", Kind: "risk"}},
		{OWASPLLM2025, "LLM03", Item{Name: "Supply Chain", Kind: "risk"}},
		{OWASPLLM2025, "LLM04", Item{Name: "Data and Model Poisoning", Kind: "risk"}},
		{OWASPLLM2025, "LLM10", Item{Name: "Unbounded Consumption", Kind: "risk"}},
		{MITREATLAS, "AML.T0010", Item{Name: "AI Supply Chain Compromise", Kind: "technique", Tactics: []string{"AML.TA0004"}}},
		{MITREATLAS, "AML.T0010.003", Item{Name: "Model", Kind: "sub-technique", Parent: "AML.T0010"}},
		{MITREATLAS, "AML.T0011.000", Item{Name: "Unsafe AI Artifacts", Kind: "sub-technique", Parent: "AML.T0011"}},
		{MITREATLAS, "AML.T0018.002", Item{Name: "Embed Malware", Kind: "sub-technique", Parent: "AML.T0018"}},
		{MITREATLAS, "AML.TA0004", Item{Name: "Initial Access", Kind: "tactic"}},
		{MITREATLAS, "AML.M0011", Item{Name: "Restrict Library Loading", Kind: "mitigation", Techniques: []string{"AML.T0011.000", "AML.T0011.001", "AML.T0011"}}},
		{NISTAIRMF10, "GOVERN 6.1", Item{Kind: "subcategory", Parent: "GOVERN 6", Name: "Policies and procedures are in place that address AI risks associated with third-party entities, including risks of infringement of a third-party's intellectual property or other rights."}},
		{NISTAIRMF10, "MAP 4.1", Item{Kind: "subcategory", Parent: "MAP 4", Name: "Approaches for mapping AI technology and legal risks of its components – including the use of third-party data or software – are in place, followed, and documented, as are risks of infringement of a third party's intellectual property or other rights."}},
		{NISTAIRMF10, "MEASURE 2.7", Item{Kind: "subcategory", Parent: "MEASURE 2", Name: "AI system security and resilience – as identified in the MAP function – are evaluated and documented."}},
		{NISTAIRMF10, "MANAGE 3.2", Item{Kind: "subcategory", Parent: "MANAGE 3", Name: "Pre-trained models which are used for development are monitored as part of AI system regular monitoring and maintenance."}},
		{NISTAIRMF10, "MANAGE 4.3", Item{Kind: "subcategory", Parent: "MANAGE 4", Name: "Incidents and errors are communicated to relevant AI actors, including affected communities. Processes for tracking, responding to, and recovering from incidents and errors are followed and documented."}},
		{NISTSSDF11, "PO.1.1", Item{Kind: "task", Parent: "PO.1", Source: "SP 800-218", Name: "Identify and document all security requirements for the organization's software development infrastructures and processes, and maintain the requirements over time."}},
		{NISTSSDF11, "PO.5.3", Item{Kind: "task", Parent: "PO.5", Source: "SP 800-218A", Name: "Continuously monitor software execution performance and behavior in software development environments to identify potential suspicious activity and other issues."}},
		{NISTSSDF11, "PS.1.2", Item{Kind: "task", Parent: "PS.1", Source: "SP 800-218A", Name: "Protect all training, testing, fine-tuning, and aligning data from unauthorized access and modification."}},
		{NISTSSDF11, "PS.1.3", Item{Kind: "task", Parent: "PS.1", Source: "SP 800-218A", Name: "Protect all model weights and configuration parameter data from unauthorized access and modification."}},
		{NISTSSDF11, "PS.3.2", Item{Kind: "task", Parent: "PS.3", Source: "SP 800-218", Name: "Collect, safeguard, maintain, and share provenance data for all components of each software release (e.g., in a software bill of materials [SBOM]).", Description: "Modified in SP 800-218A to add SLSA as an example."}},
		{NISTSSDF11, "PW.3", Item{Kind: "practice", Parent: "PW", Source: "SP 800-218A", Name: "Confirm the Integrity of Training, Testing, Fine-Tuning, and Aligning Data Before Use"}},
		{NISTSSDF11, "PW.3.1", Item{Kind: "task", Parent: "PW.3", Source: "SP 800-218A", Name: "Analyze data for signs of data poisoning, bias, homogeneity, and tampering before using it for AI model training, testing, fine-tuning, or aligning purposes, and mitigate the risks as necessary."}},
		{NISTSSDF11, "PW.3.2", Item{Kind: "task", Parent: "PW.3", Source: "SP 800-218A", Name: "Track the provenance, when known, of all training, testing, fine-tuning, and aligning data used for an AI model, and document which data do not have known provenance."}},
		{NISTSSDF11, "PW.3.3", Item{Kind: "task", Parent: "PW.3", Source: "SP 800-218A", Name: "Include adversarial samples in the training and testing data to improve attack prevention."}},
		{NISTSSDF11, "RV.3.4", Item{Kind: "task", Parent: "RV.3", Source: "SP 800-218", Name: "Review the SDLC process, and update it if appropriate to prevent (or reduce the likelihood of) root cause vulnerabilities from recurring in updates to the software or in new software that is created."}},
		{CoSAIAIMM, "L1", Item{Kind: "level", Name: "Basic Integrity"}},
		{CoSAIAIMM, "L2", Item{Kind: "level", Name: "Chaining & Lineage"}},
		{CoSAIAIMM, "L3", Item{Kind: "level", Name: "Attestations & Policy"}},
	}
	for _, tt := range tests {
		got, ok := c.Lookup(tt.framework, tt.id)
		if !ok {
			t.Errorf("Lookup(%q, %q) not found", tt.framework, tt.id)
			continue
		}
		tt.want.Framework, tt.want.ID = tt.framework, tt.id
		if tt.want.Description == "" {
			got.Description = "" // checked only where the test names one
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Lookup(%q, %q) (-want +got):\n%s", tt.framework, tt.id, diff)
		}
	}
	// Ids that must not exist: withdrawn SSDF 1.1 ids, AI RMF draft ids.
	for _, m := range []mlsec.Mapping{
		{Framework: NISTSSDF11, ID: "PW.4.3"},
		{Framework: NISTAIRMF10, ID: "MAP 1.7"},
		{Framework: NISTAIRMF10, ID: "MAP 5.3"},
		{Framework: OWASPML2023, ID: "ML11"},
		{Framework: OWASPLLM2025, ID: "LLM11"},
	} {
		if _, ok := c.Lookup(m.Framework, m.ID); ok {
			t.Errorf("Lookup(%q, %q) found an item that the framework does not have", m.Framework, m.ID)
		}
	}
}

func TestTitle(t *testing.T) {
	c := mustLoad(t)
	tests := []struct{ framework, id, want string }{
		{MITREATLAS, "AML.T0010.003", "AI Supply Chain Compromise: Model"},
		{MITREATLAS, "AML.T0011.000", "User Execution: Unsafe AI Artifacts"},
		{MITREATLAS, "AML.T0018.002", "Manipulate AI Model: Embed Malware"},
		{MITREATLAS, "AML.T0010", "AI Supply Chain Compromise"},
		{OWASPML2023, "ML06", "AI Supply Chain Attacks"},
		{OWASPML2023, "ML99", ""},
		{"nope", "ML06", ""},
	}
	for _, tt := range tests {
		if got := c.Title(tt.framework, tt.id); got != tt.want {
			t.Errorf("Title(%q, %q) = %q, want %q", tt.framework, tt.id, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		m        mlsec.Mapping
		wantErr  error
		contains string
	}{
		{mlsec.Mapping{Framework: OWASPML2023, ID: "ML06"}, nil, ""},
		{mlsec.Mapping{Framework: MITREATLAS, ID: "AML.T0010.003"}, nil, ""},
		{mlsec.Mapping{Framework: NISTAIRMF10, ID: "MANAGE 3.2"}, nil, ""},
		{mlsec.Mapping{Framework: NISTSSDF11, ID: "PW.3.1"}, nil, ""},
		{mlsec.Mapping{Framework: CoSAIAIMM, ID: "L2"}, nil, ""},
		{mlsec.Mapping{Framework: "owasp-ml-2021", ID: "ML06"}, ErrUnknownFramework, `unknown framework "owasp-ml-2021" (known: owasp-ml-2023, owasp-llm-2025, mitre-atlas, nist-ai-rmf-1.0, nist-ssdf-1.1, cosai-aimm, csa-aicm)`},
		{mlsec.Mapping{Framework: "", ID: "ML06"}, ErrUnknownFramework, `unknown framework ""`},
		{mlsec.Mapping{Framework: MITREATLAS, ID: "AML.T9999"}, ErrUnknownID, `unknown id "AML.T9999" in framework "mitre-atlas"`},
		{mlsec.Mapping{Framework: OWASPML2023, ID: "ml06"}, ErrUnknownID, `unknown id "ml06" in framework "owasp-ml-2023"`},
		{mlsec.Mapping{Framework: NISTAIRMF10, ID: "GOVERN-6.1"}, ErrUnknownID, `"GOVERN-6.1"`},
		{mlsec.Mapping{Framework: OWASPLLM2025, ID: ""}, ErrUnknownID, `unknown id ""`},
	}
	for _, tt := range tests {
		err := c.Validate(tt.m)
		if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("Validate(%+v) = %v, want %v", tt.m, err, tt.wantErr)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("Validate(%+v) = %q, want it to contain %q", tt.m, err, tt.contains)
		}
		if errors.Is(err, ErrUnknownFramework) && errors.Is(err, ErrUnknownID) {
			t.Errorf("Validate(%+v) = %v: wraps both sentinels", tt.m, err)
		}
	}
	err := c.ValidateAll([]mlsec.Mapping{{Framework: OWASPML2023, ID: "ML06"}, {Framework: "x", ID: "y"}, {Framework: MITREATLAS, ID: "z"}})
	if !errors.Is(err, ErrUnknownFramework) || !errors.Is(err, ErrUnknownID) {
		t.Errorf("ValidateAll = %v, want both sentinels joined", err)
	}
	if err := c.ValidateAll([]mlsec.Mapping{{Framework: OWASPML2023, ID: "ML06"}}); err != nil {
		t.Errorf("ValidateAll(valid) = %v", err)
	}
}

// TestCopies checks that callers cannot change the catalogues through the
// values they get back.
func TestCopies(t *testing.T) {
	c := mustLoad(t)
	it, _ := c.Lookup(MITREATLAS, "AML.T0010")
	it.Tactics[0] = "changed"
	cats := c.Frameworks()
	cats[0].Items[0].Name = "changed"
	cat, _ := c.Catalogue(MITREATLAS)
	cat.Items[0].ID = "changed"
	if got, _ := c.Lookup(MITREATLAS, "AML.T0010"); got.Tactics[0] != "AML.TA0004" {
		t.Errorf("Lookup result aliases the catalogue: tactics %v", got.Tactics)
	}
	if got := c.Frameworks()[0].Items[0].Name; got != "Input Manipulation Attack" {
		t.Errorf("Frameworks result aliases the catalogue: %q", got)
	}
	if got, _ := c.Catalogue(MITREATLAS); got.Items[0].ID != "AML.TA0002" {
		t.Errorf("Catalogue result aliases the catalogue: %q", got.Items[0].ID)
	}
	// Two loads are independent values.
	if c2 := mustLoad(t); c2 == c {
		t.Error("Load returned the same value twice")
	}
}

func TestParseErrors(t *testing.T) {
	head := "id: x\nname: X\nversion: \"1\"\nsource: s\n"
	tests := []struct{ name, yaml, contains string }{
		{"no source", "id: x\nname: X\nversion: \"1\"\nitems: [{id: a, name: A, kind: k}]\n", "id, name, version and source are required"},
		{"no items", head + "items: []\n", "no items"},
		{"duplicate id", head + "items: [{id: a, name: A, kind: k}, {id: a, name: B, kind: k}]\n", `duplicate id "a"`},
		{"missing name", head + "items: [{id: a, kind: k}]\n", "id, name and kind are required"},
		{"unknown parent", head + "items: [{id: a.1, name: A, kind: k, parent: a}]\n", `item "a.1" refers to unknown id "a"`},
		{"unknown tactic", head + "items: [{id: t, name: T, kind: technique, tactics: [ta]}]\n", `refers to unknown id "ta"`},
		{"unknown field", head + "items: [{id: a, name: A, kind: k, nmae: typo}]\n", "nmae"},
		{"foreign framework", head + "items: [{framework: y, id: a, name: A, kind: k}]\n", `names framework "y"`},
		{"not yaml", "id: [\n", "invalid catalogue"},
		{"self parent", head + "items: [{id: a, name: A, kind: k, parent: a}]\n", `item "a" is its own ancestor`},
		{"parent cycle", head + "items: [{id: a, name: A, kind: k, parent: b}, {id: b, name: B, kind: k, parent: a}]\n", "is its own ancestor"},
	}
	for _, tt := range tests {
		_, err := parse("test.yaml", []byte(tt.yaml))
		if !errors.Is(err, ErrInvalidCatalogue) || !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("%s: parse = %v, want ErrInvalidCatalogue containing %q", tt.name, err, tt.contains)
		}
	}
	if _, err := parse("ok.yaml", []byte(head+"items: [{id: a, name: A, kind: k}, {id: a.1, name: B, kind: k, parent: a}]\n")); err != nil {
		t.Errorf("parse(valid) = %v", err)
	}
}

// moduleRoot walks up from the package directory to the directory holding
// go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}

// TestATLASMatchesSource compares the generated ATLAS catalogue with the
// upstream ATLAS.yaml in ../shared when it is present: same version, and the
// same ids per kind.
func TestATLASMatchesSource(t *testing.T) {
	src := filepath.Join(moduleRoot(t), "..", "shared", "taxonomy", "atlas", "ATLAS.yaml")
	b, err := os.ReadFile(src)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("upstream ATLAS.yaml not present at %s", src)
	}
	if err != nil {
		t.Fatal(err)
	}
	type obj struct {
		ID             string `yaml:"id"`
		SubtechniqueOf string `yaml:"subtechnique-of"`
	}
	var doc struct {
		Version  string `yaml:"version"`
		Matrices []struct {
			Tactics, Techniques, Mitigations []obj
		} `yaml:"matrices"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for _, m := range doc.Matrices {
		for _, o := range m.Tactics {
			want["tactic"] = append(want["tactic"], o.ID)
		}
		for _, o := range m.Techniques {
			k := "technique"
			if o.SubtechniqueOf != "" {
				k = "sub-technique"
			}
			want[k] = append(want[k], o.ID)
		}
		for _, o := range m.Mitigations {
			want["mitigation"] = append(want["mitigation"], o.ID)
		}
	}
	cat, _ := mustLoad(t).Catalogue(MITREATLAS)
	if cat.Version != doc.Version {
		t.Errorf("catalogue version %q, upstream %q", cat.Version, doc.Version)
	}
	got := map[string][]string{}
	for _, it := range cat.Items {
		got[it.Kind] = append(got[it.Kind], it.ID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ATLAS ids by kind differ from upstream (-upstream +catalogue); run go generate ./taxonomy:\n%s", diff)
	}
}

// TestRulesMappings walks every rules.yaml in the module (outside testdata
// and hidden directories) and fails on any mapping to an unknown framework
// or id, listing every offender.
func TestRulesMappings(t *testing.T) {
	c := mustLoad(t)
	root := moduleRoot(t)
	files, offenders, err := checkRulesTree(c, root)
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no rules.yaml found under %s", root)
	}
	if len(offenders) > 0 {
		t.Errorf("%d mapping(s) in rules.yaml files name unknown frameworks or ids:\n%s", len(offenders), strings.Join(offenders, "\n"))
	}
	t.Logf("checked %d rules.yaml files", files)
}

// TestCheckRulesTree runs the rules.yaml walker on a fixture tree with one
// good and one bad file, so TestRulesMappings is known to catch offenders.
func TestCheckRulesTree(t *testing.T) {
	files, offenders, err := checkRulesTree(mustLoad(t), filepath.Join("testdata", "rulestree"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`bad/rules.yaml: rule BAD-001: taxonomy: unknown framework "owasp-ml-2021" (known: owasp-ml-2023, owasp-llm-2025, mitre-atlas, nist-ai-rmf-1.0, nist-ssdf-1.1, cosai-aimm, csa-aicm)`,
		`bad/rules.yaml: rule BAD-002: taxonomy: unknown id "AML.T0010.009" in framework "mitre-atlas"`,
		`bad/rules.yaml: rule BAD-002: taxonomy: unknown id "ML6" in framework "owasp-ml-2023"`,
		`broken/rules.yaml: yaml: line 1: did not find expected node content`,
	}
	if files != 4 {
		t.Errorf("checked %d files, want 4 (hidden dir skipped)", files)
	}
	if diff := cmp.Diff(want, offenders); diff != "" {
		t.Errorf("offenders (-want +got):\n%s", diff)
	}
}

// checkRulesTree validates the mappings of every rules.yaml under root,
// skipping hidden, testdata, vendor and node_modules directories below
// root. It returns how many files it read and one line per offender,
// sorted.
func checkRulesTree(c *Catalogues, root string) (int, []string, error) {
	var offenders []string
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "rules.yaml" {
			return nil
		}
		files++
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var doc struct {
			Rules []struct {
				ID       string          `yaml:"id"`
				Mappings []mlsec.Mapping `yaml:"mappings"`
			} `yaml:"rules"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			offenders = append(offenders, rel+": "+err.Error())
			return nil
		}
		for _, r := range doc.Rules {
			for _, m := range r.Mappings {
				if err := c.Validate(m); err != nil {
					offenders = append(offenders, rel+": rule "+r.ID+": "+err.Error())
				}
			}
		}
		return nil
	})
	sort.Strings(offenders)
	return files, offenders, err
}

// TestAICMShape checks the AICM catalogue's ids: 18 domain codes, control
// ids DOMAIN-NN numbered from 01 without holes, and the five SSRM actors.
func TestAICMShape(t *testing.T) {
	cat, ok := mustLoad(t).Catalogue(CSAAICM)
	if !ok {
		t.Fatal("csa-aicm missing")
	}
	wantDomains := []string{"A&A", "AIS", "BCR", "CCC", "CEK", "DCS", "DSP", "GRC", "HRS", "IAM", "IPY", "IVS", "LOG", "MDS", "SEF", "STA", "TVM", "UEM"}
	var domains, actors []string
	next := map[string]int{}
	for _, it := range cat.Items {
		switch it.Kind {
		case "domain":
			domains = append(domains, it.ID)
		case "actor":
			actors = append(actors, it.ID)
		case "control":
			next[it.Parent]++
			if want := fmt.Sprintf("%s-%02d", it.Parent, next[it.Parent]); it.ID != want {
				t.Errorf("control %s, want %s (numbered in order without holes)", it.ID, want)
			}
		}
	}
	if diff := cmp.Diff(wantDomains, domains); diff != "" {
		t.Errorf("domains (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"CSP", "MP", "OSP", "AP", "AIC"}, actors); diff != "" {
		t.Errorf("SSRM actors (-want +got):\n%s", diff)
	}
	if next["MDS"] != 13 {
		t.Errorf("MDS has %d controls, want 13", next["MDS"])
	}
}
