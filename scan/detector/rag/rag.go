// Package rag is the RAG-ingestion document detector: it looks for
// indirect prompt-injection markers in the text documents a
// retrieval-augmented system ingests (plain text, Markdown, HTML, CSV and
// the string values of JSON documents, recognised by content as
// format.Text and format.JSON): hidden text addressed to a model (HTML
// comments, CSS-hidden elements, Markdown comments), Unicode tag-character
// smuggling, zero-width runs, bidirectional overrides, instruction-shaped
// text, chat-role impersonation, coercion of agents and exfiltration links.
// Precision is preferred over recall; see docs/llmsecops.md.
package rag

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
)

// Name is the detector's stable identifier.
const Name = "rag"

// Rule ids.
const (
	RuleHidden      = "RAG-001"
	RuleTags        = "RAG-002"
	RuleZeroWidth   = "RAG-003"
	RuleBidi        = "RAG-004"
	RuleInstruction = "RAG-005"
	RuleRole        = "RAG-006"
	RuleCoerce      = "RAG-007"
	RuleExfil       = "RAG-008"
)

// Limits of the detector, named in not-analysed verdicts.
const (
	// MaxDocumentBytes caps the document read into memory; a larger text
	// or JSON document is not analysed.
	MaxDocumentBytes = 64 << 20
	// MaxJSONDepth caps JSON nesting.
	MaxJSONDepth = 256
	// MaxPDFBytes caps the size of a PDF whose text is extracted.
	MaxPDFBytes = 256 << 20
	// LimitDocumentBytes, LimitHTMLDepth and LimitJSONDepth name the
	// limits in verdicts.
	LimitDocumentBytes = "rag_document_bytes"
	LimitHTMLDepth     = "rag_html_depth"
	LimitJSONDepth     = "rag_json_depth"
)

//go:embed rules.yaml
var rulesYAML []byte

// Detector examines text and JSON documents.
type Detector struct {
	scan.Base
	// analyser builds the Analyser (its patterns compiled) on first use,
	// so a scan with no documents never compiles them.
	analyser func() *Analyser
	// bufs recycles document buffers of up to maxPooled bytes (most
	// documents are small; a fresh buffer per document is garbage).
	bufs sync.Pool
}

// maxPooled caps the buffers kept in Detector.bufs.
const maxPooled = 1 << 20

var _ scan.Detector = (*Detector)(nil)

// New returns the detector; cfg is not used.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.Text, format.JSON, format.PDF}, rulesYAML)
	return &Detector{Base: b, analyser: sync.OnceValue(NewAnalyser)}, nil
}

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	if in.Kind == format.PDF {
		return d.scanPDF(ctx, in, sink)
	}
	if in.Size > MaxDocumentBytes {
		return scan.NotAnalysedf(LimitDocumentBytes, "document of %d bytes exceeds the %d-byte cap of the RAG document check", in.Size, MaxDocumentBytes)
	}
	var buf []byte
	if in.Size <= maxPooled {
		bp, _ := d.bufs.Get().(*[]byte)
		if bp == nil {
			b := make([]byte, 0, maxPooled)
			bp = &b
		}
		defer d.bufs.Put(bp)
		buf = *bp
	}
	data, err := scan.ReadAll(in, buf)
	if err != nil {
		return fmt.Errorf("rag: read: %w", err)
	}
	issues, err := d.analyser().AnalyseKind(data, in.Kind)
	for _, is := range issues {
		sink.Report(d.Finding(is.Rule, is.Detail, "", is.Offset))
	}
	switch {
	case errors.Is(err, ErrHTMLDepth):
		return scan.NotAnalysedf(LimitHTMLDepth, "hidden HTML nests deeper than %d elements", MaxHiddenDepth)
	case errors.Is(err, errJSONDepth):
		return scan.NotAnalysedf(LimitJSONDepth, "JSON nests deeper than %d levels", MaxJSONDepth)
	case err != nil:
		return scan.NotAnalysedf("", "rag: %w", err)
	}
	return nil
}

var errJSONDepth = errors.New("rag: JSON nested too deep")

// scanPDF extracts the text of a PDF and analyses it; text drawn
// invisibly is also checked as hidden text. Findings carry offset -1
// (offsets in extracted text are not file offsets) and name the page of
// hidden text.
func (d *Detector) scanPDF(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	if in.Size > MaxPDFBytes {
		return scan.NotAnalysedf(LimitDocumentBytes, "PDF of %d bytes exceeds the %d-byte cap of the RAG document check", in.Size, MaxPDFBytes)
	}
	issues, err := d.analyser().AnalysePDF(ctx, in.R, in.Size)
	for _, is := range issues {
		sink.Report(d.Finding(is.Rule, is.Detail, "", is.Offset))
	}
	var le *PDFLimitError
	switch {
	case errors.As(err, &le):
		return scan.NotAnalysedf(le.Limit, "%s", le.Reason)
	case errors.Is(err, ErrPDFNoText):
		return scan.NotAnalysedf("", "PDF has no extractable text (scanned pages, text drawn as paths or fonts without a usable encoding): its content was not checked")
	case errors.Is(err, ErrHTMLDepth):
		return scan.NotAnalysedf(LimitHTMLDepth, "hidden HTML in the PDF's text nests deeper than %d elements", MaxHiddenDepth)
	case err != nil:
		return scan.NotAnalysedf("", "PDF text could not be extracted: %w", err)
	}
	return nil
}

// AnalysePDF extracts the text of the PDF in r and analyses it like a text
// document; runs of invisible text (render mode 3 or 7, a font under 1 pt,
// white fill) are also checked as hidden text (RAG-001). Issues carry
// offset -1. Extraction errors are those of ExtractPDF.
func (a *Analyser) AnalysePDF(ctx context.Context, r io.ReaderAt, size int64) ([]Issue, error) {
	t, err := ExtractPDF(ctx, r, size)
	if err != nil {
		return nil, err
	}
	var rep report
	err = a.analyse(&rep, t.Text, 0)
	for i := range rep.issues {
		rep.issues[i].Offset = -1
	}
	for _, h := range t.Hidden {
		a.hiddenTextStrict(&rep, fmt.Sprintf("PDF page %d, %s", h.Page, h.Why), h.Text, -1, h.strict)
	}
	return rep.issues, err
}

// AnalyseKind is Analyse for a document of kind: JSON documents are
// analysed string value by string value (escapes decoded), everything
// else as text.
func (a *Analyser) AnalyseKind(doc []byte, kind format.Kind) ([]Issue, error) {
	if kind != format.JSON {
		return a.Analyse(doc)
	}
	var r report
	err := a.jsonStrings(doc, func(v []byte, off int64) error {
		if len(v) < 8 {
			return nil
		}
		return a.analyse(&r, v, off)
	})
	return r.issues, err
}

// jsonStrings calls fn with every string value (and key) of the JSON
// document, escapes decoded, and the byte offset of its opening quote. It
// scans the bytes itself (the format sniffer has validated the
// document), tracking only nesting depth.
func (a *Analyser) jsonStrings(doc []byte, fn func(v []byte, off int64) error) error {
	depth := 0
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '{', '[':
			depth++
			if depth > MaxJSONDepth {
				return errJSONDepth
			}
		case '}', ']':
			depth--
		case '"':
			s := i
			esc := false
			j := i + 1
			for ; j < len(doc); j++ {
				c := doc[j]
				if c == '\\' {
					esc = true
					j++
					continue
				}
				if c == '"' {
					break
				}
			}
			if j >= len(doc) {
				return fmt.Errorf("decode JSON: unterminated string at offset %d", s)
			}
			v := doc[s+1 : j]
			if esc {
				var str string
				if err := json.Unmarshal(doc[s:j+1], &str); err != nil {
					return fmt.Errorf("decode JSON: %w", err)
				}
				v = []byte(str)
			}
			if err := fn(v, int64(s)); err != nil {
				return err
			}
			i = j
		}
	}
	return nil
}
