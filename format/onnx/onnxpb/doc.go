// Package onnxpb holds the Go types generated from ONNX's onnx.proto
// (Debian python3-onnx 1.12.0). Fields added by later ONNX releases are kept
// as unknown fields by the protobuf runtime.
package onnxpb

//go:generate sh gen.sh
