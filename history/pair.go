package history

import (
	"iter"
)

// Matcher pairs completions with their invokes as ops stream by, by the rule of HISTORY.md: a
// completion completes the open invoke of its process. It holds, per process, what the caller
// keeps of the open invoke (its index, the invoke itself, a few fields), so a history of any
// length is paired in memory bounded by its processes. Every part of crossfire that pairs ops
// (the validator, the checkers, the report) pairs them here. The zero Matcher is ready to use.
type Matcher[T any] struct {
	// Processes numbered 0 to denseProcesses-1 (clients, as every history numbers them) are
	// kept by number, with no allocation per invoke; others (the nemesis's -1, numbers from
	// elsewhere) in a map.
	dense []slot[T]
	open  map[int]T
	n     int
}

type slot[T any] struct {
	v    T
	open bool
}

const denseProcesses = 1 << 16

// Invoke opens op's process with v, and returns what was open there before, if anything (a
// process that invokes while an op is open breaks the history's rules; the new invoke wins).
func (m *Matcher[T]) Invoke(op Op, v T) (was T, open bool) {
	if p := op.Process; p >= 0 && p < denseProcesses {
		if p >= len(m.dense) {
			m.dense = append(m.dense, make([]slot[T], p+1-len(m.dense))...)
		}
		s := &m.dense[p]
		was, open = s.v, s.open
		if !open {
			m.n++
		}
		s.v, s.open = v, true
		return was, open
	}
	if m.open == nil {
		m.open = map[int]T{}
	}
	was, open = m.open[op.Process]
	if !open {
		m.n++
	}
	m.open[op.Process] = v
	return was, open
}

// Complete closes op's process and returns what its open invoke kept; false when nothing was
// open (a completion without its invoke).
func (m *Matcher[T]) Complete(op Op) (T, bool) {
	var zero T
	if p := op.Process; p >= 0 && p < denseProcesses {
		if p >= len(m.dense) || !m.dense[p].open {
			return zero, false
		}
		s := &m.dense[p]
		v := s.v
		s.v, s.open = zero, false
		m.n--
		return v, true
	}
	v, ok := m.open[op.Process]
	if ok {
		delete(m.open, op.Process)
		m.n--
	}
	return v, ok
}

// Observe is Invoke(op, v) for an invoke and Complete(op) for a completion: what a completion's
// invoke kept, and whether there was one.
func (m *Matcher[T]) Observe(op Op, v T) (T, bool) {
	if op.Type == Invoke {
		m.Invoke(op, v)
		var zero T
		return zero, false
	}
	return m.Complete(op)
}

// Pending is what the invokes still open keep, in no order: ops the history ended before they
// completed, which read as info.
func (m *Matcher[T]) Pending() iter.Seq[T] {
	return func(yield func(T) bool) {
		for i := range m.dense {
			if m.dense[i].open && !yield(m.dense[i].v) {
				return
			}
		}
		for _, v := range m.open {
			if !yield(v) {
				return
			}
		}
	}
}

// Len is the number of open invokes.
func (m *Matcher[T]) Len() int { return m.n }

// Pair is an operation: its invoke and its completion. A pending op (its history ended before it
// completed) has Pending set and a synthetic info completion at the end of time.
type Pair struct {
	Invoke     Op
	Completion Op
	Pending    bool
}

// Pairs matches every invoke with its completion, in invoke order. Completions without an
// invoke are skipped (Validate reports them). Invokes never completed become info at endTime.
// PairIndices is Pairs without copies: for each invoke, in order, its index in ops and its
// completion's, or -1 when the history ended first (read it as info).
func PairIndices(ops []Op) [][2]int {
	pairs := make([][2]int, 0, len(ops)/2+1)
	var open Matcher[int] // index in pairs
	for i := range ops {
		if j, ok := open.Observe(ops[i], len(pairs)); ops[i].Type == Invoke {
			pairs = append(pairs, [2]int{i, -1})
		} else if ok {
			pairs[j][1] = i
		}
	}
	return pairs
}

func Pairs(ops []Op) []Pair {
	pairs := make([]Pair, 0, len(ops)/2+1)
	var open Matcher[int] // index in pairs
	var endTime int64
	for _, op := range ops {
		endTime = max(endTime, op.Time)
		if i, ok := open.Observe(op, len(pairs)); op.Type == Invoke {
			pairs = append(pairs, Pair{Invoke: op})
		} else if ok {
			pairs[i].Completion = op
		}
	}
	for i := range open.Pending() {
		inv := pairs[i].Invoke
		pairs[i].Completion = Op{
			Index: -1, Time: endTime, Process: inv.Process, Type: Info, F: inv.F, Key: inv.Key,
			Node: inv.Node, Req: inv.Req, Error: "history ended before the op completed",
		}
		pairs[i].Pending = true
	}
	return pairs
}
