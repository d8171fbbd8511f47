package rag

import (
	"bytes"
	"encoding/binary"
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
	// maxLooseHidden caps the hidden text judged by the loose test.
	maxLooseHidden = 2000
)

// ErrHTMLDepth is returned when hidden HTML nests deeper than
// MaxHiddenDepth.
var ErrHTMLDepth = errors.New("rag: hidden HTML nested too deep")

// Analyser holds the compiled patterns of the analysis. Instruction
// patterns are case-insensitive and matched against text from which
// zero-width characters were removed. An Analyser is safe for concurrent use.
type Analyser struct {
	// pats are the instruction patterns. screen1 and screen2 screen
	// positions for their anchors in one pass: bit k of
	// screen1[b0<<8|b1] & screen2[b1<<8|b2] is set when the bytes b0 b1 b2
	// at a position may start an anchor of pats[k] (every ASCII case
	// variant of case-insensitive anchors is entered).
	pats    []pattern
	screen1 []uint8
	screen2 []uint8
	// screen3 is the same for the bytes at offsets 4 and 5 (every entry
	// for anchors shorter than 6 bytes).
	screen3 []uint8
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
	a.screen1 = make([]uint8, 1<<16)
	a.screen2 = make([]uint8, 1<<16)
	a.screen3 = make([]uint8, 1<<16)
	for k, p := range a.pats {
		for _, an := range p.anchors {
			if len(an) < 6 {
				for j := range a.screen3 {
					a.screen3[j] |= 1 << k
				}
			} else {
				for _, v := range caseVariants(an[4:6], p.exact) {
					a.screen3[int(v[0])<<8|int(v[1])] |= 1 << k
				}
			}
			for _, v := range caseVariants(an[:min(3, len(an))], p.exact) {
				a.screen1[int(v[0])<<8|int(v[1])] |= 1 << k
				if len(v) == 2 {
					for c := range 256 {
						a.screen2[int(v[1])<<8|c] |= 1 << k
					}
				} else {
					a.screen2[int(v[1])<<8|int(v[2])] |= 1 << k
				}
			}
		}
	}
	return a
}

// caseVariants returns s with every combination of ASCII letter cases
// (s itself when exact).
func caseVariants(s string, exact bool) []string {
	out := []string{""}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alts := []byte{c}
		if !exact && 'a' <= c && c <= 'z' {
			alts = append(alts, c-'a'+'A')
		}
		var next []string
		for _, o := range out {
			for _, x := range alts {
				next = append(next, o+string(x))
			}
		}
		out = next
	}
	return out
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
	if bytes.IndexByte(doc, '<') >= 0 {
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
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return true
		}
		b = b[8:]
	}
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

// unicodeLead marks the UTF-8 lead bytes of every code point the
// Unicode checks look at: U+180E (E1), U+200B–U+206F (E2), U+FEFF (EF)
// and the tag block U+E0000–U+E007F (F3).
var unicodeLead = [256]bool{0xE1: true, 0xE2: true, 0xEF: true, 0xF3: true}

// unicodeMarkers finds tag-character smuggling, zero-width runs and bidi
// overrides in LTR lines. Only code points with the lead bytes above are
// decoded.
func (a *Analyser) unicodeMarkers(r *report, doc []byte, base int64) {
	bidiLineEnd := -1 // end of the last line checked for bidi controls
	for i := 0; i < len(doc); {
		if !unicodeLead[doc[i]] {
			i++
			continue
		}
		c, n := utf8.DecodeRune(doc[i:])
		switch {
		case c >= 0xE0000 && c <= 0xE007F:
			i = a.tagRun(r, doc, i, base)
			continue
		case isZeroWidth(c) && !(c == 0xFEFF && i == 0):
			i = a.zeroWidthRun(r, doc, i, base)
			continue
		case isBidiControl(c) && i >= bidiLineEnd:
			bidiLineEnd = a.bidiLine(r, doc, i, base)
		}
		i += n
	}
}

// tagRun reads the run of tag characters at i (a cancel tag ends it) and
// reports it unless it follows U+1F3F4 as an emoji subdivision flag.
func (a *Analyser) tagRun(r *report, doc []byte, i int, base int64) int {
	start := i
	prevFlag := start >= 4 && string(doc[start-4:start]) == "\U0001F3F4"
	var tags []byte
	for i < len(doc) {
		c, n := utf8.DecodeRune(doc[i:])
		if c < 0xE0000 || c > 0xE007F {
			break
		}
		i += n
		if c >= 0xE0020 && c <= 0xE007E {
			tags = append(tags, byte(c-0xE0000))
		}
		if c == 0xE007F {
			break
		}
	}
	if !(prevFlag && len(tags) <= 8) {
		r.add(RuleTags, base+int64(start), fmt.Sprintf("Unicode tag characters decode to %q", a.excerpt(tags)))
	}
	return i
}

// zeroWidthRun counts the zero-width characters at i (U+FE0F, the emoji
// variation selector, neither counts nor ends the run).
func (a *Analyser) zeroWidthRun(r *report, doc []byte, i int, base int64) int {
	start, run := i, 0
	for i < len(doc) {
		c, n := utf8.DecodeRune(doc[i:])
		if isZeroWidth(c) {
			run++
		} else if c != 0xFE0F {
			break
		}
		i += n
	}
	if run >= 8 {
		r.add(RuleZeroWidth, base+int64(start), fmt.Sprintf("%d consecutive zero-width characters", run))
	}
	return i
}

// bidiLine checks the line holding the bidi control at i: it is reported
// when it has no right-to-left letter and an ASCII letter follows the
// control. It returns the end of the line.
func (a *Analyser) bidiLine(r *report, doc []byte, i int, base int64) int {
	ls := bytes.LastIndexByte(doc[:i], '\n') + 1
	le := len(doc)
	if k := bytes.IndexByte(doc[i:], '\n'); k >= 0 {
		le = i + k
	}
	ltr := false
	for j := i; j < le; j++ {
		if c := doc[j] | 0x20; 'a' <= c && c <= 'z' {
			ltr = true
			break
		}
	}
	if !ltr {
		return le
	}
	for j := ls; j < le; {
		if doc[j] < 0xD6 { // below U+0590
			j++
			continue
		}
		c, n := utf8.DecodeRune(doc[j:le])
		if c >= 0x0590 && isRTL(c) {
			return le
		}
		j += n
	}
	r.add(RuleBidi, base+int64(i), fmt.Sprintf("bidirectional control in a left-to-right line: %q", a.excerpt(doc[ls:min(len(doc), ls+400)])))
	return le
}

// normalise removes zero-width and tag characters, for instruction
// matching. It also returns whether any were removed.
func normalise(b []byte, nonASCII bool) ([]byte, bool) {
	if !nonASCII {
		return b, false
	}
	var out []byte
	last := 0 // b[last:i] not yet copied to out
	for i := 0; i < len(b); {
		if !unicodeLead[b[i]] {
			i++
			continue
		}
		c, n := utf8.DecodeRune(b[i:])
		if isZeroWidth(c) || (c >= 0xE0000 && c <= 0xE007F) {
			if out == nil {
				out = make([]byte, 0, len(b))
			}
			out = append(out, b[last:i]...)
			last = i + n
		}
		i += n
	}
	if out == nil {
		return b, false
	}
	return append(out, b[last:]...), true
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

// hasPrefixFold reports whether b starts with the lower-case ASCII
// string s, ignoring ASCII case.
func hasPrefixFold(b []byte, s string) bool {
	if len(b) < len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
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
	var ws [8][][2]int // screen bits: at most 8 patterns
	if !a.allWindows(text, &ws) {
		return
	}
	for i, p := range a.pats {
		for _, w := range ws[i] {
			for _, m := range p.re.FindAllIndex(text[w[0]:w[1]], maxPerRule) {
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
// (two tables of byte pairs screen positions; see Analyser) and fills ws
// with the merged windows of each pattern. It reports whether any anchor
// was found.
func (a *Analyser) allWindows(text []byte, ws *[8][][2]int) bool {
	found := false
	s1, s2 := a.screen1, a.screen2
	n := len(text)
	for i := 0; i+1 < n; i++ {
		b1 := int(text[i+1])
		bits := s1[int(text[i])<<8|b1]
		if bits == 0 {
			continue
		}
		b2 := 0
		if i+2 < n {
			b2 = int(text[i+2])
		}
		if bits &= s2[b1<<8|b2]; bits == 0 {
			continue
		}
		if i+5 < n {
			if bits &= a.screen3[int(text[i+4])<<8|int(text[i+5])]; bits == 0 {
				continue
			}
		}
		for k, p := range a.pats {
			if bits&(1<<k) == 0 {
				continue
			}
			for _, an := range p.anchors {
				var ok bool
				if p.exact {
					ok = bytes.HasPrefix(text[i:], []byte(an))
				} else {
					ok = hasPrefixFold(text[i:], an)
				}
				if !ok {
					continue
				}
				found = true
				w := [2]int{max(0, i-p.back), min(n, i+len(an)+p.fwd)}
				if m := len(ws[k]); m > 0 && w[0] <= ws[k][m-1][1] {
					ws[k][m-1][1] = max(ws[k][m-1][1], w[1])
				} else {
					ws[k] = append(ws[k], w)
				}
				break
			}
		}
	}
	return found
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
		if bytes.IndexByte(doc[q:e], '?') >= 0 {
			ms = append(ms, []int{p - 2, e, q, e})
		}
	}
	for off := 0; ; {
		k := bytes.IndexByte(doc[off:], '<')
		if k < 0 {
			break
		}
		p := off + k
		off = p + 1
		if !hasPrefixFold(doc[p:], "<img") {
			continue
		}
		w := doc[p:min(len(doc), p+1204)]
		if m := a.reHTMLImg.FindSubmatchIndex(w); m != nil && m[0] == 0 {
			ms = append(ms, []int{p + m[0], p + m[1], p + m[2], p + m[3]})
			off = p + m[1]
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
	// Long hidden text (an unclosed "<!--" in a plain-text changelog runs
	// to the next "-->" hundreds of lines on) is judged by the strict
	// patterns only: the loose pairing of a model word and an order is for
	// the short notes injections hide.
	strict = strict || len(text) > maxLooseHidden
	t, _ := normalise(text, hasNonASCII(text))
	if a.strictMatch(t) || (!strict && looseModelWord(t) && a.reLooseOrder.Match(t)) {
		r.add(RuleHidden, off, fmt.Sprintf("%s: %q", where, a.excerpt(text)))
	}
}

// strictMatch reports whether an instruction pattern matches t, running
// each only on the windows around its anchors.
func (a *Analyser) strictMatch(t []byte) bool {
	var ws [8][][2]int
	if !a.allWindows(t, &ws) {
		return false
	}
	for k, p := range a.pats {
		for _, w := range ws[k] {
			if p.re.Match(t[w[0]:w[1]]) {
				return true
			}
		}
	}
	return false
}

// looseModelWord reports whether t holds one of the words of reLooseModel
// (ai, llm, assistant, language model, chatbot, gpt, copilot, agent, model,
// optionally plural) as a whole word, ASCII case ignored.
func looseModelWord(t []byte) bool {
	word := func(c byte) bool {
		return ('a' <= c|0x20 && c|0x20 <= 'z') || ('0' <= c && c <= '9') || c == '_'
	}
	for i := 0; i < len(t); i++ {
		if i > 0 && word(t[i-1]) {
			continue
		}
		var cands []string
		switch t[i] | 0x20 {
		case 'a':
			cands = []string{"ai", "assistant", "agent"}
		case 'l':
			cands = []string{"llm"}
		case 'c':
			cands = []string{"chatbot", "copilot"}
		case 'g':
			cands = []string{"gpt"}
		case 'm':
			cands = []string{"model"}
		default:
			continue
		}
		for _, w := range cands {
			if !hasPrefixFold(t[i:], w) {
				continue
			}
			e := i + len(w)
			if e < len(t) && t[e]|0x20 == 's' {
				if e+1 == len(t) || !word(t[e+1]) {
					return true
				}
			}
			if e == len(t) || !word(t[e]) {
				return true
			}
		}
	}
	return false
}

// hiddenHTML checks HTML comments and the text of hidden elements. It
// does not tokenise the whole document: comments are found by their
// delimiters, and the tokenizer runs only from a start tag of a container
// element that has a style or hidden attribute, until that element ends.
func (a *Analyser) hiddenHTML(r *report, doc []byte, base int64) error {
	for off := 0; ; {
		k := bytes.Index(doc[off:], []byte("<!--"))
		if k < 0 {
			break
		}
		s := off + k + 4
		e := bytes.Index(doc[s:], []byte("-->"))
		end := len(doc)
		if e >= 0 {
			end = s + e
		}
		a.hiddenText(r, "HTML comment", doc[s:end], base+int64(s-4))
		off = min(len(doc), end+3)
	}
	for off := 0; off < len(doc); {
		k := bytes.IndexByte(doc[off:], '<')
		if k < 0 {
			break
		}
		s := off + k
		off = s + 1
		if !candidateTag(doc[s:]) {
			continue
		}
		end, err := a.hiddenElement(r, doc, s, base)
		if err != nil {
			return err
		}
		off = max(off, end)
	}
	return nil
}

// candidateTag reports whether b starts with a start tag of a container
// element whose attributes (within 2 KiB) mention style or hidden.
func candidateTag(b []byte) bool {
	i := 1
	for i < len(b) && i < 16 && (('a' <= b[i]|0x20 && b[i]|0x20 <= 'z') || ('0' <= b[i] && b[i] <= '9')) {
		i++
	}
	if i == 1 || i >= len(b) || (b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' && b[i] != '/') {
		return false
	}
	var name [16]byte
	for j := 1; j < i; j++ {
		name[j-1] = b[j] | 0x20
	}
	if !container(string(name[:i-1])) {
		return false
	}
	e := bytes.IndexByte(b[i:min(len(b), 2048)], '>')
	if e < 0 {
		e = min(len(b), 2048) - i
	}
	attrs := b[i : i+e]
	for j := 0; j+5 <= len(attrs); j++ {
		if c := attrs[j] | 0x20; (c == 's' && hasPrefixFold(attrs[j:], "style")) || (c == 'h' && hasPrefixFold(attrs[j:], "hidden")) {
			return true
		}
	}
	return false
}

// hiddenElement tokenises from the start tag at s: when the element is
// hidden, its text (up to the matching end tag) is checked. It returns
// the offset where scanning resumes.
func (a *Analyser) hiddenElement(r *report, doc []byte, s int, base int64) (int, error) {
	z := html.NewTokenizer(bytes.NewReader(doc[s:]))
	tt := z.Next()
	pos := len(z.Raw())
	if tt != html.StartTagToken {
		return s + 1, nil
	}
	name, hasAttr := z.TagName()
	if !hasAttr || !container(string(name)) || !a.elementHidden(z) {
		return s + pos, nil
	}
	tag := string(name)
	depth := 1
	var buf []byte
	for {
		tt := z.Next()
		pos += len(z.Raw())
		switch tt {
		case html.ErrorToken:
			a.hiddenText(r, "text of hidden <"+tag+"> element", buf, base+int64(s))
			return len(doc), nil // io.EOF, or malformed tail: text up to it was seen
		case html.TextToken:
			if len(buf) < 1<<20 {
				buf = append(buf, z.Text()...)
				buf = append(buf, ' ')
			}
		case html.StartTagToken:
			if n, _ := z.TagName(); string(n) == tag {
				depth++
				if depth > MaxHiddenDepth {
					return 0, ErrHTMLDepth
				}
			}
		case html.EndTagToken:
			if n, _ := z.TagName(); string(n) == tag {
				depth--
				if depth == 0 {
					a.hiddenText(r, "text of hidden <"+tag+"> element", buf, base+int64(s))
					return s + pos, nil
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
