package scorecard

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/format"
)

// IsWeights reports whether the detected format k holds model weights (or
// code that loads as a model): every recognised model format, not archives,
// configuration, tokenizer or inert files.
func IsWeights(k format.Kind) bool { return weights(k) }

// UnsignedFile is a model file that no signature of the evidence layout
// covers.
type UnsignedFile struct {
	Path   string      `json:"path"`
	Format format.Kind `json:"format"`
	// Looked is where its own signature was looked for.
	Looked string `json:"looked"`
}

// Unsigned returns the files among paths that are model files by content
// (format detection, never the name) and are covered by no signature: a
// file is covered by its own signature where the evidence layout puts it
// (FILE.sig) or by the signature of a directory that contains it
// (DIR/model.sig), for every directory from the file's up to root.
// Directories, symbolic links and non-model files (signatures and claims
// among them) are skipped.
func Unsigned(paths []string, root string) ([]UnsignedFile, error) {
	rootAbs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("unsigned: %w", err)
	}
	var out []UnsignedFile
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, fmt.Errorf("unsigned: %w", err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		k, err := detect(p, fi.Size())
		if err != nil {
			return nil, fmt.Errorf("unsigned: %s: %w", p, err)
		}
		if !weights(k) {
			continue
		}
		ev, err := evidence.Locate(p)
		if err != nil {
			return nil, fmt.Errorf("unsigned: %w", err)
		}
		if exists(ev.Signature) || dirSigned(p, rootAbs) {
			continue
		}
		out = append(out, UnsignedFile{Path: p, Format: k, Looked: ev.Signature})
	}
	return out, nil
}

func detect(p string, size int64) (format.Kind, error) {
	f, err := os.Open(p)
	if err != nil {
		return format.Unknown, err
	}
	defer f.Close()
	return format.DetectFile(p, f, size)
}

// dirSigned reports whether a directory between p's and root (inclusive)
// carries a directory signature.
func dirSigned(p, root string) bool {
	abs, err := filepath.Abs(p)
	if err != nil {
		return false
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		if exists(evidence.For(d, true).Signature) {
			return true
		}
		if d == root || !strings.HasPrefix(d, root+string(filepath.Separator)) {
			return false
		}
	}
}

func exists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
}
