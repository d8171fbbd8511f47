package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compression names a stream compression.
type Compression string

// The compressions recognised by Sniff.
const (
	None  Compression = ""
	Gzip  Compression = "gzip"
	Bzip2 Compression = "bzip2"
	XZ    Compression = "xz"
	Zstd  Compression = "zstd"
)

// Sniff recognises the compression of a stream by its magic number.
func Sniff(head []byte) Compression {
	switch {
	case bytes.HasPrefix(head, []byte("\x1f\x8b")):
		return Gzip
	case bytes.HasPrefix(head, []byte("BZh")):
		return Bzip2
	case bytes.HasPrefix(head, []byte("\xfd7zXZ\x00")):
		return XZ
	case bytes.HasPrefix(head, []byte("\x28\xb5\x2f\xfd")):
		return Zstd
	}
	return None
}

// maxWindow caps the decoder window / dictionary memory of xz and zstd.
const maxWindow = 128 << 20

// Decompress returns a reader inflating r compressed with c. Close releases
// decoder resources.
func Decompress(c Compression, r io.Reader) (io.ReadCloser, error) {
	switch c {
	case None:
		return io.NopCloser(r), nil
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrFormat, err)
		}
		return z, nil
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(r)), nil
	case XZ:
		// The xz reader allocates the dictionary its block header asks
		// for (up to 4 GiB): check the first block's LZMA2 dictionary.
		br := bufio.NewReader(r)
		head, _ := br.Peek(64)
		if d, ok := xzDictSize(head); ok && d > maxWindow {
			return nil, fmt.Errorf("%w: xz dictionary of %d bytes (cap %d)", ErrLimit, d, maxWindow)
		}
		z, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: xz: %v", ErrFormat, err)
		}
		return io.NopCloser(z), nil
	case Zstd:
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxWindow), zstd.WithDecoderMaxWindow(maxWindow))
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %v", ErrFormat, err)
		}
		return z.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("%w: unknown compression %q", ErrFormat, c)
}

// Entry describes one archive member.
type Entry struct {
	// Name is the member name as stored.
	Name string
	// Type is "file", "dir", "symlink", "hardlink" or "other".
	Type string
	// Link is the target of a link member.
	Link string
	// Size is the member's size as declared by its header.
	Size int64
	// Offset is the byte offset of the member's data in the archive when the
	// archive is uncompressed, else -1.
	Offset int64
}

// Stream is an opened archive or compressed stream: the inflated bytes and
// the accounting around them.
type Stream struct {
	// Compression is the outer compression (None for a plain tar).
	Compression Compression
	// R yields inflated bytes, bounded by the limits; nil when the input is
	// not compressed (then Plain reads it in place).
	R *Bounded
	// In counts compressed bytes consumed.
	In *Counter
	// Plain is the uncompressed input; tar readers seek over member data.
	Plain  *io.SectionReader
	closer io.Closer
}

// Close releases the decoder.
func (s *Stream) Close() error { return s.closer.Close() }

// Open sniffs the compression of the size bytes behind r and returns the
// bounded inflated stream.
func Open(r io.ReaderAt, size int64, lim Limits) (*Stream, error) {
	lim = lim.withDefaults()
	head := make([]byte, min(size, 8))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("archive: read head: %w", err)
	}
	c := Sniff(head)
	if c == None {
		return &Stream{Plain: io.NewSectionReader(r, 0, size), closer: io.NopCloser(nil)}, nil
	}
	in := &Counter{R: io.NewSectionReader(r, 0, size)}
	z, err := Decompress(c, in)
	if err != nil {
		return nil, err
	}
	b := &Bounded{R: z, In: in, Max: lim.MaxBytes, Ratio: lim.MaxRatio}
	return &Stream{Compression: c, R: b, In: in, closer: z}, nil
}

// WalkTar reads the tar archive in s and calls visit for every entry, with
// the entry's content as body for regular files (nil otherwise). visit must
// consume body before returning if it needs it. WalkTar stops at the first
// error from visit and fails with ErrLimit after lim.MaxEntries entries.
func WalkTar(ctx context.Context, s *Stream, lim Limits, visit func(e Entry, body io.Reader) error) error {
	lim = lim.withDefaults()
	// A plain tar is read in place: the tar reader seeks over member data
	// and the position after each header is the member's file offset.
	var tr *tar.Reader
	if s.Plain != nil {
		tr = tar.NewReader(s.Plain)
	} else {
		tr = tar.NewReader(s.R)
	}
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if IsBomb(err) {
				return err
			}
			return fmt.Errorf("%w: tar: %v", ErrFormat, err)
		}
		if n >= lim.MaxEntries {
			return fmt.Errorf("%w: more than %d tar entries", ErrLimit, lim.MaxEntries)
		}
		e := Entry{Name: h.Name, Link: h.Linkname, Size: h.Size, Offset: -1}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
			e.Type = "file"
		case tar.TypeDir:
			e.Type = "dir"
		case tar.TypeSymlink:
			e.Type = "symlink"
		case tar.TypeLink:
			e.Type = "hardlink"
		default:
			e.Type = "other"
		}
		if s.Plain != nil && h.Typeflag != tar.TypeGNUSparse {
			if off, err := s.Plain.Seek(0, io.SeekCurrent); err == nil {
				e.Offset = off
			}
		}
		var body io.Reader
		if e.Type == "file" {
			body = tr
		}
		if err := visit(e, body); err != nil {
			return err
		}
	}
}

// xzDictSize reads the LZMA2 dictionary size from the first block header of
// an xz stream; ok is false when the header cannot be decoded from head.
func xzDictSize(head []byte) (size uint64, ok bool) {
	if len(head) < 14 || string(head[:6]) != "\xfd7zXZ\x00" {
		return 0, false
	}
	b := head[12:]
	hsize := (int(b[0]) + 1) * 4
	if b[0] == 0 || hsize > len(b) {
		return 0, false
	}
	b = b[1:hsize]
	flags := b[0]
	b = b[1:]
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} {
		if present {
			_, n := binary.Uvarint(b)
			if n <= 0 {
				return 0, false
			}
			b = b[n:]
		}
	}
	for i := 0; i <= int(flags&3); i++ {
		id, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		psize, n := binary.Uvarint(b)
		if n <= 0 || psize > uint64(len(b)-n) {
			return 0, false
		}
		props := b[n : n+int(psize)]
		b = b[n+int(psize):]
		if id == 0x21 && len(props) == 1 {
			c := props[0]
			if c > 40 {
				return 0, false
			}
			if c == 40 {
				return 0xffffffff, true
			}
			return uint64(2|c&1) << (c/2 + 11), true
		}
	}
	return 0, false
}
