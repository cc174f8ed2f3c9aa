package checkers

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/crossfire-dev/crossfire/history"
)

// judgePairs holds the conflict records of one key to each pair of concurrent writes (different
// origins, neither counting the other): where the history shows a leader holding one write's
// version and the other arriving there alone, later, that leader must have logged the arrival;
// otherwise some leader must have logged one of them held and the other arriving. It reports
// each pair no record accounts for and returns how many pairs it judged, and of those how many
// by a leader's own versions.
//
// Every question it asks of the versions and the records (which of a leader's writes first held
// one write and not the other, when a leader first showed a write, whether a third leader's
// version could have relayed both, whether a record logged the pair) is answered from indexes
// built once per key, rather than by a scan per pair: a cart run of a few thousand writes per
// key has hundreds of thousands of concurrent pairs.
func (s *conflictsStream) judgePairs(key string, ws []*cartWrite, recs []history.ConflictRecord, report func(Anomaly)) (pairs, perLeader int) {
	ix := newPairIndex(s, key, ws, recs)
	leaders := slices.Sorted(maps.Keys(s.reach[key]))
	for i := range ws {
		for k := i + 1; k < len(ws); k++ {
			if ix.origin[i] == ix.origin[k] || ix.counts(i, k) || ix.counts(k, i) {
				continue
			}
			a, b := ws[i], ws[k]
			pairs++
			judged := false
			for _, leader := range leaders {
				for _, side := range [2][2]int{{i, k}, {k, i}} {
					held, in := side[0], side[1]
					since, ok := ix.heldWithout(leader, held, in)
					if !ok {
						continue
					}
					by, ok := ix.shown(leader, in)
					if !ok || by <= since || ix.relayed(leader, held, in, by) {
						continue // the history does not show in reaching it alone, later
					}
					judged = true
					if ix.loggedAt(leader, held, in) {
						continue
					}
					report(Anomaly{Kind: "silent-conflict", Key: key, Ops: []int64{a.index, b.index},
						Nodes: union([]string{leader}, union([]string{a.origin}, []string{b.origin})), Definite: true,
						Description: fmt.Sprintf("%s: %s resolved the concurrent writes by %s (op %d) and %s (op %d) without a record in its log: it held the one by %s when the other arrived, as its versions show",
							key, leader, a.origin, a.index, b.origin, b.index, ws[held].origin)})
				}
			}
			if judged {
				perLeader++
				continue
			}
			if !ix.loggedAnywhere(i, k) {
				report(Anomaly{Kind: "silent-conflict", Key: key, Ops: []int64{a.index, b.index},
					Nodes: union([]string{a.origin}, []string{b.origin}), Definite: true,
					Description: fmt.Sprintf("%s: concurrent writes by %s (op %d) and %s (op %d) were resolved without a conflict record at any leader",
						key, a.origin, a.index, b.origin, b.index)})
			}
		}
	}
	return pairs, perLeader
}

// pairIndex is what judgePairs asks of one key, with every version vector a row of counts, one
// column per origin.
type pairIndex struct {
	cols   leaders // the origins, numbered as columns
	ws     []*cartWrite
	vec    [][]uint64 // per write
	origin []int      // per write: its origin's column
	dot    []uint64   // per write: its count at its origin

	reach map[string]*leaderVersions // per leader: its reads and writes, as s.reach holds them

	// Per origin column, its writes in the order they began, and when each began.
	byOrigin      [][]int
	byOriginStart [][]int64
	// Per leader: when its writes of unknown version (info, or acknowledged without a vector)
	// began, in order.
	unversioned map[string][]int64

	recs    []history.ConflictRecord
	inVec   [][]uint64 // per record: its incoming version
	localOf [][]uint64 // per record: each column's largest count among its local versions; nil for none
	// Per leader, per column, per count: the most each column reaches among the local versions
	// of the leader's records whose incoming version has exactly that count in that column.
	exact map[exactKey][]uint64

	trees map[treeKey]*domTree
}

type leaderVersions struct {
	times  []int64          // of every read and write, in order
	vecs   [][]uint64       // the same
	writes []int            // the positions of its own writes
	maxes  map[int][]uint64 // per column: the largest count so far, at each position
}

type exactKey struct {
	leader string
	col    int
	n      uint64
}

// treeKey names one of the lazily built dominance trees: its kind, the leader or origin whose
// points it holds, and the columns its x and y are.
type treeKey struct {
	kind   byte // 'w' a leader's own writes, 'o' an origin's writes, 'r' a leader's records, 'a' every record
	owner  string
	x, y   int
	origin int
}

func newPairIndex(s *conflictsStream, key string, ws []*cartWrite, recs []history.ConflictRecord) *pairIndex {
	ix := &pairIndex{ws: ws, recs: recs, reach: map[string]*leaderVersions{},
		unversioned: map[string][]int64{}, exact: map[exactKey][]uint64{}, trees: map[treeKey]*domTree{}}
	for _, w := range ws {
		ix.cols.number(w.origin)
		for o := range w.vv {
			ix.cols.number(o)
		}
	}
	for _, hs := range s.reach[key] {
		for _, h := range hs {
			for o := range h.vv {
				ix.cols.number(o)
			}
		}
	}
	for _, rec := range recs {
		for o := range rec.Incoming.VV {
			ix.cols.number(o)
		}
		for _, v := range rec.Local {
			for o := range v.VV {
				ix.cols.number(o)
			}
		}
	}
	n := len(ix.cols.names)
	row := func(vv map[string]uint64) []uint64 {
		r := make([]uint64, n)
		for o, c := range vv {
			r[ix.cols.index[o]] = c
		}
		return r
	}
	ix.byOrigin, ix.byOriginStart = make([][]int, n), make([][]int64, n)
	for i, w := range ws {
		ix.vec = append(ix.vec, row(w.vv))
		c := ix.cols.index[w.origin]
		ix.origin = append(ix.origin, c)
		ix.dot = append(ix.dot, ix.vec[i][c])
		ix.byOrigin[c] = append(ix.byOrigin[c], i)
	}
	for c, idx := range ix.byOrigin {
		sort.SliceStable(idx, func(a, b int) bool { return ws[idx[a]].invoke < ws[idx[b]].invoke })
		for _, i := range idx {
			ix.byOriginStart[c] = append(ix.byOriginStart[c], ws[i].invoke)
		}
	}
	for l, hs := range s.reach[key] {
		lv := &leaderVersions{maxes: map[int][]uint64{}}
		for p, h := range hs {
			lv.times = append(lv.times, h.time)
			lv.vecs = append(lv.vecs, row(h.vv))
			if h.write {
				lv.writes = append(lv.writes, p)
			}
		}
		ix.reach[l] = lv
	}
	for l, ts := range s.unversioned[key] {
		ix.unversioned[l] = slices.Sorted(slices.Values(ts))
	}
	for _, rec := range recs {
		in := row(rec.Incoming.VV)
		ix.inVec = append(ix.inVec, in)
		var local []uint64
		if len(rec.Local) > 0 {
			local = make([]uint64, n)
			for _, v := range rec.Local {
				for o, c := range v.VV {
					x := ix.cols.index[o]
					local[x] = max(local[x], c)
				}
			}
			for c, cnt := range in {
				k := exactKey{rec.Node, c, cnt}
				m := ix.exact[k]
				if m == nil {
					m = make([]uint64, n)
					ix.exact[k] = m
				}
				for x, v := range local {
					m[x] = max(m[x], v)
				}
			}
		}
		ix.localOf = append(ix.localOf, local)
	}
	return ix
}

// counts reports whether write i's version counts write k (sawDot).
func (ix *pairIndex) counts(i, k int) bool { return ix.vec[i][ix.origin[k]] >= ix.dot[k] }

// heldWithout returns when the history first shows leader holding write held and not write in:
// a write of its own whose version counts the one and not the other.
func (ix *pairIndex) heldWithout(leader string, held, in int) (int64, bool) {
	lv := ix.reach[leader]
	if lv == nil {
		return 0, false
	}
	ho, io := ix.origin[held], ix.origin[in]
	t := ix.tree(treeKey{kind: 'w', owner: leader, x: ho, y: io}, func() ([]uint64, []uint64) {
		xs, ys := make([]uint64, len(lv.writes)), make([]uint64, len(lv.writes))
		for j, p := range lv.writes {
			xs[j], ys[j] = lv.vecs[p][ho], lv.vecs[p][io]
		}
		return xs, ys
	})
	j := t.first(len(lv.writes), ix.dot[held], ix.dot[in], true)
	if j < 0 {
		return 0, false
	}
	return lv.times[lv.writes[j]], true
}

// shown returns when the history first shows leader holding a version that counts write in.
func (ix *pairIndex) shown(leader string, in int) (int64, bool) {
	lv := ix.reach[leader]
	if lv == nil {
		return 0, false
	}
	c := ix.origin[in]
	m, ok := lv.maxes[c]
	if !ok {
		m = make([]uint64, len(lv.vecs))
		var most uint64
		for p, v := range lv.vecs {
			most = max(most, v[c])
			m[p] = most
		}
		lv.maxes[c] = m
	}
	p := sort.Search(len(m), func(p int) bool { return m[p] >= ix.dot[in] })
	if p == len(m) {
		return 0, false
	}
	return lv.times[p], true
}

// relayed reports whether the write in may have reached held's leader inside a version of a
// third leader that had seen held too (in's own leader sends its writes in order, so in itself
// arrives before any later one of its leader). Only a version that existed before the history
// shows in at held's leader (by) could have.
func (ix *pairIndex) relayed(leader string, held, in int, by int64) bool {
	hw, iw := ix.ws[held], ix.ws[in]
	// A write of unknown version may have seen both if it began after both began.
	after := max(hw.invoke, iw.invoke)
	for l, ts := range ix.unversioned {
		if l == leader || l == iw.origin {
			continue
		}
		p := sort.Search(len(ts), func(p int) bool { return ts[p] > after })
		if p < len(ts) && ts[p] < by {
			return true
		}
	}
	ho, io := ix.origin[held], ix.origin[in]
	for c, idx := range ix.byOrigin {
		if len(idx) == 0 || c == io || ix.ws[idx[0]].origin == leader {
			continue
		}
		end := sort.Search(len(idx), func(p int) bool { return ix.byOriginStart[c][p] >= by })
		t := ix.tree(treeKey{kind: 'o', origin: c, x: ho, y: io}, func() ([]uint64, []uint64) {
			xs, ys := make([]uint64, len(idx)), make([]uint64, len(idx))
			for j, i := range idx {
				xs[j], ys[j] = ix.vec[i][ho], ix.vec[i][io]
			}
			return xs, ys
		})
		if t.first(end, ix.dot[held], ix.dot[in], false) >= 0 {
			return true
		}
	}
	return false
}

// loggedAt reports whether leader logged the arrival of write in while holding write held: a
// record there whose local versions count held and whose incoming version counts in and is
// either another origin's version or in's own.
func (ix *pairIndex) loggedAt(leader string, held, in int) bool {
	ho, io := ix.origin[held], ix.origin[in]
	if m := ix.exact[exactKey{leader, io, ix.dot[in]}]; m != nil && m[ho] >= ix.dot[held] {
		return true
	}
	t := ix.tree(treeKey{kind: 'r', owner: leader, x: ho, y: io}, func() ([]uint64, []uint64) {
		var xs, ys []uint64
		for j, rec := range ix.recs {
			from := rec.Incoming.Origin
			if rec.Node != leader || ix.localOf[j] == nil || from == "" || from == ix.cols.names[io] {
				continue
			}
			xs, ys = append(xs, ix.localOf[j][ho]), append(ys, ix.inVec[j][io])
		}
		return xs, ys
	})
	return t.first(t.n, ix.dot[held], ix.dot[in], false) >= 0
}

// loggedAnywhere reports whether any leader logged one of writes i and k held and the other
// arriving.
func (ix *pairIndex) loggedAnywhere(i, k int) bool {
	return ix.loggedHeldArriving(i, k) || ix.loggedHeldArriving(k, i)
}

func (ix *pairIndex) loggedHeldArriving(held, in int) bool {
	ho, io := ix.origin[held], ix.origin[in]
	t := ix.tree(treeKey{kind: 'a', x: ho, y: io}, func() ([]uint64, []uint64) {
		var xs, ys []uint64
		for j := range ix.recs {
			if ix.localOf[j] != nil {
				xs, ys = append(xs, ix.localOf[j][ho]), append(ys, ix.inVec[j][io])
			}
		}
		return xs, ys
	})
	return t.first(t.n, ix.dot[held], ix.dot[in], false) >= 0
}

func (ix *pairIndex) tree(k treeKey, points func() (xs, ys []uint64)) *domTree {
	t, ok := ix.trees[k]
	if !ok {
		t = newDomTree(points())
		ix.trees[k] = t
	}
	return t
}

// domTree finds, among points in a fixed order, the first before a given position with x at
// least X and y below (or at least) Y: a segment tree over the order whose nodes keep their
// points' largest x and smallest and largest y, so that the search enters only the parts
// that may hold such a point. Versions that grow along the order (as a leader's do) make that
// a walk down one path.
type domTree struct {
	n                int
	size             int
	maxX, minY, maxY []uint64
}

func newDomTree(xs, ys []uint64) *domTree {
	t := &domTree{n: len(xs), size: 1}
	for t.size < t.n {
		t.size *= 2
	}
	t.maxX, t.minY, t.maxY = make([]uint64, 2*t.size), make([]uint64, 2*t.size), make([]uint64, 2*t.size)
	for i := range t.minY {
		t.minY[i] = ^uint64(0)
	}
	for i := range xs {
		t.maxX[t.size+i], t.minY[t.size+i], t.maxY[t.size+i] = xs[i], ys[i], ys[i]
	}
	for v := t.size - 1; v >= 1; v-- {
		t.maxX[v] = max(t.maxX[2*v], t.maxX[2*v+1])
		t.minY[v] = min(t.minY[2*v], t.minY[2*v+1])
		t.maxY[v] = max(t.maxY[2*v], t.maxY[2*v+1])
	}
	return t
}

// first returns the first position before end whose point has x >= X and y < Y (below) or
// y >= Y (not below), or -1.
func (t *domTree) first(end int, X, Y uint64, below bool) int {
	if t.n == 0 || end <= 0 {
		return -1
	}
	return t.search(1, 0, t.size, min(end, t.n), X, Y, below)
}

func (t *domTree) search(v, lo, hi, end int, X, Y uint64, below bool) int {
	if lo >= end || t.maxX[v] < X || below && t.minY[v] >= Y || !below && t.maxY[v] < Y {
		return -1
	}
	if hi-lo == 1 {
		return lo
	}
	mid := (lo + hi) / 2
	if p := t.search(2*v, lo, mid, end, X, Y, below); p >= 0 {
		return p
	}
	return t.search(2*v+1, mid, hi, end, X, Y, below)
}
