// Package hostile writes the hostile inputs of mlsec's scan budgets (issue
// 11 §3): headers with a million entries, a two-million-node ONNX graph,
// nested archive bombs and a directory of many small files. Each must end in
// a verdict within the budget (5 s, 256 MiB RSS on a 2-core machine);
// bench/budgets.sh measures that, and the format packages' tests assert
// the memory bounds that can be asserted.
package hostile

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// SafetensorsTensors writes a safetensors file whose header lists n
// one-element F32 tensors (about 80 bytes of JSON each: 10^6 tensors make
// an 80 MB header, under the reference implementation's 100 MB cap).
func SafetensorsTensors(w io.Writer, n int) error {
	var hdr bytes.Buffer
	hdr.Grow(n * 80)
	hdr.WriteByte('{')
	for i := range n {
		if i > 0 {
			hdr.WriteByte(',')
		}
		fmt.Fprintf(&hdr, `"model.layers.%d.mlp.weight":{"dtype":"F32","shape":[1],"data_offsets":[%d,%d]}`, i, 4*i, 4*i+4)
	}
	hdr.WriteByte('}')
	return writeSafetensors(w, hdr.Bytes(), int64(4*n))
}

// SafetensorsMetadata writes a safetensors file with one tensor and a
// __metadata__ object of about size bytes (many short string entries).
func SafetensorsMetadata(w io.Writer, size int) error {
	var hdr bytes.Buffer
	hdr.Grow(size + 128)
	hdr.WriteString(`{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{`)
	for i := 0; hdr.Len() < size; i++ {
		if i > 0 {
			hdr.WriteByte(',')
		}
		fmt.Fprintf(&hdr, `"key%08d":"value of metadata entry number %08d"`, i, i)
	}
	hdr.WriteString("}}")
	return writeSafetensors(w, hdr.Bytes(), 4)
}

func writeSafetensors(w io.Writer, hdr []byte, data int64) error {
	var pre [8]byte
	binary.LittleEndian.PutUint64(pre[:], uint64(len(hdr)))
	if _, err := w.Write(pre[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := io.CopyN(w, zeros{}, data)
	return err
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// GGUFKVs writes a GGUF v3 file with n uint32 metadata key/values and no
// tensors.
func GGUFKVs(w io.Writer, n int) error {
	bw := bufio.NewWriter(w)
	le := binary.LittleEndian
	bw.WriteString("GGUF")
	bw.Write(le.AppendUint32(nil, 3))
	bw.Write(le.AppendUint64(nil, 0))
	bw.Write(le.AppendUint64(nil, uint64(n)))
	for i := range n {
		key := fmt.Sprintf("general.k%07d", i)
		bw.Write(le.AppendUint64(nil, uint64(len(key))))
		bw.WriteString(key)
		bw.Write(le.AppendUint32(nil, 4)) // uint32
		bw.Write(le.AppendUint32(nil, uint32(i)))
	}
	return bw.Flush()
}

// ONNXNodes writes an ONNX ModelProto whose graph holds n Relu nodes in a
// chain, built directly on the protobuf wire format so the generator itself
// stays small.
func ONNXNodes(w io.Writer, n int) error {
	node := func(i int) []byte {
		var b []byte
		b = protowire.AppendTag(b, 1, protowire.BytesType) // input
		b = protowire.AppendString(b, fmt.Sprintf("t%d", i))
		b = protowire.AppendTag(b, 2, protowire.BytesType) // output
		b = protowire.AppendString(b, fmt.Sprintf("t%d", i+1))
		b = protowire.AppendTag(b, 4, protowire.BytesType) // op_type
		b = protowire.AppendString(b, "Relu")
		return b
	}
	var graphLen int
	for i := range n {
		nb := len(node(i))
		graphLen += protowire.SizeTag(1) + protowire.SizeBytes(nb)
	}
	tail := protowire.AppendTag(nil, 2, protowire.BytesType) // graph name
	tail = protowire.AppendString(tail, "chain")
	graphLen += len(tail)
	bw := bufio.NewWriter(w)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType) // ir_version
	b = protowire.AppendVarint(b, 8)
	b = protowire.AppendTag(b, 8, protowire.BytesType) // opset_import
	op := protowire.AppendTag(nil, 2, protowire.VarintType)
	op = protowire.AppendVarint(op, 17)
	b = protowire.AppendBytes(b, op)
	b = protowire.AppendTag(b, 7, protowire.BytesType) // graph
	b = protowire.AppendVarint(b, uint64(graphLen))
	bw.Write(b)
	for i := range n {
		nb := node(i)
		b = protowire.AppendTag(b[:0], 1, protowire.BytesType)
		b = protowire.AppendBytes(b, nb)
		bw.Write(b)
	}
	bw.Write(tail)
	return bw.Flush()
}

// compressible returns n bytes that deflate at a ratio of roughly 40:1:
// zeros with one random byte every 128 (well under any ratio cap, so only
// the caps on total inflated bytes and fan-out stop a bomb built of them).
func compressible(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := 0; i < n; i += 128 {
		b[i] = byte(r.Uint32())
	}
	return b
}

// NestedZip writes a 42.zip-style bomb: levels of zips, each holding fanout
// copies of the level below; the innermost holds fanout copies of a leaf of
// leaf bytes. Every member is deflated, so the total inflated size is
// leaf·fanout^(levels+1) plus the inner zips, while every single ratio is
// small.
func NestedZip(w io.Writer, levels, fanout, leaf int) error {
	data := compressible(leaf, 1)
	name := "leaf.bin"
	for range levels {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i := range fanout {
			fw, err := zw.Create(fmt.Sprintf("%d-%s", i, name))
			if err != nil {
				return err
			}
			if _, err := fw.Write(data); err != nil {
				return err
			}
		}
		if err := zw.Close(); err != nil {
			return err
		}
		data, name = buf.Bytes(), "nested.zip"
	}
	_, err := w.Write(data)
	return err
}

// NestedTarGz writes nested .tar.gz layers: each tar holds fanout copies of
// the layer below as .tar.gz members.
func NestedTarGz(w io.Writer, levels, fanout, leaf int) error {
	data := compressible(leaf, 2)
	name := "leaf.bin"
	for range levels {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for i := range fanout {
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("%d-%s", i, name), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			if _, err := tw.Write(data); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		if err := gz.Close(); err != nil {
			return err
		}
		data, name = buf.Bytes(), "nested.tar.gz"
	}
	_, err := w.Write(data)
	return err
}

// GzipBomb writes one gzip stream inflating to size zero bytes (ratio about
// 1000:1).
func GzipBomb(w io.Writer, size int64) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(gz, zeros{}, size); err != nil {
		return err
	}
	return gz.Close()
}

// SmallFiles writes n small files into dir, 1000 per subdirectory, each a
// short line of text.
func SmallFiles(dir string, n int) error {
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", i/1000))
		if i%1000 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
		}
		line := fmt.Sprintf("file %d %s\n", i, strings.Repeat("x", i%64))
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%06d.txt", i)), []byte(line), 0o644); err != nil {
			return err
		}
	}
	return nil
}
