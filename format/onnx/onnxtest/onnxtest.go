// Package onnxtest gives tests the real ONNX models that Debian ships.
package onnxtest

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// DebianModels lists, sorted, the .onnx files installed by Debian's
// libonnx-testdata and python3-onnx, skipping the test when fewer than 1000
// are found (the packages are not installed).
func DebianModels(tb testing.TB) []string {
	tb.Helper()
	var files []string
	for _, root := range []string{"/usr/share/libonnx-testdata", "/usr/lib/python3/dist-packages/onnx/examples"} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".onnx") {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) < 1000 {
		tb.Skipf("Debian libonnx-testdata and python3-onnx are not installed (found %d models); apt-get install libonnx-testdata python3-onnx", len(files))
	}
	sort.Strings(files)
	return files
}
