package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/crossfire-dev/crossfire/db/regionkv/resolve"
)

// CartResult is a cart operation's outcome: the cart's items after it, and the version written
// (or read), with the clock offset the node had when it took the timestamp.
type CartResult struct {
	Items    []string `json:"items"`
	TS       int64    `json:"ts,omitempty"`
	Origin   string   `json:"origin,omitempty"`
	Seq      uint64   `json:"seq,omitempty"`
	VV       VV       `json:"vv,omitempty"`
	OffsetNS int64    `json:"clock_offset_ns"`
	Strategy string   `json:"strategy"`
	Node     string   `json:"node"`
}

// stamp is the timestamp of a write: the client's, when it stamps its requests, else the
// node's clock.
func (n *Node) stamp(clientTS int64) int64 {
	if clientTS > 0 {
		return clientTS
	}
	return n.clock.Now().UnixNano()
}

// CartAdd adds an item to a cart. clientTS, when positive, is the client's own timestamp.
func (n *Node) CartAdd(cart, item string, clientTS int64) CartResult {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cartWriteLocked(cart, item, true, clientTS)
}

// CartRemove removes an item from a cart, or answers ErrNotInCart if this region does not show
// it (nothing is written).
func (n *Node) CartRemove(cart, item string, clientTS int64) (CartResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	items, _ := n.carts.read(cart)
	if !slices.Contains(items, item) {
		return CartResult{Items: items, Node: n.cfg.ID}, ErrNotInCart
	}
	return n.cartWriteLocked(cart, item, false, clientTS), nil
}

func (n *Node) cartWriteLocked(cart, item string, add bool, clientTS int64) CartResult {
	seq := n.streams.ownLen() + 1
	ts := n.stamp(clientTS)
	var e Entry
	if n.cfg.Cart == CartORSet {
		c := n.carts.orCart(cart)
		vv := c.vv.Merge(VV{})
		vv[n.cfg.ID]++
		op := &CartOp{Op: "add", Item: item, Tag: fmt.Sprintf("%s-%d", n.cfg.ID, seq)}
		if !add {
			op = &CartOp{Op: "remove", Item: item, Tags: c.liveTags(item)}
		}
		desc, _ := json.Marshal(op)
		e = Entry{Space: CartSpace, Key: cart, Version: Version{Value: desc, TS: ts, VV: vv}, Cart: op}
	} else {
		items, cur := n.carts.read(cart)
		value := resolve.DecodeCart(cur.Value)
		if add {
			value.Items = resolve.Union(items, []string{item})
		} else {
			value.Items = resolve.Without(items, item)
			value.Removed = resolve.Union(value.Removed, []string{item})
		}
		v := n.carts.versions.next(cart, n.cfg.ID, seq, value.Encode(), ts)
		e = Entry{Space: CartSpace, Key: cart, Version: v}
	}
	e = n.appendOwnLocked(e)
	items, _ := n.carts.read(cart)
	return CartResult{Items: items, TS: e.Version.TS, Origin: n.cfg.ID, Seq: e.Version.Seq, VV: e.Version.VV,
		OffsetNS: int64(n.clock.Offset()), Strategy: n.cfg.Cart, Node: n.cfg.ID}
}

// CartRead returns a cart's items as this region shows them, with the version that stands for
// them (for lww, the winning write).
func (n *Node) CartRead(cart string) CartResult {
	n.mu.Lock()
	defer n.mu.Unlock()
	items, v := n.carts.read(cart)
	return CartResult{Items: items, TS: v.TS, Origin: v.Origin, Seq: v.Seq, VV: v.VV, OffsetNS: int64(n.clock.Offset()), Strategy: n.cfg.Cart, Node: n.cfg.ID}
}

// CartRequest is the body of the cart endpoints.
type CartRequest struct {
	Cart string `json:"cart"`
	Item string `json:"item,omitempty"`
	TS   int64  `json:"ts,omitempty"` // the client's own timestamp, for clients that stamp requests
}

func (n *Node) cartRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /cart/add", func(w http.ResponseWriter, r *http.Request) {
		var req CartRequest
		if !decode(w, r, &req) {
			return
		}
		if req.Cart == "" || req.Item == "" {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "add needs a cart and an item", Definite: true})
			return
		}
		writeJSON(w, http.StatusOK, n.CartAdd(req.Cart, req.Item, req.TS))
	})
	mux.HandleFunc("POST /cart/remove", func(w http.ResponseWriter, r *http.Request) {
		var req CartRequest
		if !decode(w, r, &req) {
			return
		}
		if req.Cart == "" || req.Item == "" {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "remove needs a cart and an item", Definite: true})
			return
		}
		res, err := n.CartRemove(req.Cart, req.Item, req.TS)
		if errors.Is(err, ErrNotInCart) {
			writeJSON(w, http.StatusNotFound, ErrorResponse{Error: err.Error(), Definite: true})
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("POST /cart/read", func(w http.ResponseWriter, r *http.Request) {
		var req CartRequest
		if decode(w, r, &req) {
			writeJSON(w, http.StatusOK, n.CartRead(req.Cart))
		}
	})
}
