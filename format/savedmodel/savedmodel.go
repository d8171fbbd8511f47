// Package savedmodel decodes TensorFlow SavedModel graphs (saved_model.pb)
// from untrusted bytes.
//
// Only a subset of TensorFlow's protos is declared (package tfpb): nodes,
// their ops and string/function attributes, and the function library.
// Everything else, tensor constants included, is discarded while decoding.
// The file is read into memory whole, up to a cap (DefaultMaxBytes, never
// more than the 2 GiB protobuf limit): SavedModels keep their weights in
// variables/ checkpoint files, so saved_model.pb itself holds the graph and
// only the occasional frozen constant.
package savedmodel

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/mlsecops/mlsec/format/savedmodel/tfpb"
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

// DefaultMaxBytes caps the saved_model.pb read into memory.
const DefaultMaxBytes = 512 << 20

// maxRecursion bounds message nesting (attr values nest through func
// attributes and lists).
const maxRecursion = 100

// Decode reads the SavedModel behind r; maxBytes caps the bytes read
// (zero means DefaultMaxBytes).
func Decode(r io.ReaderAt, size int64, maxBytes int64) (*tfpb.SavedModel, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	maxBytes = min(maxBytes, MaxFileSize)
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrMalformed)
	}
	if size > maxBytes {
		return nil, fmt.Errorf("%w: %d bytes exceeds the cap of %d", ErrTooLarge, size, maxBytes)
	}
	b := make([]byte, size)
	if n, err := r.ReadAt(b, 0); int64(n) < size {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: unexpected end of input", ErrMalformed)
		}
		return nil, fmt.Errorf("savedmodel: read: %w", err)
	}
	sm := new(tfpb.SavedModel)
	uo := proto.UnmarshalOptions{DiscardUnknown: true, RecursionLimit: maxRecursion}
	if err := uo.Unmarshal(b, sm); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return sm, nil
}

// DecodeFile decodes the saved_model.pb in dir.
func DecodeFile(dir string, maxBytes int64) (*tfpb.SavedModel, error) {
	f, err := os.Open(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("savedmodel: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("savedmodel: %w", err)
	}
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
