package pickle

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	maxItems         = 64      // Items kept per container value
	itemBudget       = 1 << 18 // Items kept across one analysis
	maxAnomalies     = 100     // stack/memo/operand errors per pickle before giving up
	maxFrameNotes    = 16      // frame-mismatch anomalies recorded per pickle
	maxTotalAnomaly  = 10000   // anomalies recorded per analysis
	ctxCheckInterval = 4096
)

// slot is one stack entry: the value and the memo key it was last stored
// under or fetched from (-1 when none), so that mutations of a container or
// of a numpy dtype by APPEND/SETITEM/BUILD reach the memo copy too.
type slot struct {
	v    Value
	memo int64
}

// result is how one pickle program ended.
type result int

const (
	resStop   result = iota // STOP reached
	resBroken               // undecodable or truncated: stream ends here
	resLimit                // a cap was exceeded
	resStrict               // strict mode: first anomaly
	resFrame                // framed reading: _Unframer error
)

// machine executes one pickle program symbolically.
type machine struct {
	c      *collector
	dec    *decoder
	r      *reader
	index  int // pickle index
	joblib bool
	strict bool

	proto     int
	sawProto  bool
	protoNote bool
	// maxOpProto is the highest protocol of any opcode executed.
	maxOpProto int
	stack      []slot
	marks      []int
	memo       map[int64]slot

	imports    []Import
	calls      []Call
	anomalies  []Anomaly
	ops        int
	stopEnd    int64 // offset after STOP
	limited    bool  // a cap was hit inside exec
	errs       int   // anomalies CPython would fail on
	markWeight int64 // expanded weight of the items the last popMark took
	frameNotes int   // frame-mismatch anomalies recorded
	err        error // I/O error or ctx error
}

func (m *machine) anomaly(kind AnomalyKind, off int64, format string, args ...any) {
	switch kind {
	case AnomalyStack, AnomalyMemo, AnomalyBadOperand:
		// errors CPython would stop at; bounded by maxAnomalies
		m.errs++
	case AnomalyFrameMismatch:
		// CPython accepts these, so they must not end the analysis; keep
		// a few, the framed reading runs anyway.
		m.c.mismatch = true
		if m.frameNotes++; m.frameNotes > maxFrameNotes {
			return
		}
	}
	m.anomalies = append(m.anomalies, Anomaly{Kind: kind, Offset: off, Detail: fmt.Sprintf(format, args...), Pickle: m.index})
}

func (m *machine) fence() int {
	if len(m.marks) == 0 {
		return 0
	}
	return m.marks[len(m.marks)-1]
}

func (m *machine) push(v Value) { m.stack = append(m.stack, slot{v, -1}) }

func (m *machine) pop(op *Op) Value {
	if len(m.stack) <= m.fence() {
		m.anomaly(AnomalyStack, op.Offset, "%s: unpickling stack underflow", op.Name)
		return Value{Kind: KindUnknown, Length: -1}
	}
	v := m.stack[len(m.stack)-1].v
	m.stack = m.stack[:len(m.stack)-1]
	return v
}

// top returns the top slot, or nil (with an anomaly) on underflow.
func (m *machine) top(op *Op) *slot {
	if len(m.stack) <= m.fence() {
		m.anomaly(AnomalyStack, op.Offset, "%s: unpickling stack underflow", op.Name)
		return nil
	}
	return &m.stack[len(m.stack)-1]
}

func (m *machine) popMark(op *Op) ([]Value, bool) {
	if len(m.marks) == 0 {
		m.anomaly(AnomalyStack, op.Offset, "%s: could not find MARK", op.Name)
		return nil, false
	}
	f := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	m.markWeight = 0
	for _, s := range m.stack[f:] {
		m.markWeight = addWeight(m.markWeight, weight(s.v))
	}
	items := make([]Value, 0, min(len(m.stack)-f, maxItems+1))
	for _, s := range m.stack[f:] {
		items = append(items, s.v)
		if len(items) > maxItems {
			break
		}
	}
	m.stack = m.stack[:f]
	return items, true
}

// container builds a container value keeping at most maxItems items within
// the collector's item budget; w is the expanded weight of all its items.
func (m *machine) container(kind ValueKind, off int64, items []Value, w int64) Value {
	v := Value{Kind: kind, Offset: off, Length: -1}
	m.addItems(&v, items...)
	m.grow(&v, w)
	return v
}

// maxWeight saturates Value.Weight.
const maxWeight = 1 << 62

// Expansion is reported when a value's expanded weight passes
// expansionMin and expansionRatio times the opcodes executed so far.
const (
	expansionMin   = 1 << 27
	expansionRatio = 1000
)

func weight(v Value) int64 { return max(v.Weight, 1) }

func addWeight(a, b int64) int64 {
	if a > maxWeight-b {
		return maxWeight
	}
	return a + b
}

// sumWeights is the expanded weight of items.
func sumWeights(items []Value) int64 {
	var w int64
	for _, it := range items {
		w = addWeight(w, weight(it))
	}
	return w
}

// grow adds w to v's weight and reports, once per analysis, a value that
// expands to far more than the stream could spell out.
func (m *machine) grow(v *Value, w int64) {
	v.Weight = addWeight(weight(*v), w)
	if v.Weight > expansionMin && v.Weight/expansionRatio > int64(m.c.ops) && !m.c.expansionNoted {
		m.c.expansionNoted = true
		m.anomaly(AnomalyExpansion, v.Offset, "shared references (DUP, memo GET) expand to more than %d values from %d opcodes: walking, copying or printing the loaded object exhausts memory or time", min(v.Weight, maxWeight), m.c.ops)
	}
}

// isRebuild reports a torch tensor-rebuilding helper
// (torch._utils._rebuild_tensor_v2, torch._tensor._rebuild_from_type_v2, ...).
func isRebuild(callee string) bool {
	i := strings.LastIndexByte(callee, '.')
	return i > 0 && strings.HasPrefix(callee[i+1:], "_rebuild_") && (strings.HasPrefix(callee, "torch.") || strings.HasPrefix(callee, "torch._"))
}

// mutates reports an opcode that changes the object v in place when v is
// what a torch _rebuild_* helper returned: torch.save never writes that,
// and such writes into a tensor (SETITEM, BUILD's __setstate__ or
// attribute update) are how the weights_only unpickler was made to
// corrupt memory (CVE-2026-24747).
func (m *machine) mutates(op *Op, v Value, how string) {
	if v.Kind == KindCallResult && isRebuild(v.Global) {
		m.anomaly(AnomalyRebuildMutate, op.Offset, "%s %s the tensor returned by %s", op.Name, how, v.Global)
	}
}

func (m *machine) addItems(v *Value, items ...Value) {
	for _, it := range items {
		if len(v.Items) >= maxItems {
			return
		}
		if m.c.items <= 0 {
			if !m.c.itemsNoted {
				m.c.itemsNoted = true
				m.anomaly(AnomalyLimit, v.Offset, "container item budget of %d exhausted; further container contents are not tracked", itemBudget)
			}
			return
		}
		m.c.items--
		v.Items = append(v.Items, it)
	}
}

// writeBack propagates a mutation of the top slot to its memo entry.
func (m *machine) writeBack(s *slot) {
	if s.memo >= 0 {
		if _, ok := m.memo[s.memo]; ok {
			m.memo[s.memo] = *s
		}
	}
}

func (m *machine) memoPut(op *Op, key int64) {
	s := m.top(op)
	if s == nil {
		return
	}
	if _, ok := m.memo[key]; !ok && len(m.memo) >= m.c.opts.MaxMemo {
		m.anomaly(AnomalyLimit, op.Offset, "memo exceeds %d entries", m.c.opts.MaxMemo)
		m.limited = true
		return
	}
	s.memo = key
	m.memo[key] = *s
}

func (m *machine) memoGet(op *Op, key int64, big string) {
	s, ok := m.memo[key]
	if !ok || big != "" {
		k := strconv.FormatInt(key, 10)
		if big != "" {
			k = big
		}
		m.anomaly(AnomalyMemo, op.Offset, "%s: memo value not found at index %s", op.Name, k)
		m.push(Value{Kind: KindUnknown, Offset: op.Offset, Length: -1})
		return
	}
	m.stack = append(m.stack, s)
}

// stringValue makes the Value of a str/bytes operand.
func stringValue(kind ValueKind, op *Op) Value {
	return Value{Kind: kind, Str: op.Str, Offset: op.DataOffset, Length: op.DataLen, Truncated: op.Truncated}
}

// run executes opcodes until STOP, a fatal problem or a cap.
func (m *machine) run(ctx context.Context) result {
	for {
		if m.c.ops >= m.c.opts.MaxOps {
			m.anomaly(AnomalyLimit, m.r.pos, "more than %d opcodes", m.c.opts.MaxOps)
			return resLimit
		}
		if m.c.ops%ctxCheckInterval == 0 {
			if err := ctx.Err(); err != nil {
				m.err = err
				return resLimit
			}
		}
		start := m.r.pos
		op, err := m.dec.next()
		if err != nil {
			var ioe *ioError
			switch {
			case errors.As(err, &ioe):
				m.err = ioe
				return resBroken
			case errors.Is(err, errFrame):
				return resFrame
			case errors.Is(err, ErrTruncated):
				m.anomaly(AnomalyTruncated, start, "stream ends inside %s before STOP", nameOr(op, start, m))
				return resBroken
			case errors.Is(err, ErrBadOpcode):
				m.anomaly(AnomalyBadOpcode, start, "unknown opcode 0x%02x", op.Code)
				return resBroken
			case errors.Is(err, ErrBadOperand):
				m.anomaly(AnomalyBadOperand, start, "%v", err)
				if m.strict || !lenientOperand(op.Code) {
					return resBroken
				}
			default:
				m.err = err
				return resBroken
			}
		}
		m.c.ops++
		m.ops++
		if op.Proto > m.maxOpProto {
			m.maxOpProto = op.Proto
		}
		if !m.r.framed && m.r.lframeEnd > op.Offset && op.End > m.r.lframeEnd {
			m.anomaly(AnomalyFrameMismatch, op.Offset, "%s straddles the end of the frame ending at %d", op.Name, m.r.lframeEnd)
			m.r.lframeEnd = 0
		}
		if m.sawProto && op.Proto > m.proto && !m.protoNote {
			m.protoNote = true
			m.anomaly(AnomalyProtocol, op.Offset, "%s (protocol %d) in a protocol %d pickle", op.Name, op.Proto, m.proto)
		}
		res, done := m.exec(ctx, &op)
		if m.err != nil {
			return resBroken
		}
		if done {
			return res
		}
		if m.limited {
			return resLimit
		}
		if len(m.stack)+len(m.marks) > m.c.opts.MaxStack {
			m.anomaly(AnomalyLimit, op.Offset, "stack depth exceeds %d", m.c.opts.MaxStack)
			return resLimit
		}
		if len(m.anomalies) > 0 && m.strict {
			return resStrict
		}
		if m.errs >= maxAnomalies {
			m.anomaly(AnomalyLimit, op.Offset, "more than %d anomalies in one pickle; giving up", maxAnomalies)
			return resLimit
		}
	}
}

func nameOr(op Op, start int64, m *machine) string {
	if op.Name != "" && op.Offset == start {
		return op.Name
	}
	return "opcode"
}

// lenientOperand reports opcodes whose malformed operand CPython may still
// accept or which do not affect control flow, so analysis continues.
func lenientOperand(code byte) bool {
	switch code {
	case opInt, opLong, opFloat, opString, opUnicode, opGet, opPut:
		return true
	}
	return false
}

func (m *machine) exec(ctx context.Context, op *Op) (result, bool) {
	switch op.Code {
	case opProto:
		if op.Int > 5 {
			m.anomaly(AnomalyProtocol, op.Offset, "unsupported pickle protocol: %d", op.Int)
			return resBroken, true
		}
		m.proto, m.sawProto = int(op.Int), true
		if m.proto > m.c.an.Protocol {
			m.c.an.Protocol = m.proto
		}
	case opFrame:
		if !m.r.framed {
			if op.Int > m.r.size-m.r.pos {
				m.anomaly(AnomalyFrameMismatch, op.Offset, "FRAME declares %d bytes but only %d remain", op.Int, m.r.size-m.r.pos)
				m.c.mismatch = true
			} else if m.r.lframeEnd > op.Offset {
				m.anomaly(AnomalyFrameMismatch, op.Offset, "FRAME begins before the end of the frame ending at %d", m.r.lframeEnd)
				m.c.mismatch = true
			}
		}
		if err := m.r.startFrame(uint64(op.Int)); err != nil {
			return resFrame, true
		}
	case opStop:
		if len(m.stack) <= m.fence() {
			m.anomaly(AnomalyStack, op.Offset, "STOP: unpickling stack underflow")
		}
		m.stopEnd = m.r.pos
		if !m.r.framed && m.r.lframeEnd > m.r.pos && m.r.pos < m.r.size {
			m.anomaly(AnomalyFrameMismatch, op.Offset, "frame extends %d bytes past STOP", min(m.r.lframeEnd, m.r.size)-m.r.pos)
			m.c.mismatch = true
		}
		return resStop, true

	case opNone:
		m.push(Value{Kind: KindNone, Offset: op.Offset, Length: -1})
	case opNewTrue, opNewFalse:
		v := Value{Kind: KindBool, Offset: op.Offset, Length: -1}
		if op.Code == opNewTrue {
			v.Int = 1
		}
		m.push(v)
	case opInt, opBinInt, opBinInt1, opBinInt2, opLong, opLong1, opLong4:
		v := Value{Kind: KindInt, Int: op.Int, Offset: op.Offset, Length: -1}
		if op.Bool {
			v.Kind = KindBool
		}
		if op.Big != "" {
			v.Str = op.Big
		}
		m.push(v)
	case opFloat, opBinFloat:
		m.push(Value{Kind: KindFloat, Offset: op.Offset, Length: -1, Str: strconv.FormatFloat(op.Float, 'g', -1, 64)})
	case opString, opBinString, opShortBinString, opUnicode, opBinUnicode, opShortBinUni, opBinUnicode8:
		m.push(stringValue(KindString, op))
	case opBinBytes, opShortBinBytes, opBinBytes8, opByteArray8:
		m.push(stringValue(KindBytes, op))
	case opNextBuffer:
		m.push(Value{Kind: KindBuffer, Offset: op.Offset, Length: -1})
	case opReadonlyBuffer:
		m.top(op)

	case opEmptyTuple:
		m.push(Value{Kind: KindTuple, Offset: op.Offset, Length: -1})
	case opEmptyList:
		m.push(Value{Kind: KindList, Offset: op.Offset, Length: -1})
	case opEmptyDict:
		m.push(Value{Kind: KindDict, Offset: op.Offset, Length: -1})
	case opEmptySet:
		m.push(Value{Kind: KindSet, Offset: op.Offset, Length: -1})
	case opTuple1, opTuple2, opTuple3:
		n := int(op.Code-opTuple1) + 1
		items := make([]Value, n)
		for i := n - 1; i >= 0; i-- {
			items[i] = m.pop(op)
		}
		m.push(m.container(KindTuple, op.Offset, items, sumWeights(items)))
	case opTuple, opList, opFrozenSet:
		items, _ := m.popMark(op)
		kind := KindTuple
		switch op.Code {
		case opList:
			kind = KindList
		case opFrozenSet:
			kind = KindSet
		}
		m.push(m.container(kind, op.Offset, items, m.markWeight))
	case opDict:
		items, _ := m.popMark(op)
		if len(items)%2 != 0 && len(items) <= maxItems {
			m.anomaly(AnomalyStack, op.Offset, "DICT: odd number of items")
		}
		m.push(m.container(KindDict, op.Offset, items, m.markWeight))
	case opAppend:
		v := m.pop(op)
		if s := m.top(op); s != nil {
			m.mutates(op, s.v, "appends to")
			m.addItems(&s.v, v)
			m.grow(&s.v, weight(v))
			m.writeBack(s)
		}
	case opAppends, opAddItems:
		items, ok := m.popMark(op)
		if s := m.top(op); s != nil {
			m.mutates(op, s.v, "adds items to")
			m.addItems(&s.v, items...)
			if ok {
				m.grow(&s.v, m.markWeight)
			}
			m.writeBack(s)
		}
	case opSetItem:
		v := m.pop(op)
		k := m.pop(op)
		if s := m.top(op); s != nil {
			m.mutates(op, s.v, "writes an item into")
			m.addItems(&s.v, k, v)
			m.grow(&s.v, addWeight(weight(k), weight(v)))
			m.writeBack(s)
		}
	case opSetItems:
		items, ok := m.popMark(op)
		if len(items)%2 != 0 && len(items) <= maxItems {
			m.anomaly(AnomalyStack, op.Offset, "SETITEMS: odd number of items")
		}
		if s := m.top(op); s != nil {
			m.mutates(op, s.v, "writes items into")
			m.addItems(&s.v, items...)
			if ok {
				m.grow(&s.v, m.markWeight)
			}
			m.writeBack(s)
		}

	case opPop:
		if n := len(m.marks); n > 0 && m.marks[n-1] == len(m.stack) {
			m.marks = m.marks[:n-1]
		} else {
			m.pop(op)
		}
	case opPopMark:
		m.popMark(op)
	case opDup:
		if s := m.top(op); s != nil {
			m.stack = append(m.stack, *s)
		}
	case opMark:
		m.marks = append(m.marks, len(m.stack))

	case opPut, opBinPut, opLongBinPut:
		if op.Big != "" || op.Int < 0 {
			m.anomaly(AnomalyMemo, op.Offset, "%s: negative or oversized memo index %s", op.Name, op.Str)
			break
		}
		m.memoPut(op, op.Int)
	case opMemoize:
		m.memoPut(op, int64(len(m.memo)))
	case opGet, opBinGet, opLongBinGet:
		m.memoGet(op, op.Int, op.Big)

	case opGlobal, opInst:
		if op.Truncated {
			m.anomaly(AnomalyLimit, op.Offset, "%s operand longer than %d bytes", op.Name, m.c.opts.MaxStringLen)
		}
		imp := m.addImport(op, op.Str, op.Str2, !op.Truncated)
		g := Value{Kind: KindGlobal, Global: imp.global(), Offset: op.Offset, Length: -1}
		if op.Code == opGlobal {
			m.push(g)
			break
		}
		args, _ := m.popMark(op)
		m.call(op, g.Global, args)
		m.push(m.callResult(op, g.Global, args))
	case opStackGlobal:
		name := m.pop(op)
		mod := m.pop(op)
		if mod.Kind == KindBytes || name.Kind == KindBytes {
			m.anomaly(AnomalyStack, op.Offset, "STACK_GLOBAL requires str")
			m.push(Value{Kind: KindUnknown, Offset: op.Offset, Length: -1})
			break
		}
		resolved := mod.Kind == KindString && name.Kind == KindString && !mod.Truncated && !name.Truncated
		imp := m.addImport(op, known(mod), known(name), resolved)
		m.push(Value{Kind: KindGlobal, Global: imp.global(), Offset: op.Offset, Length: -1})
	case opExt1, opExt2, opExt4:
		if op.Int <= 0 {
			m.anomaly(AnomalyBadOperand, op.Offset, "%s specifies code <= 0", op.Name)
		}
		m.imports = append(m.imports, Import{Module: "", Name: "", Offset: op.Offset, Opcode: op.Name, Pickle: m.index})
		m.push(Value{Kind: KindExtension, Int: op.Int, Offset: op.Offset, Length: -1})
	case opPersID:
		m.push(Value{Kind: KindPersistent, Str: op.Str, Offset: op.DataOffset, Length: op.DataLen, Truncated: op.Truncated})
	case opBinPersID:
		pid := m.pop(op)
		v := Value{Kind: KindPersistent, Offset: op.Offset, Length: -1}
		m.addItems(&v, pid)
		m.push(v)

	case opReduce:
		args := m.pop(op)
		fn := m.pop(op)
		callee := calleeOf(fn)
		list := argList(args)
		if len(list) > 0 && (strings.HasSuffix(callee, ".__setstate__") || strings.HasSuffix(callee, ".__setitem__") || strings.HasSuffix(callee, ".__dict__.update")) {
			m.mutates(op, list[0], "calls "+callee[strings.LastIndexByte(callee, '.')+1:]+" on")
		}
		m.call(op, callee, list)
		m.push(m.callResult(op, callee, list))
	case opNewObj:
		args := m.pop(op)
		cls := m.pop(op)
		callee := calleeOf(cls)
		list := argList(args)
		m.call(op, callee, list)
		m.push(m.callResult(op, callee, list))
	case opNewObjEx:
		kwargs := m.pop(op)
		args := m.pop(op)
		cls := m.pop(op)
		callee := calleeOf(cls)
		list := argList(args)
		if kwargs.Kind != KindDict || len(kwargs.Items) > 0 {
			list = append(list, kwargs)
		}
		m.call(op, callee, list)
		m.push(m.callResult(op, callee, list))
	case opObj:
		items, ok := m.popMark(op)
		if !ok {
			m.push(Value{Kind: KindUnknown, Offset: op.Offset, Length: -1})
			break
		}
		if len(items) == 0 {
			m.anomaly(AnomalyStack, op.Offset, "OBJ: no class after MARK")
			m.push(Value{Kind: KindUnknown, Offset: op.Offset, Length: -1})
			break
		}
		callee := calleeOf(items[0])
		m.call(op, callee, items[1:])
		m.push(m.callResult(op, callee, items[1:]))
	case opBuild:
		state := m.pop(op)
		s := m.top(op)
		if s == nil {
			break
		}
		m.mutates(op, s.v, "sets the state of (__setstate__ or attribute update)")
		m.call(op, instType(s.v), []Value{state})
		m.grow(&s.v, weight(state))
		m.writeBack(s)
		if s.v.Kind == KindCallResult && s.v.Global == "numpy.dtype" {
			dtypeState(&s.v, state)
			m.writeBack(s)
		}
		if m.joblib && isArrayWrapper(instType(s.v)) {
			return m.joblibArray(ctx, op, state)
		}
	default:
		m.anomaly(AnomalyBadOpcode, op.Offset, "unhandled opcode %s", op.Name)
		return resBroken, true
	}
	return resStop, false
}

// known returns the text of a string value, "" for anything else.
func known(v Value) string {
	if v.Kind == KindString {
		return v.Str
	}
	return ""
}

// calleeOf returns "module.name" when v is a known global, "" otherwise.
func calleeOf(v Value) string {
	if v.Kind == KindGlobal {
		return v.Global
	}
	return ""
}

// instType names the type of the object a BUILD applies to: the class that
// created it (looking through copyreg's reconstructors), or the global
// itself when BUILD targets a class or function object.
func instType(v Value) string {
	switch v.Kind {
	case KindGlobal:
		return v.Global
	case KindCallResult:
		switch v.Global {
		case "copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__":
			if len(v.Items) > 0 && v.Items[0].Kind == KindGlobal {
				return v.Items[0].Global
			}
		}
		return v.Global
	}
	return ""
}

func argList(args Value) []Value {
	if args.Kind == KindTuple {
		return args.Items
	}
	return []Value{args}
}

func (m *machine) call(op *Op, callee string, args []Value) {
	if len(args) > m.c.opts.MaxCallArgs {
		args = args[:m.c.opts.MaxCallArgs]
	}
	m.calls = append(m.calls, Call{Callee: callee, Opcode: op.Name, Offset: op.Offset, Args: append([]Value(nil), args...), Pickle: m.index})
}

func (m *machine) callResult(op *Op, callee string, args []Value) Value {
	v := Value{Kind: KindCallResult, Global: callee, Offset: op.Offset, Length: -1}
	m.addItems(&v, args...)
	m.grow(&v, sumWeights(args))
	if callee == "numpy.dtype" && len(args) > 0 && args[0].Kind == KindString {
		v.Str = args[0].Str
		v.Int = dtypeItemSize(args[0].Str)
	}
	return v
}

// global returns "module.name" for a resolved import and "" otherwise.
func (i Import) global() string {
	if !i.Resolved {
		return ""
	}
	return i.Module + "." + i.Name
}

func (m *machine) addImport(op *Op, mod, name string, resolved bool) Import {
	imp := Import{Module: mod, Name: name, Offset: op.Offset, Opcode: op.Name, Resolved: resolved, Pickle: m.index}
	if m.proto < 3 {
		imp.Module, imp.Name, imp.Mapped = MapPython2(mod, name)
	}
	m.imports = append(m.imports, imp)
	return imp
}

// MapPython2 applies the Python 2 to 3 name mapping CPython's unpickler
// uses for protocols below 3 (Lib/_compat_pickle.py) and reports whether it
// changed anything.
func MapPython2(module, name string) (string, string, bool) {
	if to, ok := py2NameMapping[[2]string{module, name}]; ok {
		return to[0], to[1], true
	}
	if to, ok := py2ImportMapping[module]; ok {
		return to, name, true
	}
	return module, name, false
}

// dtypeItemSize returns the item size of a numpy dtype code such as "f8",
// "<i4", "U10", "V12", "b1", or 0 when unknown.
func dtypeItemSize(code string) int64 {
	code = strings.TrimLeft(code, "<>|=")
	if code == "" {
		return 0
	}
	kind := code[0]
	n, err := strconv.ParseInt(code[1:], 10, 64)
	switch kind {
	case '?':
		return 1
	case 'M', 'm':
		// datetime codes are "M8" (units live in the BUILD state)
		if i := strings.IndexByte(code, '['); i > 0 {
			n, err = strconv.ParseInt(code[1:i], 10, 64)
		}
	}
	if err != nil || n <= 0 || n > 1<<40 {
		return 0
	}
	if kind == 'U' {
		return 4 * n
	}
	return n
}

// dtypeState applies a numpy dtype's BUILD state (version, byteorder,
// subarray, names, fields, elsize, alignment, flags[, metadata]): elsize
// gives the item size of flexible types and flags bit 0 marks dtypes that
// hold Python objects.
func dtypeState(v *Value, state Value) {
	if state.Kind != KindTuple || len(state.Items) < 8 {
		return
	}
	if e := state.Items[5]; e.Kind == KindInt && e.Int > 0 {
		v.Int = e.Int
	}
	if f := state.Items[7]; f.Kind == KindInt && f.Int&1 != 0 {
		v.Str = "O"
	}
	if sub := state.Items[2]; sub.Kind != KindNone {
		// subarray dtypes: elsize covers the whole subarray
		if e := state.Items[5]; e.Kind != KindInt || e.Int <= 0 {
			v.Int = 0
		}
	}
}

func isArrayWrapper(t string) bool {
	switch t {
	case "joblib.numpy_pickle.NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper":
		return true
	}
	return false
}

// dictGet returns the value of key k in a dict value.
func dictGet(d Value, k string) (Value, bool) {
	for i := 0; i+1 < len(d.Items); i += 2 {
		if d.Items[i].Kind == KindString && d.Items[i].Str == k {
			return d.Items[i+1], true
		}
	}
	return Value{}, false
}

// joblibArray follows NumpyArrayWrapper.read_array: the array bytes (or a
// nested pickle for object arrays) follow the BUILD in the file.
func (m *machine) joblibArray(ctx context.Context, op *Op, state Value) (result, bool) {
	s := &m.stack[len(m.stack)-1]
	s.v = Value{Kind: KindCallResult, Global: "numpy.ndarray", Offset: op.Offset, Length: -1}
	s.memo = -1
	shape, ok1 := dictGet(state, "shape")
	dtype, ok2 := dictGet(state, "dtype")
	count, okShape := int64(1), ok1 && shape.Kind == KindTuple
	if okShape {
		for _, d := range shape.Items {
			if d.Kind != KindInt || d.Int < 0 || d.Str != "" {
				okShape = false
				break
			}
			if d.Int != 0 && count > math.MaxInt64/d.Int {
				okShape = false
				break
			}
			count *= d.Int
		}
	}
	fs := m.r.enterFile()
	defer m.r.leaveFile(fs)
	if ok2 && dtype.Kind == KindCallResult && dtype.Global == "numpy.dtype" && strings.HasPrefix(dtype.Str, "O") {
		// Object arrays: pickle.load(file_handle), a separate program.
		return m.c.nested(ctx, m, op)
	}
	itemsize := int64(0)
	if ok2 && dtype.Kind == KindCallResult && dtype.Global == "numpy.dtype" {
		itemsize = dtype.Int
	}
	if !okShape || itemsize <= 0 || (count > 0 && itemsize > math.MaxInt64/count) {
		m.anomaly(AnomalyBadOperand, op.Offset, "joblib array size cannot be resolved (shape %v, dtype %q)", okShape, dtype.Str)
		return m.resync(op)
	}
	if v, ok := dictGet(state, "numpy_array_alignment_bytes"); ok && v.Kind != KindNone {
		b, err := m.r.fixed(1)
		if err != nil {
			return m.fileErr(op, err)
		}
		if _, _, err := m.r.payload(int64(b[0]), 0); err != nil {
			return m.fileErr(op, err)
		}
	}
	if _, _, err := m.r.payload(count*itemsize, 0); err != nil {
		return m.fileErr(op, err)
	}
	return resStop, false
}

func (m *machine) fileErr(op *Op, err error) (result, bool) {
	var ioe *ioError
	if errors.As(err, &ioe) {
		m.err = ioe
		return resBroken, true
	}
	m.anomaly(AnomalyTruncated, op.Offset, "joblib array data extends past the end of the stream")
	return resBroken, true
}

// resync looks for the FRAME that follows joblib array data (NumpyPickler
// commits the frame before writing an array, so protocol 4+ streams
// continue with a FRAME whose length ends at EOF or at another FRAME).
func (m *machine) resync(op *Op) (result, bool) {
	r := m.r
	for r.pos < r.size {
		w, err := r.window(1)
		if err != nil {
			m.err = err
			return resBroken, true
		}
		i := indexByte(w, opFrame)
		if i < 0 {
			r.pos += int64(len(w))
			continue
		}
		r.pos += int64(i)
		if cand := r.pos; m.frameCandidate(cand) {
			r.pos = cand
			m.anomaly(AnomalyBadOperand, op.Offset, "resynchronised at FRAME at offset %d", cand)
			return resStop, false
		}
		r.pos++
	}
	m.anomaly(AnomalyTrailing, op.Offset, "could not resynchronise after joblib array")
	return resBroken, true
}

func (m *machine) frameCandidate(off int64) bool {
	var b [9]byte
	if n, _ := m.r.r.ReadAt(b[:], off); n < 9 {
		return false
	}
	l := int64(b[1]) | int64(b[2])<<8 | int64(b[3])<<16 | int64(b[4])<<24 | int64(b[5])<<32 | int64(b[6])<<40 | int64(b[7])<<48 | int64(b[8])<<56
	if l <= 0 || l > m.r.size-off-9 {
		return false
	}
	end := off + 9 + l
	if end == m.r.size {
		return true
	}
	var nb [1]byte
	if n, _ := m.r.r.ReadAt(nb[:], end); n == 1 && nb[0] == opFrame {
		return true
	}
	return false
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
