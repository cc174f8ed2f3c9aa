package workloads

import (
	"fmt"
	"math/rand/v2"

	"crossfire/checkers"
	"crossfire/history"
)

// RegisterName is the register workload's name.
const RegisterName = "register"

// Register drives read, write and cas over a few independent registers (keys r0, r1 …) with
// small random integers, so that writes collide and stale reads show. Its checker is
// linearizable, with a cas-register model per key.
type Register struct {
	keys int
}

// NewRegister makes the register workload; the default is 3 keys.
func NewRegister(o Options) Workload {
	if o.Keys <= 0 {
		o.Keys = 3
	}
	return &Register{keys: o.Keys}
}

// Name implements Workload.
func (w *Register) Name() string { return RegisterName }

// Setup implements Workload: registers start empty.
func (w *Register) Setup() []history.Op { return nil }

// Retryable implements Workload: a register op is not retried; a fresh process goes on.
func (w *Register) Retryable(history.Op) bool { return false }

func (w *Register) key(i int) string { return fmt.Sprintf("r%d", i) }

// Next implements Workload: half reads, a third writes, the rest cas, values 0 to 4.
func (w *Register) Next(r *rand.Rand) history.Op {
	op := history.Op{Type: history.Invoke, Key: w.key(r.IntN(w.keys))}
	switch x := r.IntN(6); {
	case x < 3:
		op.F, op.Value = "read", history.Null
	case x < 5:
		op.F, op.Value = "write", history.Value(r.IntN(5))
	default:
		op.F, op.Value = "cas", history.Value([2]int{r.IntN(5), r.IntN(5)})
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
