// Package transport moves ML artifacts between machines as checked
// hand-offs: what travels is a model together with the evidence the
// evidence layout keeps beside it (its OMS signature and its claims file
// with provenance, AI-BOM and VSA statements), and whatever arrives is
// held in quarantine (package quarantine) until it is checked. The
// sub-packages carry artifacts as sealed age bundles (seal) and as OCI
// artifacts (oci).
package transport

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlsecops/mlsec/evidence"
)

// Role says what a member of an artifact is.
type Role string

// Roles of an artifact's members.
const (
	RoleModel     Role = "model"
	RoleSignature Role = "signature"
	RoleClaims    Role = "claims"
)

// Member is one file that travels with an artifact.
type Member struct {
	// Name is the slash-separated path in the artifact as it lands: relative
	// to the model directory for a directory artifact, the base names of
	// the file and its evidence for a single-file artifact.
	Name string
	// Path is where the file is on this machine.
	Path string
	Size int64
	Role Role
}

// Artifact is a model and its evidence, ready to travel.
type Artifact struct {
	// Name is the base name of the model path.
	Name string
	// Dir reports a directory artifact.
	Dir bool
	// Members are sorted by Name; models first is not implied.
	Members []Member
}

// Limits on what an artifact may hold, both when it leaves and when it
// arrives.
const (
	MaxMembers    = 100_000
	MaxNameLength = 4096
)

// EvidencePaths returns where the signature and the claims file of the
// artifact at path (which must exist) live.
func EvidencePaths(path string) (sig, claims string, err error) { return evidencePaths(path) }

// evidencePaths asks the evidence-layout resolver (package evidence) where
// the signature and the claims file of the artifact at path live.
func evidencePaths(path string) (sig, claims string, err error) {
	p, err := evidence.Locate(path)
	if err != nil {
		return "", "", err
	}
	return p.Signature, p.Claims, nil
}

// Collect lists the artifact at path: every regular file of a directory
// (its signature and claims file inside it), or a single file with the
// signature and claims file beside it when they exist. Symbolic links,
// devices and other special files are refused: a bundle carries bytes,
// never a pointer elsewhere.
func Collect(path string) (*Artifact, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	sig, claims, err := evidencePaths(path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	a := &Artifact{Name: filepath.Base(abs), Dir: fi.IsDir()}
	role := func(p string) Role {
		switch filepath.Clean(p) {
		case filepath.Clean(sig):
			return RoleSignature
		case filepath.Clean(claims):
			return RoleClaims
		}
		return RoleModel
	}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("transport: %s is not a regular file", path)
		}
		a.Members = append(a.Members, Member{Name: a.Name, Path: path, Size: fi.Size(), Role: RoleModel})
		for _, p := range []string{sig, claims} {
			efi, err := os.Lstat(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("transport: %w", err)
			}
			if !efi.Mode().IsRegular() {
				return nil, fmt.Errorf("transport: %s is not a regular file", p)
			}
			a.Members = append(a.Members, Member{Name: filepath.Base(p), Path: p, Size: efi.Size(), Role: role(p)})
		}
		slices.SortFunc(a.Members, func(x, y Member) int { return strings.Compare(x.Name, y.Name) })
		return a, nil
	}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file (%s): only regular files travel", p, d.Type())
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(path, p)
		if err != nil {
			return err
		}
		if len(a.Members) >= MaxMembers {
			return fmt.Errorf("more than %d files", MaxMembers)
		}
		a.Members = append(a.Members, Member{Name: filepath.ToSlash(rel), Path: p, Size: info.Size(), Role: role(p)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	if len(a.Members) == 0 {
		return nil, fmt.Errorf("transport: %s holds no file", path)
	}
	return a, nil
}

// Size returns the total size of the members.
func (a *Artifact) Size() int64 {
	var n int64
	for _, m := range a.Members {
		n += m.Size
	}
	return n
}

// Has reports whether the artifact carries a member of role r.
func (a *Artifact) Has(r Role) bool {
	return slices.ContainsFunc(a.Members, func(m Member) bool { return m.Role == r })
}

// SparseTar reports whether a tar entry is a sparse file (a GNU sparse
// type or PAX GNU.sparse records). archive/tar expands a sparse entry's
// holes into zeros, so a few bytes in the stream can declare and write
// terabytes: receivers refuse such entries.
func SparseTar(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// CheckName reports whether name may be written under a destination
// directory: a clean, relative, slash-separated path of bounded length
// that stays inside it.
func CheckName(name string) error {
	switch {
	case name == "" || len(name) > MaxNameLength:
		return fmt.Errorf("transport: bad member name length %d", len(name))
	case strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(name, "/"):
		return fmt.Errorf("transport: member name %q is not a relative slash path", name)
	case !filepath.IsLocal(filepath.FromSlash(name)) || filepath.ToSlash(filepath.Clean(filepath.FromSlash(name))) != name:
		return fmt.Errorf("transport: member name %q leaves the destination or is not clean", name)
	}
	return nil
}
