// Package zip reads zip archives the way model loaders read them — PyTorch's
// miniz-based PyTorchStreamReader and Python's zipfile (numpy.load) — and
// reports every structural anomaly as data instead of refusing the archive.
//
// Loaders and scanners disagree on malformed archives: zipfile rejects a CRC
// mismatch that torch.load ignores, zipfile compares the local header name
// with the central directory name while miniz does not, zipfile accepts data
// prepended to an archive and miniz does not. A scanner that reads such an
// archive with a strict library fails or sees different bytes than the
// loader. This reader follows the central directory (which both loaders use
// to find members), takes each member's data offset from its local header
// (as both loaders do), and records where the two disagree.
//
// Like archive/zip it takes an io.ReaderAt and a size, never trusts a count,
// size or offset it read, caps what it allocates, and returns sentinel errors
// prefixed "zip:".
package zip

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Sentinel errors.
var (
	// ErrFormat means no end of central directory record was found: the
	// input is not a zip archive.
	ErrFormat = errors.New("zip: not a valid zip archive")
	// ErrChecksum is returned at the end of a member whose CRC-32 differs
	// from the central directory's.
	ErrChecksum = errors.New("zip: checksum mismatch")
	// ErrAlgorithm is returned by Open for a compression method this
	// package cannot decompress.
	ErrAlgorithm = errors.New("zip: unsupported compression method")
	// ErrSize is returned when a member's data ends before its declared
	// uncompressed size.
	ErrSize = errors.New("zip: member shorter than its declared size")
	// ErrLocalHeader is returned by Open when a member's local header could
	// not be read, so its data cannot be located.
	ErrLocalHeader = errors.New("zip: bad local file header")
	// ErrMemberBudget, ErrTotalBudget and ErrRatio are returned by readers
	// bounded by a Budget.
	ErrMemberBudget = errors.New("zip: member decompressed size over budget")
	ErrTotalBudget  = errors.New("zip: total decompressed bytes over budget")
	ErrRatio        = errors.New("zip: compression ratio over cap")
)

// Signatures and fixed sizes from the APPNOTE.
const (
	sigLocal      = 0x04034b50
	sigCentral    = 0x02014b50
	sigEOCD       = 0x06054b50
	sigEOCD64     = 0x06064b50
	sigEOCD64Loc  = 0x07064b50
	localLen      = 30
	centralLen    = 46
	eocdLen       = 22
	eocd64Len     = 56
	eocd64LocLen  = 20
	maxCommentLen = 0xffff
)

// Compression methods.
const (
	Store   uint16 = 0
	Deflate uint16 = 8
	Bzip2   uint16 = 12
	LZMA    uint16 = 14
	Zstd    uint16 = 93
)

// General purpose flag bits.
const (
	FlagEncrypted       uint16 = 1 << 0
	FlagDataDescriptor  uint16 = 1 << 3
	FlagPatched         uint16 = 1 << 5
	FlagStrongEncrypted uint16 = 1 << 6
	FlagUTF8            uint16 = 1 << 11
	FlagMaskedHeader    uint16 = 1 << 13
	// flagsOrdinary are the bits a normal writer sets: compression options
	// (1, 2), data descriptor (3) and UTF-8 names (11).
	flagsOrdinary = 1<<1 | 1<<2 | FlagDataDescriptor | FlagUTF8
	flagsEncrypt  = FlagEncrypted | FlagStrongEncrypted | FlagMaskedHeader
)

// Options bound the reader. Zero fields take the defaults.
type Options struct {
	// MaxEntries caps the central directory entries read (default 100,000);
	// further entries are ignored and reported as AnomalyTooManyEntries.
	MaxEntries int
	// MaxNameLen caps a kept member name (default 4096 bytes); longer names
	// are truncated and reported as AnomalyLongName.
	MaxNameLen int
	// DirectoryOnly skips the local headers: only the central directory is
	// read (enough to list names; DataOffset stays -1 and local-header
	// anomalies are not looked for).
	DirectoryOnly bool
	// DeclaredOffsets reads the central directory and members at their
	// declared offsets, as miniz (torch.load) does, instead of shifting
	// them by the bytes prepended to the archive, as zipfile does.
	DeclaredOffsets bool
}

func (o Options) withDefaults() Options {
	if o.MaxEntries <= 0 {
		o.MaxEntries = 100_000
	}
	if o.MaxNameLen <= 0 {
		o.MaxNameLen = 4096
	}
	return o
}

// AnomalyKind names a structural anomaly. The values are stable.
type AnomalyKind string

// Anomaly kinds.
const (
	AnomalyCRC            AnomalyKind = "crc-mismatch"       // data CRC-32 differs from the central directory (found while reading)
	AnomalyEncrypted      AnomalyKind = "encrypted"          // encryption flag bits set
	AnomalyFlags          AnomalyKind = "unusual-flags"      // flag bits no ordinary writer sets
	AnomalyNameMismatch   AnomalyKind = "name-mismatch"      // local header name differs from the central directory name
	AnomalyHeaderMismatch AnomalyKind = "header-mismatch"    // local header method, flags, CRC or sizes differ from the central directory
	AnomalyLocalHeader    AnomalyKind = "bad-local-header"   // local header missing or unreadable
	AnomalyPrepended      AnomalyKind = "prepended-data"     // bytes before the archive (base offset > 0)
	AnomalyTrailing       AnomalyKind = "trailing-data"      // bytes after the end of central directory and its comment
	AnomalyZip64          AnomalyKind = "zip64"              // zip64 records in use (informational)
	AnomalyDuplicate      AnomalyKind = "duplicate-name"     // two entries with the same name
	AnomalyOverlap        AnomalyKind = "overlap"            // member data overlaps another member or the central directory
	AnomalyUnsafePath     AnomalyKind = "unsafe-path"        // name escapes the extraction root
	AnomalyMethod         AnomalyKind = "unsupported-method" // method PyTorch's reader (miniz: store, deflate) cannot read
	AnomalySize           AnomalyKind = "bad-size"           // declared size or offset inconsistent with the archive
	AnomalyCount          AnomalyKind = "bad-count"          // end record's entry count differs from the directory
	AnomalyTooManyEntries AnomalyKind = "too-many-entries"   // more entries than Options.MaxEntries
	AnomalyLongName       AnomalyKind = "long-name"          // name longer than Options.MaxNameLen
	AnomalyDirectory      AnomalyKind = "bad-directory"      // central directory truncated or corrupt
	AnomalyAmbiguous      AnomalyKind = "two-directories"    // zipfile and miniz read different central directories
)

// Anomaly is one structural irregularity.
type Anomaly struct {
	Kind AnomalyKind
	// Entry is the central directory name of the member involved, "" for
	// the archive as a whole.
	Entry string
	// Offset is the absolute byte offset the anomaly was found at, -1 when
	// none applies.
	Offset int64
	// Detail is a human-readable explanation.
	Detail string
}

func (a Anomaly) String() string {
	if a.Entry == "" {
		return fmt.Sprintf("%s: %s", a.Kind, a.Detail)
	}
	return fmt.Sprintf("%s %q: %s", a.Kind, a.Entry, a.Detail)
}

// Entry is one central directory entry, with what its local header says.
type Entry struct {
	// Name is the central directory name: the one loaders look members up by.
	Name string
	// LocalName is the name in the local file header ("" if unreadable).
	LocalName string
	// Flags and Method are from the central directory; LocalFlags and
	// LocalMethod from the local header.
	Flags, LocalFlags   uint16
	Method, LocalMethod uint16
	CRC32               uint32
	// CompressedSize and UncompressedSize are the declared sizes (zip64
	// resolved). They are not trusted: readers stop at the archive's end.
	CompressedSize, UncompressedSize int64
	// HeaderOffset is the absolute offset of the local header (base offset
	// applied).
	HeaderOffset int64
	// DataOffset is the absolute offset of the member data, -1 when the
	// local header could not be read.
	DataOffset int64
	// Zip64 is set when the entry used a zip64 extra field.
	Zip64 bool
	// Index is the entry's position in the central directory.
	Index int
	// CreatorVersion and ExternalAttrs are the central directory's
	// "version made by" (high byte: host system) and external attributes
	// (Unix mode in the high 16 bits when the host is Unix).
	CreatorVersion uint16
	ExternalAttrs  uint32
}

// Symlink reports whether the entry is a symbolic link: made on Unix (or
// macOS) with S_IFLNK in its mode. Extractors such as unzip and
// shutil.unpack_archive's backends create the link.
func (e *Entry) Symlink() bool {
	host := e.CreatorVersion >> 8
	return (host == 3 || host == 19) && (e.ExternalAttrs>>16)&0o170000 == 0o120000
}

// Encrypted reports whether the central or local flags mark the entry as
// encrypted.
func (e *Entry) Encrypted() bool { return (e.Flags|e.LocalFlags)&flagsEncrypt != 0 }

// Reader is an opened zip archive.
type Reader struct {
	r       io.ReaderAt
	size    int64
	maxName int
	// Entries are the central directory entries in directory order.
	Entries []*Entry
	// BaseOffset is the number of bytes before the archive proper (data
	// prepended to the zip); member offsets are relative to it.
	BaseOffset int64
	// DirectoryOffset and DirectorySize locate the central directory
	// (absolute).
	DirectoryOffset, DirectorySize int64
	// Zip64 is set when a zip64 end of central directory record was used.
	Zip64 bool
	// Comment is the archive comment.
	Comment string
	// Anomalies lists every structural irregularity found while opening.
	// Reading members can find more (CRC); see Open.
	Anomalies []Anomaly
}

// Size returns the archive size given to NewReader.
func (z *Reader) Size() int64 { return z.size }

func (z *Reader) anomaly(k AnomalyKind, entry string, off int64, format string, args ...any) {
	z.Anomalies = append(z.Anomalies, Anomaly{Kind: k, Entry: entry, Offset: off, Detail: fmt.Sprintf(format, args...)})
}

// NewReader reads the central directory and every local header of the
// archive held in the size bytes of r. It fails only when no end of central
// directory record can be found (ErrFormat) or r fails; everything else is
// recorded in Anomalies.
func NewReader(r io.ReaderAt, size int64, opts Options) (*Reader, error) {
	opts = opts.withDefaults()
	if size < eocdLen {
		return nil, ErrFormat
	}
	z := &Reader{r: r, size: size, maxName: opts.MaxNameLen}
	eocd, err := z.findEOCD()
	if err != nil {
		return nil, err
	}
	if err := z.readDirectory(eocd, opts); err != nil {
		return nil, err
	}
	if !opts.DirectoryOnly {
		z.readLocalHeaders()
	}
	z.checkLayout()
	return z, nil
}

// eocdInfo is what the end records say.
type eocdInfo struct {
	pos      int64 // offset of the EOCD record
	entries  uint64
	cdSize   uint64
	cdOffset uint64
	end      int64 // offset where the directory must end (EOCD or zip64 EOCD)
}

// findEOCD locates the last end of central directory record whose comment
// fits in the file, as zipfile and miniz do (both scan backwards).
func (z *Reader) findEOCD() (eocdInfo, error) {
	// Most archives have no comment: try a small tail first, then the
	// largest tail a comment allows.
	var (
		buf   []byte
		start int64
		pos   = -1
	)
	for _, want := range []int64{1 << 10, eocdLen + maxCommentLen} {
		tail := min(want, z.size)
		if int64(len(buf)) >= tail {
			break
		}
		buf = make([]byte, tail)
		start = z.size - tail
		if _, err := z.r.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return eocdInfo{}, fmt.Errorf("zip: read end of central directory: %w", err)
		}
		if pos = lastEOCD(buf); pos >= 0 {
			break
		}
	}
	if pos < 0 {
		return eocdInfo{}, ErrFormat
	}
	b := buf[pos:]
	clen := int(binary.LittleEndian.Uint16(b[20:]))
	z.Comment = string(b[eocdLen : eocdLen+clen])
	e := eocdInfo{
		pos:      start + int64(pos),
		entries:  uint64(binary.LittleEndian.Uint16(b[10:])),
		cdSize:   uint64(binary.LittleEndian.Uint32(b[12:])),
		cdOffset: uint64(binary.LittleEndian.Uint32(b[16:])),
	}
	e.end = e.pos
	if trail := len(b) - eocdLen - clen; trail > 0 {
		z.anomaly(AnomalyTrailing, "", e.pos+int64(eocdLen+clen), "%d bytes after the end of central directory record", trail)
	}
	if disk := binary.LittleEndian.Uint16(b[4:]); disk != 0 && disk != 0xffff {
		z.anomaly(AnomalyDirectory, "", e.pos, "multi-disk archive (disk %d)", disk)
	}
	// zip64: a locator right before the EOCD.
	if e.pos >= eocd64LocLen {
		loc := make([]byte, eocd64LocLen)
		if _, err := z.r.ReadAt(loc, e.pos-eocd64LocLen); err == nil && binary.LittleEndian.Uint32(loc) == sigEOCD64Loc {
			z.readEOCD64(&e, binary.LittleEndian.Uint64(loc[8:]))
		}
	}
	return e, nil
}

// lastEOCD returns the offset in buf of the last end of central directory
// signature whose comment fits in buf, or -1.
func lastEOCD(buf []byte) int {
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) != sigEOCD {
			continue
		}
		clen := int(binary.LittleEndian.Uint16(buf[i+20:]))
		if i+eocdLen+clen <= len(buf) {
			return i
		}
	}
	return -1
}

// readEOCD64 reads the zip64 end record. zipfile expects it immediately
// before the locator; miniz follows the locator's offset. Both are tried,
// and disagreement is an anomaly.
func (z *Reader) readEOCD64(e *eocdInfo, declared uint64) {
	locPos := e.pos - eocd64LocLen
	want := locPos - eocd64Len
	rec := make([]byte, eocd64Len)
	readAt := func(off int64) bool {
		if off < 0 || off+eocd64Len > z.size {
			return false
		}
		_, err := z.r.ReadAt(rec, off)
		return err == nil && binary.LittleEndian.Uint32(rec) == sigEOCD64
	}
	pos := want
	if !readAt(want) {
		if declared > uint64(z.size) || !readAt(int64(declared)) {
			z.anomaly(AnomalyDirectory, "", locPos, "zip64 locator without a zip64 end of central directory record")
			return
		}
		pos = int64(declared)
	}
	if uint64(pos) != declared {
		z.anomaly(AnomalyZip64, "", locPos, "zip64 locator points at %d, record found at %d", declared, pos)
	}
	z.Zip64 = true
	e.entries = binary.LittleEndian.Uint64(rec[32:])
	e.cdSize = binary.LittleEndian.Uint64(rec[40:])
	e.cdOffset = binary.LittleEndian.Uint64(rec[48:])
	e.end = pos
	z.anomaly(AnomalyZip64, "", pos, "zip64 end of central directory record")
}

func (z *Reader) readDirectory(e eocdInfo, opts Options) error {
	if e.cdSize > uint64(e.end) {
		z.anomaly(AnomalySize, "", e.pos, "central directory size %d larger than the bytes before its end record", e.cdSize)
		e.cdSize = uint64(e.end)
	}
	cdStart := e.end - int64(e.cdSize)
	// zipfile's "concat": bytes prepended to the archive shift every offset.
	base := cdStart - int64(min(e.cdOffset, uint64(1)<<62))
	if base > 0 && e.cdOffset < uint64(z.size) {
		// miniz (torch.load) reads the directory at the declared offset;
		// zipfile at the shifted one. A directory at both means the
		// loaders see two different archives.
		var sig [4]byte
		if _, err := z.r.ReadAt(sig[:], int64(e.cdOffset)); err == nil && binary.LittleEndian.Uint32(sig[:]) == sigCentral {
			z.anomaly(AnomalyAmbiguous, "", int64(e.cdOffset), "a central directory at the declared offset %d (read by miniz) and another at %d (read by zipfile)", e.cdOffset, cdStart)
		}
	}
	if opts.DeclaredOffsets && base > 0 {
		cdStart, base = int64(e.cdOffset), 0
		e.cdSize = min(e.cdSize, uint64(z.size-cdStart))
	}
	switch {
	case base > 0:
		z.BaseOffset = base
		z.anomaly(AnomalyPrepended, "", 0, "%d bytes precede the archive", base)
	case base < 0:
		z.anomaly(AnomalySize, "", e.pos, "central directory offset %d beyond its actual position %d", e.cdOffset, cdStart)
	}
	z.DirectoryOffset, z.DirectorySize = cdStart, int64(e.cdSize)
	sr := io.NewSectionReader(z.r, cdStart, int64(e.cdSize))
	br := bufio.NewReaderSize(sr, 64<<10)
	var hdr [centralLen]byte
	for off := int64(0); off < int64(e.cdSize); {
		if len(z.Entries) >= opts.MaxEntries {
			z.anomaly(AnomalyTooManyEntries, "", cdStart+off, "more than %d entries; the rest are not examined", opts.MaxEntries)
			break
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			z.anomaly(AnomalyDirectory, "", cdStart+off, "truncated central directory header")
			break
		}
		if binary.LittleEndian.Uint32(hdr[:]) != sigCentral {
			z.anomaly(AnomalyDirectory, "", cdStart+off, "bad central directory signature")
			break
		}
		nlen := int(binary.LittleEndian.Uint16(hdr[28:]))
		xlen := int(binary.LittleEndian.Uint16(hdr[30:]))
		clen := int(binary.LittleEndian.Uint16(hdr[32:]))
		name := make([]byte, nlen)
		extra := make([]byte, xlen)
		if !readFull(br, name) || !readFull(br, extra) || !skip(br, int64(clen)) {
			z.anomaly(AnomalyDirectory, "", cdStart+off, "truncated central directory entry")
			break
		}
		ent := &Entry{
			Flags:            binary.LittleEndian.Uint16(hdr[8:]),
			Method:           binary.LittleEndian.Uint16(hdr[10:]),
			CRC32:            binary.LittleEndian.Uint32(hdr[16:]),
			CompressedSize:   int64(binary.LittleEndian.Uint32(hdr[20:])),
			UncompressedSize: int64(binary.LittleEndian.Uint32(hdr[24:])),
			DataOffset:       -1,
			Index:            len(z.Entries),
			CreatorVersion:   binary.LittleEndian.Uint16(hdr[4:]),
			ExternalAttrs:    binary.LittleEndian.Uint32(hdr[38:]),
		}
		hoff := uint64(binary.LittleEndian.Uint32(hdr[42:]))
		ent.Name = string(name)
		if nlen > opts.MaxNameLen {
			ent.Name = string(name[:opts.MaxNameLen])
			z.anomaly(AnomalyLongName, ent.Name, cdStart+off, "name of %d bytes truncated to %d", nlen, opts.MaxNameLen)
		}
		z.parseZip64Extra(ent, extra, &hoff)
		if hoff > uint64(z.size) {
			z.anomaly(AnomalySize, ent.Name, cdStart+off, "local header offset %d beyond the archive", hoff)
			hoff = uint64(z.size)
		}
		ent.HeaderOffset = int64(hoff) + max(z.BaseOffset, 0)
		z.Entries = append(z.Entries, ent)
		off += int64(centralLen + nlen + xlen + clen)
	}
	if uint64(len(z.Entries)) != e.entries && len(z.Entries) < opts.MaxEntries {
		z.anomaly(AnomalyCount, "", e.pos, "end record declares %d entries, directory holds %d", e.entries, len(z.Entries))
	}
	return nil
}

// parseZip64Extra resolves the 0xFFFFFFFF placeholders from the zip64 extra
// field. Other extra fields are skipped; the walk is bounded by the field's
// length (at most 64 KiB).
func (z *Reader) parseZip64Extra(ent *Entry, extra []byte, hoff *uint64) {
	needU := ent.UncompressedSize == 0xffffffff
	needC := ent.CompressedSize == 0xffffffff
	needO := *hoff == 0xffffffff
	for len(extra) >= 4 {
		tag := binary.LittleEndian.Uint16(extra)
		n := int(binary.LittleEndian.Uint16(extra[2:]))
		extra = extra[4:]
		if n > len(extra) {
			break
		}
		field := extra[:n]
		extra = extra[n:]
		if tag != 0x0001 {
			continue
		}
		ent.Zip64 = true
		take := func(need bool, dst *uint64) {
			if need && len(field) >= 8 {
				*dst = binary.LittleEndian.Uint64(field)
				field = field[8:]
			}
		}
		u, c := uint64(ent.UncompressedSize), uint64(ent.CompressedSize)
		take(needU, &u)
		take(needC, &c)
		take(needO, hoff)
		ent.UncompressedSize = int64(min(u, 1<<62))
		ent.CompressedSize = int64(min(c, 1<<62))
		return
	}
}

// readLocalHeaders reads each entry's local header to find its data, the
// way both loaders do: data starts after the local name and extra field.
func (z *Reader) readLocalHeaders() {
	for _, e := range z.Entries {
		z.readLocal(e)
	}
}

func (z *Reader) readLocal(e *Entry) {
	// One read usually covers header, name and extra (PyTorch pads the
	// extra field to 64-byte alignment).
	buf := make([]byte, localLen+len(e.Name)+128)
	n, err := z.r.ReadAt(buf, e.HeaderOffset)
	if err != nil && !errors.Is(err, io.EOF) {
		z.anomaly(AnomalyLocalHeader, e.Name, e.HeaderOffset, "unreadable local header: %v", err)
		return
	}
	buf = buf[:n]
	if len(buf) < localLen || binary.LittleEndian.Uint32(buf) != sigLocal {
		z.anomaly(AnomalyLocalHeader, e.Name, e.HeaderOffset, "no local file header at offset %d", e.HeaderOffset)
		return
	}
	e.LocalFlags = binary.LittleEndian.Uint16(buf[6:])
	e.LocalMethod = binary.LittleEndian.Uint16(buf[8:])
	crc := binary.LittleEndian.Uint32(buf[14:])
	csize := int64(binary.LittleEndian.Uint32(buf[18:]))
	usize := int64(binary.LittleEndian.Uint32(buf[22:]))
	nlen := int(binary.LittleEndian.Uint16(buf[26:]))
	xlen := int(binary.LittleEndian.Uint16(buf[28:]))
	if need := localLen + nlen; len(buf) < need {
		more := make([]byte, need)
		if _, err := z.r.ReadAt(more, e.HeaderOffset); err != nil {
			z.anomaly(AnomalyLocalHeader, e.Name, e.HeaderOffset, "truncated local header name")
			return
		}
		buf = more
	}
	e.LocalName = string(buf[localLen : localLen+min(nlen, z.maxName)])
	e.DataOffset = e.HeaderOffset + int64(localLen+nlen+xlen)
	if e.LocalName != e.Name {
		z.anomaly(AnomalyNameMismatch, e.Name, e.HeaderOffset, "local header names %q", e.LocalName)
	}
	if e.LocalMethod != e.Method {
		z.anomaly(AnomalyHeaderMismatch, e.Name, e.HeaderOffset, "local header method %d, central directory method %d", e.LocalMethod, e.Method)
	}
	if (e.LocalFlags^e.Flags)&^flagsOrdinary != 0 || (e.LocalFlags^e.Flags)&flagsEncrypt != 0 {
		z.anomaly(AnomalyHeaderMismatch, e.Name, e.HeaderOffset, "local header flags %#04x, central directory flags %#04x", e.LocalFlags, e.Flags)
	}
	if e.LocalFlags&FlagDataDescriptor == 0 && !e.Zip64 {
		if crc != e.CRC32 || csize != e.CompressedSize || usize != e.UncompressedSize {
			z.anomaly(AnomalyHeaderMismatch, e.Name, e.HeaderOffset, "local header CRC/sizes %08x/%d/%d, central directory %08x/%d/%d", crc, csize, usize, e.CRC32, e.CompressedSize, e.UncompressedSize)
		}
	}
	if f := e.Flags | e.LocalFlags; f&flagsEncrypt != 0 {
		z.anomaly(AnomalyEncrypted, e.Name, e.HeaderOffset, "encryption flag bits %#04x", f&flagsEncrypt)
	}
	if f := (e.Flags | e.LocalFlags) &^ (flagsOrdinary | flagsEncrypt); f != 0 {
		z.anomaly(AnomalyFlags, e.Name, e.HeaderOffset, "unusual flag bits %#04x", f)
	}
	if e.Method != Store && e.Method != Deflate {
		z.anomaly(AnomalyMethod, e.Name, e.HeaderOffset, "compression method %d (PyTorch reads only store and deflate)", e.Method)
	}
	if e.Method == Store && e.CompressedSize != e.UncompressedSize {
		z.anomaly(AnomalySize, e.Name, e.HeaderOffset, "stored member with compressed size %d and uncompressed size %d", e.CompressedSize, e.UncompressedSize)
	}
	if e.DataOffset > z.size || e.CompressedSize > z.size-e.DataOffset {
		z.anomaly(AnomalySize, e.Name, e.HeaderOffset, "declared compressed size %d runs past the end of the archive", e.CompressedSize)
	}
	if bad, why := unsafePath(e.Name); bad {
		z.anomaly(AnomalyUnsafePath, e.Name, e.HeaderOffset, "%s", why)
	}
}

// unsafePath reports names that escape an extraction root.
func unsafePath(name string) (bool, string) {
	switch {
	case strings.HasPrefix(name, "/"):
		return true, "absolute path"
	case strings.ContainsRune(name, '\\'):
		return true, "backslash in name"
	case len(name) >= 2 && name[1] == ':' && (name[0]|0x20 >= 'a' && name[0]|0x20 <= 'z'):
		return true, "drive letter"
	case strings.ContainsRune(name, 0):
		return true, "NUL byte in name"
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return true, "parent directory component"
		}
	}
	return false, ""
}

// checkLayout finds duplicate names and members whose data overlap each
// other or the central directory.
func (z *Reader) checkLayout() {
	seen := make(map[string]int, len(z.Entries))
	for _, e := range z.Entries {
		seen[e.Name]++
		if seen[e.Name] == 2 {
			z.anomaly(AnomalyDuplicate, e.Name, e.HeaderOffset, "name appears more than once in the central directory")
		}
	}
	type span struct {
		start, end int64
		e          *Entry
	}
	spans := make([]span, 0, len(z.Entries))
	for _, e := range z.Entries {
		if e.DataOffset < 0 {
			continue
		}
		end := min(e.DataOffset+min(e.CompressedSize, z.size), z.size)
		spans = append(spans, span{e.HeaderOffset, end, e})
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].start != spans[j].start {
			return spans[i].start < spans[j].start
		}
		return spans[i].e.Index < spans[j].e.Index
	})
	var maxEnd int64 = -1
	var maxEntry *Entry
	for _, s := range spans {
		if s.start < maxEnd {
			z.anomaly(AnomalyOverlap, s.e.Name, s.start, "data overlaps member %q", maxEntry.Name)
		}
		if s.end > maxEnd {
			maxEnd, maxEntry = s.end, s.e
		}
		if s.end > z.DirectoryOffset && s.start < z.DirectoryOffset+z.DirectorySize {
			z.anomaly(AnomalyOverlap, s.e.Name, s.start, "data overlaps the central directory")
		}
	}
}

// Raw returns the member's stored bytes (compressed data for compressed
// members), clipped to the archive. It is empty when the local header could
// not be read.
func (z *Reader) Raw(e *Entry) *io.SectionReader {
	if e.DataOffset < 0 || e.DataOffset > z.size {
		return io.NewSectionReader(z.r, 0, 0)
	}
	n := min(e.CompressedSize, z.size-e.DataOffset)
	return io.NewSectionReader(z.r, e.DataOffset, max(n, 0))
}

// Head returns up to n leading bytes of the member's raw data (the content
// itself for stored members) with a single read.
func (z *Reader) Head(e *Entry, n int) ([]byte, error) {
	raw := z.Raw(e)
	buf := make([]byte, min(int64(n), raw.Size()))
	m, err := raw.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("zip: read %q: %w", e.Name, err)
	}
	return buf[:m], nil
}

func readFull(r io.Reader, p []byte) bool {
	_, err := io.ReadFull(r, p)
	return err == nil
}

func skip(r io.Reader, n int64) bool {
	m, _ := io.CopyN(io.Discard, r, n)
	return m == n
}
