package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/bodgit/sevenzip"
)

// Walk7z lists the 7z archive of size bytes behind r and calls visit for
// every entry; open returns the entry's inflated content for regular files
// (nil otherwise), bounded by the caller's reader. Encrypted archives fail
// with ErrEncrypted; more than lim.MaxEntries entries with ErrLimit.
func Walk7z(ctx context.Context, r io.ReaderAt, size int64, lim Limits, visit func(e Entry, open func() (io.ReadCloser, error)) error) (err error) {
	lim = lim.withDefaults()
	defer func() {
		// The decoder library is not hardened against every hostile
		// header; a panic there is malformed input, not a crash.
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: 7z: decoder panic: %v", ErrFormat, p)
		}
	}()
	zr, err := sevenzip.NewReader(r, size)
	if err != nil {
		if isPasswordErr(err) {
			return fmt.Errorf("%w: 7z header: %v", ErrEncrypted, err)
		}
		return fmt.Errorf("%w: 7z: %v", ErrFormat, err)
	}
	if len(zr.File) > lim.MaxEntries {
		return fmt.Errorf("%w: %d 7z entries (cap %d)", ErrLimit, len(zr.File), lim.MaxEntries)
	}
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		mode := f.Mode()
		e := Entry{Name: f.Name, Size: int64(min(f.UncompressedSize, 1<<62)), Offset: -1}
		var open func() (io.ReadCloser, error)
		switch {
		case mode.IsDir():
			e.Type = "dir"
		case mode&fs.ModeSymlink != 0:
			e.Type = "symlink"
			// The link target is the entry's content.
			rc, err := f.Open()
			if err == nil {
				b, _ := io.ReadAll(io.LimitReader(rc, 4096))
				rc.Close()
				e.Link = string(b)
			}
		case mode.IsRegular():
			e.Type = "file"
			open = func() (io.ReadCloser, error) {
				rc, err := f.Open()
				if err != nil {
					if isPasswordErr(err) {
						return nil, fmt.Errorf("%w: %s: %v", ErrEncrypted, f.Name, err)
					}
					return nil, fmt.Errorf("%w: 7z member %s: %v", ErrFormat, f.Name, err)
				}
				return rc, nil
			}
		default:
			e.Type = "other"
		}
		if err := visit(e, open); err != nil {
			return err
		}
	}
	return nil
}

func isPasswordErr(err error) bool {
	var rp *sevenzip.ReadError
	if errors.As(err, &rp) && rp != nil && rp.Encrypted {
		return true
	}
	var rv sevenzip.ReadError
	if errors.As(err, &rv) && rv.Encrypted {
		return true
	}
	return strings.Contains(strings.ToLower(err.Error()), "password")
}

// IsEncrypted reports whether err comes from reading encrypted 7z content
// (the reader hints at encryption when decoding fails).
func IsEncrypted(err error) bool { return errors.Is(err, ErrEncrypted) || isPasswordErr(err) }
