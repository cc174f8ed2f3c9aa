package workloads

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

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
	carts   int
	timeout time.Duration
	client  *http.Client

	mu    sync.Mutex
	added map[string][]string // cart -> items whose add was invoked, most recent last
}

// NewCart makes the cart workload; the defaults are 2 carts and a 1s timeout.
func NewCart(o Options) Workload {
	if o.Keys <= 0 {
		o.Keys = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	return &Cart{carts: o.Keys, timeout: o.Timeout, client: newClient(), added: map[string][]string{}}
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

// Invoke implements Workload.
func (w *Cart) Invoke(ctx context.Context, ep Endpoint, op history.Op) history.Op {
	body := map[string]any{"cart": op.Key}
	if op.F != "read" {
		var item string
		if json.Unmarshal(op.Value, &item) != nil || item == "" {
			return complete(op, history.Fail, nil, op.F+" value must be an item")
		}
		body["item"] = item
		if ts := op.MetaInt("client_ts"); ts > 0 {
			body["ts"] = ts
		}
	}
	switch op.F {
	case "add", "remove", "read":
	default:
		return complete(op, history.Fail, nil, "unknown cart op "+op.F)
	}
	var resp struct {
		Items    []string          `json:"items"`
		TS       int64             `json:"ts"`
		Origin   string            `json:"origin"`
		Seq      uint64            `json:"seq"`
		VV       map[string]uint64 `json:"vv"`
		OffsetNS int64             `json:"clock_offset_ns"`
		Strategy string            `json:"strategy"`
		Node     string            `json:"node"`
	}
	out := post(ctx, w.client, w.timeout, ep.URL+"/cart/"+op.F, body, &resp)
	switch {
	case out.ok:
		var v json.RawMessage
		if op.F == "read" {
			if resp.Items == nil {
				resp.Items = []string{}
			}
			v = history.Value(resp.Items)
		}
		done := complete(op, history.OK, v, "")
		done.SetMeta("ts", resp.TS, "origin", resp.Origin, "seq", resp.Seq, "vv", resp.VV, "clock_offset_ns", resp.OffsetNS, "strategy", resp.Strategy, "served_by", resp.Node)
		return done
	}
	return unanswered(op, out, op.F == "read")
}
