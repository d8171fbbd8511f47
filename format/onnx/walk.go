package onnx

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mlsecops/mlsec/format/onnx/onnxpb"
)

// Visitor receives what Walk finds. Nil callbacks are skipped. scope names
// where the item sits, e.g. "graph main", "graph main/node loop1.body" or
// "function custom.ns:Gelu".
type Visitor struct {
	// Node is called for every node of every graph and function.
	Node func(scope string, n *onnxpb.NodeProto)
	// Tensor is called for every tensor: initializers, sparse initializers
	// and tensor-valued attributes.
	Tensor func(scope string, t *onnxpb.TensorProto)
}

// Walk visits the main graph, the training-info graphs, every model-local
// function and every subgraph held in GRAPH/GRAPHS attributes (If, Loop,
// Scan bodies) down to maxDepth levels of graph nesting (zero means
// DefaultMaxDepth). It returns an error wrapping ErrTooDeep when nesting
// goes deeper; everything above the cap has been visited then.
func Walk(m *onnxpb.ModelProto, maxDepth int, v Visitor) error {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	w := &graphWalker{v: v, max: maxDepth}
	if g := m.GetGraph(); g != nil {
		w.graph("graph "+name(g.GetName(), "main"), g, 0)
	}
	for i, ti := range m.GetTrainingInfo() {
		if g := ti.GetInitialization(); g != nil {
			w.graph(fmt.Sprintf("training_info[%d].initialization", i), g, 0)
		}
		if g := ti.GetAlgorithm(); g != nil {
			w.graph(fmt.Sprintf("training_info[%d].algorithm", i), g, 0)
		}
	}
	for _, f := range m.GetFunctions() {
		scope := "function " + FunctionKey(f.GetDomain(), f.GetName())
		for _, n := range f.GetNode() {
			w.node(scope, n, 0)
		}
	}
	return w.err
}

// FunctionKey is the "domain:name" key of an operator or function.
func FunctionKey(domain, name string) string { return domain + ":" + name }

func name(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

type graphWalker struct {
	v   Visitor
	max int
	err error
}

func (w *graphWalker) graph(scope string, g *onnxpb.GraphProto, depth int) {
	if depth > w.max {
		if w.err == nil {
			w.err = fmt.Errorf("%w: graphs nested more than %d deep at %s", ErrTooDeep, w.max, scope)
		}
		return
	}
	for _, t := range g.GetInitializer() {
		w.tensor(scope, t)
	}
	for _, s := range g.GetSparseInitializer() {
		w.tensor(scope, s.GetValues())
		w.tensor(scope, s.GetIndices())
	}
	for _, n := range g.GetNode() {
		w.node(scope, n, depth)
	}
}

func (w *graphWalker) node(scope string, n *onnxpb.NodeProto, depth int) {
	if w.v.Node != nil {
		w.v.Node(scope, n)
	}
	for _, a := range n.GetAttribute() {
		sub := scope + "/node " + name(n.GetName(), n.GetOpType()) + "." + a.GetName()
		if a.T != nil {
			w.tensor(sub, a.T)
		}
		for _, t := range a.GetTensors() {
			w.tensor(sub, t)
		}
		for _, s := range append([]*onnxpb.SparseTensorProto{a.GetSparseTensor()}, a.GetSparseTensors()...) {
			if s != nil {
				w.tensor(sub, s.GetValues())
				w.tensor(sub, s.GetIndices())
			}
		}
		if a.G != nil {
			w.graph(sub, a.G, depth+1)
		}
		for i, g := range a.GetGraphs() {
			w.graph(sub+"["+strconv.Itoa(i)+"]", g, depth+1)
		}
	}
}

func (w *graphWalker) tensor(scope string, t *onnxpb.TensorProto) {
	if t != nil && w.v.Tensor != nil {
		w.v.Tensor(scope, t)
	}
}

// ExternalData is a tensor's external_data entry, parsed.
type ExternalData struct {
	// Location is the file path relative to the model's directory.
	Location string
	// Offset and Length are -1 when absent.
	Offset, Length int64
	// Problems lists malformed entries (unparsable or negative numbers,
	// duplicate keys, a missing location).
	Problems []string
}

// External returns t's external data reference, or false when t keeps its
// data inline (no EXTERNAL data_location and no external_data entries).
func External(t *onnxpb.TensorProto) (ExternalData, bool) {
	if t.GetDataLocation() != onnxpb.TensorProto_EXTERNAL && len(t.GetExternalData()) == 0 {
		return ExternalData{}, false
	}
	e := ExternalData{Offset: -1, Length: -1}
	seen := map[string]bool{}
	for _, kv := range t.GetExternalData() {
		k := kv.GetKey()
		if seen[k] {
			e.Problems = append(e.Problems, "duplicate key "+strconv.Quote(k))
		}
		seen[k] = true
		switch k {
		case "location":
			e.Location = kv.GetValue()
		case "offset", "length":
			v, err := strconv.ParseInt(strings.TrimSpace(kv.GetValue()), 10, 64)
			if err != nil || v < 0 {
				e.Problems = append(e.Problems, fmt.Sprintf("%s %q is not a non-negative integer", k, kv.GetValue()))
				continue
			}
			if k == "offset" {
				e.Offset = v
			} else {
				e.Length = v
			}
		}
	}
	if !seen["location"] || e.Location == "" {
		e.Problems = append(e.Problems, "no location")
	}
	if t.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
		e.Problems = append(e.Problems, "external_data entries without data_location EXTERNAL")
	}
	return e, true
}
