package diagram

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// SVG writes the figure as a standalone, accessible SVG document: the
// root has role="img" and is labelled by a <title> and a <desc> that says
// in words what the figure shows; every stage, gate, rule, role, tool and
// gap is a group with its own <title> and data-* attributes; all words are
// <text>, never outlines.
func SVG(w io.Writer, f *Figure) error {
	root, width, height := scene(f)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="mlsec-figure" data-variant="%s" data-colouring="%s" role="img" aria-labelledby="%s-title %s-desc" viewBox="0 0 %d %d" width="%d" height="%d" font-family="'Go', 'DejaVu Sans', Arial, sans-serif">`,
		esc(f.ID), esc(f.Variant), esc(f.Colouring), esc(f.ID), esc(f.ID), width, height, width, height)
	fmt.Fprintf(&b, "\n<title id=\"%s-title\">%s</title>\n<desc id=\"%s-desc\">%s</desc>\n", esc(f.ID), esc(f.Title), esc(f.ID), esc(f.Desc))
	fmt.Fprintf(&b, `<defs><marker id="%s-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555555"/></marker></defs>`+"\n", esc(f.ID))
	for _, k := range root.kids {
		writeNode(&b, k, f.ID, 0)
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// SVGString returns the SVG for embedding in an HTML page.
func SVGString(f *Figure) template.HTML {
	var b strings.Builder
	_ = SVG(&b, f)                   // a strings.Builder does not fail
	return template.HTML(b.String()) // #nosec G203: every interpolated string passes through esc
}

func writeNode(b *bytes.Buffer, n *node, id string, depth int) {
	ind := strings.Repeat(" ", depth)
	switch n.kind {
	case "group":
		fmt.Fprintf(b, `%s<g class="%s"`, ind, esc(n.class))
		for _, a := range n.attrs {
			fmt.Fprintf(b, ` %s="%s"`, a[0], esc(a[1]))
		}
		b.WriteString(">")
		if n.title != "" {
			fmt.Fprintf(b, "<title>%s</title>", esc(n.title))
		}
		b.WriteString("\n")
		for _, k := range n.kids {
			writeNode(b, k, id, depth+1)
		}
		fmt.Fprintf(b, "%s</g>\n", ind)
	case "rect":
		fmt.Fprintf(b, `%s<rect x="%d" y="%d" width="%d" height="%d"`, ind, n.x, n.y, n.w, n.h)
		if n.rx > 0 {
			fmt.Fprintf(b, ` rx="%d"`, n.rx)
		}
		fmt.Fprintf(b, ` fill="%s"`, n.fill)
		if n.stroke != "" {
			fmt.Fprintf(b, ` stroke="%s" stroke-width="%d"`, n.stroke, n.strokeW)
			if n.dashed {
				b.WriteString(` stroke-dasharray="4 2"`)
			}
		}
		b.WriteString("/>\n")
	case "text":
		fmt.Fprintf(b, `%s<text x="%d" y="%d" font-size="%d" fill="%s"`, ind, n.x, n.y, n.size, n.fill)
		if n.anchor == "middle" {
			b.WriteString(` text-anchor="middle"`)
		}
		if n.bold {
			b.WriteString(` font-weight="bold"`)
		}
		fmt.Fprintf(b, ">%s</text>\n", esc(n.text))
	case "line":
		fmt.Fprintf(b, `%s<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555555" stroke-width="2" marker-end="url(#%s-arrow)"/>`+"\n", ind, n.x, n.y, n.x2, n.y2, esc(id))
	}
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// HTML writes a self-contained page with the figure and, below it, the
// same content as tables (stages, roles, tools, gaps) for readers who do
// not see the picture.
func HTML(w io.Writer, f *Figure) error {
	t, err := template.New("page").Funcs(template.FuncMap{"join": strings.Join, "svg": SVGString}).Parse(htmlPage)
	if err != nil {
		return fmt.Errorf("diagram: %w", err)
	}
	return t.Execute(w, f)
}

const htmlPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f4f4f4}
.figure{overflow-x:auto}.figure svg{max-width:100%;height:auto}</style></head><body>
<h1>{{.Title}}</h1>
<p>{{.Desc}}</p>
<div class="figure">{{svg .}}</div>
<h2>Stages</h2>
<table id="stages"><tr><th>stage</th><th>status</th><th>receives → produces</th><th>responsible / accountable</th><th>gates and rules</th><th>OpenSSF tools</th><th>open gaps</th></tr>
{{range .Stages}}<tr data-stage="{{.Name}}"><td><b>{{.Name}}</b><br>{{.Title}}{{with .Maturity}}<br>AIMM L{{.Level}}{{if .Next}}: next — {{.Next}}{{end}}{{end}}</td><td>{{.Status.Label}}{{if .Note}}<br>{{.Note}}{{end}}</td>
<td>{{join .Receives ", "}} → {{join .Produces ", "}}</td>
<td>{{range .Roles}}{{.Letter}} {{.Name}}{{if .Holders}} ({{join .Holders ", "}}){{end}} — SSRM {{join .SSRM ", "}}<br>{{end}}</td>
<td>{{range .Gates}}<b>{{.Name}}</b> ({{.Status.Label}}){{range .Checks}}<br>{{.ID}} {{.Title}} — {{.Status.Label}}{{end}}<br>{{end}}</td>
<td>{{join .Tools ", "}}</td><td>{{join .Gaps "; "}}</td></tr>
{{end}}</table>
</body></html>
`
