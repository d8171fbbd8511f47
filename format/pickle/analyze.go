package pickle

import (
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
)

// Option defaults.
const (
	DefaultMaxOps       = 50_000_000
	DefaultMaxStack     = 100_000
	DefaultMaxMemo      = 1_000_000
	DefaultMaxStringLen = 1 << 20
	DefaultMaxPickles   = 10_000
	DefaultMaxCallArgs  = 16
)

func (o Options) withDefaults() Options {
	if o.MaxOps <= 0 {
		o.MaxOps = DefaultMaxOps
	}
	if o.MaxStack <= 0 {
		o.MaxStack = DefaultMaxStack
	}
	if o.MaxMemo <= 0 {
		o.MaxMemo = DefaultMaxMemo
	}
	if o.MaxStringLen <= 0 {
		o.MaxStringLen = DefaultMaxStringLen
	}
	if o.MaxPickles <= 0 {
		o.MaxPickles = DefaultMaxPickles
	}
	if o.MaxCallArgs <= 0 {
		o.MaxCallArgs = DefaultMaxCallArgs
	}
	return o
}

type importKey struct {
	off          int64
	module, name string
	opcode       string
}

type callKey struct {
	off            int64
	callee, opcode string
}

type anomalyKey struct {
	kind   AnomalyKind
	off    int64
	detail string
}

// collector accumulates the results of every reading of a stream.
type collector struct {
	opts       Options
	an         *Analysis
	imports    map[importKey]bool
	calls      map[callKey]bool
	anomalies  map[anomalyKey]bool
	items      int
	itemsNoted bool
	// expansionNoted is set once an expansion anomaly was recorded.
	expansionNoted bool
	ops            int // opcodes of the current reading
	pickles        int // programs started in the current reading
	mismatch       bool
	budget         int64
}

func (c *collector) merge(m *machine) {
	for _, i := range m.imports {
		k := importKey{i.Offset, i.Module, i.Name, i.Opcode}
		if !c.imports[k] {
			c.imports[k] = true
			c.an.Imports = append(c.an.Imports, i)
		}
	}
	for _, x := range m.calls {
		k := callKey{x.Offset, x.Callee, x.Opcode}
		if !c.calls[k] {
			c.calls[k] = true
			c.an.Calls = append(c.an.Calls, x)
		}
	}
	for _, a := range m.anomalies {
		c.addAnomaly(a)
	}
}

func (c *collector) addAnomaly(a Anomaly) {
	k := anomalyKey{a.Kind, a.Offset, a.Detail}
	if c.anomalies[k] || len(c.an.Anomalies) >= maxTotalAnomaly {
		return
	}
	c.anomalies[k] = true
	c.an.Anomalies = append(c.an.Anomalies, a)
}

func (c *collector) newMachine(r *reader, joblib bool) *machine {
	m := &machine{
		c:      c,
		r:      r,
		dec:    &decoder{r: r, keep: c.opts.MaxStringLen},
		index:  c.pickles,
		joblib: joblib,
		memo:   make(map[int64]slot),
	}
	m.dec.budget = c.budget
	c.pickles++
	return m
}

// nested runs the pickle program that joblib reads with pickle.load from
// the file handle (object arrays) and continues the outer program.
func (c *collector) nested(ctx context.Context, outer *machine, op *Op) (result, bool) {
	if c.pickles >= c.opts.MaxPickles {
		outer.anomaly(AnomalyLimit, op.Offset, "more than %d pickle programs", c.opts.MaxPickles)
		return resLimit, true
	}
	m := c.newMachine(outer.r, false)
	res := m.run(ctx)
	c.budget = m.dec.budget
	c.merge(m)
	if res == resStop && !outer.r.framed {
		c.an.Pickles++
	}
	if m.err != nil {
		outer.err = m.err
		return resBroken, true
	}
	if res != resStop {
		if res == resFrame {
			return resFrame, true
		}
		return res, true
	}
	outer.r.endPickle()
	return resStop, false
}

// reading runs every pickle program of the stream under one framing model.
func (c *collector) reading(ctx context.Context, r *reader) error {
	c.ops, c.pickles = 0, 0
	for r.pos < r.size {
		if c.pickles >= c.opts.MaxPickles {
			c.addAnomaly(Anomaly{Kind: AnomalyLimit, Offset: r.pos, Detail: "more than " + strconv.Itoa(c.opts.MaxPickles) + " pickle programs", Pickle: c.pickles})
			return nil
		}
		start := r.pos
		m := c.newMachine(r, c.opts.Joblib)
		res := m.run(ctx)
		c.budget = m.dec.budget
		if m.err != nil {
			c.merge(m)
			return m.err
		}
		if !r.framed && res == resStop {
			c.an.Pickles++
		}
		if m.index == 0 && start == 0 && res == resBroken && m.ops == 0 {
			// Junk before the first program: pickle.load stops here,
			// but a pickle that starts a few bytes later is still
			// analysed (the runner classified the stream as a pickle
			// because of it).
			if j := junkAt(r); j > 0 {
				c.merge(m)
				c.addAnomaly(Anomaly{Kind: AnomalyBadOpcode, Offset: 0, Detail: strconv.FormatInt(j, 10) + " bytes of junk before a pickle program; it is analysed from offset " + strconv.FormatInt(j, 10)})
				c.pickles--
				r.pos = j
				continue
			}
		}
		if m.index > 0 && res == resBroken && len(m.imports) == 0 && len(m.calls) == 0 {
			// Bytes after the last pickle that do not form one (tensor
			// data, padding): one anomaly, not one per byte. A program
			// that reaches STOP is a pickle even with anomalies (CPython
			// may accept what we flag), so the next one is analysed too.
			c.addAnomaly(Anomaly{Kind: AnomalyTrailing, Offset: start, Detail: strconv.FormatInt(r.size-start, 10) + " bytes after the last pickle are not a pickle", Pickle: m.index})
			c.pickles--
			return nil
		}
		c.merge(m)
		if res != resStop {
			return nil
		}
		r.endPickle()
		if !r.framed {
			c.an.End = r.pos
		}
	}
	if r.size == 0 {
		c.addAnomaly(Anomaly{Kind: AnomalyTruncated, Offset: 0, Detail: "empty stream"})
	}
	return nil
}

// junkAt returns JunkPrefix for the stream behind r.
func junkAt(r *reader) int64 {
	head := make([]byte, min(r.size, 4096))
	n, err := r.r.ReadAt(head, 0)
	if n < len(head) && err != nil && !errors.Is(err, io.EOF) {
		return 0
	}
	return JunkPrefix(r.r, r.size, head[:n])
}

// Analyze disassembles and symbolically executes every pickle program in the
// size bytes behind r, until EOF. It reads sequentially through a small
// buffer; large BINBYTES payloads are skipped, not read into memory.
//
// The stream is read linearly (as pickletools and most scanners do). When a
// FRAME disagrees with the opcode boundaries, it is read a second time the
// way Lib/pickle.py's _Unframer (and _pickle.c reading from an unpeekable
// file) sees it, where the next pickle starts after the whole frame rather
// than after STOP; imports, calls and anomalies of both readings are merged.
func Analyze(ctx context.Context, r io.ReaderAt, size int64, opts Options) (*Analysis, error) {
	if size < 0 {
		size = 0
	}
	c := &collector{
		opts:      opts.withDefaults(),
		an:        &Analysis{},
		imports:   make(map[importKey]bool),
		calls:     make(map[callKey]bool),
		anomalies: make(map[anomalyKey]bool),
		items:     itemBudget,
		budget:    keepBudget,
	}
	lin := newReader(r, size, false)
	err := c.reading(ctx, lin)
	c.an.Ops = c.ops
	if c.an.End < lin.pos && err == nil {
		c.an.End = lin.pos
	}
	if err != nil {
		return c.an, err
	}
	if c.mismatch {
		fr := newReader(r, size, true)
		err = c.reading(ctx, fr)
		c.an.Ops += c.ops
	}
	c.sort()
	return c.an, err
}

// sort orders the results by stream offset (nested joblib pickles and the
// framed reading are merged after the linear reading).
func (c *collector) sort() {
	slices.SortStableFunc(c.an.Imports, func(a, b Import) int { return cmp.Compare(a.Offset, b.Offset) })
	slices.SortStableFunc(c.an.Calls, func(a, b Call) int { return cmp.Compare(a.Offset, b.Offset) })
	slices.SortStableFunc(c.an.Anomalies, func(a, b Anomaly) int { return cmp.Compare(a.Offset, b.Offset) })
}
