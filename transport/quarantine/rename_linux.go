package quarantine

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// rename lands src at dst: without replacing anything when dst does not
// exist (RENAME_NOREPLACE closes the race with a concurrent writer), or
// replacing dst when it is an empty directory.
func rename(src, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// An empty directory (checked by the caller), which rename(2)
		// replaces (os.Rename refuses directories), or a file system
		// without RENAME_NOREPLACE.
		err = unix.Rename(src, dst)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
	}
	return nil
}
