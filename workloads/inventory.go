package workloads

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
)

// InventoryName is the flash-sale workload's name.
const InventoryName = "inventory"

// Inventory is a flash sale: a few SKUs restocked with a small number of units, and many buyers
// at every leader at once, each purchase with its own idempotency id, so that demand keeps
// outrunning stock. Restocks trickle in during the sale, so units are always nearly gone and
// regions keep racing for the last ones. A buy whose outcome is unknown is retried, same req, at
// another leader, as a real client would. Its checkers are dedup, oversell and convergence.
//
// Operations (HISTORY.md): restock (value: units, req: an id of its own), buy (value: units,
// req: the idempotency id; ok value: the order id; fail: sold out), read-stock (ok value: units
// the leader sees; meta.ledger, where the store keeps one, the changes its stock row holds),
// read-orders (ok value: the leader's order rows for the SKU).
type Inventory struct {
	skus     int
	initial  int64
	restocks atomic.Int64 // restocks made, for their ids: the random stream stays the buyers'
}

// NewInventory makes the inventory workload; the defaults are 2 SKUs of 10 units each.
func NewInventory(o Options) Workload {
	if o.Keys <= 0 {
		o.Keys = 2
	}
	return &Inventory{skus: o.Keys, initial: 10}
}

// Name implements Workload.
func (w *Inventory) Name() string { return InventoryName }

func (w *Inventory) sku(i int) string { return fmt.Sprintf("s%d", i) }

// Setup implements Workload: restock every SKU.
func (w *Inventory) Setup() []history.Op {
	out := make([]history.Op, w.skus)
	for i := range out {
		out[i] = history.Op{Type: history.Invoke, F: "restock", Key: w.sku(i), Value: history.Value(w.initial), Req: w.restockID()}
	}
	return out
}

// Next implements Workload: mostly buys of one unit; now and then a restock wave of 5 to 15
// units, bringing a little less than buyers want, so that the stock is usually small but there,
// and regions race for the last units; a few stock reads.
func (w *Inventory) Next(r *rand.Rand) history.Op {
	op := history.Op{Type: history.Invoke, Key: w.sku(r.IntN(w.skus))}
	switch x := r.IntN(100); {
	case x < 90:
		op.F, op.Value, op.Req = "buy", history.Value(1), fmt.Sprintf("%016x", r.Uint64())
	case x < 95:
		op.F, op.Value, op.Req = "restock", history.Value(5+r.IntN(11)), w.restockID()
	default:
		op.F, op.Value = "read-stock", history.Null
	}
	return op
}

// restockID names a restock, so that a stock ledger's entry says which restock it is.
func (w *Inventory) restockID() string { return fmt.Sprintf("restock-%d", w.restocks.Add(1)) }

// Retryable implements Workload: buys are retried with their req.
func (w *Inventory) Retryable(op history.Op) bool { return op.F == "buy" }

// Final implements Workload: every SKU's stock and orders.
func (w *Inventory) Final() []history.Op {
	var out []history.Op
	for i := 0; i < w.skus; i++ {
		out = append(out,
			history.Op{Type: history.Invoke, F: "read-stock", Key: w.sku(i), Value: history.Null},
			history.Op{Type: history.Invoke, F: "read-orders", Key: w.sku(i), Value: history.Null})
	}
	return out
}

// Checkers implements Workload.
func (w *Inventory) Checkers() []checkers.Checker {
	return []checkers.Checker{checkers.Dedup{}, checkers.Oversell{}, checkers.Convergence{}}
}

// OrderRow is one order row as a read-orders completion lists it (HISTORY.md): the order id the
// buyer was told, the SKU, the units, the buyer's idempotency id and the leader that took it.
// A database's client fills one per row it reads.
type OrderRow struct {
	Order string `json:"order"`
	SKU   string `json:"sku"`
	Qty   int64  `json:"qty"`
	Req   string `json:"req"`
	Node  string `json:"node"`
}

// LedgerEntry is one change a stock row holds, as a read-stock's meta.ledger lists it
// (HISTORY.md): the leader that made it, the request (a buy's idempotency id, a restock's own),
// and the units, positive for a restock, negative for a sale.
type LedgerEntry struct {
	Node  string `json:"node"`
	Req   string `json:"req"`
	Units int64  `json:"units"`
}

// Units reads the positive number of units a restock or a buy carries as its value.
func Units(op history.Op) (int64, error) {
	var n int64
	if err := json.Unmarshal(op.Value, &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("%s value must be a positive number of units", op.F)
	}
	return n, nil
}
