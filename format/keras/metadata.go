package keras

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// MetadataFileName is the file beside saved_model.pb in which tf.keras
// (TensorFlow 2.5 and later, Keras 2 "tf" save format) records the JSON
// configuration of every Keras object. Loading the directory with
// tf.keras.models.load_model deserializes those configurations, Lambda
// layers included.
const MetadataFileName = "keras_metadata.pb"

// MaxMetadataObjects caps the objects ReadMetadata returns.
const MaxMetadataObjects = 1 << 20

// MetadataObject is one Keras object of a keras_metadata.pb file
// (message SavedObject of tf.keras's saved_metadata.proto).
type MetadataObject struct {
	// NodeID is the object's node in the SavedModel object graph.
	NodeID int64
	// NodePath is the object's path from the root, e.g. "root.layer-1".
	NodePath string
	// Identifier tells the loader what the object is, e.g. "_tf_keras_layer".
	Identifier string
	// Metadata is the object's JSON configuration.
	Metadata []byte
}

// ReadMetadata decodes a keras_metadata.pb (message SavedMetadata: repeated
// SavedObject nodes = 1) of size bytes behind r. The file is read whole,
// at most opt.MaxBytes; unknown fields are skipped.
func ReadMetadata(r io.ReaderAt, size int64, opt Options) ([]MetadataObject, error) {
	opt = opt.withDefaults()
	if size < 0 || size > opt.MaxBytes {
		return nil, fmt.Errorf("%w: %s of %d bytes exceeds the %d-byte cap", ErrLimit, MetadataFileName, size, opt.MaxBytes)
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && !(err == io.EOF && size == 0) {
		return nil, fmt.Errorf("%w: read %s: %v", ErrFormat, MetadataFileName, err)
	}
	var objs []MetadataObject
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return objs, fmt.Errorf("%w: %s: %v", ErrFormat, MetadataFileName, protowire.ParseError(n))
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return objs, fmt.Errorf("%w: %s: %v", ErrFormat, MetadataFileName, protowire.ParseError(n))
			}
			b = b[n:]
			if len(objs) >= MaxMetadataObjects {
				return objs, fmt.Errorf("%w: more than %d objects in %s", ErrLimit, MaxMetadataObjects, MetadataFileName)
			}
			o, err := savedObject(v)
			if err != nil {
				return objs, err
			}
			objs = append(objs, o)
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return objs, fmt.Errorf("%w: %s: %v", ErrFormat, MetadataFileName, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return objs, nil
}

// savedObject decodes one SavedObject: node_id = 2, node_path = 3,
// identifier = 4, metadata = 5.
func savedObject(b []byte) (MetadataObject, error) {
	var o MetadataObject
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return o, fmt.Errorf("%w: %s object: %v", ErrFormat, MetadataFileName, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 2 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return o, fmt.Errorf("%w: %s object: %v", ErrFormat, MetadataFileName, protowire.ParseError(n))
			}
			o.NodeID = int64(int32(v))
			b = b[n:]
		case (num == 3 || num == 4 || num == 5) && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return o, fmt.Errorf("%w: %s object: %v", ErrFormat, MetadataFileName, protowire.ParseError(n))
			}
			switch num {
			case 3:
				o.NodePath = string(v)
			case 4:
				o.Identifier = string(v)
			case 5:
				o.Metadata = v
			}
			b = b[n:]
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return o, fmt.Errorf("%w: %s object: %v", ErrFormat, MetadataFileName, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return o, nil
}
