#!/bin/sh
# Regenerates savedmodel.pb.go from savedmodel.proto (a subset of
# TensorFlow's protos with TensorFlow's field numbers, written for mlsec).
# Needs protoc (Debian protobuf-compiler) and
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
set -eu
cd "$(dirname "$0")"
protoc --go_out=. --go_opt=paths=source_relative \
	--go_opt=Msavedmodel.proto=github.com/mlsecops/mlsec/format/savedmodel/tfpb \
	savedmodel.proto
