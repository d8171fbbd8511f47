// Package ui holds the dashboard's views: html/template pages, the
// server-side SVG of the lineage graph (the lifecycle figure comes from
// package diagram, the renderer `mlsec diagram` uses), and the
// static files (style sheet and vendored htmx, no CDN). Package server
// gathers the data and calls Render.
package ui

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Pages lists the page templates; each is rendered inside layout.html.
func Pages() []string {
	return []string{"lifecycle", "artifacts", "artifact", "hubscans", "hubscan", "hubscan_progress", "coverage", "maturity", "corpora", "corpus", "login", "error"}
}

// Renderer renders the dashboard pages. It is safe for concurrent use.
type Renderer struct {
	pages map[string]*template.Template
}

// New parses the embedded templates.
func New() (*Renderer, error) {
	funcs := template.FuncMap{
		"short": shortID,
		"time":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
		"pct": func(a, b int) int {
			if b <= 0 {
				return 0
			}
			return a * 100 / b
		},
		"join":  strings.Join,
		"lower": strings.ToLower,
	}
	r := &Renderer{pages: map[string]*template.Template{}}
	for _, p := range Pages() {
		t := template.New("layout.html").Funcs(funcs)
		files := []string{"templates/" + p + ".html"}
		if !strings.HasSuffix(p, "_progress") {
			files = append([]string{"templates/layout.html"}, files...)
		} else {
			t = template.New(p + ".html").Funcs(funcs)
		}
		t, err := t.ParseFS(templateFS, files...)
		if err != nil {
			return nil, fmt.Errorf("ui: %s: %w", p, err)
		}
		r.pages[p] = t
	}
	return r, nil
}

// Render writes page with data. Fragments (names ending in _progress) are
// rendered alone, for htmx swaps.
func (r *Renderer) Render(w io.Writer, page string, data any) error {
	t, ok := r.pages[page]
	if !ok {
		return fmt.Errorf("ui: no page %q", page)
	}
	return t.Execute(w, data)
}

// Static serves the embedded static files (mount under /static/).
func Static() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic("ui: embedded static directory missing: " + err.Error())
	}
	return http.FileServerFS(sub)
}
