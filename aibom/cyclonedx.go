package aibom

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/uuid"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/inspect"
)

// Options configure the BOM builders. Zero values take defaults; fix
// SerialNumber (or DocumentID) and Timestamp for reproducible output.
type Options struct {
	// Spec is the CycloneDX version, "1.6" (default) or "1.7".
	Spec string
	// SerialNumber is the CycloneDX serialNumber, "urn:uuid:<uuid>"; a
	// random one by default.
	SerialNumber string
	// Timestamp is the creation time; now by default.
	Timestamp time.Time
	// ToolVersion is the mlsec version recorded as the tool (mlsec.Version
	// by default).
	ToolVersion string
	// Author is the person or organisation that produced the BOM.
	Author string
}

func (o Options) withDefaults() Options {
	if o.Spec == "" {
		o.Spec = "1.6"
	}
	if o.SerialNumber == "" {
		o.SerialNumber = NewSerial()
	}
	if o.Timestamp.IsZero() {
		o.Timestamp = time.Now()
	}
	o.Timestamp = o.Timestamp.UTC().Truncate(time.Second)
	if o.ToolVersion == "" {
		o.ToolVersion = mlsec.Version
	}
	return o
}

// NewSerial returns a random CycloneDX serial number.
func NewSerial() string { return "urn:uuid:" + uuid.NewString() }

// ParseSpec returns the cyclonedx-go spec version for "1.6" or "1.7".
func ParseSpec(s string) (cdx.SpecVersion, error) {
	switch s {
	case "1.6", "":
		return cdx.SpecVersion1_6, nil
	case "1.7":
		return cdx.SpecVersion1_7, nil
	}
	return 0, fmt.Errorf("%w %q (want %s)", ErrSpecVersion, s, strings.Join(SpecVersions, " or "))
}

// BOM is a CycloneDX BOM with what cyclonedx-go cannot hold: the
// modelCard.properties of every model card (the library's MLModelCard has no
// Properties field, so it drops them on encoding and decoding). Encode and
// DecodeJSON/DecodeXML carry them through.
type BOM struct {
	BOM *cdx.BOM
	// ModelCardProperties are the properties of each model card, by the
	// model card's bom-ref.
	ModelCardProperties map[string][]cdx.Property
	// Warnings say what the builder could not represent precisely.
	Warnings []string
}

// Property name prefixes.
const (
	propPrefix = "mlsec:"
)

// CycloneDX builds a CycloneDX ML-BOM for the inspected model or dataset:
// the subject is metadata.component (a machine-learning-model with a model
// card, or a data component), its files are nested components, the datasets
// it names are data components, base models are pedigree ancestors.
func CycloneDX(r *inspect.Report, opts Options) (*BOM, error) {
	opts = opts.withDefaults()
	if _, err := ParseSpec(opts.Spec); err != nil {
		return nil, err
	}
	b := &BOM{ModelCardProperties: map[string][]cdx.Property{}}
	bom := cdx.NewBOM()
	bom.SerialNumber = opts.SerialNumber
	bom.Version = 1
	m := r.Model

	subject := b.subject(r)
	bom.Metadata = &cdx.Metadata{
		Timestamp: opts.Timestamp.Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "mlsec", Version: opts.ToolVersion,
			Description: "mlsec bom: AI-BOM from local model files and cards",
		}}},
		Component: subject,
		// The BOM describes artifacts as they are on disk, after the build.
		Lifecycles: &[]cdx.Lifecycle{{Phase: cdx.LifecyclePhasePostBuild}},
		Properties: &[]cdx.Property{
			{Name: propPrefix + "source", Value: "local files: model headers, config.json, generation_config.json, tokenizer_config.json, README.md front matter"},
		},
	}
	if opts.Author != "" {
		bom.Metadata.Authors = &[]cdx.OrganizationalContact{{Name: opts.Author}}
	}
	if r.Repository != nil && r.Repository.Source != "" {
		*bom.Metadata.Properties = append(*bom.Metadata.Properties, cdx.Property{Name: propPrefix + "repository:source", Value: r.Repository.Source})
	}

	var components []cdx.Component
	var deps []cdx.Dependency
	var dsRefs []string
	if r.Subject == inspect.SubjectModel {
		for _, d := range m.Datasets {
			c := datasetComponent(d)
			components = append(components, c)
			dsRefs = append(dsRefs, c.BOMRef)
			deps = append(deps, cdx.Dependency{Ref: c.BOMRef, Dependencies: &[]string{}})
		}
		if subject.ModelCard != nil && len(dsRefs) > 0 {
			var choices []cdx.MLDatasetChoice
			for _, ref := range dsRefs {
				choices = append(choices, cdx.MLDatasetChoice{Ref: ref})
			}
			subject.ModelCard.ModelParameters.Datasets = &choices
		}
	}
	// LLM-application artifacts (prompts, guardrails, tool manifests,
	// agent cards, adapters, corpora) are components the subject uses.
	var llmRefs []string
	for _, c := range llmComponents(r) {
		components = append(components, c)
		llmRefs = append(llmRefs, c.BOMRef)
		deps = append(deps, cdx.Dependency{Ref: c.BOMRef, Dependencies: &[]string{}})
	}
	// The subject depends on its files (nested), the datasets it was
	// trained or evaluated on and its LLM-application artifacts; base
	// models are pedigree, not dependencies.
	subDeps := append(append([]string{}, dsRefs...), llmRefs...)
	if subject.Components != nil {
		for _, f := range *subject.Components {
			subDeps = append(subDeps, f.BOMRef)
			deps = append(deps, cdx.Dependency{Ref: f.BOMRef, Dependencies: &[]string{}})
		}
	}
	deps = append([]cdx.Dependency{{Ref: subject.BOMRef, Dependencies: &subDeps}}, deps...)
	if len(components) > 0 {
		bom.Components = &components
	}
	bom.Dependencies = &deps
	b.BOM = bom
	return b, nil
}

// subject builds metadata.component.
func (b *BOM) subject(r *inspect.Report) *cdx.Component {
	m := r.Model
	c := &cdx.Component{Type: cdx.ComponentTypeMachineLearningModel, Name: m.Name}
	if r.Subject == inspect.SubjectDataset {
		c.Type = cdx.ComponentTypeData
	}
	org, name := splitName(m.Name)
	c.Group, c.Name = org, name
	c.Version = m.Version
	purl := ""
	if rp := r.Repository; rp != nil && rp.Name != "" && rp.Source != "files" && r.Subject == inspect.SubjectModel && inspect.IsHFName(rp.Name) {
		purl = HFPurl(rp.Name, rp.Revision)
		c.Version = rp.Revision
	}
	c.PackageURL = purl
	c.BOMRef = ref(c.Type, m.Name, purl)
	c.Description = m.Description
	if r.Subject == inspect.SubjectDataset && r.Card != nil && r.Card.PrettyName != "" && c.Description == "" {
		c.Description = r.Card.PrettyName
	}
	if supplier := firstOf(org, m.Organization); supplier != "" {
		c.Supplier = &cdx.OrganizationalEntity{Name: supplier}
	}
	if m.Author != "" {
		c.Authors = &[]cdx.OrganizationalContact{{Name: m.Author}}
	}
	if lic := b.licenses(r); lic != nil {
		c.Licenses = lic
	}
	if r.Card != nil && len(r.Card.Tags) > 0 {
		tags := append([]string{}, r.Card.Tags...)
		c.Tags = &tags
	}

	// Hashes: a single file's sha256 is the component's; a directory gets
	// its OMS root digest as a property, and each file its own hash.
	var props []cdx.Property
	add := func(k, v string) {
		if v != "" {
			props = append(props, cdx.Property{Name: propPrefix + k, Value: v})
		}
	}
	if r.RootDigest != "" {
		add("oms:root-digest", r.RootDigest)
	}
	fi, _ := isSingleFile(r)
	if fi != nil && fi.SHA256 != "" {
		c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: fi.SHA256}}
	}
	if fi == nil {
		var files []cdx.Component
		for _, f := range r.Files {
			files = append(files, fileComponent(f))
		}
		if len(files) > 0 {
			c.Components = &files
		}
	}
	add("formats", strings.Join(m.Formats, ","))
	add("framework", m.Framework)
	if m.Params > 0 {
		add("parameters", strconv.FormatUint(m.Params, 10))
	}
	if m.Tensors > 0 {
		add("tensors", strconv.Itoa(m.Tensors))
	}
	add("dtypes", strings.Join(m.DTypes, ","))
	add("quantization", m.Quantization)
	if m.ContextLength > 0 {
		add("context-length", strconv.FormatUint(m.ContextLength, 10))
	}
	add("tokenizer", m.Tokenizer)
	for _, t := range m.ChatTemplates {
		add("chat-template:"+t.Source+":"+t.Name, "sha256:"+t.SHA256)
	}
	add("languages", strings.Join(m.Languages, ","))
	for _, a := range r.Artifacts {
		if o := a.ONNX; o != nil {
			for _, op := range o.Opsets {
				add("onnx:"+a.Path+":opset:"+op.Domain, strconv.FormatInt(op.Version, 10))
			}
			add("onnx:"+a.Path+":producer", strings.TrimSpace(o.Producer+" "+o.ProducerVersion))
			add("onnx:"+a.Path+":domains", strings.Join(o.Domains, ","))
		}
		if k := a.Keras; k != nil {
			add("keras:"+a.Path+":class", k.Class)
			add("keras:"+a.Path+":version", k.Version)
			add("keras:"+a.Path+":layers", strings.Join(k.Layers, ","))
		}
	}
	if r.Card != nil {
		add("huggingface:pipeline_tag", r.Card.PipelineTag)
		add("huggingface:library_name", r.Card.LibraryName)
		add("huggingface:task_categories", strings.Join(r.Card.TaskCategories, ","))
		add("huggingface:size_categories", strings.Join(r.Card.SizeCategories, ","))
	}
	if len(props) > 0 {
		c.Properties = &props
	}
	c.ExternalReferences = externalRefs(r)
	if r.Subject == inspect.SubjectModel {
		c.ModelCard = b.modelCard(r, c.BOMRef)
		if anc := ancestors(m.BaseModels); anc != nil {
			c.Pedigree = &cdx.Pedigree{Ancestors: anc}
		}
	} else {
		c.Data = &[]cdx.ComponentData{datasetData(r, m.Name)}
	}
	return c
}

// licenses resolves the declared licence, warning when it is not SPDX.
func (b *BOM) licenses(r *inspect.Report) *cdx.Licenses {
	var name, link string
	if r.Card != nil {
		name, link = r.Card.LicenseName, r.Card.LicenseLink
	}
	declared := r.Model.License
	if r.Card != nil && r.Card.License != "" {
		declared = r.Card.License
	}
	l := ResolveLicense(declared, name, link)
	switch {
	case l.Declared == "":
		b.warn("no licence declared (model card license, GGUF general.license)")
		return nil
	case l.ID != "":
		return &cdx.Licenses{{License: &cdx.License{ID: l.ID, URL: l.URL}}}
	case l.Expression != "":
		return &cdx.Licenses{{Expression: l.Expression}}
	}
	b.warn("licence %q is not an SPDX licence id: recorded by name", l.Declared)
	return &cdx.Licenses{{License: &cdx.License{Name: l.Name, URL: l.URL}}}
}

func (b *BOM) warn(format string, args ...any) {
	b.Warnings = append(b.Warnings, fmt.Sprintf(format, args...))
}

// modelCard builds the CycloneDX model card; its properties go to
// b.ModelCardProperties.
func (b *BOM) modelCard(r *inspect.Report, subjectRef string) *cdx.MLModelCard {
	m := r.Model
	mc := &cdx.MLModelCard{BOMRef: "model-card:" + subjectRef}
	mp := &cdx.MLModelParameters{
		Task:               m.Task,
		ArchitectureFamily: m.ModelType,
		ModelArchitecture:  m.Architecture,
	}
	if mp.ArchitectureFamily == "" {
		mp.ArchitectureFamily = ggufArch(r)
	}
	if ap := approach(r); ap != "" {
		mp.Approach = &cdx.MLModelParametersApproach{Type: ap}
	}
	in, out := interfaceOf(r)
	if len(in) > 0 {
		mp.Inputs = &in
	}
	if len(out) > 0 {
		mp.Outputs = &out
	}
	mc.ModelParameters = mp
	if r.Card != nil && len(r.Card.Results) > 0 {
		var pm []cdx.MLPerformanceMetric
		for _, res := range r.Card.Results {
			typ := res.MetricType
			if res.MetricName != "" && res.MetricName != typ {
				typ += " (" + res.MetricName + ")"
			}
			slice := strings.TrimSpace(strings.Join(nonEmpty(firstOf(res.DatasetName, res.DatasetType), res.DatasetConfig, res.DatasetSplit), " "))
			if res.TaskType != "" {
				slice = strings.TrimSpace(res.TaskType + ": " + slice)
			}
			pm = append(pm, cdx.MLPerformanceMetric{Type: typ, Value: res.Value, Slice: slice})
		}
		mc.QuantitativeAnalysis = &cdx.MLQuantitativeAnalysis{PerformanceMetrics: &pm}
	}
	if cons := considerations(r.Card); cons != nil {
		mc.Considerations = cons
	}
	var props []cdx.Property
	for _, k := range sortedKeys(m.Hyperparameters) {
		props = append(props, cdx.Property{Name: "hyperparameter:" + k, Value: m.Hyperparameters[k]})
	}
	if r.Config != nil {
		for _, k := range sortedKeys(r.Config.Generation) {
			props = append(props, cdx.Property{Name: "generation:" + k, Value: r.Config.Generation[k]})
		}
	}
	if m.Quantization != "" {
		props = append(props, cdx.Property{Name: "quantization", Value: m.Quantization})
	}
	if m.ContextLength > 0 {
		props = append(props, cdx.Property{Name: "context_length", Value: strconv.FormatUint(m.ContextLength, 10)})
	}
	if len(props) > 0 {
		b.ModelCardProperties[mc.BOMRef] = props
	}
	return mc
}

func ggufArch(r *inspect.Report) string {
	for _, a := range r.Artifacts {
		if a.Architecture != "" {
			return a.Architecture
		}
	}
	return ""
}

// approach derives the learning approach from the task and lineage:
// pre-training tasks of language and vision foundation models are
// self-supervised, fine-tunes and labelled tasks supervised.
func approach(r *inspect.Report) cdx.MLModelParametersApproachType {
	task := r.Model.Task
	if task == "" {
		return ""
	}
	finetuned := len(r.Model.BaseModels) > 0
	switch task {
	case "reinforcement-learning", "robotics":
		return cdx.MLModelParametersApproachTypeReinforcementLearning
	case "text-generation", "fill-mask", "feature-extraction", "sentence-similarity", "text-to-image", "unconditional-image-generation":
		if finetuned {
			return cdx.MLModelParametersApproachTypeSupervised
		}
		return cdx.MLModelParametersApproachTypeSelfSupervised
	}
	return cdx.MLModelParametersApproachTypeSupervised
}

// interfaceOf describes inputs and outputs: ONNX graph signatures, else the
// pipeline task's modalities.
func interfaceOf(r *inspect.Report) (in, out []cdx.MLInputOutputParameters) {
	for _, i := range r.Model.Inputs {
		in = append(in, cdx.MLInputOutputParameters{Format: strings.TrimSpace(i.Name + " " + i.Type)})
	}
	for _, o := range r.Model.Outputs {
		out = append(out, cdx.MLInputOutputParameters{Format: strings.TrimSpace(o.Name + " " + o.Type)})
	}
	if len(in) > 0 || len(out) > 0 {
		return in, out
	}
	if mod, ok := taskModalities[r.Model.Task]; ok {
		return []cdx.MLInputOutputParameters{{Format: mod[0]}}, []cdx.MLInputOutputParameters{{Format: mod[1]}}
	}
	return nil, nil
}

// taskModalities maps Hugging Face pipeline tags to input and output
// formats.
var taskModalities = map[string][2]string{
	"text-generation":              {"string", "string"},
	"text2text-generation":         {"string", "string"},
	"summarization":                {"string", "string"},
	"translation":                  {"string", "string"},
	"question-answering":           {"string", "string"},
	"conversational":               {"string", "string"},
	"fill-mask":                    {"string", "string"},
	"text-classification":          {"string", "label"},
	"token-classification":         {"string", "labels"},
	"zero-shot-classification":     {"string", "label"},
	"feature-extraction":           {"string", "tensor"},
	"sentence-similarity":          {"string", "score"},
	"image-classification":         {"image", "label"},
	"object-detection":             {"image", "bounding boxes"},
	"image-segmentation":           {"image", "mask"},
	"image-to-text":                {"image", "string"},
	"image-text-to-text":           {"image, string", "string"},
	"text-to-image":                {"string", "image"},
	"automatic-speech-recognition": {"audio", "string"},
	"text-to-speech":               {"string", "audio"},
	"audio-classification":         {"audio", "label"},
}

// considerations maps card sections to model card considerations.
func considerations(c *inspect.Card) *cdx.MLModelCardConsiderations {
	if c == nil {
		return nil
	}
	cons := &cdx.MLModelCardConsiderations{}
	set := func(dst **[]string, vals []string) {
		if len(vals) > 0 {
			v := append([]string{}, vals...)
			*dst = &v
		}
	}
	set(&cons.Users, c.SectionsOf(inspect.SectionUsers))
	set(&cons.UseCases, c.SectionsOf(inspect.SectionUses))
	set(&cons.TechnicalLimitations, append(c.SectionsOf(inspect.SectionLimitations), prefixed("Out of scope: ", c.SectionsOf(inspect.SectionOutOfScope))...))
	set(&cons.PerformanceTradeoffs, c.SectionsOf(inspect.SectionTradeoffs))
	mitigation := strings.Join(c.SectionsOf(inspect.SectionRecommend), "\n\n")
	var eth []cdx.MLModelCardEthicalConsideration
	for _, t := range c.SectionsOf(inspect.SectionEthics) {
		eth = append(eth, cdx.MLModelCardEthicalConsideration{Name: t, MitigationStrategy: mitigation})
	}
	if len(eth) == 0 && mitigation != "" {
		eth = append(eth, cdx.MLModelCardEthicalConsideration{Name: "Risks and limitations", MitigationStrategy: mitigation})
	}
	if len(eth) > 0 {
		cons.EthicalConsiderations = &eth
	}
	if env := c.SectionsOf(inspect.SectionEnvironmental); len(env) > 0 {
		var props []cdx.Property
		for _, t := range env {
			props = append(props, cdx.Property{Name: "huggingface:environmental-impact", Value: t})
		}
		cons.EnvironmentalConsiderations = &cdx.MLModelCardEnvironmentalConsiderations{Properties: &props}
	}
	if *cons == (cdx.MLModelCardConsiderations{}) {
		return nil
	}
	return cons
}

func prefixed(p string, vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, p+v)
	}
	return out
}

// externalRefs links the Hugging Face page, the licence and the card.
func externalRefs(r *inspect.Report) *[]cdx.ExternalReference {
	var refs []cdx.ExternalReference
	if rp := r.Repository; rp != nil && rp.Source != "files" && inspect.IsHFName(rp.Name) {
		base := "https://huggingface.co/"
		if r.Subject == inspect.SubjectDataset {
			base += "datasets/"
		}
		refs = append(refs, cdx.ExternalReference{URL: base + rp.Name, Type: cdx.ERTypeDistribution, Comment: "Hugging Face repository"})
		if r.Card != nil {
			u := base + rp.Name + "/blob/"
			if rp.Revision != "" {
				u += rp.Revision
			} else {
				u += "main"
			}
			refs = append(refs, cdx.ExternalReference{URL: u + "/README.md", Type: cdx.ERTypeDocumentation, Comment: "model card"})
		}
	}
	if r.Card != nil && r.Card.LicenseLink != "" && validURL(r.Card.LicenseLink) {
		refs = append(refs, cdx.ExternalReference{URL: r.Card.LicenseLink, Type: cdx.ERTypeLicense})
	}
	if u := r.Model.URL; validURL(u) {
		refs = append(refs, cdx.ExternalReference{URL: u, Type: cdx.ERTypeWebsite})
	}
	if len(refs) == 0 {
		return nil
	}
	return &refs
}

func validURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// ancestors are the base models, as pedigree ancestors.
func ancestors(bases []inspect.Reference) *[]cdx.Component {
	var out []cdx.Component
	for _, bm := range bases {
		org, name := splitName(bm.Name)
		c := cdx.Component{Type: cdx.ComponentTypeMachineLearningModel, Group: org, Name: name, Version: bm.Version}
		if inspect.IsHFName(bm.Name) && bm.Source == "card" || strings.HasPrefix(bm.URL, "https://huggingface.co/") {
			c.PackageURL = HFPurl(bm.Name, "")
		}
		c.BOMRef = "base-model:" + bm.Name
		if bm.URL != "" && validURL(bm.URL) {
			c.ExternalReferences = &[]cdx.ExternalReference{{URL: bm.URL, Type: cdx.ERTypeDistribution}}
		}
		var props []cdx.Property
		if bm.Relation != "" {
			props = append(props, cdx.Property{Name: propPrefix + "base-model-relation", Value: bm.Relation})
		}
		props = append(props, cdx.Property{Name: propPrefix + "source", Value: bm.Source})
		c.Properties = &props
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil
	}
	return &out
}

// datasetComponent is a data component for a dataset the model names.
func datasetComponent(d inspect.Reference) cdx.Component {
	org, name := splitName(d.Name)
	c := cdx.Component{Type: cdx.ComponentTypeData, Group: org, Name: name, Version: d.Version, BOMRef: "dataset:" + d.Name}
	data := cdx.ComponentData{Type: cdx.ComponentDataTypeDataset, Name: d.Name}
	if org != "" {
		data.Governance = &cdx.DataGovernance{Owners: &[]cdx.ComponentDataGovernanceResponsibleParty{{Organization: &cdx.OrganizationalEntity{Name: org}}}}
	}
	c.Data = &[]cdx.ComponentData{data}
	if d.URL != "" && validURL(d.URL) {
		c.ExternalReferences = &[]cdx.ExternalReference{{URL: d.URL, Type: cdx.ERTypeDistribution}}
	}
	c.Properties = &[]cdx.Property{{Name: propPrefix + "source", Value: d.Source}}
	return c
}

// datasetData describes the subject of a dataset BOM.
func datasetData(r *inspect.Report, name string) cdx.ComponentData {
	d := cdx.ComponentData{Type: cdx.ComponentDataTypeDataset, Name: name}
	if r.Card != nil {
		d.Description = r.Card.Description
	}
	var files []string
	for _, f := range r.Files {
		if f.Path != "README.md" && !strings.HasPrefix(f.Path, ".") {
			files = append(files, f.Path)
		}
	}
	if len(files) > 0 {
		d.Contents = &cdx.ComponentDataContents{Properties: &[]cdx.Property{{Name: propPrefix + "files", Value: strings.Join(files, ",")}}}
	}
	if org, _ := splitName(name); org != "" {
		d.Governance = &cdx.DataGovernance{Owners: &[]cdx.ComponentDataGovernanceResponsibleParty{{Organization: &cdx.OrganizationalEntity{Name: org}}}}
	}
	return d
}

// fileComponent is one file of the subject.
func fileComponent(f inspect.File) cdx.Component {
	c := cdx.Component{Type: cdx.ComponentTypeFile, Name: f.Path, BOMRef: "file:" + f.Path}
	if f.SHA256 != "" {
		c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: f.SHA256}}
	}
	props := []cdx.Property{{Name: propPrefix + "size", Value: strconv.FormatInt(f.Size, 10)}}
	if f.Format != "" {
		props = append(props, cdx.Property{Name: propPrefix + "format", Value: string(f.Format)})
	}
	c.Properties = &props
	return c
}

func isSingleFile(r *inspect.Report) (*inspect.File, bool) {
	if len(r.Files) == 1 && r.Card == nil && r.Config == nil && len(r.Artifacts) == 1 && r.Artifacts[0].Path == r.Files[0].Path && r.Repository == nil {
		return &r.Files[0], true
	}
	return nil, false
}

// HFPurl is the package URL of a Hugging Face model:
// pkg:huggingface/ORG/NAME@REVISION.
func HFPurl(name, revision string) string {
	org, n := splitName(name)
	p := "pkg:huggingface/"
	if org != "" {
		p += purlEscape(org) + "/"
	}
	p += purlEscape(n)
	if revision != "" {
		p += "@" + purlEscape(strings.ToLower(revision))
	}
	return p
}

func purlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func splitName(s string) (org, name string) {
	if o, n, ok := strings.Cut(s, "/"); ok && inspect.IsHFName(s) {
		return o, n
	}
	return "", s
}

func ref(t cdx.ComponentType, name, purl string) string {
	if purl != "" {
		return purl
	}
	if t == cdx.ComponentTypeData {
		return "dataset:" + name
	}
	return "model:" + name
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func nonEmpty(vals ...string) []string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
