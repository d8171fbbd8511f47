package pickle

// argKind is the encoding of an opcode's inline operand, named after the
// argument descriptors of CPython's Lib/pickletools.py.
type argKind uint8

const (
	argNone         argKind = iota
	argUint1                // 1-byte unsigned
	argUint2                // 2-byte little-endian unsigned
	argUint4                // 4-byte little-endian unsigned
	argInt4                 // 4-byte little-endian signed
	argUint8                // 8-byte little-endian unsigned
	argDecimalShort         // decimal integer terminated by '\n' (INT, GET, PUT)
	argDecimalLong          // decimal integer with optional trailing 'L', then '\n'
	argFloatNL              // repr of a float terminated by '\n'
	argStringNL             // quoted, escaped Python 2 str literal terminated by '\n'
	argUnicodeNL            // raw-unicode-escape text terminated by '\n'
	argLineASCII            // one '\n'-terminated line (PERSID)
	argLinePair             // two '\n'-terminated lines: module and name
	argString1              // uint1 length + bytes (decoded as str)
	argString4              // int4 length + bytes (decoded as str)
	argBytes1               // uint1 length + bytes
	argBytes4               // uint4 length + bytes
	argBytes8               // uint8 length + bytes
	argUnicode1             // uint1 length + UTF-8
	argUnicode4             // uint4 length + UTF-8
	argUnicode8             // uint8 length + UTF-8
	argLong1                // uint1 length + little-endian two's complement
	argLong4                // int4 length + little-endian two's complement
	argFloat8               // 8-byte big-endian IEEE 754
)

// opInfo describes one opcode.
type opInfo struct {
	name  string
	arg   argKind
	proto int // protocol that introduced the opcode
}

// Opcode bytes of protocols 0-5.
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opFloat          = 'F'
	opInt            = 'I'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opLong           = 'L'
	opBinInt2        = 'M'
	opNone           = 'N'
	opPersID         = 'P'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opString         = 'S'
	opBinString      = 'T'
	opShortBinString = 'U'
	opUnicode        = 'V'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opGet            = 'g'
	opBinGet         = 'h'
	opInst           = 'i'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opObj            = 'o'
	opPut            = 'p'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'
	opProto          = 0x80
	opNewObj         = 0x81
	opExt1           = 0x82
	opExt2           = 0x83
	opExt4           = 0x84
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opLong1          = 0x8a
	opLong4          = 0x8b
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	opShortBinUni    = 0x8c
	opBinUnicode8    = 0x8d
	opBinBytes8      = 0x8e
	opEmptySet       = 0x8f
	opAddItems       = 0x90
	opFrozenSet      = 0x91
	opNewObjEx       = 0x92
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
	opByteArray8     = 0x96
	opNextBuffer     = 0x97
	opReadonlyBuffer = 0x98
)

// opTable is indexed by opcode byte; entries with an empty name are not
// opcodes.
var opTable = [256]opInfo{
	opMark:           {"MARK", argNone, 0},
	opStop:           {"STOP", argNone, 0},
	opPop:            {"POP", argNone, 0},
	opPopMark:        {"POP_MARK", argNone, 1},
	opDup:            {"DUP", argNone, 0},
	opFloat:          {"FLOAT", argFloatNL, 0},
	opInt:            {"INT", argDecimalShort, 0},
	opBinInt:         {"BININT", argInt4, 1},
	opBinInt1:        {"BININT1", argUint1, 1},
	opLong:           {"LONG", argDecimalLong, 0},
	opBinInt2:        {"BININT2", argUint2, 1},
	opNone:           {"NONE", argNone, 0},
	opPersID:         {"PERSID", argLineASCII, 0},
	opBinPersID:      {"BINPERSID", argNone, 1},
	opReduce:         {"REDUCE", argNone, 0},
	opString:         {"STRING", argStringNL, 0},
	opBinString:      {"BINSTRING", argString4, 1},
	opShortBinString: {"SHORT_BINSTRING", argString1, 1},
	opUnicode:        {"UNICODE", argUnicodeNL, 0},
	opBinUnicode:     {"BINUNICODE", argUnicode4, 1},
	opAppend:         {"APPEND", argNone, 0},
	opBuild:          {"BUILD", argNone, 0},
	opGlobal:         {"GLOBAL", argLinePair, 0},
	opDict:           {"DICT", argNone, 0},
	opEmptyDict:      {"EMPTY_DICT", argNone, 1},
	opAppends:        {"APPENDS", argNone, 1},
	opGet:            {"GET", argDecimalShort, 0},
	opBinGet:         {"BINGET", argUint1, 1},
	opInst:           {"INST", argLinePair, 0},
	opLongBinGet:     {"LONG_BINGET", argUint4, 1},
	opList:           {"LIST", argNone, 0},
	opEmptyList:      {"EMPTY_LIST", argNone, 1},
	opObj:            {"OBJ", argNone, 1},
	opPut:            {"PUT", argDecimalShort, 0},
	opBinPut:         {"BINPUT", argUint1, 1},
	opLongBinPut:     {"LONG_BINPUT", argUint4, 1},
	opSetItem:        {"SETITEM", argNone, 0},
	opTuple:          {"TUPLE", argNone, 0},
	opEmptyTuple:     {"EMPTY_TUPLE", argNone, 1},
	opSetItems:       {"SETITEMS", argNone, 1},
	opBinFloat:       {"BINFLOAT", argFloat8, 1},
	opProto:          {"PROTO", argUint1, 2},
	opNewObj:         {"NEWOBJ", argNone, 2},
	opExt1:           {"EXT1", argUint1, 2},
	opExt2:           {"EXT2", argUint2, 2},
	opExt4:           {"EXT4", argInt4, 2},
	opTuple1:         {"TUPLE1", argNone, 2},
	opTuple2:         {"TUPLE2", argNone, 2},
	opTuple3:         {"TUPLE3", argNone, 2},
	opNewTrue:        {"NEWTRUE", argNone, 2},
	opNewFalse:       {"NEWFALSE", argNone, 2},
	opLong1:          {"LONG1", argLong1, 2},
	opLong4:          {"LONG4", argLong4, 2},
	opBinBytes:       {"BINBYTES", argBytes4, 3},
	opShortBinBytes:  {"SHORT_BINBYTES", argBytes1, 3},
	opShortBinUni:    {"SHORT_BINUNICODE", argUnicode1, 4},
	opBinUnicode8:    {"BINUNICODE8", argUnicode8, 4},
	opBinBytes8:      {"BINBYTES8", argBytes8, 4},
	opEmptySet:       {"EMPTY_SET", argNone, 4},
	opAddItems:       {"ADDITEMS", argNone, 4},
	opFrozenSet:      {"FROZENSET", argNone, 4},
	opNewObjEx:       {"NEWOBJ_EX", argNone, 4},
	opStackGlobal:    {"STACK_GLOBAL", argNone, 4},
	opMemoize:        {"MEMOIZE", argNone, 4},
	opFrame:          {"FRAME", argUint8, 4},
	opByteArray8:     {"BYTEARRAY8", argBytes8, 5},
	opNextBuffer:     {"NEXT_BUFFER", argNone, 5},
	opReadonlyBuffer: {"READONLY_BUFFER", argNone, 5},
}

// OpName returns the pickletools name of opcode byte code ("BININT1"), or ""
// when code is not an opcode of protocols 0-5.
func OpName(code byte) string { return opTable[code].name }
