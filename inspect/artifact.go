package inspect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/gguf"
	"github.com/mlsecops/mlsec/format/hdf5"
	"github.com/mlsecops/mlsec/format/keras"
	"github.com/mlsecops/mlsec/format/onnx"
	"github.com/mlsecops/mlsec/format/pickle"
	"github.com/mlsecops/mlsec/format/safetensors"
	mzip "github.com/mlsecops/mlsec/format/zip"
)

// maxPickle caps the bytes of a pickle member (data.pkl) read for framework
// detection.
const maxPickle = 64 << 20

// Artifact holds the facts of one model file.
type Artifact struct {
	Path   string      `json:"path"`
	Format format.Kind `json:"format"`
	Size   int64       `json:"size"`
	// Framework is the library the file belongs to: "pytorch",
	// "transformers", "llama.cpp", "onnx", "keras", "scikit-learn", ...
	Framework     string         `json:"framework,omitempty"`
	Name          string         `json:"name,omitempty"`
	Architecture  string         `json:"architecture,omitempty"`
	Params        uint64         `json:"params,omitempty"`
	Tensors       int            `json:"tensors,omitempty"`
	DTypes        []string       `json:"dtypes,omitempty"`
	Quantization  string         `json:"quantization,omitempty"`
	ContextLength uint64         `json:"context_length,omitempty"`
	Tokenizer     string         `json:"tokenizer,omitempty"`
	ChatTemplates []ChatTemplate `json:"chat_templates,omitempty"`
	License       string         `json:"license,omitempty"`
	BaseModels    []Reference    `json:"base_models,omitempty"`
	Datasets      []Reference    `json:"datasets,omitempty"`
	// Metadata is a format's free-form string metadata (safetensors
	// __metadata__, ONNX metadata_props, selected GGUF general.* keys).
	Metadata map[string]string `json:"metadata,omitempty"`
	ONNX     *ONNXFacts        `json:"onnx,omitempty"`
	Keras    *KerasFacts       `json:"keras,omitempty"`
	// Imports are the distinct modules a pickle-based file imports.
	Imports []string `json:"imports,omitempty"`
	// Problems counts format violations the parser reported (the scan
	// command judges them).
	Problems int `json:"problems,omitempty"`
}

// ONNXFacts are an ONNX model's identity and interface.
type ONNXFacts struct {
	IRVersion       int64    `json:"ir_version"`
	Producer        string   `json:"producer,omitempty"`
	ProducerVersion string   `json:"producer_version,omitempty"`
	Domain          string   `json:"domain,omitempty"`
	ModelVersion    int64    `json:"model_version,omitempty"`
	Opsets          []Opset  `json:"opsets"`
	Domains         []string `json:"domains"`
	Nodes           int      `json:"nodes"`
	Operators       []string `json:"operators,omitempty"`
	Inputs          []IO     `json:"inputs,omitempty"`
	Outputs         []IO     `json:"outputs,omitempty"`
}

// Opset is one imported operator set.
type Opset struct {
	Domain  string `json:"domain"`
	Version int64  `json:"version"`
}

// KerasFacts describe a Keras model configuration.
type KerasFacts struct {
	Version string `json:"version,omitempty"`
	// Class is the model class (Sequential, Functional, ...).
	Class string `json:"class,omitempty"`
	Name  string `json:"name,omitempty"`
	// Layers are the layer class names in configuration order.
	Layers []string `json:"layers"`
}

// modelKinds are the formats reported as artifacts.
var modelKinds = map[format.Kind]string{
	format.Safetensors:   "safetensors",
	format.GGUF:          "llama.cpp",
	format.ONNX:          "onnx",
	format.Keras:         "keras",
	format.HDF5:          "",
	format.PyTorchZip:    "pytorch",
	format.TorchScript:   "pytorch",
	format.PyTorchLegacy: "pytorch",
	format.PyTorchTar:    "pytorch",
	format.Pickle:        "",
	format.Joblib:        "joblib",
	format.NumPy:         "numpy",
	format.NumPyZip:      "numpy",
	format.TFLite:        "tensorflow-lite",
	format.SavedModel:    "tensorflow",
}

// inspectFile detects the format of the file at full and, for model formats,
// returns its facts. f.Format is set for every recognised format.
func inspectFile(ctx context.Context, full string, f *File) (*Artifact, error) {
	fh, err := os.Open(full)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	kind, err := format.Detect(fh, size)
	if err != nil {
		return nil, err
	}
	if kind != format.Unknown {
		f.Format = kind
	}
	fw, ok := modelKinds[kind]
	if !ok {
		return nil, nil
	}
	a := &Artifact{Path: f.Path, Format: kind, Size: size, Framework: fw}
	switch kind {
	case format.Safetensors:
		err = a.safetensors(fh, size)
	case format.GGUF:
		err = a.gguf(fh, size)
	case format.ONNX:
		err = a.onnx(fh, size)
	case format.Keras:
		err = a.kerasArchive(fh, size)
	case format.HDF5:
		err = a.hdf5(fh, size)
	case format.PyTorchZip, format.TorchScript:
		err = a.torchZip(ctx, fh, size)
	case format.Pickle, format.PyTorchLegacy:
		err = a.pickle(ctx, fh, size, false)
	}
	if err != nil {
		return a, fmt.Errorf("%s: %w", kind, err)
	}
	return a, nil
}

func (a *Artifact) safetensors(r io.ReaderAt, size int64) error {
	sf, err := safetensors.Parse(r, size)
	if err != nil {
		return err
	}
	a.Problems = len(sf.Problems)
	a.Tensors = len(sf.Tensors)
	a.Params = sf.Params
	a.DTypes = sf.DTypes()
	if len(sf.Metadata) > 0 {
		a.Metadata = sf.Metadata
		switch sf.Metadata["format"] {
		case "pt":
			a.Framework = "pytorch"
		case "tf":
			a.Framework = "tensorflow"
		case "flax":
			a.Framework = "flax"
		case "mlx":
			a.Framework = "mlx"
		case "np":
			a.Framework = "numpy"
		}
	}
	return nil
}

// ggufKeep are the general.* keys copied into Artifact.Metadata.
var ggufKeep = []string{
	"general.name", "general.author", "general.version", "general.organization",
	"general.basename", "general.finetune", "general.description", "general.quantized_by",
	"general.size_label", "general.license.name", "general.license.link", "general.url",
	"general.doi", "general.uuid", "general.repo_url", "general.source.url",
	"general.source.repo_url", "general.type",
}

func (a *Artifact) gguf(r io.ReaderAt, size int64) error {
	gf, err := gguf.Parse(r, size)
	if err != nil {
		return err
	}
	a.Problems = len(gf.Problems)
	a.Architecture = gf.Architecture()
	a.Tensors = len(gf.Tensors)
	a.Params = gf.ParamCount()
	for t := range gf.TensorTypes() {
		a.DTypes = append(a.DTypes, t)
	}
	sort.Strings(a.DTypes)
	if v, name, ok := gf.FileType(); ok {
		a.Quantization = name
		if name == "" {
			a.Quantization = "file_type " + strconv.FormatUint(v, 10)
		}
	}
	if n, ok := gf.ContextLength(); ok {
		a.ContextLength = n
	}
	a.Tokenizer, _ = gf.String("tokenizer.ggml.model")
	a.Name, _ = gf.String("general.name")
	a.License, _ = gf.String("general.license")
	for _, t := range gf.ChatTemplates() {
		a.ChatTemplates = append(a.ChatTemplates, templateOf(t.Name, a.Path+":"+t.Key, t.Source))
	}
	g := gf.General()
	for _, k := range ggufKeep {
		if s, ok := g[k].(string); ok && s != "" {
			if a.Metadata == nil {
				a.Metadata = map[string]string{}
			}
			a.Metadata[k] = s
		}
	}
	a.BaseModels = ggufRefs(gf, "general.base_model", SubjectModel)
	a.Datasets = ggufRefs(gf, "general.dataset", SubjectDataset)
	return nil
}

// ggufRefs reads prefix.count and prefix.N.{name,organization,repo_url,version}.
func ggufRefs(gf *gguf.File, prefix, kind string) []Reference {
	n, ok := gf.Uint(prefix + ".count")
	if !ok {
		return nil
	}
	var out []Reference
	for i := uint64(0); i < n && i < 256; i++ {
		p := fmt.Sprintf("%s.%d.", prefix, i)
		name, _ := gf.String(p + "name")
		org, _ := gf.String(p + "organization")
		url, _ := gf.String(p + "repo_url")
		ver, _ := gf.String(p + "version")
		if name == "" && url == "" {
			continue
		}
		ref := Reference{Name: name, URL: url, Version: ver, Source: "gguf"}
		// llama.cpp writes the Hugging Face repo as repo_url; prefer its
		// ORG/NAME as the reference name.
		if id, ok := strings.CutPrefix(url, "https://huggingface.co/"); ok {
			id = strings.TrimPrefix(id, "datasets/")
			if IsHFName(id) {
				ref.Name = id
			}
		} else if org != "" && name != "" && IsHFName(org+"/"+name) {
			ref.Name = org + "/" + name
			ref.URL = hfURL(kind, ref.Name)
		}
		out = append(out, ref)
	}
	return out
}

func (a *Artifact) onnx(r io.ReaderAt, size int64) error {
	m, err := onnx.Decode(r, size, onnx.Options{})
	if err != nil {
		return err
	}
	p := m.Proto
	o := &ONNXFacts{
		IRVersion: p.GetIrVersion(), Producer: p.GetProducerName(), ProducerVersion: p.GetProducerVersion(),
		Domain: p.GetDomain(), ModelVersion: p.GetModelVersion(), Opsets: []Opset{}, Domains: []string{},
	}
	domains := map[string]bool{}
	for _, op := range p.GetOpsetImport() {
		d := op.GetDomain()
		if d == "" {
			d = "ai.onnx"
		}
		o.Opsets = append(o.Opsets, Opset{Domain: d, Version: op.GetVersion()})
		domains[d] = true
	}
	ops := map[string]bool{}
	var params uint64
	tensors := 0
	dtypes := map[string]bool{}
	_ = onnx.Walk(p, 0, onnx.Visitor{
		Node: func(_ string, n *onnxpbNode) {
			o.Nodes++
			d := n.GetDomain()
			if d == "" {
				d = "ai.onnx"
			}
			domains[d] = true
			ops[d+":"+n.GetOpType()] = true
		},
	})
	for _, t := range p.GetGraph().GetInitializer() {
		tensors++
		n := uint64(1)
		for _, d := range t.GetDims() {
			if d > 0 {
				n *= uint64(d)
			} else {
				n = 0
			}
		}
		params += n
		dtypes[onnxElemType(t.GetDataType())] = true
	}
	for d := range domains {
		o.Domains = append(o.Domains, d)
	}
	sort.Strings(o.Domains)
	for op := range ops {
		o.Operators = append(o.Operators, op)
	}
	sort.Strings(o.Operators)
	sort.Slice(o.Opsets, func(i, j int) bool { return o.Opsets[i].Domain < o.Opsets[j].Domain })
	o.Inputs = onnxIO(p.GetGraph().GetInput(), p.GetGraph().GetInitializer())
	o.Outputs = onnxIO(p.GetGraph().GetOutput(), nil)
	for _, kv := range p.GetMetadataProps() {
		if a.Metadata == nil {
			a.Metadata = map[string]string{}
		}
		a.Metadata[kv.GetKey()] = kv.GetValue()
	}
	a.Tensors, a.Params = tensors, params
	for d := range dtypes {
		a.DTypes = append(a.DTypes, d)
	}
	sort.Strings(a.DTypes)
	a.Name = p.GetGraph().GetName()
	if o.Producer != "" {
		a.Framework = "onnx (" + o.Producer + ")"
	}
	a.ONNX = o
	return nil
}

func (a *Artifact) kerasArchive(r io.ReaderAt, size int64) error {
	ar, err := keras.OpenArchive(r, size, keras.Options{})
	if err != nil {
		return err
	}
	k := kerasConfig(ar.Config)
	k.Version = ar.KerasVersion
	a.Keras = k
	a.Name = k.Name
	a.Architecture = k.Class
	return nil
}

func (a *Artifact) hdf5(r io.ReaderAt, size int64) error {
	root, err := hdf5.ReadRoot(r, size, hdf5.Options{})
	if err != nil {
		return err
	}
	at, ok := root.Attr("model_config")
	if !ok || len(at.Strings) == 0 {
		a.Framework = "hdf5"
		return nil
	}
	a.Format = format.HDF5
	a.Framework = "keras"
	k := kerasConfig([]byte(at.Strings[0]))
	if v, ok := root.Attr("keras_version"); ok && len(v.Strings) > 0 {
		k.Version = v.Strings[0]
	}
	a.Keras = k
	a.Name = k.Name
	a.Architecture = k.Class
	return nil
}

// kerasConfig reads the model class and layer classes of a Keras model
// configuration. The configuration was already bounded by its reader.
func kerasConfig(b []byte) *KerasFacts {
	type layer struct {
		ClassName string          `json:"class_name"`
		Config    json.RawMessage `json:"config"`
	}
	var top struct {
		ClassName string `json:"class_name"`
		Config    struct {
			Name   string  `json:"name"`
			Layers []layer `json:"layers"`
		} `json:"config"`
	}
	k := &KerasFacts{Layers: []string{}}
	if json.Unmarshal(b, &top) != nil {
		return k
	}
	k.Class, k.Name = top.ClassName, top.Config.Name
	for _, l := range top.Config.Layers {
		k.Layers = append(k.Layers, l.ClassName)
	}
	return k
}

// torchZip finds the archive's data.pkl and reads its imports.
func (a *Artifact) torchZip(ctx context.Context, r io.ReaderAt, size int64) error {
	z, err := mzip.NewReader(r, size, mzip.Options{})
	if err != nil {
		return err
	}
	for _, e := range z.Entries {
		if !strings.HasSuffix(e.Name, "/data.pkl") && e.Name != "data.pkl" {
			continue
		}
		if e.UncompressedSize > maxPickle {
			return fmt.Errorf("%s larger than %d bytes", e.Name, maxPickle)
		}
		rc, err := z.Open(e, &mzip.Budget{MaxMember: maxPickle, MaxTotal: maxPickle})
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxPickle))
		rc.Close()
		if err != nil {
			return err
		}
		return a.pickle(ctx, bytes.NewReader(b), int64(len(b)), false)
	}
	return nil
}

// pickle records the modules a pickle stream imports and the framework they
// belong to.
func (a *Artifact) pickle(ctx context.Context, r io.ReaderAt, size int64, joblib bool) error {
	an, err := pickle.Analyze(ctx, r, size, pickle.Options{Joblib: joblib})
	if err != nil && an == nil {
		return err
	}
	mods := map[string]bool{}
	for _, im := range an.Imports {
		if im.Module != "" {
			mods[im.Module] = true
		}
	}
	for m := range mods {
		a.Imports = append(a.Imports, m)
	}
	sort.Strings(a.Imports)
	// The most specific library imported names the framework.
	best := len(frameworkRank)
	for _, m := range a.Imports {
		top, _, _ := strings.Cut(m, ".")
		for i, fw := range frameworkRank {
			if top == fw[0] && i < best {
				best = i
			}
		}
	}
	if best < len(frameworkRank) && (a.Framework == "" || a.Framework == "pytorch") {
		a.Framework = frameworkRank[best][1]
	}
	return nil
}

// frameworkRank maps top-level Python modules to frameworks, most specific
// first.
var frameworkRank = [][2]string{
	{"torch", "pytorch"}, {"sklearn", "scikit-learn"}, {"xgboost", "xgboost"},
	{"lightgbm", "lightgbm"}, {"catboost", "catboost"}, {"tensorflow", "tensorflow"},
	{"keras", "keras"}, {"transformers", "transformers"}, {"joblib", "joblib"}, {"numpy", "numpy"},
}

// templateOf hashes a chat template.
func templateOf(name, source, src string) ChatTemplate {
	sum := sha256.Sum256([]byte(src))
	return ChatTemplate{Name: name, Source: source, SHA256: hex.EncodeToString(sum[:]), Length: len(src)}
}
