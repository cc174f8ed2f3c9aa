package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/crossfire-dev/crossfire/checkers"
)

// cycleSVG draws a dependency cycle: its transactions on a circle, named by their invocations'
// indices, and an arrow for each edge labelled with its kind (ww, wr, rw, process, realtime);
// the arrow's title says why the edge holds. Read-write edges are dashed, the orders of the
// clients dotted. Nothing is drawn for an anomaly that is no cycle.
func cycleSVG(steps []checkers.CycleStep) template.HTML {
	n := len(steps)
	if n < 2 {
		return ""
	}
	r := math.Max(70, 26*float64(n))
	const box, pad = 26.0, 70.0
	size := 2*r + 2*pad
	c := size / 2
	pos := func(i int) (float64, float64) {
		a := 2*math.Pi*float64(i)/float64(n) - math.Pi/2
		return c + r*math.Cos(a), c + r*math.Sin(a)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="cycle" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="a cycle of %d transactions">`, size, size, size, size, n)
	b.WriteString(`<defs><marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="currentColor"/></marker></defs>`)
	for i, st := range steps {
		x1, y1 := pos(i)
		x2, y2 := pos((i + 1) % n)
		dx, dy := x2-x1, y2-y1
		d := math.Hypot(dx, dy)
		if d == 0 {
			continue
		}
		ux, uy := dx/d, dy/d
		// start and end at the boxes' edges, bent outward so that the two edges of a pair do not
		// lie on each other
		sx, sy := x1+ux*box, y1+uy*box
		ex, ey := x2-ux*box, y2-uy*box
		mx, my := (sx+ex)/2, (sy+ey)/2
		ox, oy := mx-c, my-c
		if o := math.Hypot(ox, oy); o > 1 {
			ox, oy = ox/o, oy/o
		} else {
			ox, oy = uy, -ux
		}
		bend := 18.0
		qx, qy := mx+ox*bend, my+oy*bend
		class := "edge-" + st.Kind
		fmt.Fprintf(&b, `<g class="edge %s"><title>%s</title><path d="M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f" fill="none" marker-end="url(#arrowhead)"/>`,
			template.HTMLEscapeString(class), template.HTMLEscapeString(st.Why), sx, sy, qx, qy, ex, ey)
		label := st.Kind
		if st.Key != "" {
			label += " " + st.Key
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text></g>`, mx+ox*(bend+12), my+oy*(bend+12)+4, template.HTMLEscapeString(label))
	}
	for i, st := range steps {
		x, y := pos(i)
		fmt.Fprintf(&b, `<g class="txn"><rect x="%.1f" y="%.1f" width="%.0f" height="%.0f" rx="6"/><text x="%.1f" y="%.1f" text-anchor="middle">T%d</text></g>`,
			x-box, y-12, 2*box, 24.0, x, y+4, st.From)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
