// Package hdf5 is a small, bounded reader for the attributes of the root
// group of an HDF5 file — enough to read the model_config and
// training_config attributes that Keras stores in .h5 models.
//
// It understands superblock versions 0–3, version 1 and 2 object headers
// with their continuation blocks, attribute messages versions 1–3, and
// fixed-length and variable-length (global heap) string values. Everything
// else (dense attribute storage in fractal heaps, shared datatypes, groups
// below the root) is skipped and listed in Root.Skipped, so callers can say
// what they did not see.
//
// Every offset is checked against the file size, every count and length is
// capped, and continuation loops are detected: hostile input gives an error
// wrapping one of the sentinel errors, never a panic or unbounded memory.
package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrNotHDF5 means no HDF5 superblock signature was found.
	ErrNotHDF5 = errors.New("hdf5: not an HDF5 file")
	// ErrFormat means a structure is malformed or out of range.
	ErrFormat = errors.New("hdf5: malformed file")
	// ErrUnsupported means a structure version the reader does not know.
	ErrUnsupported = errors.New("hdf5: unsupported feature")
	// ErrLimit means a cap in Options was exceeded.
	ErrLimit = errors.New("hdf5: limit exceeded")
)

// Signature opens every HDF5 superblock.
const Signature = "\x89HDF\r\n\x1a\n"

// Options bounds the work done on one file. Zero fields take defaults.
type Options struct {
	// MaxAttrBytes caps the bytes of one attribute value (default 64 MiB).
	MaxAttrBytes int64
	// MaxMessages caps the header messages read from the root object
	// header, across continuation blocks (default 4096).
	MaxMessages int
	// MaxAttributes caps the attributes returned (default 1024).
	MaxAttributes int
	// MaxStrings caps the string elements of one attribute (default 4096).
	MaxStrings int
}

func (o Options) withDefaults() Options {
	if o.MaxAttrBytes <= 0 {
		o.MaxAttrBytes = 64 << 20
	}
	if o.MaxMessages <= 0 {
		o.MaxMessages = 4096
	}
	if o.MaxAttributes <= 0 {
		o.MaxAttributes = 1024
	}
	if o.MaxStrings <= 0 {
		o.MaxStrings = 4096
	}
	return o
}

// Attribute is one attribute of the root group.
type Attribute struct {
	// Name is the attribute's name.
	Name string
	// Class is the datatype class: "string" (fixed length), "vlen-string",
	// or another class name such as "integer", "float", "compound".
	Class string
	// Strings holds the values of string attributes (one per element; a
	// scalar has one). Nil for other classes.
	Strings []string
	// Offset is the file offset of the attribute message.
	Offset int64
}

// IsString reports whether the attribute holds strings.
func (a Attribute) IsString() bool { return a.Class == "string" || a.Class == "vlen-string" }

// Root describes the root group's attributes.
type Root struct {
	// SuperblockVersion is 0, 1, 2 or 3.
	SuperblockVersion int
	// HeaderVersion is the root object header version, 1 or 2.
	HeaderVersion int
	// Attributes are the attributes read, in header order.
	Attributes []Attribute
	// Skipped names structures that were present but not read, e.g.
	// "dense attribute storage".
	Skipped []string
}

// Attr returns the attribute named name.
func (r *Root) Attr(name string) (Attribute, bool) {
	for _, a := range r.Attributes {
		if a.Name == name {
			return a, true
		}
	}
	return Attribute{}, false
}

// reader wraps the file with bounds-checked reads relative to the base
// address.
type reader struct {
	r        io.ReaderAt
	size     int64
	base     int64
	offSize  int // size of offsets
	lenSize  int // size of lengths
	opt      Options
	messages int
	root     *Root
	heaps    map[uint64]map[uint32]heapObj // indexed global heap collections
	heapObjs int                           // heap objects indexed so far
	// headerBytes and valueBytes count the header bytes read and the
	// attribute value bytes kept, both capped.
	headerBytes, valueBytes int64
}

// ReadRoot reads the attributes of the root group of the HDF5 file of size
// bytes behind r.
func ReadRoot(r io.ReaderAt, size int64, opt Options) (*Root, error) {
	rd := &reader{r: r, size: size, opt: opt.withDefaults(), root: &Root{}}
	sbOff, err := rd.findSuperblock()
	if err != nil {
		return nil, err
	}
	hdr, err := rd.superblock(sbOff)
	if err != nil {
		return nil, err
	}
	if err := rd.objectHeader(hdr); err != nil {
		return rd.root, err
	}
	return rd.root, nil
}

// findSuperblock looks for the signature at 0, 512, 1024, 2048, ...
func (rd *reader) findSuperblock() (int64, error) {
	sig := make([]byte, len(Signature))
	for off := int64(0); off+int64(len(sig)) <= rd.size && off <= 1<<30; {
		if _, err := rd.r.ReadAt(sig, off); err != nil {
			return 0, fmt.Errorf("%w: read signature: %v", ErrNotHDF5, err)
		}
		if string(sig) == Signature {
			return off, nil
		}
		if off == 0 {
			off = 512
		} else {
			off *= 2
		}
	}
	return 0, ErrNotHDF5
}

// readAbs reads n bytes at absolute offset off.
func (rd *reader) readAbs(off int64, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > rd.size || n > rd.size-off {
		return nil, fmt.Errorf("%w: range [%d,+%d) outside file of %d bytes", ErrFormat, off, n, rd.size)
	}
	if n > rd.opt.MaxAttrBytes+1<<20 {
		return nil, fmt.Errorf("%w: read of %d bytes", ErrLimit, n)
	}
	b := make([]byte, n)
	if _, err := rd.r.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && off+n == rd.size) {
		return nil, fmt.Errorf("%w: read at %d: %v", ErrFormat, off, err)
	}
	return b, nil
}

// addr converts a file address (relative to the base) to an absolute offset.
func (rd *reader) addr(a uint64) (int64, error) {
	if a == undefined(rd.offSize) {
		return 0, fmt.Errorf("%w: undefined address", ErrFormat)
	}
	if a > uint64(rd.size) {
		return 0, fmt.Errorf("%w: address %#x beyond file", ErrFormat, a)
	}
	off := rd.base + int64(a)
	if off < 0 || off >= rd.size {
		return 0, fmt.Errorf("%w: address %#x beyond file", ErrFormat, a)
	}
	return off, nil
}

func undefined(size int) uint64 {
	if size >= 8 {
		return ^uint64(0)
	}
	return 1<<(8*uint(size)) - 1
}

// superblock parses the superblock at off and returns the absolute offset
// of the root group's object header.
func (rd *reader) superblock(off int64) (int64, error) {
	b, err := rd.readAbs(off, min(rd.size-off, 128))
	if err != nil {
		return 0, err
	}
	if len(b) < 12 {
		return 0, fmt.Errorf("%w: short superblock", ErrFormat)
	}
	v := int(b[8])
	rd.root.SuperblockVersion = v
	c := cursor{b: b, pos: 9}
	switch v {
	case 0, 1:
		c.skip(4) // free-space, root symtab, reserved, shared header versions
		rd.offSize = int(c.u8())
		rd.lenSize = int(c.u8())
		c.skip(1)
		c.skip(4) // group leaf / internal node K
		c.skip(4) // consistency flags
		if v == 1 {
			c.skip(4) // indexed storage K + reserved
		}
	case 2, 3:
		rd.offSize = int(c.u8())
		rd.lenSize = int(c.u8())
		c.skip(1) // consistency flags
	default:
		return 0, fmt.Errorf("%w: superblock version %d", ErrUnsupported, v)
	}
	if !validSize(rd.offSize) || !validSize(rd.lenSize) {
		return 0, fmt.Errorf("%w: size of offsets %d / lengths %d", ErrFormat, rd.offSize, rd.lenSize)
	}
	base := c.uint(rd.offSize)
	var rootAddr uint64
	switch v {
	case 0, 1:
		c.skip(rd.offSize)            // free-space info address
		c.skip(rd.offSize)            // end of file address
		c.skip(rd.offSize)            // driver info block address
		c.skip(rd.offSize)            // root symbol table entry: link name offset
		rootAddr = c.uint(rd.offSize) // object header address
	case 2, 3:
		c.skip(rd.offSize) // superblock extension address
		c.skip(rd.offSize) // end of file address
		rootAddr = c.uint(rd.offSize)
	}
	if c.err != nil {
		return 0, fmt.Errorf("%w: superblock: %v", ErrFormat, c.err)
	}
	// The base address is absolute; it is normally the superblock offset.
	if base > uint64(rd.size) {
		return 0, fmt.Errorf("%w: base address %#x beyond file", ErrFormat, base)
	}
	rd.base = int64(base)
	if rd.base == 0 && off != 0 {
		rd.base = off
	}
	return rd.addr(rootAddr)
}

func validSize(n int) bool { return n == 2 || n == 4 || n == 8 }

// cursor decodes little-endian fields from a byte slice; the first
// out-of-range access sets err and further reads return zero.
type cursor struct {
	b   []byte
	pos int
	err error
}

func (c *cursor) take(n int) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || n > len(c.b)-c.pos {
		c.err = fmt.Errorf("%w: field of %d bytes at %d overruns %d-byte block", ErrFormat, n, c.pos, len(c.b))
		return nil
	}
	s := c.b[c.pos : c.pos+n]
	c.pos += n
	return s
}

func (c *cursor) skip(n int) { c.take(n) }

func (c *cursor) u8() uint8 {
	if s := c.take(1); s != nil {
		return s[0]
	}
	return 0
}

func (c *cursor) u16() uint16 {
	if s := c.take(2); s != nil {
		return binary.LittleEndian.Uint16(s)
	}
	return 0
}

func (c *cursor) u32() uint32 {
	if s := c.take(4); s != nil {
		return binary.LittleEndian.Uint32(s)
	}
	return 0
}

// uint reads an n-byte little-endian unsigned integer (n ≤ 8).
func (c *cursor) uint(n int) uint64 {
	s := c.take(n)
	var v uint64
	for i := len(s) - 1; i >= 0; i-- {
		v = v<<8 | uint64(s[i])
	}
	return v
}

func (c *cursor) rest() int { return len(c.b) - c.pos }

// Message types used by the reader.
const (
	msgDatatype     = 0x03
	msgAttribute    = 0x0C
	msgContinuation = 0x10
	msgAttrInfo     = 0x15
)

// maxBlocks caps the header blocks (the first plus continuations).
const maxBlocks = 256

// maxBlockSize caps one object header block.
const maxBlockSize = 16 << 20

type block struct{ off, n int64 }

// objectHeader reads the object header at off and collects its attribute
// messages, following continuation blocks.
func (rd *reader) objectHeader(off int64) error {
	sig, err := rd.readAbs(off, min(4, rd.size-off))
	if err != nil {
		return err
	}
	if string(sig) == "OHDR" {
		rd.root.HeaderVersion = 2
		return rd.headerV2(off)
	}
	rd.root.HeaderVersion = 1
	return rd.headerV1(off)
}

func (rd *reader) headerV1(off int64) error {
	h, err := rd.readAbs(off, 16)
	if err != nil {
		return err
	}
	if h[0] != 1 {
		return fmt.Errorf("%w: object header version %d", ErrUnsupported, h[0])
	}
	size := int64(binary.LittleEndian.Uint32(h[8:12]))
	queue := []block{{off + 16, size}}
	return rd.walkBlocks(queue, func(b []byte, boff int64, push func(block)) error {
		c := cursor{b: b}
		for c.rest() >= 8 {
			mstart := c.pos
			typ := c.u16()
			n := int(c.u16())
			flags := c.u8()
			c.skip(3)
			data := c.take(n)
			if c.err != nil {
				return c.err
			}
			if err := rd.message(typ, flags, data, boff+int64(mstart), push); err != nil {
				return err
			}
			// v1 messages are aligned to 8 bytes.
			if pad := (8 - c.pos%8) % 8; pad > 0 && c.rest() >= pad {
				c.skip(pad)
			}
		}
		return nil
	})
}

func (rd *reader) headerV2(off int64) error {
	h, err := rd.readAbs(off, min(rd.size-off, 40))
	if err != nil {
		return err
	}
	c := cursor{b: h, pos: 4}
	if v := c.u8(); v != 2 {
		return fmt.Errorf("%w: object header version %d", ErrUnsupported, v)
	}
	flags := c.u8()
	if flags&0x20 != 0 {
		c.skip(16) // access, modification, change, birth times
	}
	if flags&0x10 != 0 {
		c.skip(4) // attribute phase change values
	}
	size := int64(c.uint(1 << (flags & 3)))
	if c.err != nil {
		return fmt.Errorf("%w: object header: %v", ErrFormat, c.err)
	}
	queue := []block{{off + int64(c.pos), size}}
	first := true
	return rd.walkBlocks(queue, func(b []byte, boff int64, push func(block)) error {
		c := cursor{b: b}
		if !first {
			if len(b) < 8 || string(b[:4]) != "OCHK" {
				return fmt.Errorf("%w: continuation block without OCHK signature at %d", ErrFormat, boff)
			}
			c.pos = 4
			c.b = b[:len(b)-4] // checksum
		}
		first = false
		// Messages: type(1) size(2) flags(1) [creation order(2)] data.
		hdr := 4
		if flags&0x04 != 0 {
			hdr = 6
		}
		for c.rest() >= hdr {
			mstart := c.pos
			typ := uint16(c.u8())
			n := int(c.u16())
			mflags := c.u8()
			if flags&0x04 != 0 {
				c.skip(2)
			}
			data := c.take(n)
			if c.err != nil {
				return c.err
			}
			if err := rd.message(typ, mflags, data, boff+int64(mstart), push); err != nil {
				return err
			}
		}
		return nil
	})
}

// walkBlocks reads each queued header block and hands it to parse, which
// may push continuation blocks. Blocks already seen are a loop.
func (rd *reader) walkBlocks(queue []block, parse func(b []byte, off int64, push func(block)) error) error {
	seen := map[int64]bool{}
	for i := 0; i < len(queue); i++ {
		if i >= maxBlocks {
			return fmt.Errorf("%w: more than %d object header blocks", ErrLimit, maxBlocks)
		}
		blk := queue[i]
		if seen[blk.off] {
			return fmt.Errorf("%w: object header continuation loop at %d", ErrFormat, blk.off)
		}
		seen[blk.off] = true
		if blk.n < 0 || blk.n > maxBlockSize {
			return fmt.Errorf("%w: object header block of %d bytes", ErrLimit, blk.n)
		}
		// Overlapping blocks could make the reader revisit the same bytes
		// many times: cap the header bytes read in total.
		rd.headerBytes += blk.n
		if rd.headerBytes > rd.opt.MaxAttrBytes+maxBlockSize {
			return fmt.Errorf("%w: more than %d bytes of object header", ErrLimit, rd.opt.MaxAttrBytes+maxBlockSize)
		}
		b, err := rd.readAbs(blk.off, blk.n)
		if err != nil {
			return err
		}
		push := func(nb block) { queue = append(queue, nb) }
		if err := parse(b, blk.off, push); err != nil {
			return err
		}
	}
	return nil
}

// message handles one header message.
func (rd *reader) message(typ uint16, flags uint8, data []byte, off int64, push func(block)) error {
	rd.messages++
	if rd.messages > rd.opt.MaxMessages {
		return fmt.Errorf("%w: more than %d header messages", ErrLimit, rd.opt.MaxMessages)
	}
	switch typ {
	case msgContinuation:
		c := cursor{b: data}
		a := c.uint(rd.offSize)
		n := c.uint(rd.lenSize)
		if c.err != nil {
			return fmt.Errorf("%w: continuation message: %v", ErrFormat, c.err)
		}
		abs, err := rd.addr(a)
		if err != nil {
			return err
		}
		if n > uint64(rd.size) {
			return fmt.Errorf("%w: continuation length %d", ErrFormat, n)
		}
		push(block{abs, int64(n)})
	case msgAttrInfo:
		// Version, flags, [max creation index], fractal heap address: an
		// undefined heap address means every attribute is compact (in
		// this header).
		c := cursor{b: data}
		c.skip(1)
		if c.u8()&0x01 != 0 {
			c.skip(2)
		}
		heap := c.uint(rd.offSize)
		if c.err != nil {
			return fmt.Errorf("%w: attribute info message: %v", ErrFormat, c.err)
		}
		if heap != undefined(rd.offSize) {
			rd.skipped("dense attribute storage")
		}
	case msgAttribute:
		if flags&0x02 != 0 {
			rd.skipped("shared attribute message")
			return nil
		}
		if len(rd.root.Attributes) >= rd.opt.MaxAttributes {
			return fmt.Errorf("%w: more than %d attributes", ErrLimit, rd.opt.MaxAttributes)
		}
		a, err := rd.attribute(data)
		if err != nil {
			return fmt.Errorf("attribute at %d: %w", off, err)
		}
		a.Offset = off
		for _, v := range a.Strings {
			rd.valueBytes += int64(len(v))
		}
		if rd.valueBytes > 2*rd.opt.MaxAttrBytes {
			return fmt.Errorf("%w: more than %d bytes of attribute values", ErrLimit, 2*rd.opt.MaxAttrBytes)
		}
		rd.root.Attributes = append(rd.root.Attributes, a)
	}
	return nil
}

func (rd *reader) skipped(what string) {
	for _, s := range rd.root.Skipped {
		if s == what {
			return
		}
	}
	rd.root.Skipped = append(rd.root.Skipped, what)
}

var classNames = [...]string{"integer", "float", "time", "string", "bitfield", "opaque", "compound", "reference", "enum", "vlen", "array"}

// attribute decodes an attribute message (versions 1–3).
func (rd *reader) attribute(data []byte) (Attribute, error) {
	c := cursor{b: data}
	v := c.u8()
	flags := c.u8()
	nameLen := int(c.u16())
	dtLen := int(c.u16())
	dsLen := int(c.u16())
	pad := func(n int) int { return n }
	switch v {
	case 1:
		c.skip(0)
		pad = func(n int) int { return (n + 7) &^ 7 }
	case 2:
	case 3:
		c.skip(1) // name character set
	default:
		return Attribute{}, fmt.Errorf("%w: attribute message version %d", ErrUnsupported, v)
	}
	name := c.take(pad(nameLen))
	dt := c.take(pad(dtLen))
	ds := c.take(pad(dsLen))
	if c.err != nil {
		return Attribute{}, c.err
	}
	name = name[:min(nameLen, len(name))]
	name = bytes.TrimRight(name, "\x00")
	a := Attribute{Name: string(name)}
	if flags&0x03 != 0 {
		a.Class = "shared"
		rd.skipped("shared datatype or dataspace")
		return a, nil
	}
	if len(dt) < 8 {
		return a, fmt.Errorf("%w: datatype of %d bytes", ErrFormat, len(dt))
	}
	class := int(dt[0] & 0x0f)
	if class < len(classNames) {
		a.Class = classNames[class]
	} else {
		a.Class = fmt.Sprintf("class-%d", class)
	}
	elemSize := int64(binary.LittleEndian.Uint32(dt[4:8]))
	count, err := rd.dataspace(ds[:min(dsLen, len(ds))])
	if err != nil {
		return a, err
	}
	value := data[c.pos:]
	switch {
	case class == 3: // fixed-length string
		a.Class = "string"
		if count > uint64(rd.opt.MaxStrings) {
			return a, fmt.Errorf("%w: %d string elements", ErrLimit, count)
		}
		if elemSize < 0 || uint64(elemSize)*count > uint64(len(value)) {
			return a, fmt.Errorf("%w: %d strings of %d bytes in %d bytes of data", ErrFormat, count, elemSize, len(value))
		}
		for i := uint64(0); i < count; i++ {
			s := value[int64(i)*elemSize : int64(i+1)*elemSize]
			a.Strings = append(a.Strings, trimString(s, dt[1]&0x0f))
		}
	case class == 9 && dt[1]&0x0f == 1: // variable-length string
		a.Class = "vlen-string"
		if count > uint64(rd.opt.MaxStrings) {
			return a, fmt.Errorf("%w: %d string elements", ErrLimit, count)
		}
		ref := 4 + rd.offSize + 4
		if count*uint64(ref) > uint64(len(value)) {
			return a, fmt.Errorf("%w: %d heap references in %d bytes of data", ErrFormat, count, len(value))
		}
		var total int64
		for i := 0; i < int(count); i++ {
			e := cursor{b: value[i*ref : (i+1)*ref]}
			n := e.u32()
			coll := e.uint(rd.offSize)
			idx := e.u32()
			total += int64(n)
			if total > rd.opt.MaxAttrBytes {
				return a, fmt.Errorf("%w: attribute of more than %d bytes", ErrLimit, rd.opt.MaxAttrBytes)
			}
			if coll == 0 && idx == 0 {
				a.Strings = append(a.Strings, "") // null reference
				continue
			}
			s, err := rd.heapObject(coll, idx, int64(n))
			if err != nil {
				return a, err
			}
			a.Strings = append(a.Strings, trimString(s, (dt[1]>>4)&0x0f))
		}
	}
	return a, nil
}

// trimString removes the padding of a string value: pad 0 is
// null-terminated, 1 null-padded, 2 space-padded.
func trimString(s []byte, pad uint8) string {
	switch pad {
	case 0:
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
	case 1:
		s = bytes.TrimRight(s, "\x00")
	case 2:
		s = bytes.TrimRight(s, " ")
	}
	return string(s)
}

// dataspace returns the number of elements of a dataspace message.
func (rd *reader) dataspace(b []byte) (uint64, error) {
	c := cursor{b: b}
	v := c.u8()
	rank := int(c.u8())
	flags := c.u8()
	switch v {
	case 1:
		c.skip(5)
	case 2:
		if t := c.u8(); t == 2 {
			return 0, nil // null dataspace
		}
	default:
		return 0, fmt.Errorf("%w: dataspace version %d", ErrUnsupported, v)
	}
	if rank > 32 {
		return 0, fmt.Errorf("%w: dataspace rank %d", ErrFormat, rank)
	}
	n := uint64(1)
	for i := 0; i < rank; i++ {
		d := c.uint(rd.lenSize)
		if d != 0 && n > (1<<40)/d {
			return 0, fmt.Errorf("%w: dataspace of too many elements", ErrLimit)
		}
		n *= d
	}
	_ = flags
	if c.err != nil {
		return 0, fmt.Errorf("%w: dataspace: %v", ErrFormat, c.err)
	}
	return n, nil
}

// maxHeapObjects caps the global heap objects indexed per file.
const maxHeapObjects = 1 << 20

// heapObject reads object idx of the global heap collection at address
// coll; want is the length recorded in the reference. Each collection is
// indexed once, so many references cost one walk.
func (rd *reader) heapObject(coll uint64, idx uint32, want int64) ([]byte, error) {
	objs, ok := rd.heaps[coll]
	if !ok {
		var err error
		if objs, err = rd.indexHeap(coll); err != nil {
			return nil, err
		}
		if rd.heaps == nil {
			rd.heaps = map[uint64]map[uint32]heapObj{}
		}
		rd.heaps[coll] = objs
	}
	o, ok := objs[idx]
	if !ok {
		return nil, fmt.Errorf("%w: global heap object %d not found in collection at %#x", ErrFormat, idx, coll)
	}
	n := o.size
	if want >= 0 && want < n {
		n = want
	}
	if n > rd.opt.MaxAttrBytes {
		return nil, fmt.Errorf("%w: heap object of %d bytes", ErrLimit, n)
	}
	return rd.readAbs(o.off, n)
}

type heapObj struct{ off, size int64 }

// indexHeap walks the object headers of the global heap collection at
// address coll without reading object data.
func (rd *reader) indexHeap(coll uint64) (map[uint32]heapObj, error) {
	off, err := rd.addr(coll)
	if err != nil {
		return nil, fmt.Errorf("global heap: %w", err)
	}
	h, err := rd.readAbs(off, min(rd.size-off, int64(8+rd.lenSize)))
	if err != nil {
		return nil, err
	}
	if len(h) < 8+rd.lenSize || string(h[:4]) != "GCOL" {
		return nil, fmt.Errorf("%w: no global heap collection at %d", ErrFormat, off)
	}
	c := cursor{b: h, pos: 8}
	csize := c.uint(rd.lenSize)
	if csize > uint64(rd.size-off) {
		return nil, fmt.Errorf("%w: global heap collection of %d bytes beyond file", ErrFormat, csize)
	}
	objs := map[uint32]heapObj{}
	pos := off + 8 + int64(rd.lenSize)
	end := off + int64(csize)
	ohSize := int64(8 + rd.lenSize)
	for pos+ohSize <= end {
		rd.heapObjs++
		if rd.heapObjs > maxHeapObjects {
			return nil, fmt.Errorf("%w: more than %d global heap objects", ErrLimit, maxHeapObjects)
		}
		oh, err := rd.readAbs(pos, ohSize)
		if err != nil {
			return nil, err
		}
		oc := cursor{b: oh}
		oi := oc.u16()
		oc.skip(6)
		osize := oc.uint(rd.lenSize)
		if oi == 0 {
			break // free space
		}
		if osize > uint64(end-pos-ohSize) {
			return nil, fmt.Errorf("%w: global heap object %d of %d bytes overruns collection", ErrFormat, oi, osize)
		}
		if _, dup := objs[uint32(oi)]; !dup {
			objs[uint32(oi)] = heapObj{pos + ohSize, int64(osize)}
		}
		pos += ohSize + int64((osize+7)&^7)
	}
	return objs, nil
}
