#!/bin/sh
# Regenerates onnx.pb.go from onnx.proto (copied verbatim from Debian's
# python3-onnx 1.12.0, /usr/lib/python3/dist-packages/onnx/onnx.proto).
# Needs protoc (Debian protobuf-compiler) and
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
set -eu
cd "$(dirname "$0")"
protoc --go_out=. --go_opt=paths=source_relative \
	--go_opt=Monnx.proto=github.com/mlsecops/mlsec/format/onnx/onnxpb \
	onnx.proto
