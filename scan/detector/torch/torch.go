// Package torch is the detector for PyTorch legacy tar checkpoints (the
// torch.save format of torch < 0.4, still read by torch.load's
// legacy_load). The tar holds four members:
//
//   - sys_info: a pickle (written by the oldest versions; not read today),
//   - pickle: the main pickle, whose persistent ids name tensors,
//   - storages: a pickled count, then per storage a pickled
//     (key, location, storage_type) followed by an 8-byte element count and
//     the raw elements, then a pickled list of storage views,
//   - tensors: a pickled count, then per tensor a pickled
//     (key, storage_id, tensor_type) followed by ndim, sizes, strides and
//     offset as raw integers.
//
// Every pickle — including each one interleaved with raw data in storages
// and tensors — goes to the runner through Sink.Nested; raw storage bytes
// are skipped, never read. Anything else in the tar is a finding and is
// scanned by content.
package torch

import (
	"archive/tar"
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/pickle"
	"github.com/mlsecops/mlsec/scan"
)

// Name is the detector's stable identifier.
const Name = "torch-legacy-tar"

// Rule ids.
const (
	RuleUnexpected = "TORCH-001"
	RuleLayout     = "TORCH-002"
	RuleTar        = "TORCH-003"
	RuleDuplicate  = "TORCH-004"
	RuleLink       = "TORCH-005"
	RuleTooMany    = "TORCH-006"
)

//go:embed rules.yaml
var rulesYAML []byte

// maxRecords caps the storages or tensors records walked per member, and
// maxWalkOps the opcodes walked per record pickle.
const (
	maxRecords = 1 << 20
	maxWalkOps = 1 << 20
)

// elementSizes maps legacy storage class names to their element size.
var elementSizes = map[string]int64{
	"DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2,
	"LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
	"ByteStorage": 1, "BoolStorage": 1, "ComplexDoubleStorage": 16, "ComplexFloatStorage": 8,
	"QUInt8Storage": 1, "QInt8Storage": 1, "QInt32Storage": 4, "QUInt4x2Storage": 1, "QUInt2x4Storage": 1,
}

// Detector examines PyTorch legacy tar checkpoints.
type Detector struct {
	scan.Base
}

var _ scan.Detector = (*Detector)(nil)

// New returns the legacy tar detector.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.PyTorchTar}, rulesYAML)
	return &Detector{Base: b}, nil
}

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	err := d.scan(ctx, in, sink)
	if errors.Is(err, scan.ErrLimit) {
		return nil
	}
	return err
}

func (d *Detector) scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	cr := &offsetReader{r: io.NewSectionReader(in.R, 0, in.Size)}
	tr := tar.NewReader(cr)
	seen := map[string]int{}
	lim := sink.Limits()
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if n >= lim.MaxMembers {
			sink.Report(d.Finding(RuleTooMany, fmt.Sprintf("more than %d members", lim.MaxMembers), "", cr.pos))
			return nil
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			sink.Report(d.Finding(RuleTar, fmt.Sprintf("tar: %v", err), "", cr.pos))
			break
		}
		start := cr.pos
		name := hdr.Name
		seen[name]++
		if seen[name] == 2 {
			d.report(sink, RuleDuplicate, fmt.Sprintf("member %q appears more than once; tarfile uses the last", name), name, 0)
		}
		switch hdr.Typeflag {
		case tar.TypeReg, 0: // '0' and the pre-POSIX '\x00'
		default:
			if hdr.Typeflag == tar.TypeDir && !isLegacyName(name) {
				d.report(sink, RuleUnexpected, fmt.Sprintf("unexpected directory %q", name), name, 0)
				continue
			}
			d.report(sink, RuleLink, fmt.Sprintf("member %q has type %q (link target %q)", name, hdr.Typeflag, hdr.Linkname), name, 0)
			continue
		}
		size := min(hdr.Size, max(in.Size-start, 0))
		if size < hdr.Size {
			d.report(sink, RuleTar, fmt.Sprintf("member %q declares %d bytes, %d remain", name, hdr.Size, size), name, 0)
		}
		r := io.NewSectionReader(in.R, start, size)
		switch name {
		case "sys_info", "pickle":
			err = sink.Nested(ctx, name, r, size)
		case "storages", "tensors":
			err = d.records(ctx, sink, name, r, size)
		default:
			d.report(sink, RuleUnexpected, fmt.Sprintf("unexpected member %q", name), name, 0)
			err = sink.Nested(ctx, name, r, size)
		}
		if err != nil {
			return err
		}
	}
	for _, req := range []string{"pickle", "storages", "tensors"} {
		if seen[req] == 0 {
			sink.Report(d.Finding(RuleTar, fmt.Sprintf("required member %q is missing", req), "", -1))
		}
	}
	return nil
}

func isLegacyName(n string) bool {
	switch strings.TrimSuffix(n, "/") {
	case "sys_info", "pickle", "storages", "tensors":
		return true
	}
	return false
}

func (d *Detector) report(sink scan.Sink, id, msg, member string, off int64) {
	f := d.Finding(id, msg, "", off)
	f.Location.Member = member
	sink.Report(f)
}

// records walks a storages or tensors member and hands its pickles —
// without the raw data between them — to Nested as one stream. A member
// that does not have the expected layout is scanned whole.
func (d *Detector) records(ctx context.Context, sink scan.Sink, name string, r *io.SectionReader, size int64) error {
	segs, err := walkRecords(ctx, name, r, size)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.report(sink, RuleLayout, fmt.Sprintf("%s: %v; scanned whole", name, err), name, -1)
		return sink.Nested(ctx, name, r, size)
	}
	cat := newConcat(r, segs)
	return sink.Nested(ctx, name, cat, cat.size)
}

// segment is a byte range of a member.
type segment struct{ off, n int64 }

// walkRecords returns the pickle segments of a storages or tensors member.
func walkRecords(ctx context.Context, name string, r *io.SectionReader, size int64) ([]segment, error) {
	var segs []segment
	pos := int64(0)
	next := func() (pickleInfo, error) {
		info, err := walkPickle(ctx, r, pos, size)
		if err != nil {
			return info, err
		}
		segs = append(segs, segment{pos, info.end - pos})
		pos = info.end
		return info, nil
	}
	readInts := func(n int, width int) ([]int64, error) {
		buf := make([]byte, n*width)
		if int64(len(buf)) > size-pos {
			return nil, fmt.Errorf("truncated record at offset %d", pos)
		}
		if _, err := r.ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		pos += int64(len(buf))
		out := make([]int64, n)
		for i := range out {
			if width == 8 {
				out[i] = int64(binary.LittleEndian.Uint64(buf[i*8:]))
			} else {
				out[i] = int64(int32(binary.LittleEndian.Uint32(buf[i*4:])))
			}
		}
		return out, nil
	}
	count, err := next()
	if err != nil {
		return nil, err
	}
	if !count.hasInt || count.int < 0 || count.int > maxRecords {
		return nil, fmt.Errorf("record count is not a small integer")
	}
	for i := int64(0); i < count.int; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := next()
		if err != nil {
			return nil, err
		}
		switch name {
		case "storages":
			esize, ok := elementSizes[rec.lastGlobal]
			if !ok {
				return nil, fmt.Errorf("storage %d: unknown storage type %q", i, rec.lastGlobal)
			}
			n, err := readInts(1, 8)
			if err != nil {
				return nil, err
			}
			if n[0] < 0 || n[0] > (size-pos)/esize {
				return nil, fmt.Errorf("storage %d: %d elements of %d bytes exceed the member", i, n[0], esize)
			}
			pos += n[0] * esize // raw storage bytes: skipped, not read
		case "tensors":
			nd, err := readInts(2, 4)
			if err != nil {
				return nil, err
			}
			if nd[0] < 0 || nd[0] > 64 {
				return nil, fmt.Errorf("tensor %d: %d dimensions", i, nd[0])
			}
			if _, err := readInts(int(2*nd[0]+1), 8); err != nil {
				return nil, err
			}
		}
	}
	if name == "storages" {
		if _, err := next(); err != nil { // storage views
			return nil, err
		}
	}
	if pos != size {
		return nil, fmt.Errorf("%d bytes after the last record", size-pos)
	}
	return segs, nil
}

// pickleInfo is what walking one pickle program found.
type pickleInfo struct {
	end        int64 // offset just after STOP
	hasInt     bool  // the program is a single integer
	int        int64
	lastGlobal string // name (without module) of the last GLOBAL/STACK_GLOBAL
}

var errStop = errors.New("stop")

// walkPickle disassembles one pickle program starting at off and returns
// where it ends. It uses the pickle package's disassembler; nothing is
// executed.
func walkPickle(ctx context.Context, r *io.SectionReader, off, size int64) (pickleInfo, error) {
	var info pickleInfo
	var strs [2]string
	ops, intOps, otherOps := 0, 0, 0
	err := pickle.Ops(ctx, io.NewSectionReader(r, off, size-off), size-off, func(op pickle.Op) error {
		ops++
		if ops > maxWalkOps {
			return fmt.Errorf("more than %d opcodes in one record", maxWalkOps)
		}
		switch op.Name {
		case "STOP":
			info.end = off + op.End
			info.hasInt = intOps == 1 && otherOps == 0
			return errStop
		case "BININT", "BININT1", "BININT2", "INT", "LONG", "LONG1", "LONG4":
			intOps++
			info.int = op.Int
		case "GLOBAL", "INST":
			info.lastGlobal = op.Str2
		case "STACK_GLOBAL":
			info.lastGlobal = strs[1]
		case "PROTO", "FRAME":
			return nil
		case "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING":
			strs[0], strs[1] = strs[1], op.Str
		}
		if !strings.HasPrefix(op.Name, "BININT") && !strings.HasPrefix(op.Name, "LONG") && op.Name != "INT" {
			otherOps++
		}
		return nil
	})
	switch {
	case errors.Is(err, errStop):
		return info, nil
	case err == nil:
		return info, fmt.Errorf("pickle at offset %d has no STOP", off)
	}
	return info, fmt.Errorf("pickle at offset %d: %w", off, err)
}

// concat presents segments of r as one contiguous stream.
type concat struct {
	r      io.ReaderAt
	segs   []segment
	starts []int64
	size   int64
}

func newConcat(r io.ReaderAt, segs []segment) *concat {
	c := &concat{r: r, segs: segs}
	for _, s := range segs {
		c.starts = append(c.starts, c.size)
		c.size += s.n
	}
	return c
}

// ReadAt implements io.ReaderAt.
func (c *concat) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("torch: negative offset")
	}
	n := 0
	for i, s := range c.segs {
		if len(p) == 0 {
			break
		}
		st := c.starts[i]
		if off >= st+s.n {
			continue
		}
		rel := off - st
		k := min(int64(len(p)), s.n-rel)
		m, err := c.r.ReadAt(p[:k], s.off+rel)
		n += m
		if m < int(k) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		p = p[k:]
		off += k
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// offsetReader tracks the position of the tar stream, so member data can
// be located, and lets archive/tar skip data by seeking instead of reading.
type offsetReader struct {
	r   *io.SectionReader
	pos int64
}

func (o *offsetReader) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	o.pos += int64(n)
	return n, err
}

func (o *offsetReader) Seek(off int64, whence int) (int64, error) {
	p, err := o.r.Seek(off, whence)
	if err == nil {
		o.pos = p
	}
	return p, err
}
