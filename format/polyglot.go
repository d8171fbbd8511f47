package format

import (
	"errors"
	"fmt"
	"io"

	"github.com/mlsecops/mlsec/format/pickle"
)

// Claim is one format a real loader would accept the bytes as, and where
// that loader finds it.
type Claim struct {
	Kind Kind
	// Offset is where the loader finds the format: 0 for most, the
	// superblock for HDF5 with a user block, the start of the archive
	// (from the end of central directory) for a zip with a prefix.
	Offset int64
	// Why says how the claim was recognised, for reports.
	Why string
}

// maxHDF5Search caps how far DetectAll looks for an HDF5 superblock (the
// library searches 0, 512, 1024, 2048 ... up to the end of the file).
const maxHDF5Search = 1 << 40

// DetectAll is DetectFile plus every other format a real loader would
// accept the same bytes as, at the offsets that loader looks: a pickle at 0
// (pickle.load, torch.load's legacy path, joblib), an HDF5 superblock at 0,
// 512, 1024, 2048 ... (libhdf5, h5py, Keras), a zip archive found by its
// end of central directory, however much is prepended (zipfile, Keras),
// and a safetensors, GGUF, .npy or tar header at 0. The first claim is the
// one DetectFile returns; more than one claim means the file is a
// polyglot, and each claim is analysed.
func DetectAll(name string, r io.ReaderAt, size int64) ([]Claim, error) {
	head, err := readHead(r, size)
	if err != nil {
		return nil, err
	}
	k, sniffed := detectFile(name, r, size, head)
	claims := []Claim{{Kind: k, Why: "content"}}
	switch k {
	case Empty, Text, JSON, ChatTemplate, KerasMetadata, HFTokenizerConfig, MCPTools, MCPServer, MCPConfig, AgentCard:
		// Valid UTF-8 text: no zip end record, HDF5 signature or binary
		// header fits in it, and pickle programs were ruled out.
		return claims, nil
	}
	add := func(c Claim) {
		for _, o := range claims {
			if family(o.Kind) == family(c.Kind) {
				return
			}
		}
		claims = append(claims, c)
	}
	// A zip local header at 0 opens with PERSID ("P"), which pickle.load
	// refuses without a persistent_load, and torch.load takes the zip
	// path for it: not a pickle claim.
	switch {
	case sniffed || len(head) >= 2 && string(head[:2]) == "PK":
	case k == Safetensors || k == GGUF || k == NumPy:
		// The header's own bytes decode as opcodes by chance: only a
		// stream that imports something or ends cleanly is a pickle too.
		if pickle.SniffBehindHeader(r, size, head) {
			add(Claim{Kind: Pickle, Why: "pickle program at offset 0"})
		}
	case pickle.SniffAt(r, size, head):
		add(Claim{Kind: Pickle, Why: "pickle opcodes at offset 0"})
	}
	if isSafetensors(head, size) {
		add(Claim{Kind: Safetensors, Why: "safetensors header at offset 0"})
	}
	if len(head) >= 4 && string(head[:4]) == ggufMagic {
		add(Claim{Kind: GGUF, Why: "GGUF magic at offset 0"})
	}
	if len(head) >= len(npyMagic) && string(head[:len(npyMagic)]) == npyMagic {
		add(Claim{Kind: NumPy, Why: ".npy magic at offset 0"})
	}
	if isTar(head) {
		add(Claim{Kind: classifyTar(head), Why: "tar header at offset 0"})
	}
	if off, ok := findHDF5(r, size); ok {
		add(Claim{Kind: HDF5, Offset: off, Why: fmt.Sprintf("HDF5 superblock at offset %d", off)})
	}
	if size > 22 {
		if zk := classifyZip(r, size); zk != Unknown {
			add(Claim{Kind: zk, Why: "zip end of central directory"})
		}
	}
	if claims[0].Kind == Unknown && len(claims) > 1 {
		claims = claims[1:]
	}
	return claims, nil
}

// family groups kinds one analysis covers: the zip kinds (one central
// directory), the pickle kinds.
func family(k Kind) Kind {
	switch k {
	case Zip, PyTorchZip, TorchScript, NumPyZip, Keras:
		return Zip
	case Pickle, PyTorchLegacy, Joblib:
		return Pickle
	case Tar, PyTorchTar:
		return Tar
	}
	return k
}

// findHDF5 looks for the HDF5 signature where libhdf5 does: at 0, 512,
// 1024, 2048 ... while inside the file.
func findHDF5(r io.ReaderAt, size int64) (int64, bool) {
	sig := make([]byte, len(hdf5Magic))
	for off := int64(0); off+int64(len(sig)) <= size && off <= maxHDF5Search; {
		if _, err := r.ReadAt(sig, off); err != nil && !errors.Is(err, io.EOF) {
			return 0, false
		}
		if string(sig) == hdf5Magic {
			return off, true
		}
		if off == 0 {
			off = 512
		} else {
			off *= 2
		}
	}
	return 0, false
}
