// Package synth writes the synthetic inputs of mlsec's scan benchmarks: a
// sparse PyTorch zip checkpoint, a raw pickle dominated by large BINBYTES
// payloads (also sparse) and a directory of small pickles. Sparse files take
// no disk space for their zero-filled tensor data.
package synth

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// WriteAll writes checkpoint.pt (ckpt bytes), binbytes.pkl (pkl bytes) and
// small/ with n small pickles into dir.
func WriteAll(dir string, ckpt, pkl int64, n int) error {
	if err := os.MkdirAll(filepath.Join(dir, "small"), 0o755); err != nil {
		return err
	}
	if err := WriteCheckpoint(filepath.Join(dir, "checkpoint.pt"), ckpt); err != nil {
		return err
	}
	if err := WriteBinbytesPickle(filepath.Join(dir, "binbytes.pkl"), pkl); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, "small", fmt.Sprintf("m%04d.pkl", i))
		if err := os.WriteFile(p, SmallPickle(i), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// SmallPickle is a protocol 4 pickle of a small torch-like state dict.
func SmallPickle(i int) []byte {
	b := []byte{0x80, 0x04, '}', '('}
	for k := 0; k < 20; k++ {
		key := fmt.Sprintf("layer%d.weight.%d", k, i)
		b = append(b, 0x8c, byte(len(key)))
		b = append(b, key...)
		b = append(b, 'G')
		b = binary.BigEndian.AppendUint64(b, uint64(k)*0x3ff0000000000000/20)
	}
	return append(b, 'u', '.')
}

// WriteCheckpoint writes a stored (uncompressed) PyTorch-style zip of about
// size bytes: archive/data.pkl, archive/version and one zero-filled tensor
// storage archive/data/0 left as a hole in a sparse file.
func WriteCheckpoint(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	pkl := []byte("\x80\x02}q\x00X\x06\x00\x00\x00weightq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06J\x00\x00\x00\x10tq\x07QK\x00J\x00\x00\x00\x10\x85q\x08K\x01\x85q\x09\x89ccollections\nOrderedDict\nq\x0a)Rq\x0btq\x0cRq\x0ds.")
	tensor := size - 4096
	type member struct {
		name   string
		data   []byte
		size   int64
		crc    uint32
		offset int64
	}
	ms := []*member{
		{name: "archive/data.pkl", data: pkl},
		{name: "archive/version", data: []byte("3\n")},
		{name: "archive/data/0", size: tensor, crc: zeroCRC(tensor)},
	}
	var off int64
	for _, m := range ms {
		if m.data != nil {
			m.size = int64(len(m.data))
			m.crc = crc32.ChecksumIEEE(m.data)
		}
		m.offset = off
		h := localHeader(m.name, m.crc, m.size)
		if _, err := f.Write(h); err != nil {
			return err
		}
		off += int64(len(h))
		if m.data != nil {
			if _, err := f.Write(m.data); err != nil {
				return err
			}
		} else if _, err := f.Seek(m.size, 1); err != nil {
			return err
		}
		off += m.size
	}
	cdStart := off
	var cd []byte
	for _, m := range ms {
		cd = append(cd, centralHeader(m.name, m.crc, m.size, m.offset)...)
	}
	end := make([]byte, 22)
	binary.LittleEndian.PutUint32(end[0:], 0x06054b50)
	binary.LittleEndian.PutUint16(end[8:], uint16(len(ms)))
	binary.LittleEndian.PutUint16(end[10:], uint16(len(ms)))
	binary.LittleEndian.PutUint32(end[12:], uint32(len(cd)))
	binary.LittleEndian.PutUint32(end[16:], uint32(cdStart))
	if _, err := f.Write(append(cd, end...)); err != nil {
		return err
	}
	return f.Close()
}

func localHeader(name string, crc uint32, size int64) []byte {
	h := make([]byte, 30)
	binary.LittleEndian.PutUint32(h[0:], 0x04034b50)
	binary.LittleEndian.PutUint16(h[4:], 20)
	binary.LittleEndian.PutUint32(h[14:], crc)
	binary.LittleEndian.PutUint32(h[18:], uint32(size))
	binary.LittleEndian.PutUint32(h[22:], uint32(size))
	binary.LittleEndian.PutUint16(h[26:], uint16(len(name)))
	return append(h, name...)
}

func centralHeader(name string, crc uint32, size, offset int64) []byte {
	h := make([]byte, 46)
	binary.LittleEndian.PutUint32(h[0:], 0x02014b50)
	binary.LittleEndian.PutUint16(h[4:], 20)
	binary.LittleEndian.PutUint16(h[6:], 20)
	binary.LittleEndian.PutUint32(h[16:], crc)
	binary.LittleEndian.PutUint32(h[20:], uint32(size))
	binary.LittleEndian.PutUint32(h[24:], uint32(size))
	binary.LittleEndian.PutUint16(h[28:], uint16(len(name)))
	binary.LittleEndian.PutUint32(h[42:], uint32(offset))
	return append(h, name...)
}

// zeroCRC is the CRC-32 of n zero bytes.
func zeroCRC(n int64) uint32 {
	buf := make([]byte, 1<<20)
	var c uint32
	for n > 0 {
		k := min(n, int64(len(buf)))
		c = crc32.Update(c, crc32.IEEETable, buf[:k])
		n -= k
	}
	return c
}

// WriteBinbytesPickle writes a protocol 4 pickle of a list of 64 MiB
// BINBYTES8 payloads totalling about size bytes; payloads are holes.
func WriteBinbytesPickle(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	const chunk = 64 << 20
	if _, err := f.Write([]byte{0x80, 0x04, ']', '('}); err != nil {
		return err
	}
	for done := int64(0); done < size; done += chunk {
		h := []byte{0x8e}
		h = binary.LittleEndian.AppendUint64(h, chunk)
		if _, err := f.Write(h); err != nil {
			return err
		}
		if _, err := f.Seek(chunk, 1); err != nil {
			return err
		}
	}
	if _, err := f.Write([]byte{'e', '.'}); err != nil {
		return err
	}
	return f.Close()
}
