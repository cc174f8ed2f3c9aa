package txn

import (
	"context"
	"fmt"
	"slices"
	"sort"
)

// Options are the inferences a history's keys allow beyond what its values show.
type Options struct {
	// SequentialKeys: each rw-register key is sequentially consistent, so a process's
	// transactions see its versions in order.
	SequentialKeys bool
	// LinearizableKeys: each rw-register key is linearizable, so a transaction that began after
	// another completed sees its version of the key or a later one.
	LinearizableKeys bool
	// WFRKeys: within a transaction, a write of a key follows its read of that key.
	WFRKeys bool
	// Budget bounds the arcs the searches for G-single and G-nonadjacent visit in one
	// component; 0 is a default that grows with the component. Past it, the search says so.
	Budget int
}

// Anomaly is one thing the history shows wrong, of a Type named as Elle and Adya name them.
type Anomaly struct {
	Type string
	Key  string  // the key, for the anomalies of one key
	Txns []int32 // the transactions involved (a cycle's in its order)
	// Steps are a cycle's edges: Steps[i] leads from Txns[i] to Txns[i+1], the last back to
	// Txns[0].
	Steps []Step
	Text  string // what the history shows, in a sentence
}

// Step is one edge of a cycle and why it holds.
type Step struct {
	From, To int32
	Kind     EdgeKind
	Key      string
	Why      string
}

// Analysis is what Analyze found.
type Analysis struct {
	Anomalies []Anomaly
	// Unknown says what could not be decided, and why: keys whose values were written twice, a
	// search cut short. An anomaly found elsewhere stands regardless.
	Unknown []string
	// Searched lists the cycle types whose search was cut short in some component: their
	// absence is not shown.
	Searched []string
	// Partial says that part of the history went unjudged: a key's versions (a value written
	// twice, or appends beside register writes), or components never searched (ctx done).
	Partial bool
	// Workload is list-append, rw-register, or both.
	Workload                                  string
	Txns, Committed, Indeterminate, Failed    int
	Keys, Edges, Components, LargestComponent int
}

type analysis struct {
	ctx        context.Context
	h          *History
	g          *Graph
	opts       Options
	out        *Analysis
	writer     map[kv]ref
	readValues map[kv]bool
	touching   [][]int32 // per key, the transactions that touch it, in invocation order
	keys       []keyInfo
}

// Analyze judges a history of transactions: it infers version orders and dependencies, finds
// the non-cycle anomalies and the cycles, and classifies them. It stops early, saying so in
// Unknown, when ctx is done.
func Analyze(ctx context.Context, h *History, opts Options) *Analysis {
	a := &analysis{ctx: ctx, h: h, g: newGraph(len(h.Txns)), opts: opts, out: &Analysis{},
		writer: map[kv]ref{}, readValues: map[kv]bool{},
		touching: make([][]int32, len(h.Keys)), keys: make([]keyInfo, len(h.Keys))}
	a.out.Txns, a.out.Keys = len(h.Txns), len(h.Keys)
	a.index()
	la, rw := false, false
	for k := range a.keys {
		ki := &a.keys[k]
		la, rw = la || ki.append, rw || ki.write
		switch {
		case ki.dup:
			a.out.Partial = true
			a.out.Unknown = append(a.out.Unknown, fmt.Sprintf("key %s has a value written twice, so a read of it names no one write; its versions are not judged", h.Keys[k]))
		case ki.append && ki.write:
			a.out.Partial = true
			a.out.Unknown = append(a.out.Unknown, fmt.Sprintf("key %s is both appended to and written as a register; its versions are not judged", h.Keys[k]))
		case ki.append:
			a.inferAppend(int32(k), ki)
		default:
			a.inferRegister(int32(k), ki)
		}
	}
	switch {
	case la && rw:
		a.out.Workload = "list-append and rw-register"
	case rw:
		a.out.Workload = "rw-register"
	default:
		a.out.Workload = "list-append"
	}
	a.orders()
	a.g.freeze()
	a.out.Edges = a.g.Edges()
	a.cycles()
	return a.out
}

func (a *analysis) report(an Anomaly) { a.out.Anomalies = append(a.out.Anomalies, an) }

// name is how an explanation names a transaction: T and its invocation's index.
func (a *analysis) name(t int32) string { return fmt.Sprintf("T%d", a.h.Txns[t].Invoke) }

// index gathers each key's writes and reads, and judges each committed transaction against its
// own earlier micro-ops (internal consistency, future reads).
func (a *analysis) index() {
	h := a.h
	type state struct {
		key    int32
		known  bool
		list   []Value // what the key holds, when known
		reg    Value
		suffix []Value // appends since the last read, when not known
		wrote  bool
	}
	var st []state
	get := func(k int32) *state {
		for i := range st {
			if st[i].key == k {
				return &st[i]
			}
		}
		st = append(st, state{key: k, reg: Nil})
		return &st[len(st)-1]
	}
	for ti := range h.Txns {
		t := &h.Txns[ti]
		switch t.Status {
		case OK:
			a.out.Committed++
		case Info:
			a.out.Indeterminate++
		case Fail:
			a.out.Failed++
		}
		st = st[:0]
		internal := false
		for mi, m := range t.Mops {
			ki := &a.keys[m.Key]
			if tc := a.touching[m.Key]; len(tc) == 0 || tc[len(tc)-1] != int32(ti) {
				a.touching[m.Key] = append(tc, int32(ti))
			}
			switch m.Kind {
			case Append, Write:
				if m.Kind == Append {
					ki.append = true
				} else {
					ki.write = true
				}
				id := kv{m.Key, m.Arg}
				if _, dup := a.writer[id]; dup {
					ki.dup = true
				} else {
					a.writer[id] = ref{int32(ti), int32(mi)}
				}
				ki.writes = append(ki.writes, ref{int32(ti), int32(mi)})
				if t.Status != OK {
					continue
				}
				s := get(m.Key)
				s.wrote = true
				switch {
				case m.Kind == Write:
					s.known, s.reg = true, m.Arg
				case s.known:
					s.list = append(slices.Clip(s.list), m.Arg)
				default:
					s.suffix = append(s.suffix, m.Arg)
				}
			case Read:
				if t.Status != OK || !m.Known {
					continue
				}
				s := get(m.Key)
				r := read{txn: int32(ti), mop: int32(mi), first: !s.wrote, reg: m.Reg}
				if m.List != nil {
					for _, v := range m.List {
						a.readValues[kv{m.Key, v}] = true
					}
				} else if m.Reg != Nil {
					a.readValues[kv{m.Key, m.Reg}] = true
				}
				ok := true
				var expect string
				switch {
				case m.List == nil && s.known && m.Reg != s.reg:
					ok, expect = false, h.Name(s.reg)
				case m.List != nil && s.known && !slices.Equal(m.List, s.list):
					ok, expect = false, h.ListText(s.list)
				case m.List != nil && !s.known && len(s.suffix) > 0 &&
					(len(m.List) < len(s.suffix) || !slices.Equal(m.List[len(m.List)-len(s.suffix):], s.suffix)):
					ok, expect = false, "a list ending in "+h.ListText(s.suffix)
				}
				if !ok {
					r.own = -1
					if !internal {
						internal = true
						a.report(Anomaly{Type: "internal", Key: h.Keys[m.Key], Txns: []int32{int32(ti)},
							Text: fmt.Sprintf("%s read %s, though its own earlier micro-ops say %s", a.name(int32(ti)), h.MopText(m, m.List != nil), expect)})
					}
				} else if m.List != nil {
					// strip the transaction's own appends
					n := len(s.suffix)
					if s.known {
						n = 0 // the list read matched its own state; count its appends since
						for _, m2 := range t.Mops[:mi] {
							if m2.Kind == Append && m2.Key == m.Key {
								n++
							}
						}
						if n > len(m.List) {
							n = len(m.List)
						}
					}
					r.own = n
					r.list = m.List[:len(m.List)-n]
					// a value the transaction appends later, read before it appended it
					for _, m2 := range t.Mops[mi+1:] {
						if m2.Kind == Append && m2.Key == m.Key && slices.Contains(m.List, m2.Arg) {
							a.report(Anomaly{Type: "future-read", Key: h.Keys[m.Key], Txns: []int32{int32(ti)},
								Text: fmt.Sprintf("%s read %s, which holds %s, before appending %s itself", a.name(int32(ti)), h.MopText(m, true), h.Name(m2.Arg), h.Name(m2.Arg))})
							break
						}
					}
				} else if s.wrote {
					r.own = 1
				}
				ki.reads = append(ki.reads, r)
				s.known = true
				if m.List != nil {
					s.list, s.suffix = m.List, nil
				} else {
					s.reg = m.Reg
				}
			}
		}
	}
}

// orders adds the process and real-time edges between transactions: each process's next
// transaction, and a transitive reduction of real-time precedence (a committed transaction
// precedes every one invoked after it completed).
func (a *analysis) orders() {
	h := a.h
	last := map[int]int32{}
	all := make([]int32, 0, len(h.Txns))
	for ti := range h.Txns {
		t := &h.Txns[ti]
		if t.Status == Fail {
			continue
		}
		all = append(all, int32(ti))
		if p, ok := last[t.Process]; ok {
			a.g.add(int(p), ti, Process, -1, 0, 0)
		}
		if t.Status == OK {
			last[t.Process] = int32(ti)
		}
	}
	a.realtimePairs(all, func(p, q int32) { a.g.add(int(p), int(q), Realtime, -1, 0, 0) })
}

// realtimePairs calls emit for the pairs of a transitive reduction of real-time precedence
// among ts (in invocation order): p completed (committed) before q was invoked.
func (a *analysis) realtimePairs(ts []int32, emit func(p, q int32)) {
	h := a.h
	done := make([]int32, 0, len(ts))
	for _, t := range ts {
		if h.Txns[t].Status == OK && h.Txns[t].Complete >= 0 {
			done = append(done, t)
		}
	}
	sort.Slice(done, func(i, j int) bool { return h.Txns[done[i]].Complete < h.Txns[done[j]].Complete })
	preds := make(map[int32][]int32, len(done))
	var frontier []int32
	j := 0
	for _, t := range ts {
		inv := h.Txns[t].Invoke
		for ; j < len(done) && h.Txns[done[j]].Complete < inv; j++ {
			c := done[j]
			// c subsumes what preceded it
			keep := frontier[:0]
			for _, f := range frontier {
				if !slices.Contains(preds[c], f) {
					keep = append(keep, f)
				}
			}
			frontier = append(keep, c)
			delete(preds, c)
		}
		if h.Txns[t].Status == OK {
			preds[t] = slices.Clone(frontier)
		}
		for _, f := range frontier {
			emit(f, t)
		}
	}
}
