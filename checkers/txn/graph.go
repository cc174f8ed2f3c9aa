package txn

import (
	"slices"
	"strings"
)

// EdgeKind is a set of dependency kinds between two transactions.
type EdgeKind uint8

// The dependencies.
const (
	WW       EdgeKind = 1 << iota // T2 installed the version after T1's
	WR                            // T2 read T1's version
	RW                            // T2 installed the version after the one T1 read
	Process                       // T2 is the next transaction of T1's process
	Realtime                      // T2 began after T1 completed

	data  = WW | WR | RW
	order = Process | Realtime
)

func (k EdgeKind) String() string {
	var parts []string
	for _, e := range []struct {
		k EdgeKind
		n string
	}{{WW, "ww"}, {WR, "wr"}, {RW, "rw"}, {Process, "process"}, {Realtime, "realtime"}} {
		if k&e.k != 0 {
			parts = append(parts, e.n)
		}
	}
	return strings.Join(parts, "+")
}

// edge is one dependency and its evidence: the key and the two values it rests on (ww: the
// first transaction's version and the next; wr: the version read; rw: the version read, Nil for
// the initial one, and the next version).
type edge struct {
	from, to int32
	kind     EdgeKind
	key      int32
	a, b     Value
	// unseen: b is a committed append no read shows, so it follows the last version read
	// rather than a directly
	unseen bool
}

// arc is an edge of the adjacency lists: every kind between two transactions, merged.
type arc struct {
	to    int32
	kinds EdgeKind
}

// Graph is the dependency graph between a history's transactions (nodes are their positions in
// History.Txns).
type Graph struct {
	n   int
	raw []edge
	off []int32 // arcs of node v: adj[off[v]:off[v+1]]
	adj []arc
}

func newGraph(n int) *Graph { return &Graph{n: n, raw: make([]edge, 0, 6*n+16)} }

// add records a dependency; edges from a transaction to itself say nothing and are dropped.
func (g *Graph) add(from, to int, kind EdgeKind, key int32, a, b Value) {
	if from == to {
		return
	}
	g.raw = append(g.raw, edge{from: int32(from), to: int32(to), kind: kind, key: key, a: a, b: b})
}

// addUnseen records a dependency on a committed append that no read shows.
func (g *Graph) addUnseen(from, to int, kind EdgeKind, key int32, a, b Value) {
	if from == to {
		return
	}
	g.raw = append(g.raw, edge{from: int32(from), to: int32(to), kind: kind, key: key, a: a, b: b, unseen: true})
}

// freeze builds the adjacency lists, one arc per pair of transactions with all its kinds.
func (g *Graph) freeze() {
	g.off = make([]int32, g.n+1)
	for _, e := range g.raw {
		g.off[e.from+1]++
	}
	for v := 0; v < g.n; v++ {
		g.off[v+1] += g.off[v]
	}
	adj := make([]arc, len(g.raw))
	fill := slices.Clone(g.off[:g.n])
	for _, e := range g.raw {
		adj[fill[e.from]] = arc{e.to, e.kind}
		fill[e.from]++
	}
	// merge the arcs of each node by target
	out := adj[:0]
	off := make([]int32, g.n+1)
	for v := 0; v < g.n; v++ {
		as := adj[g.off[v]:g.off[v+1]]
		slices.SortFunc(as, func(x, y arc) int { return int(x.to) - int(y.to) })
		off[v] = int32(len(out))
		for i := 0; i < len(as); {
			j, k := i, EdgeKind(0)
			for ; j < len(as) && as[j].to == as[i].to; j++ {
				k |= as[j].kinds
			}
			out = append(out, arc{as[i].to, k})
			i = j
		}
	}
	off[g.n] = int32(len(out))
	g.off, g.adj = off, out
	slices.SortFunc(g.raw, cmpEdge)
}

// arcs of v.
func (g *Graph) arcs(v int32) []arc { return g.adj[g.off[v]:g.off[v+1]] }

// Edges counts the pairs of transactions with a dependency.
func (g *Graph) Edges() int { return len(g.adj) }

// evidence finds the recorded edge of one kind between two transactions (raw is sorted by
// freeze).
func (g *Graph) evidence(from, to int32, kind EdgeKind) (edge, bool) {
	i, ok := slices.BinarySearchFunc(g.raw, edge{from: from, to: to, kind: kind}, cmpEdge)
	if !ok {
		return edge{}, false
	}
	return g.raw[i], true
}

// cmpEdge orders edges by their transactions and kind.
func cmpEdge(x, y edge) int {
	switch {
	case x.from != y.from:
		return int(x.from) - int(y.from)
	case x.to != y.to:
		return int(x.to) - int(y.to)
	}
	return int(x.kind) - int(y.kind)
}

// scratch is the per-node working memory of the searches, reset only where it was used.
type scratch struct {
	index, low []int32
	onStack    []bool
	comp       []int32 // sub-component of the last tarjan, -1 outside
	seen       []int32 // BFS visit stamp
	parent     []int32 // BFS: the state it was reached from
	pkind      []EdgeKind
	stamp      int32
}

func newScratch(n int) *scratch {
	s := &scratch{index: make([]int32, n), low: make([]int32, n), onStack: make([]bool, n),
		comp: make([]int32, n), seen: make([]int32, 4*n), parent: make([]int32, 4*n), pkind: make([]EdgeKind, 4*n)}
	for i := range s.comp {
		s.comp[i] = -1
		s.index[i] = -1
	}
	return s
}

// tarjan finds the strongly connected components of the subgraph of the given nodes and of the
// arcs with a kind in mask; it returns the components of more than one node and leaves each
// node's component in s.comp (every node of nodes reset first). in says whether a node is in the
// subgraph.
func (g *Graph) tarjan(s *scratch, nodes []int32, in func(int32) bool, mask EdgeKind) [][]int32 {
	for _, v := range nodes {
		s.index[v], s.comp[v], s.onStack[v] = -1, -1, false
	}
	var comps [][]int32
	var stack []int32
	type frame struct {
		v int32
		i int32 // next arc
	}
	var call []frame
	next, ncomp := int32(0), int32(0)
	for _, root := range nodes {
		if s.index[root] >= 0 {
			continue
		}
		call = append(call[:0], frame{root, g.off[root]})
		s.index[root], s.low[root] = next, next
		next++
		stack = append(stack, root)
		s.onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			if f.i < g.off[v+1] {
				a := g.adj[f.i]
				f.i++
				w := a.to
				if a.kinds&mask == 0 || !in(w) {
					continue
				}
				if s.index[w] < 0 {
					s.index[w], s.low[w] = next, next
					next++
					stack = append(stack, w)
					s.onStack[w] = true
					call = append(call, frame{w, g.off[w]})
				} else if s.onStack[w] && s.index[w] < s.low[v] {
					s.low[v] = s.index[w]
				}
				continue
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				if u := call[len(call)-1].v; s.low[v] < s.low[u] {
					s.low[u] = s.low[v]
				}
			}
			if s.low[v] == s.index[v] {
				i := len(stack) - 1
				for stack[i] != v {
					i--
				}
				members := stack[i:]
				for _, w := range members {
					s.onStack[w] = false
					s.comp[w] = ncomp
				}
				if len(members) > 1 {
					comps = append(comps, slices.Clone(members))
				}
				ncomp++
				stack = stack[:i]
			}
		}
	}
	return comps
}

// step is one edge of a cycle, with the one kind it is taken as.
type step struct {
	from, to int32
	kind     EdgeKind
}

// pick chooses the kind an arc is taken as among those allowed: data before order, and among
// data the least demanding (ww, then wr).
func pick(kinds, allowed EdgeKind) EdgeKind {
	k := kinds & allowed
	for _, c := range []EdgeKind{WW, WR, RW, Process, Realtime} {
		if k&c != 0 {
			return c
		}
	}
	return 0
}

// path finds a shortest path from src to dst over arcs with a kind in allowed, between nodes
// in says are in, spending at most *budget arc visits; nil when there is none (or the budget ran
// out: *budget is then 0 or less).
func (g *Graph) path(s *scratch, src, dst int32, allowed EdgeKind, in func(int32) bool, budget *int) []step {
	s.stamp++
	st := s.stamp
	s.seen[src] = st
	s.parent[src] = -1
	queue := []int32{src}
	for len(queue) > 0 && *budget > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, a := range g.arcs(v) {
			*budget--
			w := a.to
			if a.kinds&allowed == 0 || s.seen[w] == st || !in(w) {
				continue
			}
			s.seen[w], s.parent[w], s.pkind[w] = st, v, pick(a.kinds, allowed)
			if w == dst {
				return s.trace(w, src, 1)
			}
			queue = append(queue, w)
		}
	}
	return nil
}

// nonadjacent finds a short path from src to dst that, after an rw edge into src, makes a
// simple cycle whose rw edges are at least two and never adjacent: the path never takes two rw
// edges in a row nor starts with one (it follows the rw edge into src), holds one rw edge at
// least, and ends with an edge that is not rw (the cycle goes on with the rw edge into src).
// It searches pairs of a node and what the path so far ends with, so the first path found may
// pass a node twice; such paths are passed over and the search goes on.
func (g *Graph) nonadjacent(s *scratch, src, dst int32, others EdgeKind, in func(int32) bool, budget *int) []step {
	// states: node*4 + lastRW*2 + (rw edges taken so far ≥ 1)
	s.stamp++
	st := s.stamp
	start := src*4 + 2 // the edge into src was rw; none taken on the path yet
	s.seen[start] = st
	s.parent[start] = -1
	queue := []int32{start}
	for len(queue) > 0 && *budget > 0 {
		x := queue[0]
		queue = queue[1:]
		v, lastRW, some := x/4, x&2 != 0, x&1 != 0
		for _, a := range g.arcs(v) {
			*budget--
			w := a.to
			if !in(w) {
				continue
			}
			try := func(kind EdgeKind, y int32) bool {
				if s.seen[y] == st {
					return false
				}
				s.seen[y], s.parent[y], s.pkind[y] = st, x, kind
				if y == dst*4+1 { // at dst, after a non-rw edge, with an rw edge taken
					return true
				}
				queue = append(queue, y)
				return false
			}
			var done bool
			var end int32
			if k := pick(a.kinds, others); k != 0 {
				y := w * 4
				if some {
					y++
				}
				if try(k, y) {
					done, end = true, y
				}
			}
			if !done && a.kinds&RW != 0 && !lastRW {
				y := w*4 + 3
				if w != dst && try(RW, y) {
					done, end = true, y
				}
			}
			if done {
				if out := s.trace(end, start, 4); simple(out) {
					return out
				}
			}
		}
	}
	return nil
}

// trace rebuilds the path a search found, from its start state to end, by the parents it left;
// states are nodes times per (1 for a search of nodes, 4 for nonadjacent's).
func (s *scratch) trace(end, start, per int32) []step {
	var out []step
	for y := end; y != start; y = s.parent[y] {
		out = append(out, step{s.parent[y] / per, y / per, s.pkind[y]})
	}
	slices.Reverse(out)
	return out
}

// simple reports whether a path passes no node twice.
func simple(p []step) bool {
	seen := make(map[int32]bool, len(p)+1)
	for _, st := range p {
		if seen[st.to] {
			return false
		}
		seen[st.to] = true
	}
	return !seen[p[0].from]
}
