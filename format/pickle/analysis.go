// Package pickle disassembles Python pickle streams and runs them on a
// symbolic stack machine that mirrors CPython's unpickler (stack, marks,
// memo, frames) without ever constructing a Python object or importing
// anything. The result is the set of imports and call sites the stream
// would perform if loaded, plus every structural anomaly.
package pickle

import (
	"errors"
)

// Sentinel errors. Hostile input never produces a panic; it produces an
// Anomaly, and Analyze returns an error only when the reader itself fails or
// ctx is cancelled.
var (
	ErrNotPickle = errors.New("pickle: not a pickle stream")
)

// Options bound the analysis. Zero fields take the defaults below.
type Options struct {
	MaxOps       int   // opcodes per stream (default 50,000,000)
	MaxStack     int   // stack + mark depth (default 100,000)
	MaxMemo      int   // memo entries (default 1,000,000)
	MaxStringLen int64 // longest string/bytes operand kept in memory (default 1 MiB); longer ones are referenced by offset
	MaxPickles   int   // pickle programs per stream (default 10,000)
	MaxCallArgs  int   // literal arguments recorded per call (default 16)
	// Joblib enables joblib's inline array layout: after BUILD of a
	// joblib.numpy_pickle.NumpyArrayWrapper the raw array bytes (or a nested
	// pickle for object arrays) follow in the stream.
	Joblib bool
}

// Value is the symbolic value of a stack slot.
type Value struct {
	Kind ValueKind
	// Str holds the text of KindString and the bytes of KindBytes (all of
	// them up to Options.MaxStringLen, else a prefix, see Truncated), the
	// id of a PERSID KindPersistent, the decimal text of a KindInt too big
	// for Int, the formatted KindFloat, and for a KindCallResult of
	// numpy.dtype the dtype code ("f8", "U3"; "O" once its BUILD state
	// says it holds Python objects).
	Str string
	// Offset and Length locate a string or bytes operand in the stream, so
	// large literals can be re-read (e.g. to scan a nested pickle) without
	// holding them in memory: they cover the payload bytes themselves, after
	// any length prefix (for the text opcodes STRING/UNICODE the raw,
	// still escaped line). For other kinds Offset is the offset of the
	// opcode that produced the value and Length is -1.
	Offset int64
	Length int64
	// Truncated is set when Str holds only a prefix of the operand: the
	// first 256 bytes (or MaxStringLen if smaller) of an operand longer than
	// MaxStringLen. Such operands are located by Offset/Length.
	Truncated bool
	// Global is the dotted "module.name" of a KindGlobal, or the callee of a
	// KindCallResult.
	Global string
	// Int holds integers (KindInt, when they fit), 0/1 for KindBool, the
	// code of a KindExtension, and for a numpy.dtype KindCallResult its
	// item size in bytes when known (0 otherwise).
	Int int64
	// Items holds (bounded, first 64 of each container) the elements of
	// tuples, lists and sets; the keys and values of a dict alternately
	// (k0, v0, k1, v1, ...); the arguments of a KindCallResult; the pid of
	// a BINPERSID KindPersistent.
	Items []Value
	// Weight counts the values the object holds when every shared
	// reference (DUP, memo GET) is expanded, itself included; 0 means 1.
	// It saturates instead of overflowing: a few hundred opcodes can
	// build a structure of 2^60 nodes ("billion laughs") that is cheap to
	// load and explodes when it is walked, printed or copied.
	Weight int64
}

// ValueKind classifies a Value.
type ValueKind uint8

// Value kinds.
const (
	KindUnknown    ValueKind = iota
	KindNone                 // None
	KindBool                 // True/False
	KindInt                  // INT, BININT*, LONG* (Int set when it fits)
	KindFloat                // FLOAT, BINFLOAT
	KindString               // str (UNICODE, BINUNICODE*, SHORT_BINUNICODE; also STRING/BINSTRING/SHORT_BINSTRING, which Python 3 decodes to str by default, so they can feed STACK_GLOBAL)
	KindBytes                // bytes (BINBYTES*, SHORT_BINBYTES, BYTEARRAY8)
	KindTuple                // tuple
	KindList                 // list
	KindDict                 // dict
	KindSet                  // set/frozenset
	KindGlobal               // the result of GLOBAL/INST-import/STACK_GLOBAL
	KindCallResult           // the result of REDUCE/NEWOBJ/OBJ/INST/...: "computed"
	KindPersistent           // a persistent id load
	KindExtension            // EXT1/2/4 registry lookup
	KindBuffer               // NEXT_BUFFER out-of-band buffer
)

// Import is one global the stream imports.
type Import struct {
	// Module and Name as written in the stream (after Python 2 name mapping
	// the unpickler applies for protocol < 3, see Mapped).
	Module string
	Name   string
	// Offset is the byte offset of the importing opcode.
	Offset int64
	// Opcode is "GLOBAL", "INST" or "STACK_GLOBAL"; or "EXT1", "EXT2",
	// "EXT4" for an extension-registry lookup (copyreg), whose target is
	// decided by the loading process: Module and Name are then "" and
	// Resolved is false.
	Opcode string
	// Resolved is false when an operand was computed (produced by a call or
	// otherwise not a literal string); Module/Name then hold what is known.
	Resolved bool
	// Mapped is true when the names were rewritten from Python 2 names
	// (__builtin__ -> builtins, copy_reg -> copyreg, ...).
	Mapped bool
	// Pickle is the index of the pickle program within the stream
	// (0-based, in the order the programs are started, counting nested
	// joblib object-array pickles; in the framed reading the index is that
	// reading's own).
	Pickle int
}

// Call is one call site: an opcode that would call a callable when loaded.
type Call struct {
	// Callee is the dotted "module.name" when the callable is a known global,
	// "" when it is computed.
	Callee string
	// Opcode is REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX or BUILD (BUILD calls
	// __setstate__ or sets attributes on the object).
	Opcode string
	Offset int64
	// Args holds the literal positional arguments (bounded by MaxCallArgs):
	// the items of the argument tuple (the argument itself when REDUCE gets
	// a non-tuple); for NEWOBJ_EX the positional items followed by the
	// kwargs dict when it is not empty; for BUILD the state. For BUILD,
	// Callee is the type of the object whose state is set (the class its
	// NEWOBJ/REDUCE created, looking through copyreg._reconstructor), or
	// the global itself when BUILD targets a module-level object.
	Args   []Value
	Pickle int
}

// AnomalyKind classifies a structural problem of the stream.
type AnomalyKind string

// Anomaly kinds.
const (
	AnomalyTruncated     AnomalyKind = "truncated"      // EOF inside an opcode or before STOP
	AnomalyBadOpcode     AnomalyKind = "bad-opcode"     // unknown opcode byte
	AnomalyBadOperand    AnomalyKind = "bad-operand"    // malformed argument (bad text int, bad string quoting, ...)
	AnomalyStack         AnomalyKind = "stack"          // underflow, missing mark, wrong operand types
	AnomalyMemo          AnomalyKind = "memo"           // GET of a missing memo key
	AnomalyFrameMismatch AnomalyKind = "frame-mismatch" // FRAME lengths disagree with opcode boundaries
	AnomalyLimit         AnomalyKind = "limit"          // a cap (ops, stack, memo, pickles, string length) was exceeded
	AnomalyTrailing      AnomalyKind = "trailing-data"  // bytes after the last STOP that are not a pickle
	AnomalyProtocol      AnomalyKind = "protocol"       // opcode newer than the declared protocol, bad PROTO
	AnomalyExpansion     AnomalyKind = "expansion"      // shared references expand to far more values than the stream holds
	AnomalyRebuildMutate AnomalyKind = "rebuild-mutate" // BUILD/SETITEM/__setstate__ applied to a torch _rebuild_* result
)

// Anomaly is one structural problem found while analysing.
type Anomaly struct {
	Kind   AnomalyKind
	Offset int64
	Detail string
	Pickle int
}

// Analysis is everything Analyze learned about a stream.
type Analysis struct {
	Imports   []Import
	Calls     []Call
	Anomalies []Anomaly
	// Pickles is the number of pickle programs (STOP-terminated) seen in
	// the linear reading, including nested joblib object-array pickles.
	Pickles int
	// Protocol is the highest PROTO seen (0 when none).
	Protocol int
	// Ops is the number of opcodes executed (over both readings when a
	// frame mismatch caused a second, framed reading).
	Ops int
	// End is the offset just after the last byte consumed by the linear
	// reading (the start of trailing data, if any).
	End int64
}
