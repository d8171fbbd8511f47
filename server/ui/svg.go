package ui

import (
	"fmt"
	"html/template"
	"slices"
	"strings"
)

// GraphNode is one artifact in a lineage graph.
type GraphNode struct {
	ID    string // digest
	Label string
	Kind  string
	Focus bool // the artifact the page is about
	Href  string
}

// GraphEdge is a derivation: From was used to make To.
type GraphEdge struct {
	From, To string
	Label    string // relation, e.g. "trained-from"
}

// LineageSVG draws a small DAG in layers: each node's layer is the length of
// the longest path reaching it, so edges always point right. Nodes missing
// from nodes but named by edges are drawn with their id.
func LineageSVG(nodes []GraphNode, edges []GraphEdge) template.HTML {
	byID := map[string]GraphNode{}
	var order []string
	add := func(n GraphNode) {
		if _, ok := byID[n.ID]; !ok {
			order = append(order, n.ID)
		}
		byID[n.ID] = n
	}
	for _, n := range nodes {
		add(n)
	}
	for _, e := range edges {
		for _, id := range []string{e.From, e.To} {
			if _, ok := byID[id]; !ok {
				add(GraphNode{ID: id, Label: shortID(id)})
			}
		}
	}
	// Longest-path layering, bounded by the node count (cycles cannot loop).
	layer := map[string]int{}
	for range len(order) {
		changed := false
		for _, e := range edges {
			if layer[e.To] < layer[e.From]+1 && layer[e.From]+1 < len(order) {
				layer[e.To] = layer[e.From] + 1
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	cols := map[int][]string{}
	maxLayer, maxRows := 0, 1
	for _, id := range order {
		l := layer[id]
		cols[l] = append(cols[l], id)
		maxLayer = max(maxLayer, l)
		maxRows = max(maxRows, len(cols[l]))
	}
	const nodeW, nodeH, gapX, gapY = 170, 40, 70, 20
	pos := map[string][2]int{}
	for l := 0; l <= maxLayer; l++ {
		for r, id := range cols[l] {
			pos[id] = [2]int{20 + l*(nodeW+gapX), 20 + r*(nodeH+gapY)}
		}
	}
	width := 40 + (maxLayer+1)*(nodeW+gapX) - gapX
	height := 40 + maxRows*(nodeH+gapY) - gapY
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="lineage" role="img" aria-label="lineage graph" viewBox="0 0 %d %d" width="%d" height="%d" font-family="sans-serif" font-size="11">`, width, height, width, height)
	b.WriteString(`<defs><marker id="larrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`)
	sortedEdges := slices.Clone(edges)
	for _, e := range sortedEdges {
		f, t := pos[e.From], pos[e.To]
		x1, y1 := f[0]+nodeW, f[1]+nodeH/2
		x2, y2 := t[0]-2, t[1]+nodeH/2
		fmt.Fprintf(&b, `<g class="edge" data-from="%s" data-to="%s"><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" marker-end="url(#larrow)"/>`, esc(e.From), esc(e.To), x1, y1, x2, y2)
		if e.Label != "" {
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#555" font-size="9">%s</text>`, (x1+x2)/2, (y1+y2)/2-4, esc(e.Label))
		}
		b.WriteString(`</g>`)
	}
	for _, id := range order {
		n, p := byID[id], pos[id]
		stroke, sw := "#1565c0", 1
		if n.Focus {
			stroke, sw = "#e65100", 3
		}
		open, closeTag := "", ""
		if n.Href != "" {
			open, closeTag = fmt.Sprintf(`<a href="%s">`, esc(n.Href)), `</a>`
		}
		fmt.Fprintf(&b, `<g class="node" data-id="%s">%s<title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="#e3f2fd" stroke="%s" stroke-width="%d"/>`, esc(id), open, esc(id), p[0], p[1], nodeW, nodeH, stroke, sw)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, p[0]+nodeW/2, p[1]+17, esc(truncate(n.Label, 26)))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#555" font-size="9">%s</text>%s</g>`, p[0]+nodeW/2, p[1]+31, esc(truncate(n.Kind+" "+shortID(id), 30)), closeTag)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func prefixed(s string) string {
	if s == "" {
		return ""
	}
	return " — " + s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// shortID shortens "sha256:abcdef…" to "sha256:abcdef012345".
func shortID(id string) string {
	if i := strings.IndexByte(id, ':'); i >= 0 && len(id) > i+13 {
		return id[:i+13]
	}
	return id
}
