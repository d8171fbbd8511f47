// Package tfpb holds Go types generated from savedmodel.proto, a minimal
// subset of TensorFlow's SavedModel protos with TensorFlow's field numbers.
package tfpb

//go:generate sh gen.sh
