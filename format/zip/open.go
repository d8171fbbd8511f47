package zip

import (
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz/lzma"
)

// Decompressible reports whether Open can decompress method m.
func Decompressible(m uint16) bool {
	switch m {
	case Store, Deflate, Bzip2, LZMA, Zstd:
		return true
	}
	return false
}

// Open returns a reader of the member's uncompressed bytes. The bytes are
// streamed, never buffered whole: the CRC-32 is computed on the way and a
// mismatch is returned as ErrChecksum after the last byte; the reader stops
// at the declared uncompressed size (as zipfile does) and returns ErrSize if
// the data ends early. When b is non-nil every byte produced is charged to
// it (see Budget). Encrypted members are returned as stored: their content
// will not parse, which the caller sees.
func (z *Reader) Open(e *Entry, b *Budget) (io.ReadCloser, error) {
	if e.DataOffset < 0 {
		return nil, fmt.Errorf("%w: %q", ErrLocalHeader, e.Name)
	}
	raw := z.Raw(e)
	var (
		dec    io.Reader
		closer func() error
	)
	switch e.Method {
	case Store:
		dec = raw
	case Deflate:
		fr := flate.NewReader(raw)
		dec, closer = fr, fr.Close
	case Bzip2:
		dec = bzip2.NewReader(raw)
	case LZMA:
		r, err := newZipLZMA(raw, e)
		if err != nil {
			return nil, err
		}
		dec = r
	case Zstd:
		d, err := zstd.NewReader(raw, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("zip: zstd %q: %w", e.Name, err)
		}
		dec = d
		closer = func() error { d.Close(); return nil }
	default:
		return nil, fmt.Errorf("%w %d: %q", ErrAlgorithm, e.Method, e.Name)
	}
	if b != nil {
		dec = b.Reader(dec, raw.Size())
	}
	return &checksumReader{r: dec, want: e.CRC32, left: e.UncompressedSize, h: crc32.NewIEEE(), close: closer}, nil
}

// newZipLZMA adapts zip's LZMA framing (version, properties size,
// properties) to the .lzma header the decoder expects.
func newZipLZMA(raw io.Reader, e *Entry) (io.Reader, error) {
	var pre [9]byte
	if _, err := io.ReadFull(raw, pre[:]); err != nil {
		return nil, fmt.Errorf("zip: lzma header of %q: %w", e.Name, err)
	}
	if binary.LittleEndian.Uint16(pre[2:]) != 5 {
		return nil, fmt.Errorf("%w: lzma properties size %d in %q", ErrAlgorithm, binary.LittleEndian.Uint16(pre[2:]), e.Name)
	}
	hdr := make([]byte, 13)
	copy(hdr, pre[4:9])
	size := uint64(e.UncompressedSize)
	if e.Flags&(1<<1) != 0 { // end-of-stream marker present
		size = ^uint64(0)
	}
	binary.LittleEndian.PutUint64(hdr[5:], size)
	r, err := lzma.NewReader(io.MultiReader(bytes.NewReader(hdr), raw))
	if err != nil {
		return nil, fmt.Errorf("zip: lzma %q: %w", e.Name, err)
	}
	return r, nil
}

// checksumReader yields at most left bytes and checks the CRC at the end.
type checksumReader struct {
	r     io.Reader
	want  uint32
	left  int64
	h     hash.Hash32
	close func() error
	err   error
}

func (c *checksumReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left <= 0 {
		c.err = c.finish()
		return 0, c.err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.left -= int64(n)
	switch {
	case c.left <= 0:
		c.err = c.finish()
		return n, nil
	case errors.Is(err, io.EOF):
		c.err = ErrSize
		return n, c.err
	case err != nil:
		c.err = err
		return n, err
	}
	return n, nil
}

func (c *checksumReader) finish() error {
	if c.h.Sum32() != c.want {
		return fmt.Errorf("%w: computed %08x, declared %08x", ErrChecksum, c.h.Sum32(), c.want)
	}
	return io.EOF
}

func (c *checksumReader) Close() error {
	if c.close != nil {
		return c.close()
	}
	return nil
}

// Budget bounds decompression across the members of one artifact: the
// bytes of one member, the total over all members, and the ratio of a
// member's output to its compressed input. A Budget is not safe for
// concurrent use.
type Budget struct {
	// MaxMember caps one member's decompressed bytes (<= 0: no cap).
	MaxMember int64
	// MaxTotal caps the decompressed bytes of all members (<= 0: no cap).
	MaxTotal int64
	// MaxRatio caps output/input per member (<= 0: no cap). It applies
	// once the output passes RatioFloor, so small members of repetitive
	// data are not flagged.
	MaxRatio int64
	// RatioFloor is the output size below which the ratio is not checked
	// (0: 1 MiB).
	RatioFloor int64
	// Charge, if set, is called with every count of bytes produced; its
	// error ends the read (wrapped in ErrTotalBudget). Scanners use it to
	// share one budget across nested archives.
	Charge func(n int64) error
	used   int64
}

// Used returns the decompressed bytes charged so far.
func (b *Budget) Used() int64 { return b.used }

// Reader wraps r, the decompressor of compressed input bytes, so that
// every byte it produces is charged to b. Exceeding a cap returns
// ErrMemberBudget, ErrTotalBudget or ErrRatio.
func (b *Budget) Reader(r io.Reader, compressed int64) io.Reader {
	return &budgetReader{r: r, b: b, in: max(compressed, 1)}
}

type budgetReader struct {
	r   io.Reader
	b   *Budget
	in  int64
	out int64
	err error
}

func (br *budgetReader) Read(p []byte) (int, error) {
	if br.err != nil {
		return 0, br.err
	}
	b := br.b
	limit := int64(len(p))
	if b.MaxMember > 0 {
		limit = min(limit, b.MaxMember-br.out+1)
	}
	if b.MaxTotal > 0 {
		limit = min(limit, b.MaxTotal-b.used+1)
	}
	if limit <= 0 {
		limit = 1
	}
	n, err := br.r.Read(p[:limit])
	br.out += int64(n)
	b.used += int64(n)
	floor := b.RatioFloor
	if floor <= 0 {
		floor = 1 << 20
	}
	switch {
	case b.MaxMember > 0 && br.out > b.MaxMember:
		br.err = fmt.Errorf("%w: more than %d bytes", ErrMemberBudget, b.MaxMember)
	case b.MaxTotal > 0 && b.used > b.MaxTotal:
		br.err = fmt.Errorf("%w: more than %d bytes", ErrTotalBudget, b.MaxTotal)
	case b.MaxRatio > 0 && br.out > floor && br.out/br.in > b.MaxRatio:
		br.err = fmt.Errorf("%w: %d bytes from %d (cap %d:1)", ErrRatio, br.out, br.in, b.MaxRatio)
	}
	if br.err == nil && n > 0 && b.Charge != nil {
		if cerr := b.Charge(int64(n)); cerr != nil {
			br.err = fmt.Errorf("%w: %w", ErrTotalBudget, cerr)
		}
	}
	if br.err != nil {
		return n, br.err
	}
	return n, err
}
