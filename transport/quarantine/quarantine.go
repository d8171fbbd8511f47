// Package quarantine holds incoming artifacts apart from their destination
// until they are checked: a quarantine directory is created beside the
// destination (same file system, so landing is one rename), filled and
// checked there, and then either landed at the destination atomically or
// discarded. A destination is never written to before the artifact passed.
package quarantine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrDestExists reports a destination that exists and is not an empty
// directory: landing never overwrites or merges.
var ErrDestExists = errors.New("quarantine: destination exists and is not an empty directory")

// Dir is a quarantine directory for one destination. The artifact is
// assembled in Path, a directory named like the destination inside a
// private (0700) holding directory beside it, so that what is checked in
// quarantine carries the name it will have when landed.
type Dir struct {
	dest   string
	holder string
	path   string
}

// New creates a quarantine directory beside dest (in dest's parent, which
// must exist), readable by the owner only. It refuses at once a
// destination that could not be landed at.
func New(dest string) (*Dir, error) {
	if dest == "" {
		return nil, errors.New("quarantine: empty destination")
	}
	dest = filepath.Clean(dest)
	if b := filepath.Base(dest); b == "." || b == ".." || b == string(filepath.Separator) {
		return nil, fmt.Errorf("quarantine: destination %q must name a new directory (e.g. ./model), not the current, parent or root directory", dest)
	}
	if err := checkDest(dest); err != nil {
		return nil, err
	}
	parent := filepath.Dir(dest)
	h, err := os.MkdirTemp(parent, ".mlsec-quarantine-"+filepath.Base(dest)+"-")
	if err != nil {
		return nil, fmt.Errorf("quarantine: %w", err)
	}
	p := filepath.Join(h, filepath.Base(dest))
	if err := os.Mkdir(p, 0o755); err != nil {
		os.RemoveAll(h)
		return nil, fmt.Errorf("quarantine: %w", err)
	}
	return &Dir{dest: dest, holder: h, path: p}, nil
}

// Path returns the directory to assemble the artifact in.
func (q *Dir) Path() string { return q.path }

// Dest returns the destination.
func (q *Dir) Dest() string { return q.dest }

// Land moves the artifact to the destination in one rename. The
// destination must not exist, or be an empty directory (which the rename
// replaces). After Land the quarantine directory is gone.
func (q *Dir) Land() error {
	if err := checkDest(q.dest); err != nil {
		return err
	}
	if err := rename(q.path, q.dest); err != nil {
		return fmt.Errorf("quarantine: land %s: %w", q.dest, err)
	}
	err := os.Remove(q.holder)
	q.path, q.holder = "", ""
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	return nil
}

// Discard removes the quarantine directory and everything in it. It is a
// no-op after Land, so `defer q.Discard()` is always safe.
func (q *Dir) Discard() error {
	if q.holder == "" {
		return nil
	}
	err := os.RemoveAll(q.holder)
	q.path, q.holder = "", ""
	return err
}

func checkDest(dest string) error {
	fi, err := os.Lstat(dest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s", ErrDestExists, dest)
	}
	ents, err := os.ReadDir(dest)
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("%w: %s", ErrDestExists, dest)
	}
	return nil
}
