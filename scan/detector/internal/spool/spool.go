// Package spool turns a stream into an io.ReaderAt for Sink.Nested without
// holding unbounded data in memory: small streams stay in memory, larger
// ones go to a temporary file that is removed on Close. The stream itself
// must be bounded by the caller (e.g. with a zip.Budget).
package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// DefaultMemLimit is the size up to which data stays in memory.
const DefaultMemLimit = 8 << 20

// Data is spooled data.
type Data struct {
	r    io.ReaderAt
	size int64
	f    *os.File
}

// ReaderAt returns the spooled bytes.
func (d *Data) ReaderAt() io.ReaderAt { return d.r }

// Size returns how many bytes were spooled.
func (d *Data) Size() int64 { return d.size }

// Close releases the data and removes the temporary file, if any.
func (d *Data) Close() error {
	if d.f == nil {
		return nil
	}
	name := d.f.Name()
	err := d.f.Close()
	if rerr := os.Remove(name); err == nil && rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = rerr
	}
	d.f = nil
	return err
}

// Copy reads r to its end. Up to memLimit bytes (DefaultMemLimit when <= 0)
// are kept in memory; beyond that everything moves to a temporary file in
// dir (os.TempDir when ""). It always returns the bytes read so far — also
// when reading fails, so callers can scan a truncated stream — together
// with the read error. Call Close on the result.
func Copy(r io.Reader, memLimit int64, dir string) (*Data, error) {
	if memLimit <= 0 {
		memLimit = DefaultMemLimit
	}
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, r, memLimit+1)
	if n <= memLimit {
		if errors.Is(err, io.EOF) {
			err = nil
		}
		b := buf.Bytes()
		return &Data{r: bytes.NewReader(b), size: int64(len(b))}, err
	}
	f, ferr := os.CreateTemp(dir, "mlsec-spool-*")
	if ferr != nil {
		return &Data{r: bytes.NewReader(nil)}, fmt.Errorf("spool: %w", ferr)
	}
	d := &Data{r: f, f: f}
	if _, werr := buf.WriteTo(f); werr != nil {
		d.Close()
		return &Data{r: bytes.NewReader(nil)}, fmt.Errorf("spool: %w", werr)
	}
	m, err := io.Copy(f, r)
	d.size = n + m
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Path == f.Name() {
		err = fmt.Errorf("spool: %w", err)
	}
	return d, err
}
