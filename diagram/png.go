package diagram

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// PNG rasterises the same scene the SVG draws, at scale times its size
// (2 gives a sharp image on high-density screens), with
// golang.org/x/image/vector for shapes and the Go fonts for text: pure Go,
// no cgo, no system fonts.
func PNG(w io.Writer, f *Figure, scale float64) error {
	if scale <= 0 || scale > 4 {
		return fmt.Errorf("diagram: scale %v out of range (0, 4]", scale)
	}
	root, width, height := scene(f)
	img := image.NewRGBA(image.Rect(0, 0, int(float64(width)*scale), int(float64(height)*scale)))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	r := &raster{img: img, scale: float32(scale), faces: map[[2]int]font.Face{}}
	for _, name := range []string{"regular", "bold"} {
		data := goregular.TTF
		if name == "bold" {
			data = gobold.TTF
		}
		fnt, err := opentype.Parse(data)
		if err != nil {
			return fmt.Errorf("diagram: font: %w", err)
		}
		if name == "bold" {
			r.bold = fnt
		} else {
			r.regular = fnt
		}
	}
	if err := r.draw(root); err != nil {
		return err
	}
	return png.Encode(w, img)
}

type raster struct {
	img           *image.RGBA
	scale         float32
	regular, bold *opentype.Font
	faces         map[[2]int]font.Face
}

func (r *raster) draw(n *node) error {
	switch n.kind {
	case "group":
		for _, k := range n.kids {
			if err := r.draw(k); err != nil {
				return err
			}
		}
	case "rect":
		if n.fill != "" {
			r.fillPath(roundRect(float32(n.x), float32(n.y), float32(n.w), float32(n.h), float32(n.rx)), parseHex(n.fill))
		}
		if n.stroke != "" && n.strokeW > 0 {
			sw := float32(n.strokeW)
			outer := roundRect(float32(n.x)-sw/2, float32(n.y)-sw/2, float32(n.w)+sw, float32(n.h)+sw, float32(n.rx)+sw/2)
			inner := roundRect(float32(n.x)+sw/2, float32(n.y)+sw/2, float32(n.w)-sw, float32(n.h)-sw, max(0, float32(n.rx)-sw/2))
			r.fillRing(outer, inner, parseHex(n.stroke))
		}
	case "line":
		r.arrow(float32(n.x), float32(n.y), float32(n.x2), float32(n.y2), parseHex("#555555"))
	case "text":
		face, err := r.face(n.size, n.bold)
		if err != nil {
			return err
		}
		d := &font.Drawer{Dst: r.img, Src: image.NewUniform(parseHex(n.fill)), Face: face}
		x := fixed.Int26_6(float32(n.x) * r.scale * 64)
		if n.anchor == "middle" {
			x -= d.MeasureString(n.text) / 2
		}
		d.Dot = fixed.Point26_6{X: x, Y: fixed.Int26_6(float32(n.y) * r.scale * 64)}
		d.DrawString(n.text)
	}
	return nil
}

func (r *raster) face(size int, bold bool) (font.Face, error) {
	b := 0
	if bold {
		b = 1
	}
	if f, ok := r.faces[[2]int{size, b}]; ok {
		return f, nil
	}
	fnt := r.regular
	if bold {
		fnt = r.bold
	}
	f, err := opentype.NewFace(fnt, &opentype.FaceOptions{Size: float64(size) * float64(r.scale), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("diagram: font face: %w", err)
	}
	r.faces[[2]int{size, b}] = f
	return f, nil
}

// path is a closed polygon in figure coordinates.
type path [][2]float32

// roundRect approximates a rounded rectangle with short corner arcs.
func roundRect(x, y, w, h, rad float32) path {
	rad = min(rad, w/2, h/2)
	if w <= 0 || h <= 0 {
		return nil
	}
	var p path
	corner := func(cx, cy float32, start float64) {
		for i := 0; i <= 6; i++ {
			a := start + float64(i)*math.Pi/12
			p = append(p, [2]float32{cx + rad*float32(math.Cos(a)), cy + rad*float32(math.Sin(a))})
		}
	}
	corner(x+w-rad, y+rad, -math.Pi/2)
	corner(x+w-rad, y+h-rad, 0)
	corner(x+rad, y+h-rad, math.Pi/2)
	corner(x+rad, y+rad, math.Pi)
	return p
}

func (r *raster) rasterizer() *vector.Rasterizer {
	b := r.img.Bounds()
	return vector.NewRasterizer(b.Dx(), b.Dy())
}

func (r *raster) addPath(z *vector.Rasterizer, p path) {
	if len(p) == 0 {
		return
	}
	s := r.scale
	z.MoveTo(p[0][0]*s, p[0][1]*s)
	for _, q := range p[1:] {
		z.LineTo(q[0]*s, q[1]*s)
	}
	z.ClosePath()
}

func (r *raster) fillPath(p path, c color.Color) {
	z := r.rasterizer()
	r.addPath(z, p)
	z.Draw(r.img, r.img.Bounds(), image.NewUniform(c), image.Point{})
}

// fillRing fills the area between outer and inner (inner reversed, so the
// non-zero winding rule leaves it empty).
func (r *raster) fillRing(outer, inner path, c color.Color) {
	z := r.rasterizer()
	r.addPath(z, outer)
	rev := make(path, len(inner))
	for i, q := range inner {
		rev[len(inner)-1-i] = q
	}
	r.addPath(z, rev)
	z.Draw(r.img, r.img.Bounds(), image.NewUniform(c), image.Point{})
}

// arrow draws a 2px line with a triangular head at (x2, y2).
func (r *raster) arrow(x1, y1, x2, y2 float32, c color.Color) {
	dx, dy := x2-x1, y2-y1
	l := float32(math.Hypot(float64(dx), float64(dy)))
	if l == 0 {
		return
	}
	ux, uy := dx/l, dy/l
	nx, ny := -uy, ux
	const head, half = 9, 1
	bx, by := x2-ux*head, y2-uy*head
	r.fillPath(path{{x1 + nx*half, y1 + ny*half}, {bx + nx*half, by + ny*half}, {bx - nx*half, by - ny*half}, {x1 - nx*half, y1 - ny*half}}, c)
	r.fillPath(path{{x2, y2}, {bx + nx*5, by + ny*5}, {bx - nx*5, by - ny*5}}, c)
}

// parseHex reads "#rrggbb"; anything else is black.
func parseHex(s string) color.RGBA {
	if len(s) != 7 || s[0] != '#' {
		return color.RGBA{A: 255}
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return color.RGBA{A: 255}
	}
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}
}
