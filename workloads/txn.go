package workloads

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
)

// The transactional workloads' names.
const (
	ListAppendName = "list-append"
	RWRegisterName = "rw-register"
)

// The key distributions of the transactional workloads.
const (
	KeyDistExponential = "exponential" // the first active key twice as likely as the second, and so on
	KeyDistUniform     = "uniform"
	KeyDistHot         = "hot" // nine micro-ops in ten on one key
)

// KeyDists lists the key distributions.
var KeyDists = []string{KeyDistExponential, KeyDistUniform, KeyDistHot}

// Txn drives transactions over many keys (HISTORY.md's txn op), as Jepsen's list-append and
// rw-register generators do: each transaction is 1 to TxnLength micro-ops, each a read or a
// write (an append of a value to the key's list, or a register write) with even odds, on one of
// Keys active keys drawn by the key distribution. Values are new to their key (1, 2, 3 …), so a
// value read names the one write that made it. A key retires after MaxWritesPerKey writes and a
// fresh key takes its place, so that lists stay short and every key's history stays small
// enough to judge. Its checker is isolation. Next is safe for concurrent use.
type Txn struct {
	name      string
	append    bool
	length    int
	maxWrites int
	dist      string

	mu     sync.Mutex
	active []int // the keys in use, by slot
	writes []int // writes drawn per active slot
	next   int   // the next fresh key
	values map[int]int
}

// NewListAppend makes the list-append workload: appends to lists and reads of whole lists.
func NewListAppend(o Options) Workload { return newTxn(ListAppendName, true, o) }

// NewRWRegister makes the rw-register workload: writes and reads of registers.
func NewRWRegister(o Options) Workload { return newTxn(RWRegisterName, false, o) }

func newTxn(name string, append bool, o Options) *Txn {
	if o.Keys <= 0 {
		o.Keys = 10
	}
	if o.TxnLength <= 0 {
		o.TxnLength = 4
	}
	if o.MaxWritesPerKey <= 0 {
		o.MaxWritesPerKey = 32
	}
	if o.KeyDist == "" {
		o.KeyDist = KeyDistExponential
	}
	w := &Txn{name: name, append: append, length: o.TxnLength, maxWrites: o.MaxWritesPerKey, dist: o.KeyDist,
		active: make([]int, o.Keys), writes: make([]int, o.Keys), next: o.Keys, values: map[int]int{}}
	for i := range w.active {
		w.active[i] = i
	}
	return w
}

// CheckTxnOptions says what is wrong with the transactional workloads' options, if anything.
func CheckTxnOptions(o Options) error {
	switch o.KeyDist {
	case "", KeyDistExponential, KeyDistUniform, KeyDistHot:
	default:
		return fmt.Errorf("unknown key distribution %q (valid: %s, %s, %s)", o.KeyDist, KeyDistExponential, KeyDistUniform, KeyDistHot)
	}
	if o.TxnLength < 0 || o.MaxWritesPerKey < 0 {
		return fmt.Errorf("the transaction length and the writes per key must be positive")
	}
	return nil
}

// Name implements Workload.
func (w *Txn) Name() string { return w.name }

// Setup implements Workload: keys start empty.
func (w *Txn) Setup() []history.Op { return nil }

// Retryable implements Workload: a transaction is not retried; a fresh process goes on.
func (w *Txn) Retryable(history.Op) bool { return false }

// TxnKey names key number i.
func TxnKey(i int) string { return fmt.Sprint(i) }

// slot draws an active key's slot.
func (w *Txn) slot(r *rand.Rand) int {
	n := len(w.active)
	switch w.dist {
	case KeyDistUniform:
		return r.IntN(n)
	case KeyDistHot:
		if r.IntN(10) < 9 {
			return 0
		}
		return r.IntN(n)
	}
	// exponential, base 2: slot i with weight 2^-i
	total := 2 - math.Ldexp(1, 1-n)
	x := r.Float64() * total
	for i := 0; i < n; i++ {
		if x -= math.Ldexp(1, -i); x < 0 {
			return i
		}
	}
	return n - 1
}

// Mop is one micro-op of a transaction as HISTORY.md writes it: [f, key, value].
type Mop [3]any

// Next implements Workload.
func (w *Txn) Next(r *rand.Rand) history.Op {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 1 + r.IntN(w.length)
	mops := make([]Mop, 0, n)
	for range n {
		s := w.slot(r)
		k := w.active[s]
		if r.IntN(2) == 0 {
			mops = append(mops, Mop{"r", TxnKey(k), nil})
			continue
		}
		w.values[k]++
		f := "w"
		if w.append {
			f = "append"
		}
		mops = append(mops, Mop{f, TxnKey(k), w.values[k]})
		if w.writes[s]++; w.writes[s] >= w.maxWrites {
			delete(w.values, k)
			w.active[s], w.writes[s] = w.next, 0
			w.next++
		}
	}
	return history.Op{Type: history.Invoke, F: "txn", Value: history.Value(mops)}
}

// Final implements Workload: the active keys read at every leader, a transaction of reads.
func (w *Txn) Final() []history.Op {
	w.mu.Lock()
	defer w.mu.Unlock()
	mops := make([]Mop, len(w.active))
	for i, k := range w.active {
		mops[i] = Mop{"r", TxnKey(k), nil}
	}
	return []history.Op{{Type: history.Invoke, F: "txn", Value: history.Value(mops)}}
}

// Checkers implements Workload.
func (w *Txn) Checkers() []checkers.Checker { return []checkers.Checker{checkers.Isolation{}} }
