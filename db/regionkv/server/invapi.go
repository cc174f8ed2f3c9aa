package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ErrSoldOut is a buy that sold nothing.
var ErrSoldOut = errors.New("sold out")

// Restock adds units of a SKU at this region and returns the stock it now sees.
func (n *Node) Restock(sku string, units int64) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.appendOwnLocked(Entry{Key: sku, Inv: &InvOp{Kind: KindRestock, SKU: sku, Units: units}})
	return n.inv.units(sku)
}

// Stock is the units of a SKU this region sees.
func (n *Node) Stock(sku string) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.inv.units(sku)
}

// Orders lists the order rows this region shows for a SKU ("" for all).
func (n *Node) Orders(sku string) []Order {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.inv.orderRows(sku)
}

// Buy sells qty units of a SKU to the buyer whose idempotency id is req: one step that decrements
// the stock and creates the order row. A req this region already knows an order for is answered
// with that order and sells nothing more (within this region for naive, across regions for
// dedup). Under escrow a region without enough rights first borrows them from a peer.
func (n *Node) Buy(ctx context.Context, sku string, qty int64, req string) (Order, error) {
	if qty <= 0 {
		return Order{}, errorf("qty must be positive, not %d", qty)
	}
	if n.cfg.Orders == Queue && n.cfg.Leader != n.cfg.ID {
		return n.buyThroughWriter(ctx, sku, qty, req)
	}
	for attempt := 0; ; attempt++ {
		n.mu.Lock()
		if o, ok := n.inv.existing(req); ok {
			n.mu.Unlock()
			return o, nil
		}
		if n.inv.available(sku) >= qty {
			o := n.saleLocked(sku, qty, req)
			n.mu.Unlock()
			return o, nil
		}
		n.mu.Unlock()
		if n.cfg.Stock != Escrow || attempt > 0 || !n.borrowRights(ctx, sku, qty) {
			return Order{}, ErrSoldOut
		}
	}
}

// saleLocked sells at this region: the order row and the decrement, in one entry. n.mu must be
// held.
func (n *Node) saleLocked(sku string, qty int64, req string) Order {
	seq := n.streams.ownLen() + 1
	o := Order{Order: fmt.Sprintf("%s-%d", n.cfg.ID, seq), SKU: sku, Qty: qty, Req: req,
		Node: n.cfg.ID, TS: n.clock.Now().UnixNano()}
	n.appendOwnLocked(Entry{Key: sku, Version: Version{TS: o.TS}, Inv: &InvOp{Kind: KindSale, SKU: sku, Units: qty, Order: &o}})
	return o
}

// ErrNotAnswered is a purchase handed to the writer that the writer's answer did not reach in
// time: it stays queued and may still be sold.
var ErrNotAnswered = errors.New("the writer's answer did not come back in time")

// buyThroughWriter hands a purchase to the writer as a request entry of this region's stream
// (durable before anything else happens; replication delivers it, at least once, whenever the
// link allows), then waits until the writer's order for the req, or its refusal of this
// request, has replicated back.
func (n *Node) buyThroughWriter(ctx context.Context, sku string, qty int64, req string) (Order, error) {
	n.mu.Lock()
	if o, ok := n.inv.existing(req); ok {
		n.mu.Unlock()
		return o, nil
	}
	e := n.appendOwnLocked(Entry{Key: sku, Inv: &InvOp{Kind: KindRequest, SKU: sku, Units: qty, Req: req}})
	n.mu.Unlock()
	id := requestID(n.cfg.ID, e.Version.Seq)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second) // a client gone quiet is not waited for
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		n.mu.Lock()
		o, sold := n.inv.existing(req)
		refused := n.inv.refused[id]
		n.mu.Unlock()
		switch {
		case sold:
			return o, nil
		case refused:
			return Order{}, ErrSoldOut
		}
		select {
		case <-ctx.Done():
			return Order{}, ErrNotAnswered
		case <-tick.C:
		}
	}
}

// RightsRequest asks a peer for escrow rights.
type RightsRequest struct {
	SKU  string `json:"sku"`
	To   string `json:"to"`
	Want int64  `json:"want"`
}

// RightsResponse says how many rights a peer gave, and the entry of its stream that moves them.
type RightsResponse struct {
	Given int64  `json:"given"`
	Seq   uint64 `json:"seq"`
}

// GiveRights moves up to half of this region's rights for a SKU (at least want, if it has them)
// to another region, as an entry of its own stream: the rights leave here at once and arrive
// there when the entry does, so they are never in two places.
func (n *Node) GiveRights(r RightsRequest) RightsResponse {
	n.mu.Lock()
	defer n.mu.Unlock()
	have := n.inv.rights(r.SKU, n.cfg.ID)
	if have <= 0 || r.To == n.cfg.ID || r.Want <= 0 {
		return RightsResponse{}
	}
	give := min(max(r.Want, (have+1)/2), have)
	e := n.appendOwnLocked(Entry{Key: r.SKU, Inv: &InvOp{Kind: KindTransfer, SKU: r.SKU, Units: give, To: r.To}})
	return RightsResponse{Given: give, Seq: e.Version.Seq}
}

// borrowRights asks each peer in turn for rights and waits, within a bound, for the transfer to
// arrive through replication. It reports whether any did.
func (n *Node) borrowRights(ctx context.Context, sku string, want int64) bool {
	for _, peer := range sortedKeys(n.cfg.Peers) {
		body, _ := json.Marshal(RightsRequest{SKU: sku, To: n.cfg.ID, Want: want})
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		req, err := http.NewRequestWithContext(rctx, http.MethodPost, n.cfg.Peers[peer]+"/inventory/rights", bytes.NewReader(body))
		if err != nil {
			cancel()
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		var rr RightsResponse
		resp, err := n.client.Do(req)
		if err == nil {
			if resp.StatusCode == http.StatusOK {
				err = json.NewDecoder(resp.Body).Decode(&rr)
			}
			resp.Body.Close()
		}
		cancel()
		if err != nil || rr.Given <= 0 {
			continue
		}
		deadline := time.Now().Add(500 * time.Millisecond)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			n.streams.mu.Lock()
			arrived := n.streams.applied[peer] >= rr.Seq
			n.streams.mu.Unlock()
			if arrived {
				return true
			}
			time.Sleep(2 * time.Millisecond)
		}
		return false // given, but still in flight: sold out for now, the rights stay safe
	}
	return false
}

// Inventory request and response bodies.
type (
	// RestockRequest adds stock.
	RestockRequest struct {
		SKU   string `json:"sku"`
		Units int64  `json:"units"`
	}
	// BuyRequest buys.
	BuyRequest struct {
		SKU string `json:"sku"`
		Qty int64  `json:"qty"`
		Req string `json:"req"`
	}
	// BuyResponse is a sale: the order id the buyer is told.
	BuyResponse struct {
		Order string `json:"order"`
		Node  string `json:"node"`
	}
	// SKURequest names a SKU, for stock and orders.
	SKURequest struct {
		SKU string `json:"sku"`
	}
	// StockResponse is the stock a region sees.
	StockResponse struct {
		Units int64  `json:"units"`
		Node  string `json:"node"`
	}
	// OrdersResponse is the order rows a region shows.
	OrdersResponse struct {
		Orders []Order `json:"orders"`
		Node   string  `json:"node"`
	}
	// FaultsRequest switches the store's own faults on and off.
	FaultsRequest struct {
		DuplicateReplication bool `json:"duplicate_replication"`
	}
)

// decode reads a JSON body into v, answering 400 itself when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "bad request: " + err.Error(), Definite: true})
		return false
	}
	return true
}

func (n *Node) inventoryRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /inventory/restock", func(w http.ResponseWriter, r *http.Request) {
		var req RestockRequest
		if !decode(w, r, &req) {
			return
		}
		if req.SKU == "" || req.Units <= 0 {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "restock needs a sku and positive units", Definite: true})
			return
		}
		writeJSON(w, http.StatusOK, StockResponse{Units: n.Restock(req.SKU, req.Units), Node: n.cfg.ID})
	})
	mux.HandleFunc("POST /inventory/buy", func(w http.ResponseWriter, r *http.Request) {
		var req BuyRequest
		if !decode(w, r, &req) {
			return
		}
		if req.SKU == "" || req.Req == "" {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "buy needs a sku and a req", Definite: true})
			return
		}
		o, err := n.Buy(r.Context(), req.SKU, req.Qty, req.Req)
		switch {
		case errors.Is(err, ErrSoldOut):
			writeJSON(w, http.StatusConflict, ErrorResponse{Error: err.Error(), Definite: true})
		case errors.Is(err, ErrNotAnswered):
			writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: err.Error(), Definite: false})
		case err != nil:
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: err.Error(), Definite: true})
		default:
			writeJSON(w, http.StatusOK, BuyResponse{Order: o.Order, Node: n.cfg.ID})
		}
	})
	mux.HandleFunc("POST /inventory/stock", func(w http.ResponseWriter, r *http.Request) {
		var req SKURequest
		if decode(w, r, &req) {
			writeJSON(w, http.StatusOK, StockResponse{Units: n.Stock(req.SKU), Node: n.cfg.ID})
		}
	})
	mux.HandleFunc("POST /inventory/orders", func(w http.ResponseWriter, r *http.Request) {
		var req SKURequest
		if decode(w, r, &req) {
			writeJSON(w, http.StatusOK, OrdersResponse{Orders: n.Orders(req.SKU), Node: n.cfg.ID})
		}
	})
	mux.HandleFunc("POST /inventory/rights", func(w http.ResponseWriter, r *http.Request) {
		var req RightsRequest
		if decode(w, r, &req) {
			writeJSON(w, http.StatusOK, n.GiveRights(req))
		}
	})
	mux.HandleFunc("POST /admin/faults", func(w http.ResponseWriter, r *http.Request) {
		var req FaultsRequest
		if !decode(w, r, &req) {
			return
		}
		n.duplicate.Store(req.DuplicateReplication)
		n.log.Printf("faults: duplicate replication %v", req.DuplicateReplication)
		writeJSON(w, http.StatusOK, req)
	})
}
