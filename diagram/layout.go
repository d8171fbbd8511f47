package diagram

import (
	"fmt"
	"strings"
)

// The layout turns a Figure into a scene of groups, boxes, text and
// arrows in pixel coordinates. Both the SVG and the PNG writer draw the
// same scene, so the two outputs cannot drift apart.

// node is one element of the scene.
type node struct {
	kind string // "group", "rect", "text", "line"
	// group
	class string
	attrs [][2]string // data-* attributes, in order
	title string      // tooltip / accessible name of a group
	kids  []*node
	// rect
	x, y, w, h, rx int
	fill, stroke   string
	strokeW        int
	dashed         bool
	// text (x, y is the baseline; anchor "start" or "middle")
	text   string
	size   int
	bold   bool
	anchor string
	// line (x, y) → (x2, y2) with an arrow head
	x2, y2 int
}

func group(class, title string, attrs ...[2]string) *node {
	return &node{kind: "group", class: class, title: title, attrs: attrs}
}

func (n *node) add(kids ...*node) *node { n.kids = append(n.kids, kids...); return n }

func rect(x, y, w, h, rx int, fill, stroke string, sw int) *node {
	return &node{kind: "rect", x: x, y: y, w: w, h: h, rx: rx, fill: fill, stroke: stroke, strokeW: sw}
}

func text(x, y, size int, fill, s string) *node {
	return &node{kind: "text", x: x, y: y, size: size, fill: fill, text: s, anchor: "start"}
}

func attr(k, v string) [2]string { return [2]string{k, v} }

// Colours of the statuses: fill of a box, and the text colour on it.
func (s Status) colours() (fill, ink string) {
	switch s {
	case StatusPass, StatusCovered:
		return "#2e7d32", "#ffffff"
	case StatusWarn:
		return "#f9a825", "#212121"
	case StatusFail:
		return "#c62828", "#ffffff"
	case StatusGap:
		return "#ffebee", "#b71c1c"
	}
	return "#9e9e9e", "#ffffff"
}

// Label is the status in words, for legends and descriptions.
func (s Status) Label() string {
	switch s {
	case StatusPass:
		return "passed"
	case StatusWarn:
		return "warned"
	case StatusFail:
		return "failed"
	case StatusNone:
		return "no decision"
	case StatusCovered:
		return "in force"
	case StatusGap:
		return "open gap"
	case StatusUnused:
		return "stage not used"
	}
	return string(s)
}

// Geometry.
const (
	perRow   = 5
	colW     = 236
	colGap   = 40
	margin   = 20
	lineH    = 14
	checkH   = 18
	pillH    = 16
	titleH   = 54
	legendH  = 40
	charW10  = 6 // average advance of a 10px sans-serif glyph, generous
	maxChars = 36
)

// scene lays the figure out; it returns the root group and the canvas size.
func scene(f *Figure) (*node, int, int) {
	cols := make([]*node, len(f.Stages))
	heights := make([]int, len(f.Stages))
	for i, s := range f.Stages {
		cols[i], heights[i] = stageColumn(s)
	}
	colH := 0
	for _, h := range heights {
		colH = max(colH, h)
	}
	n := len(f.Stages)
	rows := (n + perRow - 1) / perRow
	width := 2*margin + perRow*colW + (perRow-1)*colGap
	top := margin + titleH
	rowGap := 2 * colGap
	height := top + rows*colH + (rows-1)*rowGap + legendH + margin
	root := group("figure", "")
	root.add(rect(0, 0, width, height, 0, "#ffffff", "", 0))
	heading := text(margin, margin+18, 18, "#212121", f.Title)
	heading.bold = true
	sub := "Boxes coloured by coverage: green in force, grey stage not used, red outline open gap."
	switch f.Colouring {
	case "decisions":
		sub = "Boxes coloured by the latest decisions: green passed, amber warned, red failed, grey none."
	case "assessment":
		sub = "Stages coloured by the assessment of their artifacts (green passed, amber not all gated, red failed, grey none), with the AIMM level reached; gate boxes: checks in force."
	}
	root.add(heading, text(margin, margin+38, 11, "#555555", sub))
	pos := func(i int) (int, int) {
		row, col := i/perRow, i%perRow
		if row%2 == 1 { // snake: odd rows run right to left
			col = perRow - 1 - col
		}
		return margin + col*(colW+colGap), top + row*(colH+rowGap)
	}
	for i, c := range cols {
		x, y := pos(i)
		shift(c, x, y)
		// The stage's outline spans the full column height.
		c.kids[0].h = colH
		root.add(c)
		if i+1 == n {
			continue
		}
		nx, ny := pos(i + 1)
		handed := handoff(f.Stages[i], f.Stages[i+1])
		a := group("handoff", fmt.Sprintf("%s hands %s to %s", f.Stages[i].Name, handed, f.Stages[i+1].Name),
			attr("data-from", f.Stages[i].Name), attr("data-to", f.Stages[i+1].Name))
		var l *node
		switch {
		case ny != y: // down to the next row
			l = &node{kind: "line", x: x + colW/2, y: y + colH + 2, x2: nx + colW/2, y2: ny - 4}
		case nx > x:
			l = &node{kind: "line", x: x + colW + 2, y: y + 30, x2: nx - 4, y2: ny + 30}
		default:
			l = &node{kind: "line", x: x - 2, y: y + 30, x2: nx + colW + 4, y2: ny + 30}
		}
		a.add(l)
		root.add(a)
	}
	root.add(legend(f, margin, height-margin-legendH+16))
	return root, width, height
}

// handoff names the artifact kinds one stage produces and the next
// receives, or "its artifacts" when the kinds do not meet.
func handoff(a, b Stage) string {
	var ks []string
	for _, k := range a.Produces {
		for _, r := range b.Receives {
			if k == r {
				ks = append(ks, k)
			}
		}
	}
	if len(ks) == 0 {
		return "its artifacts"
	}
	return strings.Join(ks, ", ")
}

// stageColumn lays out one stage at the origin; it returns the column and
// its natural height.
func stageColumn(s Stage) (*node, int) {
	fill, _ := s.Status.colours()
	g := group("stage", stageTitle(s), attr("data-stage", s.Name), attr("data-status", string(s.Status)))
	outline := rect(0, 0, colW, 0, 8, "#fafafa", fill, 3)
	g.add(outline)
	head := rect(0, 0, colW, 40, 8, fill, "", 0)
	g.add(head)
	_, ink := s.Status.colours()
	name := text(10, 17, 14, ink, s.Name)
	name.bold = true
	g.add(name, text(10, 32, 10, ink, clip(s.Title, 34)))
	if s.Maturity != nil {
		badge := group("maturity", fmt.Sprintf("CoSAI AIMM level L%d%s", s.Maturity.Level, prefixed(s.Maturity.Next)),
			attr("data-level", fmt.Sprint(s.Maturity.Level)))
		badge.add(rect(colW-46, 8, 38, 22, 11, "#ffffff", "#1565c0", 2))
		t := text(colW-27, 23, 11, "#1565c0", fmt.Sprintf("L%d", s.Maturity.Level))
		t.anchor, t.bold = "middle", true
		badge.add(t)
		g.add(badge)
	}
	y := 40 + lineH
	if s.Note != "" {
		g.add(text(10, y, 9, "#555555", clip(s.Note, 44)))
		y += lineH
	}
	g.add(text(10, y, 9, "#555555", clip("in: "+orDash(s.Receives), 44)))
	y += 12
	g.add(text(10, y, 9, "#555555", clip("out: "+orDash(s.Produces), 44)))
	y += lineH + 2
	// Roles: R and A with the identities holding them.
	for _, r := range s.Roles {
		who := r.ID
		if len(r.Holders) > 0 {
			who += ": " + strings.Join(r.Holders, ", ")
		}
		rg := group("role", fmt.Sprintf("%s %s (%s); CSA AICM SSRM: %s", r.Letter, r.Name, roleWord(r.Letter), strings.Join(r.SSRM, ", ")),
			attr("data-role", r.ID), attr("data-raci", r.Letter))
		rg.add(rect(10, y-10, 14, 13, 3, "#37474f", "", 0))
		l := text(17, y, 9, "#ffffff", r.Letter)
		l.anchor, l.bold = "middle", true
		rg.add(l, text(30, y, 10, "#212121", clip(who, 33)))
		g.add(rg)
		y += lineH
	}
	y += 4
	// Gates and their rules.
	for _, gt := range s.Gates {
		gf, gi := gt.Status.colours()
		gg := group("gate", gt.Name+": "+gt.Status.Label()+prefixed(gt.Reason), attr("data-gate", gt.Name), attr("data-status", string(gt.Status)))
		gg.add(rect(8, y, colW-16, checkH, 4, gf, "", 0))
		t := text(14, y+13, 10, gi, clip(gt.Name, 40))
		t.bold = true
		gg.add(t)
		y += checkH + 3
		for _, c := range gt.Checks {
			cf, ci := c.Status.colours()
			cg := group("check", c.ID+" "+c.Title+": "+c.Status.Label()+prefixed(c.Reason), attr("data-rule", c.ID), attr("data-status", string(c.Status)))
			cg.add(rect(18, y, colW-26, checkH-2, 3, cf, "", 0), text(23, y+12, 9, ci, clip(c.ID+" "+c.Title, maxChars+4)))
			gg.add(cg)
			y += checkH + 1
		}
		g.add(gg)
		y += 4
	}
	// OpenSSF tools acting here, as pills that wrap.
	if len(s.Tools) > 0 {
		g.add(text(10, y+10, 9, "#555555", "OpenSSF / Sigstore tools"))
		y += 14
		x := 10
		for _, t := range s.Tools {
			label := shortTool(t)
			w := len(label)*charW10 + 10
			if x+w > colW-8 {
				x = 10
				y += pillH + 3
			}
			tg := group("tool", t, attr("data-tool", t))
			tg.add(rect(x, y, w, pillH, 8, "#e3f2fd", "#1565c0", 1))
			tt := text(x+w/2, y+11, 9, "#0d47a1", label)
			tt.anchor = "middle"
			tg.add(tt)
			g.add(tg)
			x += w + 4
		}
		y += pillH + 6
	}
	// Controls nobody closes yet.
	for _, gap := range s.Gaps {
		gg := group("gap", "open: "+gap+" (no OpenSSF tool or mlsec command closes it)", attr("data-status", string(StatusGap)))
		r := rect(8, y, colW-16, checkH-2, 3, "#ffebee", "#c62828", 1)
		r.dashed = true
		gg.add(r, text(14, y+12, 9, "#b71c1c", clip("open: "+gap, maxChars+6)))
		g.add(gg)
		y += checkH + 1
	}
	if len(s.Threats) > 0 {
		y += 4
		g.add(text(10, y+10, 9, "#555555", clip("threats: "+strings.Join(s.Threats, " "), 44)))
		y += 14
	}
	return g, y + 10
}

func stageTitle(s Stage) string {
	t := fmt.Sprintf("%s — %s: %s", s.Name, s.Title, s.Status.Label())
	if s.Note != "" {
		t += "; " + s.Note
	}
	if s.Maturity != nil {
		t += fmt.Sprintf("; AIMM L%d", s.Maturity.Level)
	}
	return t
}

func roleWord(l string) string {
	if l == "A" {
		return "accountable"
	}
	return "responsible"
}

// shortTool drops a tool's parenthesised detail for the pill.
func shortTool(t string) string {
	if i := strings.Index(t, " ("); i > 0 {
		t = t[:i]
	}
	return clip(t, 30)
}

// legend explains the colours.
func legend(f *Figure, x, y int) *node {
	g := group("legend", "legend")
	items := []Status{StatusCovered, StatusUnused, StatusGap}
	switch f.Colouring {
	case "decisions":
		items = []Status{StatusPass, StatusWarn, StatusFail, StatusNone, StatusGap}
	case "assessment":
		items = []Status{StatusPass, StatusWarn, StatusFail, StatusNone, StatusCovered, StatusGap}
	}
	for _, st := range items {
		fill, _ := st.colours()
		stroke := ""
		if st == StatusGap {
			stroke = "#c62828"
		}
		g.add(rect(x, y-10, 14, 12, 2, fill, stroke, 1), text(x+20, y, 10, "#212121", st.Label()))
		x += 34 + len(st.Label())*charW10
	}
	r := rect(x, y-10, 14, 12, 6, "#e3f2fd", "#1565c0", 1)
	g.add(r, text(x+20, y, 10, "#212121", "OpenSSF tool"))
	x += 34 + 12*charW10
	g.add(text(x, y, 10, "#212121", "R responsible · A accountable · Ln CoSAI AIMM level"))
	return g
}

// shift moves a laid-out subtree by dx, dy.
func shift(n *node, dx, dy int) {
	n.x += dx
	n.y += dy
	if n.kind == "line" {
		n.x2 += dx
		n.y2 += dy
	}
	for _, k := range n.kids {
		shift(k, dx, dy)
	}
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func orDash(s []string) string {
	if len(s) == 0 {
		return "—"
	}
	return strings.Join(s, ", ")
}

func prefixed(s string) string {
	if s == "" {
		return ""
	}
	return " — " + s
}
