// Package savedmodel decodes TensorFlow SavedModel graphs (saved_model.pb)
// from untrusted bytes.
//
// Only a subset of TensorFlow's protos is declared (package tfpb): nodes,
// their ops and string/function attributes, and the function library.
// Frozen graphs can hold up to 2 GiB of constants, so Decode does not read
// the file whole: a protobuf wire walk (package protowalk) copies only the
// fields of that subset and skips everything else, tensor constants,
// shapes, signatures, the saver and the object graph, without reading it.
// The kept structure is capped (DefaultMaxBytes) and then unmarshalled.
package savedmodel

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mlsecops/mlsec/format/onnx/protowalk"
	"github.com/mlsecops/mlsec/format/savedmodel/tfpb"
	"github.com/mlsecops/mlsec/internal/regfile"
)

// Sentinel errors. Decode wraps them with detail.
var (
	// ErrMalformed means the input is not a well-formed SavedModel proto.
	ErrMalformed = errors.New("savedmodel: malformed protobuf")
	// ErrTooLarge means the input exceeds the size cap.
	ErrTooLarge = errors.New("savedmodel: too large")
)

// FileName is the graph file of a SavedModel directory.
const FileName = "saved_model.pb"

// MaxFileSize is the protobuf message limit (2 GiB - 1).
const MaxFileSize = 1<<31 - 1

// DefaultMaxBytes caps the graph structure held in memory.
const DefaultMaxBytes = 512 << 20

// maxRecursion bounds message nesting (attr values nest through func
// attributes and lists).
const maxRecursion = 100

// Message kinds of the wire walk.
const (
	kSavedModel = iota
	kMetaGraph
	kGraph
	kLibrary
	kFunction
	kNode
	kAttrEntry
	kAttr
	kList
	kNameAttr
)

// schema keeps the fields of tfpb's subset (TensorFlow field numbers) and
// skips all others.
func schema(k int, num protowire.Number) (protowalk.Action, int) {
	copyIf := func(nums ...protowire.Number) (protowalk.Action, int) {
		for _, n := range nums {
			if n == num {
				return protowalk.Copy, 0
			}
		}
		return protowalk.Skip, 0
	}
	descend := func(child int) (protowalk.Action, int) { return protowalk.Descend, child }
	switch k {
	case kSavedModel: // saved_model_schema_version 1, meta_graphs 2
		if num == 2 {
			return descend(kMetaGraph)
		}
		return copyIf(1)
	case kMetaGraph: // meta_info_def 1, graph_def 2
		if num == 2 {
			return descend(kGraph)
		}
		return copyIf(1)
	case kGraph: // node 1, library 2
		switch num {
		case 1:
			return descend(kNode)
		case 2:
			return descend(kLibrary)
		}
	case kLibrary: // function 1
		if num == 1 {
			return descend(kFunction)
		}
	case kFunction: // signature 1, node_def 3
		if num == 3 {
			return descend(kNode)
		}
		return copyIf(1)
	case kNode: // name 1, op 2, input 3, device 4, attr 5
		if num == 5 {
			return descend(kAttrEntry)
		}
		return copyIf(1, 2, 3, 4)
	case kAttrEntry: // map entry: key 1, value 2
		if num == 2 {
			return descend(kAttr)
		}
		return copyIf(1)
	case kAttr: // list 1, s 2, i 3, f 4, b 5, placeholder 9, func 10
		switch num {
		case 1:
			return descend(kList)
		case 10:
			return descend(kNameAttr)
		}
		return copyIf(2, 3, 4, 5, 9)
	case kList: // s 2, func 9
		if num == 9 {
			return descend(kNameAttr)
		}
		return copyIf(2)
	case kNameAttr: // name 1, attr 2
		if num == 2 {
			return descend(kAttrEntry)
		}
		return copyIf(1)
	}
	return protowalk.Skip, 0
}

// Decode reads the SavedModel behind r; maxBytes caps the structure kept
// in memory (zero means DefaultMaxBytes).
func Decode(r io.ReaderAt, size int64, maxBytes int64) (*tfpb.SavedModel, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if size > MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds the protobuf limit of %d", ErrTooLarge, size, int64(MaxFileSize))
	}
	res, err := protowalk.Compact(r, size, kSavedModel, schema, protowalk.Options{MaxBytes: maxBytes, MaxDepth: maxRecursion})
	switch {
	case errors.Is(err, protowalk.ErrTooLarge):
		return nil, fmt.Errorf("%w: %v", ErrTooLarge, err)
	case errors.Is(err, protowalk.ErrMalformed), errors.Is(err, protowalk.ErrTooDeep):
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	case err != nil:
		return nil, fmt.Errorf("savedmodel: %w", err)
	}
	sm := new(tfpb.SavedModel)
	uo := proto.UnmarshalOptions{DiscardUnknown: true, RecursionLimit: maxRecursion + 8}
	if err := uo.Unmarshal(res.Bytes, sm); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return sm, nil
}

// DecodeFile decodes the saved_model.pb in dir.
func DecodeFile(dir string, maxBytes int64) (*tfpb.SavedModel, error) {
	f, fi, err := regfile.Open(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("savedmodel: %w", err)
	}
	defer f.Close()
	return Decode(f, fi.Size(), maxBytes)
}

// Site says where a node sits.
type Site struct {
	// MetaGraph is the index of the MetaGraphDef; Tags are its tags.
	MetaGraph int
	Tags      []string
	// Function is the library function holding the node, "" for the
	// top-level graph.
	Function string
}

// String renders the site for messages, e.g. `function "f" of meta graph 0 [serve]`.
func (s Site) String() string {
	where := "top-level graph"
	if s.Function != "" {
		where = fmt.Sprintf("function %q", s.Function)
	}
	return fmt.Sprintf("%s of meta graph %d %v", where, s.MetaGraph, s.Tags)
}

// Walk calls fn for every node of every meta graph's graph and function
// library, in file order.
func Walk(sm *tfpb.SavedModel, fn func(Site, *tfpb.NodeDef)) {
	for i, mg := range sm.GetMetaGraphs() {
		site := Site{MetaGraph: i, Tags: mg.GetMetaInfoDef().GetTags()}
		g := mg.GetGraphDef()
		for _, n := range g.GetNode() {
			fn(site, n)
		}
		for _, f := range g.GetLibrary().GetFunction() {
			fs := site
			fs.Function = f.GetSignature().GetName()
			for _, n := range f.GetNodeDef() {
				fn(fs, n)
			}
		}
	}
}

// StringAttrs returns n's string-valued attributes (including string
// lists) by attribute name, sorted by name.
func StringAttrs(n *tfpb.NodeDef) []Attr {
	var out []Attr
	for k, v := range n.GetAttr() {
		if s := v.GetS(); s != nil {
			out = append(out, Attr{k, string(s)})
		}
		for _, s := range v.GetList().GetS() {
			out = append(out, Attr{k, string(s)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Value < out[j].Value
	})
	return out
}

// Attr is one string attribute value.
type Attr struct{ Name, Value string }
