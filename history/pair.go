package history

import (
	"iter"
	"maps"
)

// Matcher pairs completions with their invokes as ops stream by, by the rule of HISTORY.md: a
// completion completes the open invoke of its process. It holds, per process, what the caller
// keeps of the open invoke (its index, the invoke itself, a few fields), so a history of any
// length is paired in memory bounded by its processes. Every part of crossfire that pairs ops
// (the validator, the checkers, the report) pairs them here. The zero Matcher is ready to use.
type Matcher[T any] struct {
	open map[int]T
}

// Invoke opens op's process with v, and returns what was open there before, if anything (a
// process that invokes while an op is open breaks the history's rules; the new invoke wins).
func (m *Matcher[T]) Invoke(op Op, v T) (was T, open bool) {
	if m.open == nil {
		m.open = map[int]T{}
	}
	was, open = m.open[op.Process]
	m.open[op.Process] = v
	return was, open
}

// Complete closes op's process and returns what its open invoke kept; false when nothing was
// open (a completion without its invoke).
func (m *Matcher[T]) Complete(op Op) (T, bool) {
	v, ok := m.open[op.Process]
	if ok {
		delete(m.open, op.Process)
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
func (m *Matcher[T]) Pending() iter.Seq[T] { return maps.Values(m.open) }

// Len is the number of open invokes.
func (m *Matcher[T]) Len() int { return len(m.open) }

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
