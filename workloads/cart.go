package workloads

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
)

// CartName is the cart workload's name.
const CartName = "cart"

// Cart has several shoppers per cart, on different leaders (two devices, or two regions),
// adding items and removing ones recently added, and reading. Most adds are of a new item; some
// add again an item just sent for removal, which the next worker sends to another leader while
// the remove is in flight or replicating, so that add-wins and remove-wins meet on the same item
// (a remove takes away only the adds it had seen). An add whose outcome is unknown is retried at
// another leader. Its checkers are cart and
// convergence, and conflicts (given the run's conflict logs).
//
// Operations (HISTORY.md): add (key: cart, value: item), remove (key: cart, value: item; fail:
// the leader does not show the item), read (ok value: the items the leader shows). Completions
// carry the version written or read in meta: ts, origin, seq, vv, and the leader's clock offset.
type Cart struct {
	carts int

	mu       sync.Mutex
	added    map[string][]string // cart -> items whose add was invoked, most recent last
	removing map[string][]string // cart -> items whose remove was invoked, most recent last
}

// NewCart makes the cart workload; the default is 2 carts.
func NewCart(o Options) Workload {
	if o.Keys <= 0 {
		o.Keys = 2
	}
	return &Cart{carts: o.Keys, added: map[string][]string{}, removing: map[string][]string{}}
}

// Name implements Workload.
func (w *Cart) Name() string { return CartName }

// Setup implements Workload: carts start empty.
func (w *Cart) Setup() []history.Op { return nil }

func (w *Cart) cart(i int) string { return fmt.Sprintf("c%d", i) }

// Next implements Workload: adds (of a new item, or again of one of the items sent for removal
// last), removes of one of the ten items added last, reads.
func (w *Cart) Next(r *rand.Rand) history.Op {
	cart := w.cart(r.IntN(w.carts))
	op := history.Op{Type: history.Invoke, Key: cart}
	x := r.IntN(100)
	w.mu.Lock()
	defer w.mu.Unlock()
	recent := w.added[cart]
	if len(recent) > 10 {
		recent = recent[len(recent)-10:]
	}
	removing := w.removing[cart]
	switch {
	case x < 30 && len(recent) > 0:
		item := recent[r.IntN(len(recent))]
		w.removing[cart] = append(removing, item)
		if len(w.removing[cart]) > 4 {
			w.removing[cart] = w.removing[cart][1:]
		}
		op.F, op.Value = "remove", history.Value(item)
	case x < 40 && len(removing) > 0:
		item := removing[len(removing)-1-r.IntN(min(len(removing), 2))]
		w.added[cart] = append(w.added[cart], item)
		op.F, op.Value = "add", history.Value(item)
	case x < 85:
		item := fmt.Sprintf("%s-%012x", cart, r.Uint64()&0xffffffffffff)
		w.added[cart] = append(w.added[cart], item)
		if len(w.added[cart]) > 64 {
			w.added[cart] = w.added[cart][32:]
		}
		op.F, op.Value = "add", history.Value(item)
	default:
		op.F, op.Value = "read", history.Null
	}
	return op
}

// Retryable implements Workload: an add is retried (adding an item twice changes nothing).
func (w *Cart) Retryable(op history.Op) bool { return op.F == "add" }

// Final implements Workload: every cart.
func (w *Cart) Final() []history.Op {
	out := make([]history.Op, w.carts)
	for i := range out {
		out[i] = history.Op{Type: history.Invoke, F: "read", Key: w.cart(i), Value: history.Null}
	}
	return out
}

// Checkers implements Workload.
func (w *Cart) Checkers() []checkers.Checker {
	return []checkers.Checker{checkers.CartChecker{}, checkers.Convergence{}, checkers.Conflicts{}}
}
