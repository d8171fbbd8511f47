package aibom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"

	spdx "github.com/spdx/tools-golang/spdx/v3/v3_0"

	"github.com/mlsecops/mlsec/inspect"
)

// ErrSPDX is wrapped by the errors of CheckSPDX3.
var ErrSPDX = errors.New("aibom: SPDX 3 document incomplete")

// SPDXDoc is an SPDX 3.0.1 document with the elements it must contain, for
// the reachability check.
type SPDXDoc struct {
	Doc *spdx.Document
	// Elements are every element the builder created.
	Elements []spdx.AnyElement
	// Warnings say what the builder could not represent precisely.
	Warnings []string
}

// namespace is the prefix of document and element ids.
const namespace = "https://spdx.org/spdxdocs/mlsec-"

var idSafe = regexp.MustCompile(`[^A-Za-z0-9.\-]+`)

// SPDX3 builds an SPDX 3.0.1 document with the AI and Dataset profiles: the
// subject is an AIPackage (or a DatasetPackage), its files are software
// Files it contains, datasets named by the card are DatasetPackages linked
// with trainedOn (card datasets) and testedOn (model-index datasets), and
// base models are AIPackages linked with ancestorOf. Every element is listed
// in the SBOM's element list so that the serializer reaches it from the
// document's root element.
func SPDX3(r *inspect.Report, opts Options) (*SPDXDoc, error) {
	opts = opts.withDefaults()
	uuid := strings.TrimPrefix(opts.SerialNumber, "urn:uuid:")
	ns := namespace + uuid
	id := func(kind, name string) string {
		return ns + "#SPDXRef-" + kind + "-" + strings.Trim(idSafe.ReplaceAllString(name, "-"), "-")
	}
	var creator spdx.AnyAgent
	if opts.Author != "" {
		creator = &spdx.Person{ID: id("Agent", opts.Author), Name: opts.Author}
	} else {
		creator = &spdx.SoftwareAgent{ID: id("Agent", "mlsec"), Name: "mlsec"}
	}
	tool := &spdx.Tool{ID: id("Tool", "mlsec-"+opts.ToolVersion), Name: "mlsec " + opts.ToolVersion}
	profile := spdx.ProfileIdentifierType_Ai
	if r.Subject == inspect.SubjectDataset {
		profile = spdx.ProfileIdentifierType_Dataset
	}
	d := spdx.NewDocument(profile, ns, creator, tool)
	if ci, ok := d.CreationInfo.(*spdx.CreationInfo); ok {
		ci.Created = opts.Timestamp
	}
	d.Name = "AI-BOM of " + r.Model.Name
	doc := &SPDXDoc{Doc: d}
	add := func(e spdx.AnyElement) { doc.Elements = append(doc.Elements, e) }
	add(creator)
	add(tool)
	nrel := 0
	rel := func(from spdx.AnyElement, typ spdx.RelationshipType, to ...spdx.AnyElement) {
		nrel++
		add(&spdx.Relationship{ID: id("Relationship", fmt.Sprintf("%d-%s", nrel, relName(typ))), From: from, Type: typ, To: spdx.ElementList(to)})
	}
	// A per-document NOASSERTION licence: the library's package-level
	// IndividualLicensingInfo_NoAssertionLicense is given the creation info
	// of the first document serialized, so it cannot be shared.
	noLicense := &spdx.IndividualLicensingInfo{ID: spdx.IndividualLicensingInfo_NoAssertionLicense.GetID(), CreationInfo: d.CreationInfo}
	noAssertion := func(e spdx.AnyElement) {
		rel(e, spdx.RelationshipType_HasDeclaredLicense, noLicense)
		rel(e, spdx.RelationshipType_HasConcludedLicense, noLicense)
	}

	m := r.Model
	org, _ := splitName(m.Name)
	org = firstOf(org, m.Organization)
	var supplier spdx.AnyAgent
	if org != "" {
		supplier = &spdx.Organization{ID: id("Organization", org), Name: org}
		add(supplier)
	}
	var purl, download string
	if rp := r.Repository; rp != nil && rp.Source != "files" && inspect.IsHFName(rp.Name) {
		if r.Subject == inspect.SubjectModel {
			purl = HFPurl(rp.Name, rp.Revision)
			download = "https://huggingface.co/" + rp.Name
		} else {
			download = "https://huggingface.co/datasets/" + rp.Name
		}
	}
	version := m.Version
	if r.Repository != nil && r.Repository.Revision != "" {
		version = r.Repository.Revision
	}
	var ids spdx.ExternalIdentifierList
	if purl != "" {
		ids = append(ids, &spdx.ExternalIdentifier{Type: spdx.ExternalIdentifierType_PackageURL, Identifier: purl})
	}
	var refs spdx.ExternalRefList
	if r.Card != nil && r.Card.LicenseLink != "" && validURL(r.Card.LicenseLink) {
		refs = append(refs, &spdx.ExternalRef{Type: spdx.ExternalRefType_License, Locators: []string{r.Card.LicenseLink}})
	}
	if validURL(m.URL) && download == "" {
		download = m.URL
	}
	var subject spdx.AnyElement
	description := m.Description
	if r.Subject == inspect.SubjectModel {
		p := &spdx.AIPackage{
			ID: id("AIPackage", m.Name), Name: m.Name, Description: description,
			Version: version, PackageURL: spdx.URI(purl), DownloadLocation: spdx.URI(download),
			PrimaryPurpose: spdx.SoftwarePurpose_Model, SuppliedBy: supplier,
			ExternalIdentifiers: ids, ExternalRefs: refs,
		}
		if f, ok := isSingleFile(r); ok && f.SHA256 != "" {
			p.VerifiedUsing = spdx.IntegrityMethodList{&spdx.Hash{Algorithm: spdx.HashAlgorithm_Sha256, Value: f.SHA256}}
		}
		for _, t := range nonEmpty(m.ModelType, m.Architecture) {
			p.TypeOfModels = append(p.TypeOfModels, t)
		}
		if m.Task != "" {
			p.Domains = []string{m.Task}
		}
		for _, k := range sortedKeys(m.Hyperparameters) {
			p.Hyperparameters = append(p.Hyperparameters, &spdx.DictionaryEntry{Key: k, Value: m.Hyperparameters[k]})
		}
		if m.Quantization != "" {
			p.Hyperparameters = append(p.Hyperparameters, &spdx.DictionaryEntry{Key: "quantization", Value: m.Quantization})
		}
		if m.ContextLength > 0 {
			p.Hyperparameters = append(p.Hyperparameters, &spdx.DictionaryEntry{Key: "context_length", Value: fmt.Sprint(m.ContextLength)})
		}
		if c := r.Card; c != nil {
			for _, res := range c.Results {
				key := res.MetricType
				if ds := firstOf(res.DatasetName, res.DatasetType); ds != "" {
					key += " on " + ds
				}
				p.Metrics = append(p.Metrics, &spdx.DictionaryEntry{Key: key, Value: res.Value})
			}
			p.Limitation = strings.Join(append(c.SectionsOf(inspect.SectionLimitations), c.SectionsOf(inspect.SectionOutOfScope)...), "\n\n")
			p.InformationAboutTraining = strings.Join(c.SectionsOf(inspect.SectionTraining), "\n\n")
			p.InformationAboutApplication = strings.Join(c.SectionsOf(inspect.SectionUses), "\n\n")
		}
		if r.RootDigest != "" {
			p.Comment = "OMS root digest " + r.RootDigest
		}
		subject = p
	} else {
		p := &spdx.DatasetPackage{
			ID: id("DatasetPackage", m.Name), Name: m.Name, Description: description,
			Version: version, DownloadLocation: spdx.URI(download),
			PrimaryPurpose: spdx.SoftwarePurpose_Data, SuppliedBy: supplier,
			ExternalRefs: refs, DatasetTypes: datasetTypes(r),
		}
		if c := r.Card; c != nil {
			p.IntendedUse = strings.Join(append(c.TaskCategories, c.SectionsOf(inspect.SectionUses)...), "\n\n")
			p.KnownBias = c.SectionsOf(inspect.SectionEthics)
		}
		subject = p
	}
	add(subject)

	// Licences: the declared licence; the concluded one is NOASSERTION (a
	// tool reading a card concludes nothing).
	var name, link string
	if r.Card != nil {
		name, link = r.Card.LicenseName, r.Card.LicenseLink
	}
	declared := m.License
	if r.Card != nil && r.Card.License != "" {
		declared = r.Card.License
	}
	lic := ResolveLicense(declared, name, link)
	switch {
	case lic.Declared == "":
		doc.warn("no licence declared: recorded as NOASSERTION")
		rel(subject, spdx.RelationshipType_HasDeclaredLicense, noLicense)
	default:
		expr := firstOf(lic.ID, lic.Expression)
		if expr == "" {
			expr = "LicenseRef-" + strings.Trim(idSafe.ReplaceAllString(lic.Name, "-"), "-")
			doc.warn("licence %q is not an SPDX licence id: recorded as %s", lic.Declared, expr)
		}
		le := &spdx.LicenseExpression{ID: id("License", expr), LicenseExpression: expr}
		add(le)
		rel(subject, spdx.RelationshipType_HasDeclaredLicense, le)
	}
	rel(subject, spdx.RelationshipType_HasConcludedLicense, noLicense)

	// Files.
	llmKinds := map[string]string{}
	for _, a := range r.LLM {
		llmKinds[a.Path] = strings.TrimSpace(string(a.Kind) + " " + string(a.Dialect))
	}
	if _, single := isSingleFile(r); !single {
		var files []spdx.AnyElement
		for _, f := range r.Files {
			sf := &spdx.File{ID: id("File", f.Path), Name: f.Path}
			if f.SHA256 != "" {
				sf.VerifiedUsing = spdx.IntegrityMethodList{&spdx.Hash{Algorithm: spdx.HashAlgorithm_Sha256, Value: f.SHA256}}
			}
			if f.Format != "" {
				sf.Comment = "format " + string(f.Format)
			}
			if k := llmKinds[f.Path]; k != "" {
				// LLM-application artifacts (prompt templates, guardrail
				// configs, tool manifests, adapters, index manifests).
				sf.Comment = strings.TrimPrefix(sf.Comment+"; mlsec:kind "+k, "; ")
			}
			add(sf)
			files = append(files, sf)
		}
		if len(files) > 0 {
			rel(subject, spdx.RelationshipType_Contains, files...)
		}
	}

	// Lineage.
	if r.Subject == inspect.SubjectModel {
		dsPkg := func(name, url string) *spdx.DatasetPackage {
			p := &spdx.DatasetPackage{ID: id("DatasetPackage", name), Name: name, DownloadLocation: spdx.URI(url), PrimaryPurpose: spdx.SoftwarePurpose_Data, DatasetTypes: []spdx.DatasetType{spdx.DatasetType_NoAssertion}}
			add(p)
			noAssertion(p)
			return p
		}
		var trained []spdx.AnyElement
		seen := map[string]spdx.AnyElement{}
		for _, ds := range m.Datasets {
			p := dsPkg(ds.Name, ds.URL)
			seen[strings.ToLower(ds.Name)] = p
			trained = append(trained, p)
		}
		if len(trained) > 0 {
			rel(subject, spdx.RelationshipType_TrainedOn, trained...)
		}
		var tested []spdx.AnyElement
		if r.Card != nil {
			for _, res := range r.Card.Results {
				n := firstOf(res.DatasetType, res.DatasetName)
				if n == "" {
					continue
				}
				p, ok := seen[strings.ToLower(n)]
				if !ok {
					p = dsPkg(n, "")
					seen[strings.ToLower(n)] = p
				}
				if !containsElem(tested, p) {
					tested = append(tested, p)
				}
			}
		}
		if len(tested) > 0 {
			rel(subject, spdx.RelationshipType_TestedOn, tested...)
		}
		// RAG corpora the application retrieves from.
		var corpora []spdx.AnyElement
		for _, a := range r.LLM {
			if a.Kind != inspect.KindRAGCorpus {
				continue
			}
			p := &spdx.DatasetPackage{ID: id("DatasetPackage", "corpus:"+a.Path), Name: a.Path, PrimaryPurpose: spdx.SoftwarePurpose_Data,
				DatasetTypes: []spdx.DatasetType{spdx.DatasetType_Text},
				Comment:      fmt.Sprintf("mlsec:kind rag-corpus; %d documents, %d bytes; index %s", a.Documents, a.DocumentBytes, strings.Join(a.IndexFiles, ", "))}
			add(p)
			noAssertion(p)
			corpora = append(corpora, p)
		}
		if len(corpora) > 0 {
			rel(subject, spdx.RelationshipType_DependsOn, corpora...)
		}
		for _, bm := range m.BaseModels {
			bp := &spdx.AIPackage{ID: id("AIPackage", bm.Name), Name: bm.Name, PrimaryPurpose: spdx.SoftwarePurpose_Model, Version: bm.Version}
			if bm.URL != "" && validURL(bm.URL) {
				bp.DownloadLocation = spdx.URI(bm.URL)
			}
			if inspect.IsHFName(bm.Name) && strings.HasPrefix(bm.URL, "https://huggingface.co/") {
				bp.PackageURL = spdx.URI(HFPurl(bm.Name, ""))
			}
			add(bp)
			noAssertion(bp)
			rel(bp, spdx.RelationshipType_AncestorOf, subject)
		}
	}

	// A model's datasets are DatasetPackages: the document then conforms
	// to (and claims) the Dataset profile too.
	for _, e := range doc.Elements {
		if _, ok := e.(*spdx.DatasetPackage); ok && !slices.Contains(d.ProfileConformances, spdx.ProfileIdentifierType_Dataset) {
			d.ProfileConformances = append(d.ProfileConformances, spdx.ProfileIdentifierType_Dataset)
		}
	}
	sbom := &spdx.SBOM{
		ID: id("SBOM", m.Name), Name: "AI-BOM of " + m.Name,
		SbomTypes:    []spdx.SbomType{spdx.SbomType_Analyzed},
		RootElements: spdx.ElementList{subject},
		Elements:     spdx.ElementList(doc.Elements),
	}
	d.RootElements = spdx.ElementList{sbom}
	return doc, nil
}

func relName(t spdx.RelationshipType) string {
	id := t.GetID()
	return id[strings.LastIndex(id, "/")+1:]
}

func (d *SPDXDoc) warn(format string, args ...any) {
	d.Warnings = append(d.Warnings, fmt.Sprintf(format, args...))
}

func containsElem(list []spdx.AnyElement, e spdx.AnyElement) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

// datasetTypes guesses a dataset's types from its files.
func datasetTypes(r *inspect.Report) []spdx.DatasetType {
	set := map[string]spdx.DatasetType{}
	for _, f := range r.Files {
		switch ext := strings.ToLower(f.Path[strings.LastIndex(f.Path, ".")+1:]); ext {
		case "csv", "tsv", "parquet", "arrow":
			set["structured"] = spdx.DatasetType_Structured
		case "jsonl", "json", "txt":
			set["text"] = spdx.DatasetType_Text
		case "png", "jpg", "jpeg", "webp":
			set["image"] = spdx.DatasetType_Image
		case "wav", "mp3", "flac":
			set["audio"] = spdx.DatasetType_Audio
		}
	}
	if len(set) == 0 {
		return []spdx.DatasetType{spdx.DatasetType_NoAssertion}
	}
	keys := sortedKeys(set)
	var out []spdx.DatasetType
	for _, k := range keys {
		out = append(out, set[k])
	}
	return out
}

// WriteJSON serializes the document as SPDX 3 JSON-LD, after checking it
// with CheckSPDX3.
func (d *SPDXDoc) WriteJSON(w io.Writer) error {
	var buf bytes.Buffer
	if err := d.Doc.ToJSON(&buf); err != nil {
		return fmt.Errorf("aibom: writing SPDX 3: %w", err)
	}
	if err := d.check(buf.Bytes()); err != nil {
		return err
	}
	out, err := canonicalSPDX(buf.Bytes())
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// canonicalSPDX makes the serializer's output deterministic: the library
// collects elements through a map, so the @graph order and the SBOM's
// element list vary from run to run. Entries are sorted by id and element
// lists sorted.
func canonicalSPDX(data []byte) ([]byte, error) {
	var doc map[string]any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("aibom: re-reading SPDX 3: %w", err)
	}
	graph, _ := doc["@graph"].([]any)
	key := func(e any) string {
		m, _ := e.(map[string]any)
		if id, ok := m["spdxId"].(string); ok {
			return id
		}
		id, _ := m["@id"].(string)
		return id
	}
	for _, e := range graph {
		m, _ := e.(map[string]any)
		if els, ok := m["element"].([]any); ok {
			sort.Slice(els, func(i, j int) bool { return fmt.Sprint(els[i]) < fmt.Sprint(els[j]) })
		}
	}
	sort.SliceStable(graph, func(i, j int) bool { return key(graph[i]) < key(graph[j]) })
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Validate runs the library's SHACL-derived validation.
func (d *SPDXDoc) Validate() error {
	return d.Doc.Validate(true)
}

// check runs our own checks on the serialized document: every element the
// builder created is in the graph (reachable from the root), every
// relationship's ends are in the graph, and the AI and Dataset profile
// conformance rules hold (exactly one hasDeclaredLicense and one
// hasConcludedLicense per AIPackage and DatasetPackage); plus required
// fields the library does not check: every package has a name.
func (d *SPDXDoc) check(serialized []byte) error {
	probs := CheckSPDX3JSON(serialized)
	byID := map[string]bool{}
	var g struct {
		Graph []map[string]any `json:"@graph"`
	}
	_ = json.Unmarshal(serialized, &g)
	for _, e := range g.Graph {
		if id, ok := e["spdxId"].(string); ok {
			byID[id] = true
		}
	}
	for _, e := range d.Elements {
		if e.GetID() != "" && !byID[e.GetID()] {
			probs = append(probs, fmt.Sprintf("element %s is not reachable from the root elements", e.GetID()))
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", ErrSPDX, strings.Join(probs, "; "))
	}
	return nil
}

// CheckSPDX3JSON checks an SPDX 3 JSON-LD document for what the AI and
// Dataset profiles require beyond the library's validation, and returns the
// problems found.
func CheckSPDX3JSON(data []byte) []string {
	var g struct {
		Context any              `json:"@context"`
		Graph   []map[string]any `json:"@graph"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		return []string{"not JSON-LD: " + err.Error()}
	}
	var probs []string
	ids := map[string]map[string]any{}
	for _, e := range g.Graph {
		if id, ok := e["spdxId"].(string); ok {
			ids[id] = e
		}
	}
	count := map[string]map[string]int{} // package id -> relationship type -> n
	roots := 0
	for _, e := range g.Graph {
		typ, _ := e["type"].(string)
		switch typ {
		case "SpdxDocument":
			if rs, ok := e["rootElement"].([]any); ok {
				roots = len(rs)
			}
		case "Relationship":
			from, _ := e["from"].(string)
			rt, _ := e["relationshipType"].(string)
			if _, ok := ids[from]; !ok {
				probs = append(probs, fmt.Sprintf("relationship %v: from %q is not in the document", e["spdxId"], from))
			}
			tos, _ := e["to"].([]any)
			if len(tos) == 0 {
				probs = append(probs, fmt.Sprintf("relationship %v has no to", e["spdxId"]))
			}
			for _, t := range tos {
				ts, _ := t.(string)
				if _, ok := ids[ts]; !ok && !strings.HasPrefix(ts, "https://spdx.org/rdf/") && !strings.HasPrefix(ts, "expandedlicensing_") {
					probs = append(probs, fmt.Sprintf("relationship %v: to %q is not in the document", e["spdxId"], ts))
				}
			}
			if count[from] == nil {
				count[from] = map[string]int{}
			}
			count[from][rt]++
		}
	}
	if roots == 0 {
		probs = append(probs, "SpdxDocument has no rootElement")
	}
	var pkgs []string
	for id, e := range ids {
		typ, _ := e["type"].(string)
		if typ != "ai_AIPackage" && typ != "dataset_DatasetPackage" {
			continue
		}
		pkgs = append(pkgs, id)
		if n, _ := e["name"].(string); n == "" {
			probs = append(probs, fmt.Sprintf("%s %s has no name", typ, id))
		}
		if typ == "dataset_DatasetPackage" {
			if dt, _ := e["dataset_datasetType"].([]any); len(dt) == 0 {
				probs = append(probs, fmt.Sprintf("%s has no dataset_datasetType", id))
			}
		}
	}
	sort.Strings(pkgs)
	for _, id := range pkgs {
		for _, rt := range []string{"hasDeclaredLicense", "hasConcludedLicense"} {
			if n := count[id][rt]; n != 1 {
				probs = append(probs, fmt.Sprintf("%s has %d %s relationships (the profile requires exactly one)", id, n, rt))
			}
		}
	}
	return probs
}
