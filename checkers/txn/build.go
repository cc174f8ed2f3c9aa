package txn

import (
	"fmt"

	"github.com/crossfire-dev/crossfire/history"
)

// F is the operation name of a transaction in a history.
const F = "txn"

// Builder collects a history's transactions op by op.
type Builder struct {
	h    *History
	open map[int]int // process → its transaction in flight
	// Others counts the client operations that are no transaction.
	Others int
	err    error
}

// NewBuilder starts an empty history.
func NewBuilder() *Builder {
	return &Builder{h: NewHistory(), open: map[int]int{}}
}

// Observe takes the next op of the history.
func (b *Builder) Observe(op history.Op) {
	if b.err != nil || op.IsNemesis() {
		return
	}
	if op.F != F {
		if op.Type == history.Invoke {
			b.Others++
		}
		return
	}
	h := b.h
	if op.Type == history.Invoke {
		mops, err := h.ParseMops(op.Value, false)
		if err != nil {
			b.err = fmt.Errorf("op %d: %w", op.Index, err)
			return
		}
		b.open[op.Process] = len(h.Txns)
		h.Txns = append(h.Txns, Txn{Invoke: op.Index, Complete: -1, Start: op.Time, End: -1,
			Process: op.Process, Node: op.Node, Status: Info, Mops: mops})
		return
	}
	i, ok := b.open[op.Process]
	if !ok {
		return // a completion with no invocation: the format check says so
	}
	delete(b.open, op.Process)
	t := &h.Txns[i]
	t.Complete, t.End, t.Error = op.Index, op.Time, op.Error
	if t.Node == "" {
		t.Node = op.Node
	}
	switch op.Type {
	case history.OK:
		t.Status = OK
		if len(op.Value) == 0 {
			b.err = fmt.Errorf("op %d: a committed transaction's completion must repeat its micro-ops with the reads filled in", op.Index)
			return
		}
		mops, err := h.ParseMops(op.Value, true)
		if err != nil {
			b.err = fmt.Errorf("op %d: %w", op.Index, err)
			return
		}
		if err := sameMops(t.Mops, mops); err != nil {
			b.err = fmt.Errorf("op %d: its completion does not repeat the transaction invoked at op %d: %v", op.Index, t.Invoke, err)
			return
		}
		t.Mops = mops
	case history.Fail:
		t.Status = Fail
	default:
		t.Status = Info
	}
}

// sameMops says how a completion's micro-ops differ from the invocation's, if they do.
func sameMops(in, out []Mop) error {
	if len(in) != len(out) {
		return fmt.Errorf("%d micro-ops, then %d", len(in), len(out))
	}
	for i := range in {
		a, b := in[i], out[i]
		if a.Kind != b.Kind || a.Key != b.Key || a.Arg != b.Arg {
			return fmt.Errorf("micro-op %d changed", i)
		}
	}
	return nil
}

// History returns what was observed, or why it cannot be judged.
func (b *Builder) History() (*History, error) {
	return b.h, b.err
}
