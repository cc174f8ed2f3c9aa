package txn

import (
	"fmt"
	"slices"
)

// inferRegister infers what it can of a register key's version order (the initial version
// before every write; with the options, writes-follow-reads, per-process and real-time orders),
// and the dependencies and non-cycle anomalies it shows.
func (a *analysis) inferRegister(k int32, ki *keyInfo) {
	h := a.h
	// the reads: aborted, intermediate or unwritten values
	bad := false
	for _, r := range ki.reads {
		if r.own != 0 || r.reg == Nil {
			continue
		}
		w, ok := a.writer[kv{k, r.reg}]
		switch {
		case !ok:
			bad = true
			a.report(Anomaly{Type: "garbage-read", Key: h.Keys[k], Txns: []int32{r.txn},
				Text: fmt.Sprintf("%s read %s = %s, which no transaction wrote", a.name(r.txn), h.Keys[k], h.Name(r.reg))})
		case w.txn == r.txn:
			a.report(Anomaly{Type: "future-read", Key: h.Keys[k], Txns: []int32{r.txn},
				Text: fmt.Sprintf("%s read %s = %s before writing that value itself", a.name(r.txn), h.Keys[k], h.Name(r.reg))})
		case h.Txns[w.txn].Status == Fail:
			a.report(Anomaly{Type: "G1a", Key: h.Keys[k], Txns: []int32{r.txn, w.txn},
				Text: fmt.Sprintf("%s read %s = %s, which %s wrote and then failed (aborted read)", a.name(r.txn), h.Keys[k], h.Name(r.reg), a.name(w.txn))})
		case intermediate(&h.Txns[w.txn], int(w.mop)):
			a.report(Anomaly{Type: "G1b", Key: h.Keys[k], Txns: []int32{r.txn, w.txn},
				Text: fmt.Sprintf("%s read %s = %s, which %s wrote and then overwrote in the same transaction (intermediate read)", a.name(r.txn), h.Keys[k], h.Name(r.reg), a.name(w.txn))})
		}
	}
	if bad {
		return
	}
	// versions: the initial one (Nil) and every installed write that may have committed: a
	// committed transaction's final write, or one of unknown outcome that a read shows
	readBy := map[Value][]int32{}
	for _, r := range ki.reads {
		if r.own == 0 {
			readBy[r.reg] = append(readBy[r.reg], r.txn)
		}
	}
	installed := map[Value]int32{}
	for _, w := range ki.writes {
		t := &h.Txns[w.txn]
		v := t.Mops[w.mop].Arg
		if intermediate(t, int(w.mop)) {
			continue
		}
		if t.Status == OK || (t.Status == Info && len(readBy[v]) > 0) {
			installed[v] = w.txn
		}
	}
	// what each committed transaction first saw or made of the key, and last left it at
	type touch struct{ first, last Value }
	touches := map[int32]touch{}
	var vedges [][2]Value
	for _, t32 := range a.touching[k] {
		t := &h.Txns[t32]
		if t.Status == Fail || (t.Status == Info && !a.observed(t32, k)) {
			continue
		}
		first, last, set := Nil, Nil, false
		var read Value = Nil
		readFirst := false
		for _, m := range t.Mops {
			if m.Key != k {
				continue
			}
			var v Value
			switch {
			case m.Kind == Write:
				v = m.Arg
			case m.Known:
				v = m.Reg
			default:
				continue
			}
			if !set {
				first, set = v, true
				readFirst = m.Kind == Read
				read = v
			}
			last = v
		}
		if !set {
			continue
		}
		if fw := finalWrite(t, k); fw >= 0 {
			last = t.Mops[fw].Arg
			if a.opts.WFRKeys && readFirst && read != last {
				vedges = append(vedges, [2]Value{read, last})
			}
			if !readFirst {
				first = last
			}
		}
		touches[t32] = touch{first, last}
	}
	if a.opts.SequentialKeys {
		prev := map[int]int32{}
		for _, t32 := range a.touching[k] {
			tc, ok := touches[t32]
			if !ok {
				continue
			}
			p := h.Txns[t32].Process
			if q, ok := prev[p]; ok && touches[q].last != tc.first {
				vedges = append(vedges, [2]Value{touches[q].last, tc.first})
			}
			if h.Txns[t32].Status == OK {
				prev[p] = t32
			}
		}
	}
	if a.opts.LinearizableKeys {
		var ts []int32
		for _, t32 := range a.touching[k] {
			if _, ok := touches[t32]; ok {
				ts = append(ts, t32)
			}
		}
		a.realtimePairs(ts, func(p, q int32) {
			if touches[p].last != touches[q].first {
				vedges = append(vedges, [2]Value{touches[p].last, touches[q].first})
			}
		})
	}
	// keep the orders between versions that may exist; the initial version precedes the ones
	// nothing else is known to precede
	hasPred := map[Value]bool{}
	kept := vedges[:0]
	for _, e := range vedges {
		if e[0] == e[1] {
			continue
		}
		if _, ok := installed[e[1]]; !ok {
			continue
		}
		if _, ok := installed[e[0]]; !ok && e[0] != Nil {
			continue
		}
		kept = append(kept, e)
		hasPred[e[1]] = true
	}
	vedges = kept
	for v := range installed {
		if !hasPred[v] {
			vedges = append(vedges, [2]Value{Nil, v})
		}
	}
	slices.SortFunc(vedges, func(x, y [2]Value) int {
		if x[0] != y[0] {
			return cmpValue(x[0], y[0])
		}
		return cmpValue(x[1], y[1])
	})
	vedges = slices.Compact(vedges)
	if cyc := versionCycle(vedges); cyc != nil {
		names := ""
		for i, v := range cyc {
			if i > 0 {
				names += " < "
			}
			names += h.Name(v)
		}
		a.report(Anomaly{Type: "cyclic-versions", Key: h.Keys[k],
			Text: fmt.Sprintf("the orders the history implies between the versions of %s make a cycle: %s < %s", h.Keys[k], names, h.Name(cyc[0]))})
		return
	}
	// ww and rw along the version order, wr from each write to its reads
	for _, e := range vedges {
		to := installed[e[1]]
		if e[0] != Nil {
			a.g.add(int(installed[e[0]]), int(to), WW, k, e[0], e[1])
		}
		readers := readBy[e[0]]
		if len(readers) > maxUnseenPairs {
			readers = readers[:maxUnseenPairs]
		}
		for _, r := range readers {
			a.g.add(int(r), int(to), RW, k, e[0], e[1])
		}
	}
	for v, rs := range readBy {
		if w, ok := installed[v]; ok {
			for _, r := range rs {
				a.g.add(int(w), int(r), WR, k, v, 0)
			}
		}
	}
	// lost updates: committed transactions that read one version, then wrote the key
	writersOf := map[Value][]int32{}
	for _, r := range ki.reads {
		if r.own == 0 && r.first && h.Txns[r.txn].Status == OK && finalWrite(&h.Txns[r.txn], k) > int(r.mop) {
			writersOf[r.reg] = append(writersOf[r.reg], r.txn)
		}
	}
	lostUpdates(a, k, writersOf, h.Name)
}

func cmpValue(a, b Value) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// observed reports whether a transaction of unknown outcome has a write of key k that a read
// shows (so it committed).
func (a *analysis) observed(t int32, k int32) bool {
	for _, m := range a.h.Txns[t].Mops {
		if m.Kind == Write && m.Key == k && a.readValues[kv{k, m.Arg}] {
			return true
		}
	}
	return false
}

// versionCycle returns the versions of a cycle in the order edges (sorted by their first
// value), or nil.
func versionCycle(edges [][2]Value) []Value {
	adj := map[Value][]Value{}
	for _, e := range edges {
		adj[e[0]] = append(adj[e[0]], e[1])
	}
	const (
		white = iota
		grey
		black
	)
	color := map[Value]int{}
	parent := map[Value]Value{}
	for _, e := range edges {
		root := e[0]
		if color[root] != white {
			continue
		}
		type frame struct {
			v Value
			i int
		}
		stack := []frame{{root, 0}}
		color[root] = grey
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.i == len(adj[f.v]) {
				color[f.v] = black
				stack = stack[:len(stack)-1]
				continue
			}
			w := adj[f.v][f.i]
			f.i++
			switch color[w] {
			case grey:
				cyc := []Value{w}
				for x := f.v; x != w; x = parent[x] {
					cyc = append(cyc, x)
				}
				slices.Reverse(cyc[1:])
				return cyc
			case white:
				color[w] = grey
				parent[w] = f.v
				stack = append(stack, frame{w, 0})
			}
		}
	}
	return nil
}
