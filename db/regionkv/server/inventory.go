package server

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Stock and order strategies.
const (
	PNCounter = "pncounter" // a PN-counter CRDT: converges, and can sell more than there is
	Escrow    = "escrow"    // a bounded counter: a region sells only the rights it holds
	Naive     = "naive"     // an order row per sale; retries deduplicated only within a region
	Dedup     = "dedup"     // order rows keyed by the idempotency id across all regions
	// Queue is one writer: every region hands its purchases to the writer (Config.Leader) as
	// request entries of its own replicated stream, a durable queue that survives partitions
	// and restarts; the writer alone sells, deduplicating by idempotency id, and answers each
	// request with its order or a refusal, which replicate back.
	Queue = "queue"
)

// StockStrategies and OrderStrategies list the inventory strategies by name.
var (
	StockStrategies = []string{PNCounter, Escrow}
	OrderStrategies = []string{Naive, Dedup, Queue}
)

// Inventory entry kinds.
const (
	KindRestock  = "restock"
	KindSale     = "sale"
	KindTransfer = "transfer"
	KindRefund   = "refund"
	KindRequest  = "request" // queue: a purchase handed to the writer
	KindRefusal  = "refusal" // queue: the writer's answer to a request it could not fill
)

// Order is an order row, as read-orders returns it.
type Order struct {
	Order string `json:"order"` // the order id the buyer was told: <node>-<seq>
	SKU   string `json:"sku"`
	Qty   int64  `json:"qty"`
	Req   string `json:"req"`  // the buyer's idempotency id
	Node  string `json:"node"` // the leader that took it
	TS    int64  `json:"ts"`
}

// InvOp is the payload of an inventory entry.
type InvOp struct {
	Kind  string `json:"kind"`
	SKU   string `json:"sku"`
	Units int64  `json:"units,omitempty"`
	To    string `json:"to,omitempty"`    // transfer: the region that receives the rights
	Order *Order `json:"order,omitempty"` // sale: the new order; refund: the order refunded
	// Req is a request's idempotency id; Request names the request a refusal answers
	// (<origin>-<seq>).
	Req     string `json:"req,omitempty"`
	Request string `json:"request,omitempty"`
}

// pendingRequest is a purchase request the writer has not answered yet.
type pendingRequest struct {
	id  string // <origin>-<seq>
	sku string
	qty int64
	req string
}

// skuState is one SKU's counters, each split by the region that made the change, so that every
// region's own part is known exactly where it is made and merges by addition elsewhere.
type skuState struct {
	restocked map[string]int64    // units added, by region
	sold      map[string]int64    // units sold, less refunds, by region
	moved     map[[2]string]int64 // escrow rights moved, by [from, to]
}

// inventory holds stock and orders. It is not safe for concurrent use; Node locks it.
type inventory struct {
	self          string
	stock, orders string
	skus          map[string]*skuState
	rows          map[string]Order // naive: every order row, by order id
	local         map[string]string
	winners       map[string]Order // dedup: the order that stands for each req
	lost          map[string]Order // dedup: this region's orders that lost to another region's
	refunded      map[string]bool  // this region's orders already refunded
	// queue: the requests the writer has yet to answer (at the writer), in arrival order, and
	// the requests refused (everywhere)
	writer   string
	requests []pendingRequest
	refused  map[string]bool
}

func newInventory(self, stock, orders string) *inventory {
	return &inventory{self: self, stock: stock, orders: orders, skus: map[string]*skuState{},
		rows: map[string]Order{}, local: map[string]string{}, winners: map[string]Order{},
		lost: map[string]Order{}, refunded: map[string]bool{}, refused: map[string]bool{}}
}

func (in *inventory) sku(name string) *skuState {
	s := in.skus[name]
	if s == nil {
		s = &skuState{restocked: map[string]int64{}, sold: map[string]int64{}, moved: map[[2]string]int64{}}
		in.skus[name] = s
	}
	return s
}

// units is the stock a region sees: everything restocked less everything sold.
func (in *inventory) units(sku string) int64 {
	s := in.sku(sku)
	var n int64
	for _, v := range s.restocked {
		n += v
	}
	for _, v := range s.sold {
		n -= v
	}
	return n
}

// rights is what region node may sell under escrow. A region knows its own restocks, sales and
// outgoing transfers exactly; incoming transfers count once they arrive, so its view of its own
// rights is never more than the truth, and the sum over regions never exceeds the stock.
func (in *inventory) rights(sku, node string) int64 {
	s := in.sku(sku)
	r := s.restocked[node] - s.sold[node]
	for k, v := range s.moved {
		if k[1] == node {
			r += v
		}
		if k[0] == node {
			r -= v
		}
	}
	return r
}

// available is how many units this region may sell now.
func (in *inventory) available(sku string) int64 {
	if in.stock == Escrow {
		return in.rights(sku, in.self)
	}
	return in.units(sku)
}

// existing returns the order a retry of req should be answered with, if there is one.
func (in *inventory) existing(req string) (Order, bool) {
	if in.orders == Dedup {
		o, ok := in.winners[req]
		return o, ok
	}
	id, ok := in.local[req]
	if !ok {
		return Order{}, false
	}
	return in.rows[id], true
}

// beats decides between two orders for one req: the earlier timestamp stands, then the smaller
// order id. Every region decides the same way, whatever order the orders arrive in.
func beats(a, b Order) bool {
	if a.TS != b.TS {
		return a.TS < b.TS
	}
	return a.Order < b.Order
}

// orderConflict is a dedup conflict found while applying a sale.
type orderConflict struct {
	held, incoming, winner Order
}

// requestID names a purchase request by the entry that carries it.
func requestID(origin string, seq uint64) string { return fmt.Sprintf("%s-%d", origin, seq) }

// takeRequests returns the requests waiting for the writer, and forgets them.
func (in *inventory) takeRequests() []pendingRequest {
	out := in.requests
	in.requests = nil
	return out
}

// apply applies one inventory entry from origin (seq is its place in origin's stream). It
// returns the dedup conflict it revealed, if any; a losing order of this region is added to
// lost, for the node to refund.
func (in *inventory) apply(origin string, seq uint64, op *InvOp) *orderConflict {
	s := in.sku(op.SKU)
	switch op.Kind {
	case KindRestock:
		s.restocked[origin] += op.Units
	case KindTransfer:
		s.moved[[2]string{origin, op.To}] += op.Units
	case KindRefund:
		s.sold[origin] -= op.Order.Qty
		if origin == in.self {
			in.refunded[op.Order.Order] = true
			delete(in.lost, op.Order.Order)
		}
	case KindRequest:
		if in.self == in.writer {
			in.requests = append(in.requests, pendingRequest{id: requestID(origin, seq), sku: op.SKU, qty: op.Units, req: op.Req})
		}
	case KindRefusal:
		in.refused[op.Request] = true
	case KindSale:
		o := *op.Order
		s.sold[origin] += o.Qty
		if in.orders != Dedup {
			in.rows[o.Order] = o
			if origin == in.self || in.orders == Queue { // with one writer, its orders are everyone's
				in.local[o.Req] = o.Order
			}
			return nil
		}
		held, ok := in.winners[o.Req]
		if !ok {
			in.winners[o.Req] = o
			return nil
		}
		if held.Order == o.Order {
			return nil
		}
		winner, loser := held, o
		if beats(o, held) {
			winner, loser = o, held
		}
		in.winners[o.Req] = winner
		if loser.Node == in.self && !in.refunded[loser.Order] {
			in.lost[loser.Order] = loser
		}
		return &orderConflict{held: held, incoming: o, winner: winner}
	}
	return nil
}

// orderRows lists the order rows a region shows for a SKU ("" for every SKU), by order id.
func (in *inventory) orderRows(sku string) []Order {
	out := []Order{}
	src := in.rows
	if in.orders == Dedup {
		src = in.winners
	}
	for _, o := range src {
		if sku == "" || o.SKU == sku {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out
}

// pendingRefunds lists this region's lost orders not yet refunded, by order id.
func (in *inventory) pendingRefunds() []Order {
	var out []Order
	for _, o := range in.lost {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out
}

// orderVersion shows an order as a version, for the conflict log.
func orderVersion(o Order) Version {
	v, _ := json.Marshal(o)
	return Version{Value: v, TS: o.TS, Origin: o.Node}
}
