package format

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz/lzma"

	"github.com/mlsecops/mlsec/format/archive"
	"github.com/mlsecops/mlsec/format/internal/protosniff"
	"github.com/mlsecops/mlsec/format/pickle"
	fzip "github.com/mlsecops/mlsec/format/zip"
)

// maxLZMADict caps the dictionary an lzma-alone header may declare before
// Detect decodes its head (the decoder allocates the declared size).
const maxLZMADict = 128 << 20

// HeadSize is how many leading bytes Detect reads to recognise a format.
const HeadSize = 8192

// lz4Magic opens an lz4 frame (joblib's compress="lz4").
const lz4Magic = "\x04\x22\x4d\x18"

// maxZipNames caps the archive members Detect looks at to classify a zip.
const maxZipNames = 4096

// Detect recognises the format of the size bytes behind r by content. It
// reads the head of the input and, for zip archives, the central directory;
// it never reads tensor data. An unrecognised input is Unknown with a nil
// error; an error means r could not be read.
func Detect(r io.ReaderAt, size int64) (Kind, error) {
	head, err := readHead(r, size)
	if err != nil {
		return Unknown, err
	}
	return detect(r, size, head), nil
}

// readHead reads the first HeadSize bytes (fewer for a smaller input).
func readHead(r io.ReaderAt, size int64) ([]byte, error) {
	head := make([]byte, max(min(size, HeadSize), 0))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("format: read head: %w", err)
	}
	return head, nil
}

func detect(r io.ReaderAt, size int64, head []byte) Kind {
	k, _ := detectSniffed(r, size, head)
	return k
}

// detectSniffed is detect that also says whether the input was already
// found not to sniff as a pickle at 0 (pickle.SniffAt ran and declined),
// so DetectAll need not run it again.
func detectSniffed(r io.ReaderAt, size int64, head []byte) (Kind, bool) {
	has := func(off int, magic string) bool {
		return len(head) >= off+len(magic) && string(head[off:off+len(magic)]) == magic
	}
	switch {
	case isLegacyMagic(head):
		return PyTorchLegacy, false
	case has(0, npyMagic):
		return NumPy, false
	case has(0, hdf5Magic):
		return HDF5, false
	case (has(0, ggufMagic) || has(4, "TFL3")) && pickle.Sniff(head):
		// A polyglot: "GGUF" opens with BINFLOAT, and TFLite's first four
		// bytes may be an opcode whose operand swallows "TFL3". pickle.load
		// and torch.load's legacy path run it as a pickle; real GGUF and
		// TFLite heads break after one opcode and never sniff as one.
		return Pickle, false
	case has(0, ggufMagic):
		return GGUF, false
	case has(4, "TFL3"):
		return TFLite, false
	case has(0, zipLocal), has(0, zipEmpty):
		if k := classifyZip(r, size); k != Unknown {
			return k, false
		}
		return Zip, false // broken, but a zip to loaders: the zip detector reports why
	case has(0, sevenZip):
		return SevenZip, false
	case has(0, gzipMagic):
		return compressed(Gzip, head), false
	case has(0, bz2Magic):
		return compressed(Bzip2, head), false
	case has(0, xzMagic):
		return compressed(XZ, head), false
	case has(0, zstdMagic):
		return compressed(Zstd, head), false
	case has(0, lz4Magic) && compressed(Joblib, head) == Joblib:
		return Joblib, false // joblib.dump(compress="lz4"): an lz4 frame
	}
	if isSafetensors(head, size) {
		return Safetensors, false
	}
	// An lzma-alone header opens with 0x5d, which is also the pickle opcode
	// EMPTY_LIST: try the joblib container first.
	if isLZMAAlone(head) && compressed(Joblib, head) == Joblib {
		return Joblib, false
	}
	// joblib < 0.10 "ZF" files: "ZF", a hex length padded to 19 bytes, zlib.
	if len(head) > 23 && string(head[:4]) == "ZF0x" && isZlib(head[21:]) && compressed(Joblib, head[21:]) == Joblib {
		return Joblib, false
	}
	if pickle.SniffAt(r, size, head) {
		return Pickle, true
	}
	if isTar(head) {
		return classifyTar(head), true
	}
	// HDF5 files with a user block put the superblock at 512, 1024, 2048 ...
	for off := 512; off+len(hdf5Magic) <= len(head); off *= 2 {
		if has(off, hdf5Magic) {
			return HDF5, true
		}
	}
	if isZlib(head) {
		if k := compressed(Joblib, head); k == Joblib {
			return Joblib, true
		}
	}
	if k := sniffProto(head); k != Unknown {
		return k, true
	}
	// Protobuf fields may come in any order: walk the top level.
	switch protosniff.Classify(r, size) {
	case protosniff.ONNX:
		return ONNX, true
	case protosniff.SavedModel:
		return SavedModel, true
	}
	// A zip with data prepended: look for the end of central directory.
	if size > 22 {
		if k := classifyZip(r, size); k != Unknown {
			return k, true
		}
	}
	if isTokenizerConfig(r, size, head) {
		return HFTokenizerConfig, true
	}
	return Unknown, true
}

// legacyMagic is the pickled LONG1 magic number of a legacy torch.save
// stream, followed by STOP.
const legacyMagic = "\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e"

// isLegacyMagic recognises the magic-number pickle that opens a legacy
// torch.save stream, at any protocol from 2 to 5 and with or without a FRAME
// opcode (protocol 4+).
func isLegacyMagic(head []byte) bool {
	if len(head) < 2 || head[0] != 0x80 || head[1] < 2 || head[1] > 5 {
		return false
	}
	rest := head[2:]
	if len(rest) > 9 && rest[0] == 0x95 {
		rest = rest[9:]
	}
	return bytes.HasPrefix(rest, []byte(legacyMagic))
}

// isSafetensors checks the 8-byte little-endian header length and the JSON
// object that must follow it.
func isSafetensors(head []byte, size int64) bool {
	if len(head) < 10 {
		return false
	}
	n := binary.LittleEndian.Uint64(head)
	if n < 2 || n > uint64(size-8) || n > 100<<20 {
		return false
	}
	return head[8] == '{'
}

func isZlib(head []byte) bool {
	if len(head) < 2 || head[0]&0x0f != 8 || head[0]>>4 > 7 {
		return false
	}
	return (uint16(head[0])<<8|uint16(head[1]))%31 == 0
}

// isLZMAAlone recognises the legacy .lzma header joblib writes: properties
// byte 0x5d and a power-of-two dictionary size.
func isLZMAAlone(head []byte) bool {
	if len(head) < 13 || head[0] != 0x5d {
		return false
	}
	d := binary.LittleEndian.Uint32(head[1:5])
	return d != 0 && d&(d-1) == 0
}

// compressed inflates a few hundred bytes of a compressed head: a pickle
// inside means a joblib (or compressed pickle) container, a tar header a
// compressed tarball. Otherwise the compression kind itself is returned
// (Unknown for zlib and lzma, which are only meaningful for joblib).
func compressed(k Kind, head []byte) Kind {
	var (
		zr  io.Reader
		err error
	)
	br := bytes.NewReader(head)
	switch k {
	case Gzip:
		zr, err = gzip.NewReader(br)
	case Bzip2:
		zr = bzip2.NewReader(br)
	case XZ:
		// archive.Decompress refuses dictionaries over its window cap: the
		// xz reader would otherwise allocate what the header asks for.
		var rc io.ReadCloser
		rc, err = archive.Decompress(archive.XZ, br)
		if err == nil {
			defer rc.Close()
			zr = rc
		}
	case Zstd:
		var d *zstd.Decoder
		d, err = zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
		if err == nil {
			defer d.Close()
			zr = d
		}
	case Joblib:
		switch {
		case bytes.HasPrefix(head, []byte(lz4Magic)):
			zr = lz4.NewReader(br)
		case head[0] == 0x5d:
			if binary.LittleEndian.Uint32(head[1:5]) > maxLZMADict {
				// Not decoded here (the decoder allocates the
				// dictionary): the joblib detector reports that it
				// cannot analyse it rather than the file passing as
				// unknown bytes.
				return Joblib
			}
			zr, err = lzma.NewReader(br)
		default:
			zr, err = zlib.NewReader(br)
		}
	}
	if err != nil {
		if k == Joblib {
			return Unknown
		}
		return k
	}
	inner := make([]byte, 512)
	m, _ := io.ReadFull(zr, inner)
	inner = inner[:m]
	switch {
	case pickle.Sniff(inner):
		return Joblib
	case k == Joblib && m == len(inner) && pickle.SniffPrefix(inner):
		// Maybe a pickle opening with a decoy string longer than the
		// inflated head; joblib.load unpickles it whatever it starts
		// with. The joblib detector inflates it all and the runner
		// detects the result by content.
		return Joblib
	case k == Joblib:
		return Unknown
	case len(inner) >= 262 && isTar(inner):
		return Tar
	}
	return k
}

// isTar validates a ustar/GNU/v7 header block by its checksum.
func isTar(head []byte) bool {
	if len(head) < 512 {
		return false
	}
	h := head[:512]
	field := strings.TrimRight(strings.TrimSpace(string(bytes.TrimRight(h[148:156], "\x00 "))), "\x00")
	if field == "" {
		return false
	}
	var want int64
	for _, c := range field {
		if c < '0' || c > '7' {
			return false
		}
		want = want*8 + int64(c-'0')
	}
	var sum int64
	for i, b := range h {
		if i >= 148 && i < 156 {
			b = ' '
		}
		sum += int64(b)
	}
	return sum == want && h[0] != 0
}

// classifyTar tells a legacy PyTorch tar (first member one of pickle,
// storages, tensors, sys_info) from any other tarball.
func classifyTar(head []byte) Kind {
	name := string(bytes.TrimRight(head[:100], "\x00"))
	switch path.Clean(name) {
	case "sys_info", "pickle", "storages", "tensors":
		return PyTorchTar
	}
	return Tar
}

// sniffProto recognises ONNX ModelProto and TensorFlow SavedModel by their
// leading protobuf fields.
func sniffProto(head []byte) Kind {
	if len(head) < 4 || head[0] != 0x08 {
		return Unknown
	}
	v, n := binary.Uvarint(head[1:])
	if n <= 0 {
		return Unknown
	}
	rest := head[1+n:]
	if len(rest) == 0 {
		return Unknown
	}
	switch {
	case v == 1 && rest[0] == 0x12 && !protoText(rest[1:]):
		// saved_model_schema_version 1, then a MetaGraphDef; an IR v1 ONNX
		// model has its producer_name there instead.
		return SavedModel
	case v >= 1 && v <= 20 && (rest[0] == 0x12 || rest[0] == 0x1a || rest[0] == 0x22 || rest[0] == 0x28 || rest[0] == 0x32 || rest[0] == 0x3a || rest[0] == 0x42):
		return ONNX
	}
	return Unknown
}

// protoText reports whether b, a protobuf length prefix and payload, holds
// a short printable string.
func protoText(b []byte) bool {
	l, n := binary.Uvarint(b)
	if n <= 0 || l == 0 || l > 256 || uint64(len(b)-n) < l {
		return false
	}
	for _, c := range b[n : n+int(l)] {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// classifyZip lists the archive's member names and tells PyTorch, TorchScript,
// numpy .npz and Keras v3 archives from plain zips.
func classifyZip(r io.ReaderAt, size int64) Kind {
	// format/zip reads archives as loaders do (tolerating what zipfile and
	// miniz tolerate); only the central directory is needed here.
	zr, err := fzip.NewReader(r, size, fzip.Options{MaxEntries: maxZipNames, DirectoryOnly: true})
	if err != nil {
		return Unknown
	}
	names := make([]string, 0, len(zr.Entries))
	for _, e := range zr.Entries {
		names = append(names, e.Name)
	}
	if len(names) == 0 {
		for _, a := range zr.Anomalies {
			if a.Kind == fzip.AnomalyDirectory || a.Kind == fzip.AnomalyCount {
				return Unknown // an end record found by chance, not an archive
			}
		}
	}
	return ClassifyZipNames(names)
}

// ClassifyZipNames classifies a zip archive by its member names.
func ClassifyZipNames(names []string) Kind {
	if len(names) == 0 {
		return Zip
	}
	var hasDataPkl, hasCode, hasConstants, allNpy, hasKerasConfig, hasKerasMeta bool
	// Keras's loader reads only config.json (then model.weights.h5), so an
	// archive of nothing but Keras members is Keras even without
	// metadata.json.
	allNpy, onlyKeras := true, true
	for _, n := range names {
		base := path.Base(n)
		dir := path.Dir(n)
		// PyTorch archives put everything under one root directory of any name.
		top := dir
		if i := strings.IndexByte(n, '/'); i >= 0 {
			top = n[:i]
		}
		switch {
		case base == "data.pkl" && strings.Count(n, "/") == 1:
			hasDataPkl = true
		case base == "constants.pkl" && strings.Count(n, "/") == 1:
			hasConstants = true
		case strings.HasPrefix(n, top+"/code/"):
			hasCode = true
		}
		if n == "config.json" {
			hasKerasConfig = true
		}
		if n == "metadata.json" || n == "model.weights.h5" {
			hasKerasMeta = true
		}
		if n != "config.json" && n != "metadata.json" && n != "model.weights.h5" && !strings.HasPrefix(n, "assets/") {
			onlyKeras = false
		}
		if !strings.HasSuffix(n, ".npy") {
			allNpy = false
		}
	}
	switch {
	case hasCode && hasConstants:
		return TorchScript
	case hasDataPkl:
		return PyTorchZip
	case hasKerasConfig && (hasKerasMeta || onlyKeras):
		return Keras
	case allNpy:
		return NumPyZip
	}
	return Zip
}
