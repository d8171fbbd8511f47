// Package joblib is the detector for joblib's compressed containers
// (joblib.dump(..., compress=...)): zlib, gzip, bz2, xz, lzma and lz4 streams,
// and the "ZF" zlib files of joblib < 0.10. It inflates the stream with a
// bounded reader (compression-ratio and byte-budget caps) into memory or a
// temporary file and hands the inflated pickle to the runner through
// Sink.Nested. The pickle analysis itself, including skipping joblib's
// inline array payloads, belongs to the pickle detector.
package joblib

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz/lzma"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/archive"
	fzip "github.com/mlsecops/mlsec/format/zip"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/spool"
)

// Name is the detector's stable identifier.
const Name = "joblib"

// Rule ids.
const (
	RuleBomb      = "JOBLIB-001"
	RuleCorrupt   = "JOBLIB-002"
	RuleNotJoblib = "JOBLIB-003"
	RuleDict      = "JOBLIB-004"
)

// InflatedMember is the member name of the inflated stream.
const InflatedMember = "[decompressed]"

// zfPrefix and zfHeaderLen describe joblib < 0.10's zlib files: "ZF", the
// hexadecimal inflated length padded to 19 bytes, then a zlib stream.
const (
	zfPrefix    = "ZF"
	zfHeaderLen = 2 + 19
)

//go:embed rules.yaml
var rulesYAML []byte

// Detector examines joblib compressed containers.
type Detector struct {
	scan.Base
	// TempDir and MemLimit configure spooling ("" and 0: defaults).
	TempDir  string
	MemLimit int64
}

var _ scan.Detector = (*Detector)(nil)

// New returns the joblib detector.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.Joblib}, rulesYAML)
	return &Detector{Base: b}, nil
}

// Compression names a container's compression.
type Compression string

// Compressions joblib writes.
const (
	Zlib     Compression = "zlib"
	Gzip     Compression = "gzip"
	Bzip2    Compression = "bz2"
	XZ       Compression = "xz"
	LZMA     Compression = "lzma"
	LegacyZF Compression = "zf" // joblib < 0.10
	LZ4      Compression = "lz4"
	// Zstd is not written by joblib, but pandas.read_pickle (compression
	// inferred from a .zst name) and other loaders unpickle zstd streams,
	// and format.Detect classifies a zstd-compressed pickle here.
	Zstd      Compression = "zstd"
	NoneKnown Compression = ""
)

// Sniff names the compression of a stream from its first bytes: the magic
// numbers archive.Sniff knows (gzip, bzip2, xz, zstd) first, then joblib's
// own zlib, legacy ZF and lzma-alone streams.
func Sniff(head []byte) Compression {
	switch archive.Sniff(head) {
	case archive.Gzip:
		return Gzip
	case archive.Bzip2:
		return Bzip2
	case archive.XZ:
		return XZ
	case archive.Zstd:
		return Zstd
	}
	switch {
	case bytes.HasPrefix(head, []byte(zfPrefix+"0x")) && len(head) > zfHeaderLen+1 && isZlib(head[zfHeaderLen:]):
		return LegacyZF
	case isZlib(head):
		return Zlib
	case bytes.HasPrefix(head, []byte(lz4Magic)):
		return LZ4
	case len(head) >= 13 && head[0] == 0x5d:
		return LZMA
	}
	return NoneKnown
}

func isZlib(h []byte) bool {
	return len(h) >= 2 && h[0]&0x0f == 8 && h[0]>>4 <= 7 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0
}

// maxLZMADict caps the dictionary an lzma-alone header may ask for.
const maxLZMADict = 128 << 20

// lz4Magic opens an lz4 frame.
const lz4Magic = "\x04\x22\x4d\x18"

// ErrDict reports a dictionary larger than the decoder may allocate: the
// stream is not analysed.
var ErrDict = errors.New("joblib: dictionary over the cap")

// Open returns a reader of the inflated stream. Like Python's file objects
// (and joblib's BinaryZlibFile), concatenated streams are read one after
// the other.
func Open(c Compression, r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	switch c {
	case Gzip:
		return gzip.NewReader(br)
	case Bzip2:
		return bzip2.NewReader(br), nil
	case XZ:
		// archive.Decompress refuses xz dictionaries over its window cap.
		return archive.Decompress(archive.XZ, br)
	case Zstd:
		// archive.Decompress caps the zstd window and decoder memory.
		return archive.Decompress(archive.Zstd, br)
	case Zlib:
		return newMulti(br, func(r *bufio.Reader) (io.Reader, error) { return zlib.NewReader(r) })
	case LZMA:
		return newMulti(br, func(r *bufio.Reader) (io.Reader, error) {
			// The lzma reader allocates the dictionary the header declares
			// (up to 4 GiB): refuse absurd ones before it does.
			h, err := r.Peek(5)
			if err != nil {
				return nil, err
			}
			if d := binary.LittleEndian.Uint32(h[1:5]); d > maxLZMADict {
				return nil, fmt.Errorf("%w: lzma dictionary of %d bytes exceeds %d", ErrDict, d, maxLZMADict)
			}
			return lzma.NewReader(r)
		})
	case LZ4:
		// Frames are read one after the other; block sizes are at most
		// 4 MiB, so memory is bounded whatever the header says.
		return lz4.NewReader(br), nil
	case LegacyZF:
		if _, err := br.Discard(zfHeaderLen); err != nil {
			return nil, err
		}
		return zlib.NewReader(br)
	}
	return nil, fmt.Errorf("joblib: unknown compression")
}

// multi reads concatenated streams.
type multi struct {
	br   *bufio.Reader
	open func(*bufio.Reader) (io.Reader, error)
	cur  io.Reader
}

func newMulti(br *bufio.Reader, open func(*bufio.Reader) (io.Reader, error)) (io.Reader, error) {
	cur, err := open(br)
	if err != nil {
		return nil, err
	}
	return &multi{br: br, open: open, cur: cur}, nil
}

func (m *multi) Read(p []byte) (int, error) {
	for {
		n, err := m.cur.Read(p)
		if err != io.EOF {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
		if _, perr := m.br.Peek(1); perr != nil {
			return 0, io.EOF
		}
		if m.cur, err = m.open(m.br); err != nil {
			return 0, err
		}
	}
}

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	head := make([]byte, 64)
	n, err := in.R.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("joblib: read: %w", err)
	}
	c := Sniff(head[:n])
	if c == NoneKnown {
		sink.Report(d.Finding(RuleNotJoblib, "", "", 0))
		return nil
	}
	lim := sink.Limits()
	zr, err := Open(c, io.NewSectionReader(in.R, 0, in.Size))
	if errors.Is(err, ErrDict) || errors.Is(err, archive.ErrLimit) {
		sink.Report(d.Finding(RuleDict, fmt.Sprintf("%s stream not analysed: %v", c, err), string(c), 0))
		return nil
	}
	if err != nil {
		sink.Report(d.Finding(RuleNotJoblib, fmt.Sprintf("%s header: %v", c, err), string(c), 0))
		return nil
	}
	budget := &fzip.Budget{MaxTotal: lim.MaxTotalBytes, MaxRatio: lim.MaxRatio}
	data, err := spool.Copy(budget.Reader(zr, in.Size), d.MemLimit, d.TempDir)
	if c, ok := zr.(io.Closer); ok {
		c.Close()
	}
	defer data.Close()
	switch {
	case err == nil:
	case errors.Is(err, fzip.ErrRatio), errors.Is(err, fzip.ErrTotalBudget), errors.Is(err, fzip.ErrMemberBudget):
		sink.Report(d.Finding(RuleBomb, fmt.Sprintf("%s stream: %v", c, err), string(c), -1))
	default:
		sink.Report(d.Finding(RuleCorrupt, fmt.Sprintf("%s stream: %v (after %d inflated bytes)", c, err, data.Size()), string(c), -1))
	}
	if data.Size() == 0 {
		return nil
	}
	if err := sink.Nested(ctx, InflatedMember, data.ReaderAt(), data.Size()); err != nil && !errors.Is(err, scan.ErrLimit) {
		return err
	}
	return nil
}
