package rag

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ledongthuc/pdf"
)

// Bounds of PDF text extraction. A PDF that hits one is not analysed.
const (
	// MaxPDFPages caps the pages whose text is extracted.
	MaxPDFPages = 5000
	// MaxPDFObjects caps the page-tree nodes, content streams and form
	// XObjects visited.
	MaxPDFObjects = 100_000
	// MaxPDFStreamBytes caps the decompressed content-stream bytes of one
	// document.
	MaxPDFStreamBytes = 256 << 20
	// MaxPDFRatio caps decompressed content bytes per byte of file once
	// more than pdfRatioFloor bytes were decompressed (a decompression
	// bomb; ordinary text compresses 3–10×).
	MaxPDFRatio   = 200
	pdfRatioFloor = 8 << 20
	// MaxPDFOperators caps content-stream operators per document.
	MaxPDFOperators = 20_000_000
	// MaxPDFTime caps the wall-clock time of one extraction.
	MaxPDFTime = 20 * time.Second
	// MaxPDFFormDepth caps nested form XObjects.
	MaxPDFFormDepth = 8
	// maxPDFRead caps the bytes the PDF library reads from the file,
	// as a multiple of its size (re-reading objects is normal; loops are
	// not).
	maxPDFRead = 64

	LimitPDFPages   = "rag_pdf_pages"
	LimitPDFObjects = "rag_pdf_objects"
	LimitPDFStream  = "rag_pdf_stream_bytes"
	LimitPDFTime    = "rag_pdf_time"
)

// PDFLimitError is returned when a bound of PDF extraction is hit.
type PDFLimitError struct {
	Limit  string
	Reason string
}

func (e *PDFLimitError) Error() string { return "rag: PDF: " + e.Reason }

// RuntimeError marks the error as a runtime.Error, so the PDF library's
// internal recover() calls, which swallow other panics, pass it on.
func (e *PDFLimitError) RuntimeError() {}

// ErrPDFNoText is returned for a PDF with pages but no extractable text
// (a scanned document, text drawn as paths, fonts without a usable
// encoding).
var ErrPDFNoText = errors.New("rag: PDF has no extractable text")

// PDFText is the text of a PDF: all shown text in content order (pages
// separated by form feeds) and the runs of it a reader does not see.
type PDFText struct {
	Pages  int
	Text   []byte
	Hidden []HiddenRun
}

// HiddenRun is text drawn invisibly on a page.
type HiddenRun struct {
	Page int
	// Why names the trick: "text render mode 3 (invisible)", "white text",
	// "font smaller than 1 pt".
	Why  string
	Text []byte
	// strict: only the strict instruction patterns count (white text is
	// often drawn on a dark box the extractor does not see).
	strict bool
}

// guardedReaderAt counts what the PDF library reads and stops it (with a
// panic recovered in ExtractPDF) past the read budget, the deadline or a
// cancelled context.
type guardedReaderAt struct {
	r        io.ReaderAt
	ctx      context.Context
	read     int64
	maxRead  int64
	deadline time.Time
}

func (g *guardedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	g.read += int64(len(p))
	if g.read > g.maxRead {
		panic(&PDFLimitError{LimitPDFObjects, fmt.Sprintf("the PDF reader read more than %d× the file (object loop?)", maxPDFRead)})
	}
	g.check()
	return g.r.ReadAt(p, off)
}

func (g *guardedReaderAt) check() {
	if time.Now().After(g.deadline) {
		panic(&PDFLimitError{LimitPDFTime, fmt.Sprintf("text extraction took longer than %s", MaxPDFTime)})
	}
	if err := g.ctx.Err(); err != nil {
		panic(&PDFLimitError{LimitPDFTime, "cancelled: " + err.Error()})
	}
}

// ExtractPDF extracts the text of the PDF in r (size bytes) with the
// bounds above. Errors: *PDFLimitError for a bound, ErrPDFNoText, or
// another error when the PDF cannot be read (malformed, encrypted).
func ExtractPDF(ctx context.Context, r io.ReaderAt, size int64) (out *PDFText, err error) {
	g := &guardedReaderAt{r: r, ctx: ctx, maxRead: maxPDFRead*size + 256<<20, deadline: time.Now().Add(MaxPDFTime)}
	defer func() {
		if x := recover(); x != nil {
			out = nil
			var le *PDFLimitError
			switch v := x.(type) {
			case *PDFLimitError:
				err = v
			case error:
				if errors.As(v, &le) {
					err = le
				} else {
					err = fmt.Errorf("rag: PDF: %w", v)
				}
			default:
				err = fmt.Errorf("rag: PDF: %v", v)
			}
		}
	}()
	if err := checkNesting(g, size); err != nil {
		return nil, err
	}
	rd, err := pdf.NewReader(g, size)
	if err != nil {
		var le *PDFLimitError
		if errors.As(err, &le) {
			return nil, le
		}
		return nil, fmt.Errorf("rag: PDF: %w", err)
	}
	if err := checkObjectStreams(rd); err != nil {
		return nil, err
	}
	x := &pdfExtractor{g: g, size: size, out: &PDFText{}}
	root := rd.Trailer().Key("Root").Key("Pages")
	x.walkPages(root, 0)
	if x.out.Pages > 0 && len(bytes.TrimSpace(x.out.Text)) == 0 {
		return x.out, ErrPDFNoText
	}
	if x.out.Pages == 0 {
		return x.out, fmt.Errorf("rag: PDF: no pages found")
	}
	return x.out, nil
}

// MaxPDFNesting caps the nesting of arrays and dictionaries in the file:
// the PDF library parses objects recursively, and a stack overflow is not
// recoverable.
const MaxPDFNesting = 10_000

// checkNesting bounds the nesting of [ and << in the raw bytes (streams
// included: random bytes balance out far below the cap).
func checkNesting(r io.ReaderAt, size int64) error {
	buf := make([]byte, 64<<10)
	depth := 0
	var prev byte
	for off := int64(0); off < size; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if n == 0 && err != nil {
			return fmt.Errorf("rag: PDF: read: %w", err)
		}
		for _, c := range buf[:n] {
			switch {
			case c == '[' || (c == '<' && prev == '<'):
				depth++
				if depth > MaxPDFNesting {
					return &PDFLimitError{LimitPDFObjects, fmt.Sprintf("arrays and dictionaries nest deeper than %d", MaxPDFNesting)}
				}
			case (c == ']' || (c == '>' && prev == '>')) && depth > 0:
				depth--
			}
			if (c == '<' && prev == '<') || (c == '>' && prev == '>') {
				c = 0 // "<<<" is one opener and a '<'
			}
			prev = c
		}
		off += int64(n)
	}
	return nil
}

// checkObjectStreams refuses a cross-reference table in which an object
// stream is itself stored in an object stream (PDF 32000-1 §7.5.7 forbids
// it): the library would resolve such a chain by recursing without end,
// and a stack overflow cannot be recovered. The table is private to the
// library, so it is read through reflection; a library whose fields
// changed fails closed.
func checkObjectStreams(rd *pdf.Reader) error {
	tab := reflect.ValueOf(rd).Elem().FieldByName("xref")
	if !tab.IsValid() || tab.Kind() != reflect.Slice {
		return fmt.Errorf("rag: PDF: cannot check the cross-reference table of this PDF library version")
	}
	n := tab.Len()
	for i := range n {
		e := tab.Index(i)
		in, st := e.FieldByName("inStream"), e.FieldByName("stream")
		if !in.IsValid() || !st.IsValid() || !st.FieldByName("id").IsValid() {
			return fmt.Errorf("rag: PDF: cannot check the cross-reference table of this PDF library version")
		}
		if !in.Bool() {
			continue
		}
		id := st.FieldByName("id").Uint()
		if id < uint64(n) && tab.Index(int(id)).FieldByName("inStream").Bool() {
			return &PDFLimitError{LimitPDFObjects, fmt.Sprintf("object %d is in object stream %d, which is itself in an object stream (a reference loop)", i, id)}
		}
	}
	return nil
}

type pdfExtractor struct {
	g       *guardedReaderAt
	size    int64
	out     *PDFText
	objects int
	streams int64
	ops     int
}

func (x *pdfExtractor) visit() {
	x.objects++
	if x.objects > MaxPDFObjects {
		panic(&PDFLimitError{LimitPDFObjects, fmt.Sprintf("more than %d page-tree nodes, content streams and forms", MaxPDFObjects)})
	}
	x.g.check()
}

// walkPages walks the page tree depth first (bounded by the visit count,
// which also ends reference cycles).
func (x *pdfExtractor) walkPages(node pdf.Value, depth int) {
	x.visit()
	if depth > 64 {
		panic(&PDFLimitError{LimitPDFObjects, "page tree nested deeper than 64"})
	}
	if node.Key("Type").Name() == "Page" || (node.Key("Kids").IsNull() && !node.Key("Contents").IsNull()) {
		x.out.Pages++
		if x.out.Pages > MaxPDFPages {
			panic(&PDFLimitError{LimitPDFPages, fmt.Sprintf("more than %d pages", MaxPDFPages)})
		}
		if x.out.Pages > 1 {
			x.out.Text = append(x.out.Text, "\n\f\n"...)
		}
		x.page(node)
		return
	}
	kids := node.Key("Kids")
	for i := 0; i < kids.Len(); i++ {
		x.walkPages(kids.Index(i), depth+1)
	}
}

// inherited looks key up on the page and its ancestors (bounded).
func inherited(p pdf.Value, key string) pdf.Value {
	for i := 0; i < 64 && !p.IsNull(); i++ {
		if v := p.Key(key); !v.IsNull() {
			return v
		}
		p = p.Key("Parent")
	}
	return pdf.Value{}
}

func (x *pdfExtractor) page(p pdf.Value) {
	res := inherited(p, "Resources")
	x.content(p.Key("Contents"), res, 0)
}

// content interprets a content stream (or an array of them) with the
// resources res.
func (x *pdfExtractor) content(strm pdf.Value, res pdf.Value, depth int) {
	var data []byte
	switch strm.Kind() {
	case pdf.Array:
		for i := 0; i < strm.Len(); i++ {
			data = append(data, x.streamBytes(strm.Index(i))...)
			data = append(data, '\n')
		}
	case pdf.Stream:
		data = x.streamBytes(strm)
	default:
		return
	}
	x.interpret(data, res, depth)
}

// streamBytes decompresses one stream within the document's budget.
func (x *pdfExtractor) streamBytes(s pdf.Value) []byte {
	x.visit()
	if s.Kind() != pdf.Stream {
		return nil
	}
	left := MaxPDFStreamBytes - x.streams
	rc := s.Reader()
	defer rc.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(rc, left+1))
	x.streams += n
	if x.streams > MaxPDFStreamBytes {
		panic(&PDFLimitError{LimitPDFStream, fmt.Sprintf("content streams decompress to more than %d bytes", MaxPDFStreamBytes)})
	}
	if x.streams > pdfRatioFloor && x.streams > MaxPDFRatio*x.size {
		panic(&PDFLimitError{LimitPDFStream, fmt.Sprintf("content streams decompress to more than %d× the file size", MaxPDFRatio)})
	}
	if err != nil {
		panic(fmt.Errorf("content stream: %w", err))
	}
	return buf.Bytes()
}

// textState is the part of the graphics state that decides whether text
// is seen.
type textState struct {
	font     string
	size     float64
	scale    float64 // |text matrix| scale factor
	ctmScale float64
	mode     int
	white    bool
	y        float64 // baseline of the current text line, text space
}

// interpret walks the operators of one content stream, decoding the
// strings of text-showing operators with the fonts of res.
func (x *pdfExtractor) interpret(data []byte, res pdf.Value, depth int) {
	st := textState{size: 12, scale: 1, ctmScale: 1}
	var stack []textState
	fonts := map[string]pdf.TextEncoding{}
	var operands []pdfToken
	var run []byte
	runWhy, runStrict := "", false
	flush := func() {
		if len(bytes.TrimSpace(run)) > 0 {
			x.out.Hidden = append(x.out.Hidden, HiddenRun{Page: x.out.Pages, Why: runWhy, Text: bytes.Clone(run), strict: runStrict})
		}
		run, runWhy = run[:0], ""
	}
	show := func(raw []byte) {
		enc, ok := fonts[st.font]
		if !ok {
			f := res.Key("Font").Key(st.font)
			font := pdf.Font{V: f}
			enc = font.Encoder()
			fonts[st.font] = enc
		}
		s := strings.ReplaceAll(enc.Decode(string(raw)), "\u00a0", " ")
		x.out.Text = append(x.out.Text, s...)
		why, strict := "", false
		switch {
		case st.mode == 3 || st.mode == 7:
			why = "text render mode " + strconv.Itoa(st.mode) + " (invisible)"
		case math.Abs(st.size*st.scale*st.ctmScale) < 1:
			why = "font smaller than 1 pt"
		case st.white && st.mode != 1 && st.mode != 5:
			why, strict = "white text", true
		}
		if why != runWhy {
			flush()
		}
		if why != "" {
			runWhy, runStrict = why, strict
			run = append(run, s...)
		}
	}
	num := func(i int) float64 {
		if i < 0 || i >= len(operands) {
			return 0
		}
		return operands[i].num
	}
	lex := pdfLexer{b: data}
	for {
		tok, ok := lex.next()
		if !ok {
			break
		}
		if tok.kind != tokOp {
			if len(operands) < 64 {
				operands = append(operands, tok)
			}
			continue
		}
		x.ops++
		if x.ops > MaxPDFOperators {
			panic(&PDFLimitError{LimitPDFObjects, fmt.Sprintf("more than %d content-stream operators", MaxPDFOperators)})
		}
		if x.ops&0xffff == 0 {
			x.g.check()
		}
		n := len(operands)
		switch op := tok.str; string(op) {
		case "q":
			if len(stack) < 256 {
				stack = append(stack, st)
			}
		case "Q":
			if len(stack) > 0 {
				st, stack = stack[len(stack)-1], stack[:len(stack)-1]
			}
		case "cm":
			if n >= 6 {
				st.ctmScale *= math.Hypot(num(n-6), num(n-5))
			}
		case "BT":
			st.scale = 1
		case "ET":
			if runWhy != "" {
				run = append(run, ' ')
			}
		case "Tf":
			if n >= 2 {
				st.font, st.size = string(operands[n-2].str), num(n-1)
			}
		case "Tr":
			if n >= 1 {
				st.mode = int(num(n - 1))
			}
		case "Tm":
			// Glyphs placed one by one on a line stay one word: a new
			// line starts only where the baseline moves.
			if n >= 6 {
				st.scale = math.Hypot(num(n-6), num(n-5))
				if y := num(n - 1); math.Abs(y-st.y) > 0.5 {
					x.out.Text = append(x.out.Text, '\n')
					st.y = y
				}
			}
		case "Td", "TD":
			if n >= 2 && num(n-1) != 0 {
				x.out.Text = append(x.out.Text, '\n')
				st.y += num(n - 1)
			}
		case "T*":
			x.out.Text = append(x.out.Text, '\n')
		case "g":
			st.white = n >= 1 && num(n-1) >= 0.95
		case "rg":
			st.white = n >= 3 && num(n-3) >= 0.95 && num(n-2) >= 0.95 && num(n-1) >= 0.95
		case "k":
			st.white = n >= 4 && num(n-4) <= 0.05 && num(n-3) <= 0.05 && num(n-2) <= 0.05 && num(n-1) <= 0.05
		case "sc", "scn":
			switch {
			case n == 1:
				st.white = num(0) >= 0.95
			case n == 3:
				st.white = num(0) >= 0.95 && num(1) >= 0.95 && num(2) >= 0.95
			default:
				st.white = false
			}
		case "Tj", "'", "\"":
			if op[0] != 'T' {
				x.out.Text = append(x.out.Text, '\n')
			}
			if n >= 1 && operands[n-1].kind == tokString {
				show(operands[n-1].str)
			}
		case "TJ":
			for _, t := range lex.array {
				switch {
				case t.kind == tokString:
					show(t.str)
				case t.num < -200:
					x.out.Text = append(x.out.Text, ' ')
				}
			}
		case "Do":
			if n >= 1 && depth < MaxPDFFormDepth {
				xo := res.Key("XObject").Key(string(operands[n-1].str))
				if xo.Key("Subtype").Name() == "Form" {
					fr := xo.Key("Resources")
					if fr.IsNull() {
						fr = res
					}
					flush()
					x.content(xo, fr, depth+1)
				}
			}
		}
		operands = operands[:0]
	}
	flush()
	x.out.Text = append(x.out.Text, '\n')
}

type tokKind uint8

const (
	tokNum tokKind = iota
	tokName
	tokString
	tokOp
	tokOther
)

type pdfToken struct {
	kind tokKind
	num  float64
	str  []byte
}

// pdfLexer tokenises a content stream. Arrays are collected into array
// (the operands of TJ); dictionaries and inline images are skipped.
type pdfLexer struct {
	b       []byte
	i       int
	array   []pdfToken
	inArray bool
}

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isPDFDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func (l *pdfLexer) next() (pdfToken, bool) {
	b := l.b
	for l.i < len(b) {
		c := b[l.i]
		switch {
		case isPDFSpace(c):
			l.i++
		case c == '%':
			for l.i < len(b) && b[l.i] != '\n' && b[l.i] != '\r' {
				l.i++
			}
		case c == '(':
			return pdfToken{kind: tokString, str: l.literal()}, true
		case c == '<' && l.i+1 < len(b) && b[l.i+1] == '<':
			l.skipDict()
			return pdfToken{kind: tokOther}, true
		case c == '<':
			return pdfToken{kind: tokString, str: l.hex()}, true
		case c == '[' && l.inArray: // nested arrays are not text operands
			l.i++
			return pdfToken{kind: tokOther}, true
		case c == '[':
			l.i++
			l.array = l.array[:0]
			l.inArray = true
			defer func() { l.inArray = false }()
			for {
				t, ok := l.next()
				if !ok || (t.kind == tokOther && t.str != nil && t.str[0] == ']') {
					break
				}
				if len(l.array) < 1<<16 {
					l.array = append(l.array, t)
				}
			}
			return pdfToken{kind: tokOther}, true
		case c == ']':
			l.i++
			return pdfToken{kind: tokOther, str: []byte{']'}}, true
		case c == '/':
			s := l.i + 1
			l.i++
			for l.i < len(b) && !isPDFSpace(b[l.i]) && !isPDFDelim(b[l.i]) {
				l.i++
			}
			return pdfToken{kind: tokName, str: b[s:l.i]}, true
		case c == '+' || c == '-' || c == '.' || ('0' <= c && c <= '9'):
			s := l.i
			l.i++
			for l.i < len(b) && !isPDFSpace(b[l.i]) && !isPDFDelim(b[l.i]) {
				l.i++
			}
			f, _ := strconv.ParseFloat(string(b[s:l.i]), 64)
			return pdfToken{kind: tokNum, num: f}, true
		case isPDFDelim(c):
			l.i++
			return pdfToken{kind: tokOther}, true
		default:
			s := l.i
			for l.i < len(b) && !isPDFSpace(b[l.i]) && !isPDFDelim(b[l.i]) {
				l.i++
			}
			op := b[s:l.i]
			if string(op) == "ID" {
				l.skipInlineImage()
				return pdfToken{kind: tokOther}, true
			}
			return pdfToken{kind: tokOp, str: op}, true
		}
	}
	return pdfToken{}, false
}

// literal reads a (string) with nested parentheses and escapes.
func (l *pdfLexer) literal() []byte {
	b := l.b
	l.i++
	var out []byte
	depth := 1
	for l.i < len(b) {
		c := b[l.i]
		l.i++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return out
			}
		case '\\':
			if l.i >= len(b) {
				return out
			}
			e := b[l.i]
			l.i++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r', '\n':
				if e == '\r' && l.i < len(b) && b[l.i] == '\n' {
					l.i++
				}
				continue
			default:
				if '0' <= e && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.i < len(b) && '0' <= b[l.i] && b[l.i] <= '7'; k++ {
						v = v*8 + int(b[l.i]-'0')
						l.i++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// hex reads a <hex string>.
func (l *pdfLexer) hex() []byte {
	b := l.b
	l.i++
	var out []byte
	var hi byte
	half := false
	for l.i < len(b) && b[l.i] != '>' {
		v, ok := unhex(b[l.i])
		l.i++
		if !ok {
			continue
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4)
	}
	l.i++
	return out
}

// skipDict skips a << dictionary >> (nested, strings honoured).
func (l *pdfLexer) skipDict() {
	b := l.b
	depth := 0
	for l.i < len(b) {
		switch {
		case b[l.i] == '(':
			l.literal()
			continue
		case b[l.i] == '<' && l.i+1 < len(b) && b[l.i+1] == '<':
			depth++
			l.i += 2
			continue
		case b[l.i] == '>' && l.i+1 < len(b) && b[l.i+1] == '>':
			depth--
			l.i += 2
			if depth <= 0 {
				return
			}
			continue
		}
		l.i++
	}
}

// skipInlineImage skips the data of an inline image up to "EI".
func (l *pdfLexer) skipInlineImage() {
	b := l.b
	for l.i+2 < len(b) {
		if isPDFSpace(b[l.i]) && b[l.i+1] == 'E' && b[l.i+2] == 'I' && (l.i+3 == len(b) || isPDFSpace(b[l.i+3])) {
			l.i += 3
			return
		}
		l.i++
	}
	l.i = len(b)
}
