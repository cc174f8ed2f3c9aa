package txn

import (
	"cmp"
	"fmt"
	"slices"
)

// ref is a write: the transaction and the position of its micro-op.
type ref struct {
	txn int32
	mop int32
}

// kv names a value of a key.
type kv struct {
	key int32
	v   Value
}

// read is a committed transaction's read of a key, as the inference uses it: what it saw of
// other transactions (own is how many of its own appends or writes end the value and were taken
// off; own < 0 marks a read the transaction's own earlier operations contradict, left out).
type read struct {
	txn   int32
	mop   int32
	list  []Value // list-append: the list without the reader's own appends
	reg   Value   // rw-register: the value
	own   int
	first bool // the transaction had written nothing to the key before it
}

// keyInfo is what the history shows of one key.
type keyInfo struct {
	writes []ref // every append or write, in invocation order
	reads  []read
	append bool // written by appends
	write  bool // written by register writes
	dup    bool // a value written twice
}

// intermediate reports whether a transaction writes the key again after its micro-op i.
func intermediate(t *Txn, i int) bool {
	k := t.Mops[i].Key
	for _, m := range t.Mops[i+1:] {
		if (m.Kind == Append || m.Kind == Write) && m.Key == k {
			return true
		}
	}
	return false
}

// finalWrite is a transaction's last write of key k, or -1.
func finalWrite(t *Txn, k int32) int {
	for i := len(t.Mops) - 1; i >= 0; i-- {
		if m := t.Mops[i]; (m.Kind == Append || m.Kind == Write) && m.Key == k {
			return i
		}
	}
	return -1
}

// inferAppend infers the version order of a list-append key from its longest read, and the
// dependencies and non-cycle anomalies it shows.
func (a *analysis) inferAppend(k int32, ki *keyInfo) {
	h := a.h
	var longest []Value
	lr := -1
	for i := range ki.reads {
		r := &ki.reads[i]
		if r.own < 0 {
			continue
		}
		full := h.Txns[r.txn].Mops[r.mop].List
		if lr < 0 || len(full) > len(longest) {
			longest, lr = full, i
		}
	}
	// every read must be a prefix of the longest
	for i := range ki.reads {
		r := &ki.reads[i]
		if r.own < 0 || i == lr {
			continue
		}
		full := h.Txns[r.txn].Mops[r.mop].List
		if len(full) > len(longest) || !slices.Equal(full, longest[:len(full)]) {
			lg := &ki.reads[lr]
			a.report(Anomaly{Type: "incompatible-order", Key: h.Keys[k], Txns: []int32{r.txn, lg.txn},
				Text: fmt.Sprintf("%s read %s = %s and %s read %s = %s: neither list is a prefix of the other, so no one order of appends explains both",
					a.name(r.txn), h.Keys[k], h.ListText(full), a.name(lg.txn), h.Keys[k], h.ListText(longest))})
			return
		}
	}
	// who wrote each element of the longest list
	at := make([]ref, len(longest))
	seen := make(map[Value]int, len(longest))
	for p, v := range longest {
		if q, dup := seen[v]; dup {
			lg := ki.reads[lr]
			a.report(Anomaly{Type: "duplicate-elements", Key: h.Keys[k], Txns: []int32{lg.txn},
				Text: fmt.Sprintf("%s read %s = %s, which holds %s twice (at %d and %d); every value is appended once", a.name(lg.txn), h.Keys[k], h.ListText(longest), h.Name(v), q, p)})
			return
		}
		seen[v] = p
		w, ok := a.writer[kv{k, v}]
		if !ok {
			lg := ki.reads[lr]
			a.report(Anomaly{Type: "garbage-read", Key: h.Keys[k], Txns: []int32{lg.txn},
				Text: fmt.Sprintf("%s read %s = %s, and no transaction appended %s to %s", a.name(lg.txn), h.Keys[k], h.ListText(longest), h.Name(v), h.Keys[k])})
			return
		}
		at[p] = w
	}
	// aborted appends read, and committed ones after them
	dirty := false
	for p, w := range at {
		if h.Txns[w.txn].Status != Fail {
			continue
		}
		for _, r := range ki.reads {
			if r.own >= 0 && len(h.Txns[r.txn].Mops[r.mop].List) > p && r.txn != w.txn {
				a.report(Anomaly{Type: "G1a", Key: h.Keys[k], Txns: []int32{r.txn, w.txn},
					Text: fmt.Sprintf("%s read %s = %s, which holds %s; %s appended it and failed (aborted read)", a.name(r.txn), h.Keys[k], h.ListText(h.Txns[r.txn].Mops[r.mop].List), h.Name(longest[p]), a.name(w.txn))})
				break
			}
		}
		for q := p + 1; q < len(at) && !dirty; q++ {
			if u := at[q].txn; u != w.txn && h.Txns[u].Status != Fail {
				dirty = true
				a.report(Anomaly{Type: "dirty-update", Key: h.Keys[k], Txns: []int32{w.txn, u},
					Text: fmt.Sprintf("%s appended %s to %s and failed, yet %s appended %s after it (%s): a committed write built on an aborted one", a.name(w.txn), h.Name(longest[p]), h.Keys[k], a.name(u), h.Name(longest[q]), h.ListText(longest))})
			}
		}
	}
	live := func(t int32) bool { return h.Txns[t].Status != Fail }
	// the installed versions: the positions of final appends (a transaction's earlier appends to
	// the key are intermediate versions, which nothing depends on)
	final := make([]bool, len(at))
	next := make([]int, len(at)+1) // the first installed position at or after p
	next[len(at)] = len(at)
	for p := len(at) - 1; p >= 0; p-- {
		final[p] = !intermediate(&h.Txns[at[p].txn], int(at[p].mop))
		next[p] = next[p+1]
		if final[p] {
			next[p] = p
		}
	}
	// ww: each installed version's writer before the next one's
	for p := next[0]; p < len(at); {
		q := next[p+1]
		if q == len(at) {
			break
		}
		if u, v := at[p].txn, at[q].txn; u != v && live(u) && live(v) {
			a.g.add(int(u), int(v), WW, k, longest[p], longest[q])
		}
		p = q
	}
	// the committed appends no read shows come after the longest list
	var unseen []ref
	for _, w := range ki.writes {
		if _, ok := seen[h.Txns[w.txn].Mops[w.mop].Arg]; !ok && h.Txns[w.txn].Status == OK {
			if len(unseen) == 0 || unseen[len(unseen)-1].txn != w.txn {
				unseen = append(unseen, ref{w.txn, int32(finalWrite(&h.Txns[w.txn], k))})
			}
		}
	}
	if len(longest) > 0 && final[len(at)-1] {
		last := at[len(at)-1]
		if live(last.txn) {
			for _, u := range unseen {
				a.g.addUnseen(int(last.txn), int(u.txn), WW, k, longest[len(longest)-1], h.Txns[u.txn].Mops[u.mop].Arg)
			}
		}
	}
	lastOf := func(l []Value) Value {
		if len(l) == 0 {
			return Nil
		}
		return l[len(l)-1]
	}
	g1b := map[int32]bool{}
	writersOf := map[int][]int32{} // version read before writing → the transactions that then appended
	for _, r := range ki.reads {
		if r.own < 0 {
			continue
		}
		n := len(r.list)
		if n > 0 {
			w := at[n-1]
			if w.txn != r.txn && !final[n-1] {
				if !g1b[w.txn] {
					g1b[w.txn] = true
					a.report(Anomaly{Type: "G1b", Key: h.Keys[k], Txns: []int32{r.txn, w.txn},
						Text: fmt.Sprintf("%s read %s = %s, ending in %s, which %s appended before appending to %s again (intermediate read)", a.name(r.txn), h.Keys[k], h.ListText(r.list), h.Name(longest[n-1]), a.name(w.txn), h.Keys[k])})
				}
				continue // it read no installed version
			}
			if w.txn != r.txn && live(w.txn) {
				a.g.add(int(w.txn), int(r.txn), WR, k, longest[n-1], 0)
			}
		}
		switch q := next[n]; {
		case q < len(at):
			if w := at[q].txn; w != r.txn && live(w) {
				a.g.add(int(r.txn), int(w), RW, k, lastOf(r.list), longest[q])
			}
		case len(unseen)*len(ki.reads) <= maxUnseenPairs:
			for _, u := range unseen {
				a.g.addUnseen(int(r.txn), int(u.txn), RW, k, lastOf(r.list), h.Txns[u.txn].Mops[u.mop].Arg)
			}
		}
		if r.first && h.Txns[r.txn].Status == OK && finalWrite(&h.Txns[r.txn], k) > int(r.mop) {
			writersOf[n] = append(writersOf[n], r.txn)
		}
	}
	lostUpdates(a, k, writersOf, func(n int) string { return h.ListText(longest[:n]) })
}

// maxUnseenPairs bounds the read-write edges drawn from the reads of a key's last version to
// appends no read shows.
const maxUnseenPairs = 1 << 16

// lostUpdates reports, per version of key k, committed transactions that read it and then
// wrote the key: two or more is a lost update.
func lostUpdates[V cmp.Ordered](a *analysis, k int32, writersOf map[V][]int32, text func(V) string) {
	vs := make([]V, 0, len(writersOf))
	for n, ts := range writersOf {
		slices.Sort(ts)
		if ts = slices.Compact(ts); len(ts) > 1 {
			writersOf[n] = ts
			vs = append(vs, n)
		}
	}
	slices.Sort(vs)
	for _, n := range vs {
		ts := writersOf[n]
		names := ""
		for i, t := range ts {
			if i > 0 {
				names += ", "
			}
			names += a.name(t)
		}
		a.report(Anomaly{Type: "lost-update", Key: a.h.Keys[k], Txns: ts,
			Text: fmt.Sprintf("%s each read %s = %s and then wrote %s: all committed, so the later write was made without the earlier one", names, a.h.Keys[k], text(n), a.h.Keys[k])})
	}
}
