// Package regfile opens files only when they are regular files, without
// ever blocking on a FIFO or device named by the user or met in a scanned
// tree.
package regfile

import (
	"fmt"
	"io/fs"
	"os"
)

// Kind names what a non-regular, non-directory file is, for messages:
// "named pipe (FIFO)", "socket", "device", ... It returns "" for regular
// files and directories.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular(), m.IsDir():
		return ""
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	default:
		return "non-regular file"
	}
}

// Open opens path for reading only if it is a regular file. The mode
// is checked with Stat before the open, and the open itself is
// non-blocking, so a FIFO swapped in between the two never blocks the scan
// (opening a FIFO for reading blocks until a writer appears); the opened
// file's mode is checked again. O_NONBLOCK has no effect on reads of a
// regular file.
func Open(path string) (*os.File, fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, NotRegular(path, fi.Mode())
	}
	return OpenSeen(path)
}

// OpenSeen is Open for a path the caller has just seen to be a regular
// file (a directory listing's type, a Stat): it skips the Stat before the
// open but keeps the non-blocking open and the check of the opened file.
func OpenSeen(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, NotRegular(path, fi.Mode())
	}
	return f, fi, nil
}

// NotRegular is the error for a path that is neither a regular file nor a
// directory.
func NotRegular(path string, m fs.FileMode) error {
	k := Kind(m)
	if k == "" {
		k = "directory"
	}
	return fmt.Errorf("%s is a %s, not a regular file: not read", path, k)
}
