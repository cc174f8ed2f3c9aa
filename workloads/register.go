package workloads

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"crossfire/checkers"
	"crossfire/history"
)

// RegisterName is the register workload's name.
const RegisterName = "register"

// Register drives read, write and cas over a few independent registers (keys r0, r1 …), so
// that writes collide and stale reads show. Every value written to a key is new to that key
// (1, 2, 3 … in the order the clients drew them), as Jepsen's and Elle's generators do: a read
// of a value names the one write that put it there, so a lost or stale write cannot pass for
// another write of the same value that timed out. A cas expects one of the two values drawn
// last for its key, which is what the register most often holds, and sets a new one. Its
// checker is linearizable, with a cas-register model per key. Next is safe for concurrent use
// by every client.
type Register struct {
	keys int
	last []atomic.Int64 // per key, the last value drawn for it
}

// NewRegister makes the register workload; the default is 3 keys.
func NewRegister(o Options) Workload {
	if o.Keys <= 0 {
		o.Keys = 3
	}
	return &Register{keys: o.Keys, last: make([]atomic.Int64, o.Keys)}
}

// Name implements Workload.
func (w *Register) Name() string { return RegisterName }

// Setup implements Workload: registers start empty.
func (w *Register) Setup() []history.Op { return nil }

// Retryable implements Workload: a register op is not retried; a fresh process goes on.
func (w *Register) Retryable(history.Op) bool { return false }

func (w *Register) key(i int) string { return fmt.Sprintf("r%d", i) }

// Next implements Workload: half reads, a third writes, the rest cas; every value written is
// new to its key.
func (w *Register) Next(r *rand.Rand) history.Op {
	k := r.IntN(w.keys)
	op := history.Op{Type: history.Invoke, Key: w.key(k)}
	switch x := r.IntN(6); {
	case x < 3:
		op.F, op.Value = "read", history.Null
	case x < 5:
		op.F, op.Value = "write", history.Value(w.last[k].Add(1))
	default:
		v := w.last[k].Add(1)
		old := max(v-1-int64(r.IntN(2)), 0)
		op.F, op.Value = "cas", history.Value([2]int64{old, v})
	}
	return op
}

// Final implements Workload: a read of every key.
func (w *Register) Final() []history.Op {
	out := make([]history.Op, w.keys)
	for i := range out {
		out[i] = history.Op{Type: history.Invoke, F: "read", Key: w.key(i), Value: history.Null}
	}
	return out
}

// Checkers implements Workload.
func (w *Register) Checkers() []checkers.Checker {
	return []checkers.Checker{checkers.Linearizable{}, checkers.Convergence{}, checkers.Conflicts{}}
}
