package rag

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Issue is one injection marker found in a document.
type Issue struct {
	// Rule is the rule id (RAG-00N).
	Rule string
	// Offset is the byte offset in the text analysed (-1 when unknown).
	Offset int64
	// Detail says what was found, quoting a bounded excerpt.
	Detail string
}

// Bounds of the analysis.
const (
	// MaxHiddenDepth caps the nesting of elements inside a hidden HTML
	// element that the analysis follows.
	MaxHiddenDepth = 1024
	// maxExcerpt caps the characters quoted in a finding.
	maxExcerpt = 120
	// maxPerRule caps the issues reported per rule per document.
	maxPerRule = 16
)

// ErrHTMLDepth is returned when hidden HTML nests deeper than
// MaxHiddenDepth.
var ErrHTMLDepth = errors.New("rag: hidden HTML nested too deep")

// Analyser holds the compiled patterns of the analysis. Instruction
// patterns are case-insensitive and matched against text from which
// zero-width characters were removed. An Analyser is safe for concurrent use.
type Analyser struct {
	// pats are the instruction patterns; first2 marks the first two bytes
	// of every anchor of pats[i] in bit i.
	pats   []pattern
	first2 []uint8
	// hosts are the allowlisted link hosts.
	hosts         []string
	reOverride    *regexp.Regexp
	reAddressed   *regexp.Regexp
	reRole        *regexp.Regexp
	reCoerce      *regexp.Regexp
	reLooseModel  *regexp.Regexp
	reLooseOrder  *regexp.Regexp
	reMDComment   *regexp.Regexp
	reHTMLImg     *regexp.Regexp
	rePlaceholder *regexp.Regexp
	reLongValue   *regexp.Regexp
	reHiddenStyle *regexp.Regexp
	reWhiteText   *regexp.Regexp
	reDarkBG      *regexp.Regexp
	reSpace       *regexp.Regexp
}

// NewAnalyser compiles the patterns.
func NewAnalyser() *Analyser {
	a := newAnalyser()
	a.pats = a.patterns()
	a.first2 = make([]uint8, 1<<16)
	for i, p := range a.pats {
		for _, an := range p.anchors {
			a.first2[int(an[0])<<8|int(an[1])] |= 1 << i
		}
	}
	return a
}

func newAnalyser() *Analyser {
	return &Analyser{
		hosts:         defaultAllowHosts(),
		reOverride:    regexp.MustCompile(`(?i)\b(?:ignore|disregard|forget)\s+(?:(?:all|any|the|your|of|everything|my)\s+){0,3}(?:previous|prior|above|preceding|earlier|former|original|initial|system|existing)\s+(?:instructions?|prompts?|directions?|guidelines|directives?|context|messages?)\b`),
		reAddressed:   regexp.MustCompile(`(?i)\b(?:(?:note|message|instructions?|attention|important|reminder)\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:ai|llm|assistant|language model|chatbot|ai assistant|ai agent|gpt|copilot)s?\b|if you are an?\s+(?:ai|llm|large language model|language model|ai assistant|ai agent|chatbot)\b|(?:ai|llm|assistant|language model)s?\s+(?:reading|processing|summari[sz]ing|retrieving)\s+this\b)`),
		reRole:        regexp.MustCompile(`(?:<\|im_start\|>\s*(?:system|assistant)|<\|start_header_id\|>\s*(?:system|assistant)|<<SYS>>|\[INST\]|<\|system\|>|<start_of_turn>\s*(?:model|system))`),
		reCoerce:      regexp.MustCompile(`(?i)\b(?:(?:do not|don't|never)\s+(?:tell|inform|mention|reveal|disclose|show|alert|notify)\s+(?:(?:this|it|anything)\s+to\s+the\s+user|the\s+user(?:\s+(?:about|of)\s+(?:this|it|these instructions))?\s*[.!;])|without\s+(?:asking|telling|informing|notifying|alerting|consulting)\s+the\s+user\s+(?:first|for\s+(?:confirmation|permission|approval|consent))|(?:silently|secretly|quietly|covertly)\s+(?:call|invoke|execute|run|use)\s+the\s+\S{1,64}\s+tool\b)`),
		reLooseModel:  regexp.MustCompile(`(?i)\b(?:ai|llm|assistant|language model|chatbot|gpt|copilot|agent|model)s?\b`),
		reLooseOrder:  regexp.MustCompile(`(?i)\b(?:ignore|must|disregard|forget|instead|you must|you should|you will|do not|don't|always|never|respond|reply|say|tell|recommend|include|output|summari[sz]e)\b`),
		reMDComment:   regexp.MustCompile(`(?m)(?:^|\n)\[(?://|comment|hidden)\]:\s*#\s*[("](.*)[)"]\s*$`),
		reHTMLImg:     regexp.MustCompile(`(?i)<img\b[^>]{0,300}?\bsrc\s*=\s*["']?(https?://[^"'\s>]{1,1000})`),
		rePlaceholder: regexp.MustCompile(`(?:\{[A-Za-z_ ]{1,40}\}|\{\{[^}]{1,40}\}\}|\[[A-Z_ ]{3,40}\]|<[A-Za-z_ ]{3,40}>|\$\{?[A-Z_]{3,40}\}?|\bINSERT[_ ]|\b(?:YOUR|USER)_[A-Z_]{2,}|=(?:DATA|SECRETS?|PASSWORD|CONVERSATION|HISTORY|SUMMARY|CHAT_HISTORY|API_KEY|TOKEN|EMAIL)\b)`),
		reLongValue:   regexp.MustCompile(`^[A-Za-z0-9+/=_%.-]{100,}$`),
		reHiddenStyle: regexp.MustCompile(`(?i)(?:^|;|\s)(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0+)?(?:px|pt|em|rem|%)?\s*(?:;|!|$)|opacity\s*:\s*0(?:\.0+)?\s*(?:;|!|$)|(?:max-)?height\s*:\s*0(?:px)?\s*;[^"]*overflow\s*:\s*hidden)`),
		reWhiteText:   regexp.MustCompile(`(?i)(?:^|;|\s)color\s*:\s*(?:#fff(?:fff)?|white|rgb\(\s*255\s*,\s*255\s*,\s*255\s*\))\s*(?:;|!|$)`),
		reDarkBG:      regexp.MustCompile(`(?i)background(?:-color)?\s*:\s*(?:#[0-7]|black|rgb\(\s*[0-9]{1,2}\s*,)`),
		reSpace:       regexp.MustCompile(`\s+`),
	}
}

// defaultAllowHosts are image and link hosts whose query strings are not
// exfiltration channels (badges, code hosting, package indexes).
func defaultAllowHosts() []string {
	return []string{
		"img.shields.io", "shields.io", "badge.fury.io", "github.com", "githubusercontent.com",
		"gitlab.com", "codecov.io", "coveralls.io", "travis-ci.org", "travis-ci.com",
		"readthedocs.org", "readthedocs.io", "pypi.org", "pkg.go.dev", "goreportcard.com",
		"huggingface.co", "circleci.com", "app.codecov.io", "bestpractices.coreinfrastructure.org",
		"api.securityscorecards.dev", "localhost", "127.0.0.1",
	}
}

// report collects issues with a per-rule cap.
type report struct {
	issues []Issue
	count  map[string]int
}

func (r *report) add(rule string, off int64, detail string) {
	if r.count == nil {
		r.count = map[string]int{}
	}
	r.count[rule]++
	if r.count[rule] <= maxPerRule {
		r.issues = append(r.issues, Issue{Rule: rule, Offset: off, Detail: detail})
	}
}

// Analyse looks for prompt-injection markers in one text document (plain
// text, Markdown, HTML or CSV; JSON string values are passed in one by one
// through base). base is added to every offset. It returns ErrHTMLDepth
// when hidden HTML nests beyond MaxHiddenDepth.
func (a *Analyser) Analyse(doc []byte) ([]Issue, error) {
	var r report
	err := a.analyse(&r, doc, 0)
	return r.issues, err
}

func (a *Analyser) analyse(r *report, doc []byte, base int64) error {
	nonASCII := hasNonASCII(doc)
	if nonASCII {
		a.unicodeMarkers(r, doc, base)
	}
	a.instructions(r, doc, base, nonASCII)
	a.links(r, doc, base)
	if bytes.Contains(doc, []byte("<")) && (bytes.Contains(doc, []byte("<!--")) || bytes.Contains(doc, []byte("style")) || bytes.Contains(doc, []byte("hidden"))) {
		if err := a.hiddenHTML(r, doc, base); err != nil {
			return err
		}
	}
	if bytes.Contains(doc, []byte("]:")) {
		for _, w := range windows(doc, []string{"[//]:", "[comment]:", "[hidden]:"}, 1, 1000) {
			for _, m := range a.reMDComment.FindAllSubmatchIndex(doc[w[0]:w[1]], -1) {
				a.hiddenText(r, "Markdown comment", doc[w[0]+m[2]:w[0]+m[3]], base+int64(w[0]+m[0]))
			}
		}
	}
	return nil
}

func hasNonASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// isZeroWidth reports invisible formatting characters.
func isZeroWidth(c rune) bool {
	switch c {
	case 0x200B, 0x200C, 0x200D, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF, 0x180E:
		return true
	}
	return false
}

func isBidiControl(c rune) bool {
	return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)
}

func isRTL(c rune) bool {
	return unicode.In(c, unicode.Hebrew, unicode.Arabic, unicode.Syriac, unicode.Thaana, unicode.Nko)
}

// unicodeMarkers finds tag-character smuggling, zero-width runs and bidi
// overrides in LTR lines.
func (a *Analyser) unicodeMarkers(r *report, doc []byte, base int64) {
	var (
		tags      strings.Builder
		tagStart  = -1
		prevFlag  bool // the run follows U+1F3F4 (emoji subdivision flag)
		zwRun     int
		zwStart   int
		lineStart int
		bidiAt    = -1
		lineRTL   bool
		lineLTR   bool // an ASCII letter after the bidi control
	)
	endLine := func() {
		if bidiAt >= 0 && !lineRTL && lineLTR {
			r.add(RuleBidi, base+int64(bidiAt), fmt.Sprintf("bidirectional control in a left-to-right line: %q", a.excerpt(doc[lineStart:min(len(doc), lineStart+400)])))
		}
		bidiAt, lineRTL, lineLTR = -1, false, false
	}
	endTags := func() {
		if tagStart >= 0 && !(prevFlag && tags.Len() <= 8) {
			r.add(RuleTags, base+int64(tagStart), fmt.Sprintf("Unicode tag characters decode to %q", a.excerpt([]byte(tags.String()))))
		}
		tags.Reset()
		tagStart = -1
	}
	endZW := func() {
		if zwRun >= 8 {
			r.add(RuleZeroWidth, base+int64(zwStart), fmt.Sprintf("%d consecutive zero-width characters", zwRun))
		}
		zwRun = 0
	}
	for i := 0; i < len(doc); {
		c, n := rune(doc[i]), 1
		if c >= utf8.RuneSelf {
			c, n = utf8.DecodeRune(doc[i:])
		}
		switch {
		case c >= 0xE0000 && c <= 0xE007F:
			if tagStart < 0 {
				tagStart = i
			}
			if c >= 0xE0020 && c <= 0xE007E {
				tags.WriteRune(c - 0xE0000)
			}
			if c == 0xE007F { // cancel tag ends a flag sequence
				endTags()
				prevFlag = false
			}
		default:
			endTags()
			prevFlag = c == 0x1F3F4
		}
		if isZeroWidth(c) && !(c == 0xFEFF && i == 0) {
			if zwRun == 0 {
				zwStart = i
			}
			zwRun++
		} else if c != 0xFE0F { // variation selector inside emoji sequences
			endZW()
		}
		switch {
		case c == '\n':
			endLine()
			lineStart = i + 1
		case isBidiControl(c):
			if bidiAt < 0 {
				bidiAt = i
			}
		case bidiAt >= 0 && c < 0x80 && (c|0x20 >= 'a' && c|0x20 <= 'z'):
			lineLTR = true
		case c >= 0x0590 && isRTL(c):
			lineRTL = true
		}
		i += n
	}
	endTags()
	endZW()
	endLine()
}

// normalise removes zero-width characters and folds white space, for
// instruction matching. It also returns whether zero-width characters
// were removed.
func normalise(b []byte, nonASCII bool) ([]byte, bool) {
	removed := false
	if nonASCII {
		var out []byte
		for i := 0; i < len(b); {
			c, n := utf8.DecodeRune(b[i:])
			if isZeroWidth(c) || (c >= 0xE0000 && c <= 0xE007F) {
				if out == nil {
					out = append(make([]byte, 0, len(b)), b[:i]...)
				}
				removed = true
			} else if out != nil {
				out = append(out, b[i:i+n]...)
			}
			i += n
		}
		if out != nil {
			b = out
		}
	}
	return b, removed
}

// pattern is one instruction pattern with the literal anchors that
// locate the windows it runs on: regular expressions over whole documents
// are slow, so each runs only on windows of back bytes before and fwd bytes
// after an occurrence of one of its anchors (matched in ASCII-lowercased
// text unless exact).
type pattern struct {
	re        *regexp.Regexp
	rule      string
	what      string
	anchors   []string
	back, fwd int
	exact     bool
}

func (a *Analyser) patterns() []pattern {
	return []pattern{
		{a.reOverride, RuleInstruction, "order to drop prior instructions", []string{"ignore ", "disregard ", "forget "}, 0, 120, false},
		{a.reAddressed, RuleInstruction, "text addressed to a model", []string{"llm", "assistant", "language model", "chatbot", "copilot", "gpt", " ai ", " ai:", " ai,", " ai.", " ais ", "ai agent"}, 60, 60, false},
		{a.reRole, RuleRole, "chat control sequence", []string{"<|", "<<SYS>>", "[INST]", "<start_of_turn>"}, 0, 80, true},
		{a.reCoerce, RuleCoerce, "coercion", []string{"not tell", "n't tell", "never tell", "not inform", "n't inform", "not mention", "n't mention", "never mention",
			"not reveal", "n't reveal", "never reveal", "not disclose", "n't disclose", "not show", "n't show", "not alert", "not notify",
			"without asking", "without telling", "without informing", "without notifying", "without alerting", "without consulting",
			"silently", "secretly", "quietly", "covertly"}, 8, 120, false},
	}
}

// asciiLower lowercases ASCII letters only, keeping byte offsets.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// windows returns the merged windows around the anchors' occurrences.
func windows(b []byte, anchors []string, back, fwd int) [][2]int {
	var ws [][2]int
	for _, an := range anchors {
		for off := 0; ; {
			k := bytes.Index(b[off:], []byte(an))
			if k < 0 {
				break
			}
			p := off + k
			ws = append(ws, [2]int{max(0, p-back), min(len(b), p+len(an)+fwd)})
			off = p + len(an)
		}
	}
	if len(ws) < 2 {
		return ws
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i][0] < ws[j][0] })
	out := ws[:1]
	for _, w := range ws[1:] {
		if last := &out[len(out)-1]; w[0] <= last[1] {
			last[1] = max(last[1], w[1])
		} else {
			out = append(out, w)
		}
	}
	return out
}

// instructions matches instruction-shaped text. Offsets point at the
// match in doc when no characters were removed, else at base.
func (a *Analyser) instructions(r *report, doc []byte, base int64, nonASCII bool) {
	text, removed := normalise(doc, nonASCII)
	lower := asciiLower(text)
	ws := a.allWindows(text, lower)
	for i, p := range a.pats {
		hay := lower
		if p.exact {
			hay = text
		}
		for _, w := range ws[i] {
			for _, m := range p.re.FindAllIndex(hay[w[0]:w[1]], maxPerRule) {
				s, e := w[0]+m[0], w[0]+m[1]
				off := base + int64(s)
				note := ""
				if removed {
					off, note = base, " (after removing zero-width characters)"
				}
				r.add(p.rule, off, fmt.Sprintf("%s%s: %q", p.what, note, a.excerpt(a.around(text, s, e))))
			}
		}
	}
}

// allWindows finds the anchors of every pattern in one pass over the text
// (a table of anchors' first two bytes screens positions) and returns the
// merged windows of each pattern.
func (a *Analyser) allWindows(text, lower []byte) [][][2]int {
	ws := make([][][2]int, len(a.pats))
	for i := 0; i+1 < len(lower); i++ {
		bitsL := a.first2[int(lower[i])<<8|int(lower[i+1])]
		bitsT := a.first2[int(text[i])<<8|int(text[i+1])]
		if bitsL|bitsT == 0 {
			continue
		}
		for k, p := range a.pats {
			hay, bits := lower, bitsL
			if p.exact {
				hay, bits = text, bitsT
			}
			if bits&(1<<k) == 0 {
				continue
			}
			for _, an := range p.anchors {
				if bytes.HasPrefix(hay[i:], []byte(an)) {
					w := [2]int{max(0, i-p.back), min(len(hay), i+len(an)+p.fwd)}
					if n := len(ws[k]); n > 0 && w[0] <= ws[k][n-1][1] {
						ws[k][n-1][1] = max(ws[k][n-1][1], w[1])
					} else {
						ws[k] = append(ws[k], w)
					}
					break
				}
			}
		}
	}
	return ws
}

// around returns the match with a little text around it.
func (a *Analyser) around(b []byte, s, e int) []byte {
	s = max(0, s-20)
	e = min(len(b), e+40)
	for s > 0 && !utf8.RuneStart(b[s]) {
		s--
	}
	return b[s:e]
}

// excerpt folds white space and caps the length of a quoted excerpt.
func (a *Analyser) excerpt(b []byte) string {
	s := strings.TrimSpace(a.reSpace.ReplaceAllString(string(b), " "))
	if utf8.RuneCountInString(s) > maxExcerpt {
		s = string([]rune(s)[:maxExcerpt]) + "…"
	}
	return s
}

// links finds exfiltration URLs in Markdown and HTML images and links.
func (a *Analyser) links(r *report, doc []byte, base int64) {
	if !bytes.Contains(doc, []byte("http")) {
		return
	}
	var ms [][]int // [start, end, url start, url end]
	for off := 0; ; {
		k := bytes.Index(doc[off:], []byte("]("))
		if k < 0 {
			break
		}
		p := off + k + 2
		off = p
		q := p
		for q < len(doc) && q-p < 8 && (doc[q] == ' ' || doc[q] == '<') {
			q++
		}
		if !bytes.HasPrefix(doc[q:], []byte("http")) {
			continue
		}
		e := q
		for e < len(doc) && e-q < 4096 && doc[e] > ' ' && doc[e] != ')' && doc[e] != '>' {
			e++
		}
		ms = append(ms, []int{p - 2, e, q, e})
	}
	lower := doc
	if bytes.Contains(doc, []byte("<IMG")) || bytes.Contains(doc, []byte("<Img")) {
		lower = asciiLower(doc)
	}
	for _, w := range windows(lower, []string{"<img"}, 0, 1200) {
		for _, m := range a.reHTMLImg.FindAllSubmatchIndex(doc[w[0]:w[1]], -1) {
			ms = append(ms, []int{w[0] + m[0], w[0] + m[1], w[0] + m[2], w[0] + m[3]})
		}
	}
	for _, m := range ms {
		raw := string(doc[m[2]:m[3]])
		u, err := url.Parse(raw)
		if err != nil || u.RawQuery == "" || a.allowed(u.Hostname()) {
			continue
		}
		q, err := url.QueryUnescape(u.RawQuery)
		if err != nil {
			q = u.RawQuery
		}
		why := ""
		if a.rePlaceholder.MatchString(q) {
			why = "placeholder in query"
		} else {
			for _, v := range u.Query() {
				for _, s := range v {
					if a.reLongValue.MatchString(s) {
						why = "long encoded query value"
					}
				}
			}
		}
		if why != "" {
			r.add(RuleExfil, base+int64(m[0]), fmt.Sprintf("%s to %s: %q", why, u.Hostname(), a.excerpt([]byte(raw))))
		}
	}
}

func (a *Analyser) allowed(host string) bool {
	host = strings.ToLower(host)
	for _, h := range a.hosts {
		if host == h || strings.HasSuffix(host, "."+h) {
			return true
		}
	}
	return false
}

// hiddenText reports hidden text that addresses a model: the strict
// instruction patterns, or model-directed wording and an order together.
func (a *Analyser) hiddenText(r *report, where string, text []byte, off int64) {
	a.hiddenTextStrict(r, where, text, off, false)
}

// hiddenTextStrict is hiddenText; with strict only the strict instruction
// patterns count.
func (a *Analyser) hiddenTextStrict(r *report, where string, text []byte, off int64, strict bool) {
	t, _ := normalise(text, hasNonASCII(text))
	if a.reOverride.Match(t) || a.reAddressed.Match(t) || a.reCoerce.Match(t) || a.reRole.Match(t) ||
		(!strict && a.reLooseModel.Match(t) && a.reLooseOrder.Match(t)) {
		r.add(RuleHidden, off, fmt.Sprintf("%s: %q", where, a.excerpt(text)))
	}
}

// hiddenHTML walks the document's HTML tokens (no tree is built) and
// checks comments and the text of hidden elements.
func (a *Analyser) hiddenHTML(r *report, doc []byte, base int64) error {
	z := html.NewTokenizer(bytes.NewReader(doc))
	var (
		hiddenTag   string // name of the open hidden element
		hiddenDepth int    // nesting of hiddenTag inside itself
		hiddenOff   int64
		buf         []byte
		pos         int64
	)
	for {
		tt := z.Next()
		raw := z.Raw()
		tokOff := pos
		pos += int64(len(raw))
		switch tt {
		case html.ErrorToken:
			if hiddenTag != "" {
				a.hiddenText(r, "text of hidden <"+hiddenTag+"> element", buf, base+hiddenOff)
			}
			return nil // io.EOF, or malformed tail: text up to it was seen
		case html.CommentToken:
			a.hiddenText(r, "HTML comment", z.Text(), base+tokOff)
		case html.TextToken:
			if hiddenTag != "" && len(buf) < 1<<20 {
				buf = append(buf, z.Text()...)
				buf = append(buf, ' ')
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if hiddenTag != "" {
				if string(name) == hiddenTag && tt == html.StartTagToken {
					hiddenDepth++
					if hiddenDepth > MaxHiddenDepth {
						return ErrHTMLDepth
					}
				}
				continue
			}
			if !hasAttr || tt == html.SelfClosingTagToken || !container(string(name)) {
				continue
			}
			if a.elementHidden(z) {
				hiddenTag, hiddenDepth, hiddenOff, buf = string(name), 1, tokOff, buf[:0]
			}
		case html.EndTagToken:
			if hiddenTag == "" {
				continue
			}
			name, _ := z.TagName()
			if string(name) == hiddenTag {
				hiddenDepth--
				if hiddenDepth == 0 {
					a.hiddenText(r, "text of hidden <"+hiddenTag+"> element", buf, base+hiddenOff)
					hiddenTag = ""
				}
			}
		}
	}
}

// elementHidden reads the current tag's attributes.
func (a *Analyser) elementHidden(z *html.Tokenizer) bool {
	for {
		k, v, more := z.TagAttr()
		switch string(k) {
		case "hidden":
			return true
		case "style":
			if a.reHiddenStyle.Match(v) || (a.reWhiteText.Match(v) && !a.reDarkBG.Match(v)) {
				return true
			}
		}
		if !more {
			return false
		}
	}
}

// container reports HTML elements that hold flow or phrasing text (the
// ones hidden text is put in); other tag-like text in plain documents
// ("<here>", "<file>") is ignored.
func container(name string) bool {
	switch name {
	case "div", "span", "p", "section", "article", "aside", "main", "header", "footer", "nav",
		"font", "small", "b", "i", "em", "strong", "a", "label", "li", "ul", "ol", "td", "tr",
		"table", "tbody", "blockquote", "pre", "code", "h1", "h2", "h3", "h4", "h5", "h6",
		"details", "summary", "figure", "figcaption", "dl", "dt", "dd", "template", "noscript", "sup", "sub", "mark":
		return true
	}
	return false
}
