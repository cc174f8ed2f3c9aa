package workloads

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
)

// RegisterName is the register workload's name.
const RegisterName = "register"

// Register drives read, write and cas over a few independent registers (keys r0, r1 …), so
// that writes collide and stale reads show. By default the values are 0 to 4: many writes share
// a value, so Porcupine's search collapses equal states and stays fast however many writes end
// in info, but a lost or stale write can pass for another write of the same value. With
// UniqueValues every value written to a key is new to that key (1, 2, 3 … in the order the
// clients drew them), as Jepsen's and Elle's generators do: a read names the one write that put
// it there, and a cas expects one of the two values drawn last for its key; the search then
// grows with the writes of unknown outcome (a few dozen per key can take minutes). Its checker
// is linearizable, with a cas-register model per key. Next is safe for concurrent use.
type Register struct {
	keys   int
	unique bool
	last   []atomic.Int64 // per key, the last value drawn for it
}

// NewRegister makes the register workload; the default is 3 keys.
func NewRegister(o Options) Workload {
	if o.Keys <= 0 {
		o.Keys = 3
	}
	return &Register{keys: o.Keys, unique: o.UniqueValues, last: make([]atomic.Int64, o.Keys)}
}

// Name implements Workload.
func (w *Register) Name() string { return RegisterName }

// Setup implements Workload: registers start empty.
func (w *Register) Setup() []history.Op { return nil }

// Retryable implements Workload: a register op is not retried; a fresh process goes on.
func (w *Register) Retryable(history.Op) bool { return false }

func (w *Register) key(i int) string { return fmt.Sprintf("r%d", i) }

// Next implements Workload: half reads, a third writes, the rest cas.
func (w *Register) Next(r *rand.Rand) history.Op {
	k := r.IntN(w.keys)
	op := history.Op{Type: history.Invoke, Key: w.key(k)}
	switch x := r.IntN(6); {
	case x < 3:
		op.F, op.Value = "read", history.Null
	case !w.unique && x < 5:
		op.F, op.Value = "write", history.Value(r.IntN(5))
	case !w.unique:
		op.F, op.Value = "cas", history.Value([2]int{r.IntN(5), r.IntN(5)})
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
