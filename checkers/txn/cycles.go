package txn

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// CycleTypes are the cycle anomalies, weakest first, each also with -process and -realtime.
var CycleTypes = []string{"G0", "G1c", "G-single-item", "G-nonadjacent-item", "G2-item"}

// classify names a cycle by its edges: all ww is G0; ww and wr, G1c; one rw, G-single-item; two
// or more rw, none adjacent (the last and the first count as adjacent), G-nonadjacent-item; else
// G2-item. (Adya's G-single and G-nonadjacent with item dependencies alone: these workloads read
// no predicates; Elle names them so too.) A cycle that needs a real-time edge is -realtime; one
// that needs a process edge, -process.
func classify(steps []step) string {
	rw, wr := 0, 0
	var kinds EdgeKind
	for _, s := range steps {
		kinds |= s.kind
		switch s.kind {
		case RW:
			rw++
		case WR:
			wr++
		}
	}
	var base string
	switch {
	case rw == 0 && wr == 0:
		base = "G0"
	case rw == 0:
		base = "G1c"
	case rw == 1:
		base = "G-single-item"
	default:
		base = "G-nonadjacent-item"
		for i, s := range steps {
			if s.kind == RW && steps[(i+1)%len(steps)].kind == RW {
				base = "G2-item"
				break
			}
		}
	}
	switch {
	case kinds&Realtime != 0:
		return base + "-realtime"
	case kinds&Process != 0:
		return base + "-process"
	}
	return base
}

// cycles finds the strongly connected components of the whole graph and, in each, a short
// cycle of every type it holds: first with dependencies alone, then with process edges, then
// with real-time edges too.
func (a *analysis) cycles() {
	g := a.g
	s := newScratch(g.n)
	nodes := make([]int32, g.n)
	for i := range nodes {
		nodes[i] = int32(i)
	}
	all := func(int32) bool { return true }
	comps := g.tarjan(s, nodes, all, data|order)
	a.out.Components = len(comps)
	member := make([]int32, g.n)
	for i := range member {
		member[i] = -1
	}
	for c, comp := range comps {
		for _, v := range comp {
			member[v] = int32(c)
		}
		a.out.LargestComponent = max(a.out.LargestComponent, len(comp))
	}
	cut := map[string]bool{}
	for c, comp := range comps {
		if a.ctx.Err() != nil {
			a.out.Partial = true
			a.out.Unknown = append(a.out.Unknown, fmt.Sprintf("stopped before searching %d of %d components for cycles", len(comps)-c, len(comps)))
			break
		}
		cc := int32(c)
		in := func(v int32) bool { return member[v] == cc }
		found := map[string]bool{} // base types found in this component
		for _, layer := range []EdgeKind{0, Process, Process | Realtime} {
			for _, want := range CycleTypes {
				if found[want] {
					continue
				}
				cyc, complete := a.search(s, comp, in, want, layer)
				if cyc == nil {
					if !complete {
						cut[want+suffix(layer)] = true
					}
					continue
				}
				t := classify(cyc)
				base := strings.TrimSuffix(strings.TrimSuffix(t, "-realtime"), "-process")
				if found[base] {
					continue
				}
				found[base] = true
				a.report(a.explain(t, cyc))
			}
		}
	}
	for t := range cut {
		a.out.Searched = append(a.out.Searched, t)
	}
	slices.Sort(a.out.Searched)
	if len(a.out.Searched) > 0 {
		a.out.Unknown = append(a.out.Unknown, fmt.Sprintf("the search for %s cycles was cut short in a large component (raise the budget to search further)", strings.Join(a.out.Searched, ", ")))
	}
}

func suffix(layer EdgeKind) string {
	switch {
	case layer&Realtime != 0:
		return "-realtime"
	case layer&Process != 0:
		return "-process"
	}
	return ""
}

// search looks for a cycle of one type in a component, with the order edges of layer allowed
// beside the dependencies; complete is false when it gave up for its budget.
func (a *analysis) search(s *scratch, comp []int32, in func(int32) bool, want string, layer EdgeKind) (cyc []step, complete bool) {
	g := a.g
	budget := a.opts.Budget
	if budget <= 0 {
		budget = 4_000_000 + 20*len(comp)
	}
	switch want {
	case "G0":
		return g.cycleThrough(s, comp, in, WW|layer, WW), true
	case "G1c":
		return g.cycleThrough(s, comp, in, WW|WR|layer, WR), true
	case "G2-item":
		return g.cycleThrough(s, comp, in, data|layer, RW), true
	}
	// one rw edge, or several never adjacent: from each rw edge u→v, back from v to u
	others := WW | WR | layer
	// the components of the subgraph without rw edges, left in s.comp: an rw edge inside one
	// closes a G-single cycle for sure, so those are tried first
	g.tarjan(s, comp, in, others)
	type rwArc struct{ u, v int32 }
	var easy, hard []rwArc
	for _, u := range comp {
		for _, ar := range g.arcs(u) {
			if ar.kinds&RW == 0 || !in(ar.to) {
				continue
			}
			if want == "G-single-item" && s.comp[u] == s.comp[ar.to] {
				easy = append(easy, rwArc{u, ar.to})
			} else {
				hard = append(hard, rwArc{u, ar.to})
			}
		}
	}
	for _, e := range append(easy, hard...) {
		if budget <= 0 || a.ctx.Err() != nil {
			return nil, false
		}
		var p []step
		if want == "G-single-item" {
			p = g.path(s, e.v, e.u, others, in, &budget)
		} else {
			p = g.nonadjacent(s, e.v, e.u, others, in, &budget)
		}
		if p != nil {
			return append([]step{{e.u, e.v, RW}}, p...), true
		}
	}
	return nil, budget > 0 && a.ctx.Err() == nil
}

// cycleThrough finds a short cycle over arcs with a kind in allowed that takes an arc of kind
// must, within a component: an arc of that kind inside a component of the allowed subgraph,
// closed by a shortest path back.
func (g *Graph) cycleThrough(s *scratch, comp []int32, in func(int32) bool, allowed, must EdgeKind) []step {
	subs := g.tarjan(s, comp, in, allowed)
	if len(subs) == 0 {
		return nil
	}
	var best []step
	tries := 0
	for _, sub := range subs {
		c := s.comp[sub[0]]
		inSub := func(v int32) bool { return in(v) && s.comp[v] == c }
		for _, u := range sub {
			for _, ar := range g.arcs(u) {
				if ar.kinds&must == 0 || !inSub(ar.to) {
					continue
				}
				budget := 1 << 62
				p := g.path(s, ar.to, u, allowed, inSub, &budget)
				if p == nil {
					continue
				}
				cyc := append([]step{{u, ar.to, pick(ar.kinds, must)}}, p...)
				if best == nil || len(cyc) < len(best) {
					best = cyc
				}
				if tries++; tries >= 8 || len(best) == 2 {
					return best
				}
			}
		}
	}
	return best
}

// explain turns a cycle into an anomaly whose steps say why each edge holds.
func (a *analysis) explain(typ string, cyc []step) Anomaly {
	an := Anomaly{Type: typ}
	var lines []string
	for _, st := range cyc {
		an.Txns = append(an.Txns, st.from)
		why, key := a.why(st)
		an.Steps = append(an.Steps, Step{From: st.from, To: st.to, Kind: st.kind, Key: key, Why: why})
		lines = append(lines, fmt.Sprintf("%s → %s (%s): %s", a.name(st.from), a.name(st.to), st.kind, why))
	}
	an.Text = fmt.Sprintf("a cycle of %d transactions: %s", len(cyc), strings.Join(lines, "; "))
	return an
}

// why says why an edge of a cycle holds.
func (a *analysis) why(st step) (string, string) {
	h := a.h
	from, to := &h.Txns[st.from], &h.Txns[st.to]
	switch st.kind {
	case Process:
		return fmt.Sprintf("%s is process %d's next transaction after %s", a.name(st.to), to.Process, a.name(st.from)), ""
	case Realtime:
		return fmt.Sprintf("%s completed (op %d, at %s) before %s began (op %d, at %s)", a.name(st.from), from.Complete, at(from.End), a.name(st.to), to.Invoke, at(to.Start)), ""
	}
	e, ok := a.g.evidence(st.from, st.to, st.kind)
	if !ok {
		return "", ""
	}
	k := h.Keys[e.key]
	list := a.keys[e.key].append
	verb := "wrote"
	if list {
		verb = "appended"
	}
	switch st.kind {
	case WW:
		if e.unseen {
			return fmt.Sprintf("%s appended %s to %s and committed, yet no read shows it, so it follows the last version read, which ends in %s's %s", a.name(st.to), h.Name(e.b), k, a.name(st.from), h.Name(e.a)), k
		}
		if list {
			return fmt.Sprintf("%s appended %s to %s right after %s's %s", a.name(st.to), h.Name(e.b), k, a.name(st.from), h.Name(e.a)), k
		}
		return fmt.Sprintf("%s wrote %s = %s, the version after %s's %s", a.name(st.to), k, h.Name(e.b), a.name(st.from), h.Name(e.a)), k
	case WR:
		if list {
			return fmt.Sprintf("%s read %s up to %s, which %s appended", a.name(st.to), k, h.Name(e.a), a.name(st.from)), k
		}
		return fmt.Sprintf("%s read %s = %s, which %s wrote", a.name(st.to), k, h.Name(e.a), a.name(st.from)), k
	case RW:
		seen := h.Name(e.a)
		if e.a == Nil {
			seen = "its initial state"
			if list {
				seen = "[]"
			}
		} else if list {
			seen = "[… " + seen + "]"
		}
		if e.unseen {
			return fmt.Sprintf("%s read %s = %s, without %s, which %s appended and committed; no read shows it, so it came after", a.name(st.from), k, seen, h.Name(e.b), a.name(st.to)), k
		}
		return fmt.Sprintf("%s read %s = %s, without %s, which %s %s next", a.name(st.from), k, seen, h.Name(e.b), a.name(st.to), verb), k
	}
	return "", ""
}

// at writes a time since the run's start.
func at(ns int64) string {
	if ns < 0 {
		return "an unknown time"
	}
	return time.Duration(ns).Round(time.Microsecond).String()
}
