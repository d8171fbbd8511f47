// Package scratch holds the temporary space where jobs decrypt uploaded
// artifacts: inside the data directory (never the shared /tmp), mode 0700,
// one directory per process, and removed at start-up when the process
// that made it is gone — so plaintext a kill -9 left behind does not
// outlive the next start.
//
// Each process holds an exclusive flock(2) on a lock file inside its own
// directory for as long as it runs; Open removes every sibling directory
// whose lock it can take, which is exactly those of dead processes (the
// kernel drops a dead process's locks), so servers and workers sharing a
// data directory never remove each other's live files.
package scratch

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// DirName is the scratch directory's name inside the data directory.
const DirName = "scratch"

const lockName = ".lock"

// Space is one process's scratch directory.
type Space struct {
	dir  string
	lock *os.File
}

// Open creates this process's scratch directory under DATA/scratch (mode
// 0700), first removing the directories of processes that no longer run.
func Open(dataDir string, log *slog.Logger) (*Space, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := filepath.Join(dataDir, DirName)
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	if err := os.Chmod(base, 0o700); err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	n, err := Clean(base)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		log.Warn("removed job scratch space left by a process that died", "dirs", n, "dir", base)
	}
	dir, err := os.MkdirTemp(base, "p-")
	if err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("scratch: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("scratch: lock: %w", err)
	}
	return &Space{dir: dir, lock: lock}, nil
}

// Clean removes the process directories under base whose owner is gone
// (their lock can be taken, or they have none) and returns how many.
func Clean(base string) (int, error) {
	ents, err := os.ReadDir(base)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("scratch: %w", err)
	}
	n := 0
	for _, e := range ents {
		p := filepath.Join(base, e.Name())
		if !e.IsDir() {
			if err := os.Remove(p); err == nil {
				n++
			}
			continue
		}
		if live(p) {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return n, fmt.Errorf("scratch: %w", err)
		}
		n++
	}
	return n, nil
}

// live reports whether a running process holds dir's lock.
func live(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// Dir returns a fresh directory (mode 0700) inside the space and a function
// that removes it.
func (s *Space) Dir() (string, func(), error) {
	if s == nil {
		return "", nil, errors.New("scratch: no scratch space configured")
	}
	d, err := os.MkdirTemp(s.dir, "job-")
	if err != nil {
		return "", nil, fmt.Errorf("scratch: %w", err)
	}
	return d, func() { _ = os.RemoveAll(d) }, nil
}

// Path returns the process's scratch directory.
func (s *Space) Path() string { return s.dir }

// Close removes the process's scratch directory and releases its lock.
func (s *Space) Close() error {
	if s == nil {
		return nil
	}
	err := os.RemoveAll(s.dir)
	s.lock.Close()
	return err
}
