package archive

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"
)

// szFile is one file of a generated 7z archive.
type szFile struct {
	name string
	data []byte
	mode uint32 // unix mode bits (e.g. 0o120777 for a symlink); 0 for none
}

// write7z builds a 7z archive holding files in one folder with the "copy"
// coder (no compression): the smallest archive 7-Zip and
// github.com/bodgit/sevenzip read. It lets tests craft names 7-Zip itself
// would refuse (zip-slip) without a 7z binary. Files must not be empty.
func write7z(files []szFile) []byte {
	num := func(b *bytes.Buffer, v uint64) {
		if v < 0x80 {
			b.WriteByte(byte(v))
			return
		}
		b.WriteByte(0xff)
		binary.Write(b, binary.LittleEndian, v)
	}
	var packed bytes.Buffer
	for _, f := range files {
		packed.Write(f.data)
	}
	var h bytes.Buffer
	h.WriteByte(0x01) // kHeader
	h.WriteByte(0x04) // kMainStreamsInfo
	h.WriteByte(0x06) // kPackInfo
	num(&h, 0)        // pack pos
	num(&h, 1)        // one pack stream
	h.WriteByte(0x09) // kSize
	num(&h, uint64(packed.Len()))
	h.WriteByte(0x00)
	h.WriteByte(0x07) // kUnPackInfo
	h.WriteByte(0x0b) // kFolder
	num(&h, 1)        // one folder
	h.WriteByte(0)    // not external
	num(&h, 1)        // one coder
	h.WriteByte(0x01) // simple coder, 1-byte id
	h.WriteByte(0x00) // copy
	h.WriteByte(0x0c) // kCodersUnPackSize
	num(&h, uint64(packed.Len()))
	h.WriteByte(0x00)
	h.WriteByte(0x08) // kSubStreamsInfo
	h.WriteByte(0x0d) // kNumUnPackStream
	num(&h, uint64(len(files)))
	if len(files) > 1 {
		h.WriteByte(0x09) // kSize: all but the last
		for _, f := range files[:len(files)-1] {
			num(&h, uint64(len(f.data)))
		}
	}
	h.WriteByte(0x0a) // kCRC
	h.WriteByte(1)    // all defined
	for _, f := range files {
		binary.Write(&h, binary.LittleEndian, crc32.ChecksumIEEE(f.data))
	}
	h.WriteByte(0x00) // end substreams
	h.WriteByte(0x00) // end main streams
	h.WriteByte(0x05) // kFilesInfo
	num(&h, uint64(len(files)))
	var names bytes.Buffer
	names.WriteByte(0) // not external
	for _, f := range files {
		for _, u := range utf16.Encode([]rune(f.name)) {
			binary.Write(&names, binary.LittleEndian, u)
		}
		names.Write([]byte{0, 0})
	}
	h.WriteByte(0x11) // kName
	num(&h, uint64(names.Len()))
	h.Write(names.Bytes())
	var attrs bytes.Buffer
	attrs.WriteByte(1) // all defined
	attrs.WriteByte(0) // not external
	for _, f := range files {
		a := uint32(0x80) // FILE_ATTRIBUTE_NORMAL
		if f.mode != 0 {
			a = 0x8000 | f.mode<<16
		}
		binary.Write(&attrs, binary.LittleEndian, a)
	}
	h.WriteByte(0x15) // kWinAttributes
	num(&h, uint64(attrs.Len()))
	h.Write(attrs.Bytes())
	h.WriteByte(0x00) // end files info
	h.WriteByte(0x00) // end header

	var start bytes.Buffer
	binary.Write(&start, binary.LittleEndian, uint64(packed.Len()))
	binary.Write(&start, binary.LittleEndian, uint64(h.Len()))
	binary.Write(&start, binary.LittleEndian, crc32.ChecksumIEEE(h.Bytes()))
	var out bytes.Buffer
	out.WriteString("7z\xbc\xaf\x27\x1c")
	out.Write([]byte{0, 4})
	binary.Write(&out, binary.LittleEndian, crc32.ChecksumIEEE(start.Bytes()))
	out.Write(start.Bytes())
	out.Write(packed.Bytes())
	out.Write(h.Bytes())
	return out.Bytes()
}
