// Package ziptest builds zip archives byte by byte for tests, including
// malformed ones no ordinary writer produces: local and central names that
// differ, wrong CRCs, encryption flags on plain data, prepended bytes,
// forced zip64 records and sparse multi-gigabyte members.
package ziptest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// File is one member to write.
type File struct {
	// Name is the central directory name; LocalName the local header name
	// ("" means Name).
	Name, LocalName string
	// Data is the uncompressed content.
	Data []byte
	// Zeros, when > 0, replaces Data by that many zero bytes, written as a
	// hole when the destination can Seek (sparse files). Stored only.
	Zeros int64
	// Method is 0 (store) or 8 (deflate); other values store Data verbatim
	// under that method number.
	Method uint16
	// Flags are set in both headers; LocalFlags, when non-zero, replaces
	// them in the local header.
	Flags, LocalFlags uint16
	// BadCRC writes a CRC-32 that does not match the data.
	BadCRC bool
	// USize, when > 0, overrides the declared uncompressed size.
	USize int64
	// Extra is appended to the local header's extra field (e.g. padding).
	Extra []byte
}

// Archive describes a whole archive.
type Archive struct {
	Files []File
	// Prepend is written before the archive; offsets stay relative to the
	// archive proper, as when a zip is appended to another file.
	Prepend []byte
	// Zip64 writes zip64 extra fields and end records for every entry.
	Zip64 bool
	// Comment is the archive comment.
	Comment string
	// Trailing is written after the end record.
	Trailing []byte
}

// Bytes returns the encoded archive.
func (a Archive) Bytes() []byte {
	var buf bytes.Buffer
	if err := a.Write(&buf); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Write writes the archive to w. When w is an io.WriteSeeker, Zeros members
// become holes.
func (a Archive) Write(w io.Writer) error {
	c := &counter{w: w}
	if _, err := c.Write(a.Prepend); err != nil {
		return err
	}
	base := c.n
	type cent struct {
		f            File
		crc          uint32
		csize, usize int64
		off          int64
	}
	var cents []cent
	le16 := func(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
	le32 := func(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
	le64 := func(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }
	for _, f := range a.Files {
		var payload []byte
		usize := int64(len(f.Data))
		crc := crc32.ChecksumIEEE(f.Data)
		switch {
		case f.Zeros > 0:
			usize = f.Zeros
			crc = zeroCRC(f.Zeros)
		case f.Method == 8:
			var zb bytes.Buffer
			fw, _ := flate.NewWriter(&zb, flate.BestCompression)
			fw.Write(f.Data)
			fw.Close()
			payload = zb.Bytes()
		default:
			payload = f.Data
		}
		csize := int64(len(payload))
		if f.Zeros > 0 {
			csize = f.Zeros
		}
		if f.BadCRC {
			crc ^= 0xdeadbeef
		}
		if f.USize > 0 {
			usize = f.USize
		}
		ln := f.LocalName
		if ln == "" {
			ln = f.Name
		}
		lflags := f.Flags
		if f.LocalFlags != 0 {
			lflags = f.LocalFlags
		}
		extra := append([]byte(nil), f.Extra...)
		s32 := func(v int64) uint32 { return uint32(v) }
		if a.Zip64 {
			x := le16(le16(nil, 1), 16)
			x = le64(le64(x, uint64(usize)), uint64(csize))
			extra = append(x, extra...)
			s32 = func(int64) uint32 { return 0xffffffff }
		}
		off := c.n - base
		h := le32(nil, 0x04034b50)
		h = le16(h, 45)
		h = le16(h, lflags)
		h = le16(h, f.Method)
		h = le32(h, 0) // time+date
		h = le32(h, crc)
		h = le32(h, s32(csize))
		h = le32(h, s32(usize))
		h = le16(h, uint16(len(ln)))
		h = le16(h, uint16(len(extra)))
		h = append(h, ln...)
		h = append(h, extra...)
		if _, err := c.Write(h); err != nil {
			return err
		}
		if f.Zeros > 0 {
			if err := writeZeros(c, f.Zeros); err != nil {
				return err
			}
		} else if _, err := c.Write(payload); err != nil {
			return err
		}
		cents = append(cents, cent{f, crc, csize, usize, off})
	}
	cdStart := c.n - base
	for _, ce := range cents {
		f := ce.f
		var extra []byte
		s32 := func(v int64) uint32 { return uint32(v) }
		if a.Zip64 {
			extra = le16(le16(nil, 1), 24)
			extra = le64(le64(le64(extra, uint64(ce.usize)), uint64(ce.csize)), uint64(ce.off))
			s32 = func(int64) uint32 { return 0xffffffff }
		}
		h := le32(nil, 0x02014b50)
		h = le16(h, 45)
		h = le16(h, 45)
		h = le16(h, f.Flags)
		h = le16(h, f.Method)
		h = le32(h, 0)
		h = le32(h, ce.crc)
		h = le32(h, s32(ce.csize))
		h = le32(h, s32(ce.usize))
		h = le16(h, uint16(len(f.Name)))
		h = le16(h, uint16(len(extra)))
		h = le16(h, 0) // comment
		h = le16(h, 0) // disk
		h = le16(h, 0) // internal attrs
		h = le32(h, 0) // external attrs
		h = le32(h, s32(ce.off))
		h = append(h, f.Name...)
		h = append(h, extra...)
		if _, err := c.Write(h); err != nil {
			return err
		}
	}
	cdSize := c.n - base - cdStart
	n := uint64(len(cents))
	var tail []byte
	if a.Zip64 {
		rec := c.n - base
		tail = le32(tail, 0x06064b50)
		tail = le64(tail, 44)
		tail = le16(le16(tail, 45), 45)
		tail = le32(le32(tail, 0), 0)
		tail = le64(le64(tail, n), n)
		tail = le64(le64(tail, uint64(cdSize)), uint64(cdStart))
		tail = le32(tail, 0x07064b50)
		tail = le32(tail, 0)
		tail = le64(tail, uint64(rec))
		tail = le32(tail, 1)
	}
	cnt, sz, of := uint16(n), uint32(cdSize), uint32(cdStart)
	if a.Zip64 {
		cnt, sz, of = 0xffff, 0xffffffff, 0xffffffff
	}
	tail = le32(tail, 0x06054b50)
	tail = le16(le16(tail, 0), 0)
	tail = le16(le16(tail, cnt), cnt)
	tail = le32(le32(tail, sz), of)
	tail = le16(tail, uint16(len(a.Comment)))
	tail = append(tail, a.Comment...)
	tail = append(tail, a.Trailing...)
	_, err := c.Write(tail)
	return err
}

func writeZeros(c *counter, n int64) error {
	if s, ok := c.w.(io.Seeker); ok {
		if _, err := s.Seek(n, io.SeekCurrent); err != nil {
			return err
		}
		c.n += n
		return nil
	}
	_, err := io.CopyN(c, zeroReader{}, n)
	return err
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// zeroCRC computes the CRC-32 of n zero bytes.
func zeroCRC(n int64) uint32 {
	buf := make([]byte, 1<<20)
	var crc uint32
	for n > 0 {
		k := min(n, int64(len(buf)))
		crc = crc32.Update(crc, crc32.IEEETable, buf[:k])
		n -= k
	}
	return crc
}
