// Package confine keeps the files the server reads on behalf of API callers
// inside directories the operator named: artifact sources registered as
// file:// references (serve/worker --source-root) and hub-scan mirrors
// (--hub-root).
//
// A Roots with no directories allows nothing. Every path is resolved
// (symbolic links followed) before it is compared with the roots, so a
// link inside a root that points out of it is refused; only regular files
// and directories are accepted, never devices, FIFOs, sockets or anything
// under /proc, /sys or /dev; files are opened with O_NOFOLLOW|O_NONBLOCK
// on their resolved path and checked again after opening. Errors name the
// path the caller gave, never anything learned about a refused file.
//
// The threat is an API caller choosing a path, not a local user racing the
// server: a root's contents are the operator's to keep trustworthy.
package confine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrRefused is returned for a path outside every root, of a kind the
// server does not read, or when no root is configured.
var ErrRefused = errors.New("path refused")

// MaxEntries bounds the entries Check walks in one directory tree.
const MaxEntries = 1_000_000

// Roots is a set of directories files may be read from.
type Roots struct {
	flag  string   // the option that configures them, for messages
	dirs  []string // as given, cleaned
	real  []string // symlinks resolved
	label string   // what the roots hold, for messages ("artifact source")
}

// New returns the roots dirs (each an existing absolute directory, not the
// file-system root and not a pseudo-file system), configured by the
// command-line option flag (used in error messages, e.g. "--source-root").
func New(flag, label string, dirs ...string) (*Roots, error) {
	r := &Roots{flag: flag, label: label}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("%s %s: not an absolute path", flag, d)
		}
		real, err := filepath.EvalSymlinks(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		st, err := os.Stat(real)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("%s %s: not a directory", flag, d)
		}
		if real == "/" || isSystem(real) {
			return nil, fmt.Errorf("%s %s: refusing the file-system root or a pseudo-file system", flag, d)
		}
		r.dirs = append(r.dirs, filepath.Clean(d))
		r.real = append(r.real, real)
	}
	return r, nil
}

// Empty reports whether no root is configured (nothing is allowed).
func (r *Roots) Empty() bool { return r == nil || len(r.real) == 0 }

// Dirs returns the configured directories.
func (r *Roots) Dirs() []string {
	if r == nil {
		return nil
	}
	return append([]string(nil), r.dirs...)
}

// isSystem reports whether p is in a pseudo-file system the server never
// reads, whatever the roots say.
func isSystem(p string) bool {
	for _, s := range [...]string{"/proc", "/sys", "/dev"} {
		if within(s, p) {
			return true
		}
	}
	return false
}

// within reports whether p is base or inside it (both clean and absolute).
func within(base, p string) bool {
	rel, err := filepath.Rel(base, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func (r *Roots) refuse(p, why string) error {
	if r.Empty() {
		label := "server-side paths"
		flag := "a root"
		if r != nil {
			label, flag = r.label+" paths", r.flag
		}
		return fmt.Errorf("%w: %s: %s are not enabled on this server (operator option %s)", ErrRefused, p, label, flag)
	}
	return fmt.Errorf("%w: %s: %s", ErrRefused, p, why)
}

// Resolve returns the real path of p (absolute, symbolic links resolved)
// when it lies inside a root and is a regular file or a directory.
func (r *Roots) Resolve(p string) (string, fs.FileInfo, error) {
	if r.Empty() {
		return "", nil, r.refuse(p, "")
	}
	if !filepath.IsAbs(p) {
		return "", nil, r.refuse(p, "not an absolute path")
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(p))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && r.lexicallyInside(filepath.Clean(p)) {
			return "", nil, fmt.Errorf("%w: %w: %s does not exist", ErrRefused, fs.ErrNotExist, p)
		}
		return "", nil, r.refuse(p, "cannot be resolved inside the configured roots")
	}
	if !r.inside(real) {
		return "", nil, r.refuse(p, "outside the configured "+r.label+" roots ("+r.flag+")")
	}
	st, err := os.Lstat(real)
	if err != nil {
		return "", nil, r.refuse(p, "cannot be read")
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		return "", nil, r.refuse(p, "not a regular file or directory")
	}
	return real, st, nil
}

func (r *Roots) lexicallyInside(p string) bool {
	for _, base := range r.dirs {
		if within(base, p) {
			return true
		}
	}
	return false
}

func (r *Roots) inside(real string) bool {
	if isSystem(real) {
		return false
	}
	for _, base := range r.real {
		if within(base, real) {
			return true
		}
	}
	return false
}

// Check resolves p like Resolve and, for a directory, walks it: every
// entry must be a regular file or directory, and every symbolic link must
// resolve inside a root (Hugging Face cache snapshots link into the cache's
// blobs). It returns the real path.
func (r *Roots) Check(p string) (string, fs.FileInfo, error) {
	real, st, err := r.Resolve(p)
	if err != nil || !st.IsDir() {
		return real, st, err
	}
	n := 0
	err = filepath.WalkDir(real, func(q string, de fs.DirEntry, err error) error {
		if err != nil {
			return r.refuse(p, "cannot be walked")
		}
		if n++; n > MaxEntries {
			return r.refuse(p, fmt.Sprintf("more than %d entries", MaxEntries))
		}
		t := de.Type()
		if t&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(q)
			if err != nil || !r.inside(target) {
				return r.refuse(p, "holds a symbolic link that leaves the configured roots")
			}
			st, err := os.Stat(target)
			if err != nil || (!st.Mode().IsRegular() && !st.IsDir()) {
				return r.refuse(p, "holds a link to something that is not a regular file or directory")
			}
			return nil
		}
		if !t.IsDir() && !t.IsRegular() {
			return r.refuse(p, "holds something that is not a regular file or directory")
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return real, st, nil
}

// Open opens the regular file p for reading after Resolve: the resolved
// path with O_NOFOLLOW and O_NONBLOCK (a FIFO swapped in cannot block), and
// refuses what is not a regular file once open.
func (r *Roots) Open(p string) (*os.File, error) {
	real, st, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, r.refuse(p, "is a directory")
	}
	return OpenRegular(real)
}

// OpenRegular opens path, which must be a regular file and not a symbolic
// link, for reading without blocking on FIFOs or devices.
func OpenRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: cannot be opened as a regular file", ErrRefused, path)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s: not a regular file", ErrRefused, path)
	}
	return f, nil
}
