package workloads

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"crossfire/checkers"
	"crossfire/history"
)

// CartName is the cart workload's name.
const CartName = "cart"

// Cart has several shoppers per cart, on different leaders (two devices, or two regions),
// adding items and removing ones recently added, and reading. Every added item is new (an item's
// identity is its add), so a missing item is a lost add and a returning one is a resurrection.
// An add whose outcome is unknown is retried at another leader. Its checkers are cart and
// convergence, and conflicts (given the run's conflict logs).
//
// Operations (HISTORY.md): add (key: cart, value: item), remove (key: cart, value: item; fail:
// the leader does not show the item), read (ok value: the items the leader shows). Completions
// carry the version written or read in meta: ts, origin, seq, vv, and the leader's clock offset.
type Cart struct {
	carts int

	mu    sync.Mutex
	added map[string][]string // cart -> items whose add was invoked, most recent last
}

// NewCart makes the cart workload; the default is 2 carts.
func NewCart(o Options) Workload {
	if o.Keys <= 0 {
		o.Keys = 2
	}
	return &Cart{carts: o.Keys, added: map[string][]string{}}
}

// Name implements Workload.
func (w *Cart) Name() string { return CartName }

// Setup implements Workload: carts start empty.
func (w *Cart) Setup() []history.Op { return nil }

func (w *Cart) cart(i int) string { return fmt.Sprintf("c%d", i) }

// Next implements Workload: adds, removes of one of the ten items added last, reads.
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
	switch {
	case x < 30 && len(recent) > 0:
		op.F, op.Value = "remove", history.Value(recent[r.IntN(len(recent))])
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
