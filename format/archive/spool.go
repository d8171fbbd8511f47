package archive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Spooled is a member's content behind an io.ReaderAt: in memory when small,
// in a temporary file otherwise. Close releases it (and removes the file).
type Spooled struct {
	io.ReaderAt
	// Size is the number of bytes spooled.
	Size int64
	file *os.File
}

// Close removes the temporary file, if any.
func (s *Spooled) Close() error {
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	err := s.file.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	s.file = nil
	return err
}

// Spool reads r to its end into memory (up to memThreshold bytes) or a
// temporary file in dir, failing with ErrLimit when r holds more than max
// bytes. Errors from r (including ErrRatio from a Bounded reader) are
// returned wrapped.
func Spool(r io.Reader, max, memThreshold int64, dir string) (*Spooled, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, min(memThreshold, max)+1))
	if err != nil {
		return nil, readErr(err)
	}
	if n <= min(memThreshold, max) {
		return &Spooled{ReaderAt: bytes.NewReader(buf.Bytes()), Size: n}, nil
	}
	if n > max {
		return nil, fmt.Errorf("%w: member larger than %d bytes", ErrLimit, max)
	}
	f, err := os.CreateTemp(dir, "mlsec-spool-*")
	if err != nil {
		return nil, fmt.Errorf("archive: spool: %w", err)
	}
	s := &Spooled{ReaderAt: f, file: f}
	if _, err := f.Write(buf.Bytes()); err != nil {
		s.Close()
		return nil, fmt.Errorf("archive: spool: %w", err)
	}
	buf = bytes.Buffer{}
	m, err := copyTo(f, io.LimitReader(r, max-n+1))
	if err != nil {
		s.Close()
		return nil, err
	}
	if n+m > max {
		s.Close()
		return nil, fmt.Errorf("%w: member larger than %d bytes", ErrLimit, max)
	}
	s.Size = n + m
	return s, nil
}

// readErr wraps an error from the member's reader: the content is damaged
// (ErrFormat) unless a cap stopped it, which the chain also keeps.
func readErr(err error) error {
	if IsBomb(err) {
		return err
	}
	return fmt.Errorf("%w: read member: %w", ErrFormat, err)
}

// copyTo copies r to f, telling read errors (damaged content) from write
// errors (the spool file).
func copyTo(f *os.File, r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for {
		m, rerr := r.Read(buf)
		if m > 0 {
			if _, err := f.Write(buf[:m]); err != nil {
				return n, fmt.Errorf("archive: spool: %w", err)
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, readErr(rerr)
		}
	}
}

// IsBomb reports whether err means a cap on inflated bytes or ratio.
func IsBomb(err error) bool { return errors.Is(err, ErrRatio) || errors.Is(err, ErrLimit) }
