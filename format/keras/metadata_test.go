package keras

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mlsecops/mlsec/format/internal/fuzzseed"
	"github.com/mlsecops/mlsec/internal/testutil/golden"
)

var update = flag.Bool("update", false, "rewrite generated fixtures")

// metadataPB encodes a SavedMetadata message as tf.keras writes it: one
// SavedObject (node_id 2, node_path 3, identifier 4, metadata 5, version 6)
// per Keras object.
func metadataPB(objs []MetadataObject) []byte {
	var out []byte
	for _, o := range objs {
		var b []byte
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(o.NodeID))
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, o.NodePath)
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, o.Identifier)
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, o.Metadata)
		// VersionDef {producer: 1, min_consumer: 1}
		b = protowire.AppendTag(b, 6, protowire.BytesType)
		b = protowire.AppendBytes(b, []byte{0x08, 0x01, 0x10, 0x01})
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, b)
	}
	return out
}

// The metadata strings follow tf.keras 2.x's json_utils encoding: tuples
// become {"class_name": "__tuple__", "items": [...]}.
const (
	metaDense  = `{"name": "dense", "trainable": true, "expects_training_arg": false, "dtype": "float32", "batch_input_shape": {"class_name": "__tuple__", "items": [null, 4]}, "stateful": false, "must_restore_from_config": false, "class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 2, "activation": "relu", "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}}}`
	metaLambda = `{"name": "lambda", "trainable": true, "expects_training_arg": false, "dtype": "float32", "batch_input_shape": null, "stateful": false, "must_restore_from_config": false, "class_name": "Lambda", "config": {"name": "lambda", "trainable": true, "dtype": "float32", "function": {"class_name": "__tuple__", "items": ["4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMIAAAAfABkARQAUwApAk7pAgAAAKkAKQHaAXhyAQAAAHIBAAAA+gVsYW1iZGEBAAAA8wAAAAA=", null, null]}, "function_type": "lambda", "module": "__main__", "output_shape": null, "output_shape_type": "raw", "output_shape_module": null, "arguments": {}}}`
)

func metadataFixtures() map[string][]byte {
	return map[string][]byte{
		"keras_metadata_clean.pb": metadataPB([]MetadataObject{
			{NodeID: 1, NodePath: "root.layer_with_weights-0", Identifier: "_tf_keras_layer", Metadata: []byte(metaDense)},
		}),
		"keras_metadata_lambda.pb": metadataPB([]MetadataObject{
			{NodeID: 1, NodePath: "root.layer_with_weights-0", Identifier: "_tf_keras_layer", Metadata: []byte(metaDense)},
			{NodeID: 2, NodePath: "root.layer-1", Identifier: "_tf_keras_layer", Metadata: []byte(metaLambda)},
		}),
	}
}

// TestMetadataFixtures checks (or with -update writes) the generated
// keras_metadata.pb fixtures.
func TestMetadataFixtures(t *testing.T) {
	for name, b := range metadataFixtures() {
		golden.File(t, filepath.Join("testdata", name), b, *update)
	}
}

func TestReadMetadata(t *testing.T) {
	b, err := os.ReadFile("testdata/keras_metadata_lambda.pb")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := ReadMetadata(bytes.NewReader(b), int64(len(b)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	var got []brief
	for _, o := range objs {
		paths = append(paths, o.NodePath)
		is, err := Analyze(o.Metadata, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, briefs(is)...)
	}
	if diff := cmp.Diff([]string{"root.layer_with_weights-0", "root.layer-1"}, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	// The Lambda's code tuple is a {"class_name": "__tuple__"} object here.
	if diff := cmp.Diff([]brief{{Lambda, "Lambda"}}, got); diff != "" {
		t.Errorf("issues (-want +got):\n%s", diff)
	}
}

func TestReadMetadataErrors(t *testing.T) {
	good, err := os.ReadFile("testdata/keras_metadata_clean.pb")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    []byte
		opt  Options
		want error
	}{
		{"truncated", good[:len(good)-3], Options{}, ErrFormat},
		{"bad tag", []byte{0x00}, Options{}, ErrFormat},
		{"over cap", good, Options{MaxBytes: 8}, ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadMetadata(bytes.NewReader(tt.b), int64(len(tt.b)), tt.opt)
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzMetadata(f *testing.F) {
	fuzzseed.Files(f, "testdata/*.pb")
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := ReadMetadata(bytes.NewReader(b), int64(len(b)), Options{MaxBytes: 1 << 20})
		if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrLimit) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		for _, o := range objs {
			Analyze(o.Metadata, Options{MaxBytes: 1 << 20})
		}
	})
}
