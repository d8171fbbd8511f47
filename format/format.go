// Package format recognises model and container formats by content, never by
// file name extension, and defines the Kind names shared by parsers,
// detectors and reports.
//
// The parsers themselves live in sub-packages (format/pickle, format/zip,
// format/numpy, ...). Each takes untrusted bytes through an io.ReaderAt and a
// size, bounds everything it allocates and never executes model content.
package format

// Kind names a detected format. The string values are stable: they appear in
// JSON reports.
type Kind string

// The formats mlsec recognises.
const (
	Unknown           Kind = "unknown"
	Pickle            Kind = "pickle"
	PyTorchZip        Kind = "pytorch-zip"    // torch.save (zip, any root name)
	TorchScript       Kind = "torchscript"    // torch.jit.save (zip with code/)
	PyTorchLegacy     Kind = "pytorch-legacy" // magic-number pickle followed by further pickles
	PyTorchTar        Kind = "pytorch-tar"    // very old torch.save tar
	NumPy             Kind = "npy"
	NumPyZip          Kind = "npz"
	Joblib            Kind = "joblib" // joblib compressed container (zlib/gzip/bz2/xz/lzma)
	Zip               Kind = "zip"
	Tar               Kind = "tar"
	Gzip              Kind = "gzip"
	Bzip2             Kind = "bzip2"
	XZ                Kind = "xz"
	Zstd              Kind = "zstd"
	SevenZip          Kind = "7z"
	Safetensors       Kind = "safetensors"
	GGUF              Kind = "gguf"
	ONNX              Kind = "onnx"
	HDF5              Kind = "hdf5"
	Keras             Kind = "keras" // Keras v3 zip
	SavedModel        Kind = "tf-savedmodel"
	TFLite            Kind = "tflite"
	HFRepo            Kind = "hf-repo"             // Hugging Face model/dataset repository or cache snapshot (a directory)
	HFTokenizerConfig Kind = "hf-tokenizer-config" // JSON object with a top-level "chat_template" key
	ChatTemplate      Kind = "chat-template"       // chat_template.jinja (recognised by name)
	KerasMetadata     Kind = "keras-metadata"      // keras_metadata.pb beside a tf.keras SavedModel (recognised by name)

	// Agent and tool manifests: JSON documents recognised by their shape
	// (format/agent).
	MCPTools  Kind = "mcp-tools"      // MCP tools/list result: {"tools":[{"name","description","inputSchema"}]}
	MCPServer Kind = "mcp-server"     // MCP registry server manifest (server.json: packages, remotes)
	MCPConfig Kind = "mcp-config"     // MCP client configuration (mcpServers / servers with command or url)
	AgentCard Kind = "a2a-agent-card" // A2A agent card (/.well-known/agent.json: name, url, skills)

	// Inert formats: content positively recognised as something no
	// supported loader executes. The scan verdict of these is "inert".
	Empty             Kind = "empty"               // a file of zero bytes
	Text              Kind = "text"                // UTF-8 text that is not a pickle program (README, vocab.txt, merges.txt)
	JSON              Kind = "json"                // a complete JSON document (tokenizer.json, config.json)
	Image             Kind = "image"               // PNG, JPEG, GIF, WebP, BMP, ICO image
	SentencePiece     Kind = "sentencepiece"       // SentencePiece ModelProto (tokenizer.model, spiece.model)
	TFCheckpointIndex Kind = "tf-checkpoint-index" // TensorFlow tensor bundle index (LevelDB table: *.index)
	TFCheckpointData  Kind = "tf-checkpoint-data"  // TensorFlow tensor bundle data shard (*.data-NNNNN-of-NNNNN beside its index)
	Msgpack           Kind = "msgpack"             // one complete MessagePack document (Flax *.msgpack)
	ONNXTensor        Kind = "onnx-tensor"         // serialised onnx.TensorProto with inline data (ONNX test data *.pb)
	PDF               Kind = "pdf"                 // a PDF document (%PDF- header in the first 1024 bytes); read by the rag detector, not inert
)

// Inert reports whether k is an inert format: recognised content that no
// supported loader executes.
func Inert(k Kind) bool {
	switch k {
	case Empty, Text, JSON, Image, SentencePiece, TFCheckpointIndex, TFCheckpointData, Msgpack, ONNXTensor:
		return true
	}
	return false
}

// Magic numbers and markers used by the sniffers.
const (
	npyMagic  = "\x93NUMPY"
	hdf5Magic = "\x89HDF\r\n\x1a\n"
	ggufMagic = "GGUF"
	zipLocal  = "PK\x03\x04"
	zipEmpty  = "PK\x05\x06"
	gzipMagic = "\x1f\x8b"
	bz2Magic  = "BZh"
	xzMagic   = "\xfd7zXZ\x00"
	zstdMagic = "\x28\xb5\x2f\xfd"
	sevenZip  = "7z\xbc\xaf\x27\x1c"
)

// PyTorchLegacyMagic is the pickled magic number (protocol 2, LONG1
// 0x1950a86a20f9469cfc6c, STOP) that opens a legacy torch.save stream.
const PyTorchLegacyMagic = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e"
