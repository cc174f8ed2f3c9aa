package server

import (
	"encoding/json"
	"fmt"
	"maps"
	"sort"
)

// Cart strategies.
const (
	CartLWW   = "lww"   // the whole cart is one value: the newest timestamp wins
	CartMerge = "merge" // application-level: concurrent carts are merged by the union of their items
	CartORSet = "orset" // an add-wins observed-remove set CRDT
)

// CartStrategies lists the cart strategies by name.
var CartStrategies = []string{CartLWW, CartMerge, CartORSet}

// CartSpace is the Entry space of carts.
const CartSpace = "cart"

// CartValue is a cart as lww and merge store it: its items, and the items its history removed.
// The removals change nothing for lww and merge (which is how merge brings removed items back);
// they let a replay under orset tell a removed item from a concurrently added one.
type CartValue struct {
	Items   []string `json:"items"`
	Removed []string `json:"removed,omitempty"`
}

// CartOp is an orset cart operation, as replicated.
type CartOp struct {
	Op   string   `json:"op"` // add or remove
	Item string   `json:"item"`
	Tag  string   `json:"tag,omitempty"`  // add: the add's unique tag
	Tags []string `json:"tags,omitempty"` // remove: the tags of the adds it observed
}

// ErrNotInCart is a remove of an item the region does not show: nothing was removed.
var ErrNotInCart = fmt.Errorf("not in cart")

func decodeCart(raw json.RawMessage) CartValue {
	var c CartValue
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &c)
	}
	return c
}

func (c CartValue) encode() json.RawMessage {
	sort.Strings(c.Items)
	sort.Strings(c.Removed)
	if c.Items == nil {
		c.Items = []string{}
	}
	b, _ := json.Marshal(c)
	return b
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		if !has(out, x) {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// resolveMerge is the merge strategy: the union of every sibling's items (and removals).
func resolveMerge(sibs []Version) Version {
	w := resolveLWW(sibs) // its timestamp and origin stand for the merged cart
	var c CartValue
	for _, s := range sibs {
		sc := decodeCart(s.Value)
		c.Items = union(c.Items, sc.Items)
		c.Removed = union(c.Removed, sc.Removed)
	}
	w.Value = c.encode()
	vv := VV{}
	for _, s := range sibs {
		vv = vv.Merge(s.VV)
	}
	w.VV = vv
	return w
}

// ResolveCart resolves concurrent cart versions under a strategy, as the store does (lww,
// merge) or as an add-wins set would (orset: the union of the items, less every item either
// side removed: with items added once each, a removal always observed the add it undoes).
func ResolveCart(strategy string, sibs []Version) (CartValue, error) {
	if !contains(CartStrategies, strategy) {
		return CartValue{}, fmt.Errorf("unknown cart strategy %q (valid: %v)", strategy, CartStrategies)
	}
	if len(sibs) == 0 {
		return CartValue{Items: []string{}}, nil
	}
	switch strategy {
	case CartLWW:
		return decodeCart(resolveLWW(sibs).Value), nil
	case CartMerge:
		return decodeCart(resolveMerge(sibs).Value), nil
	case CartORSet:
		var c CartValue
		for _, s := range sibs {
			sc := decodeCart(s.Value)
			c.Items = union(c.Items, sc.Items)
			c.Removed = union(c.Removed, sc.Removed)
		}
		for _, r := range c.Removed {
			c.Items = without(c.Items, r)
		}
		sort.Strings(c.Items)
		return c, nil
	}
	return CartValue{}, fmt.Errorf("unknown cart strategy %q (valid: %v)", strategy, CartStrategies)
}

// orCart is one cart under orset: every add's tag, the tags removed, and a version vector that
// counts, per origin, the operations of that origin applied here. It counts only what was
// applied: streams are not delivered in causal order across origins, so an operation's own
// context (the vector it was made with) may name operations this node has not received yet.
type orCart struct {
	adds    map[string]map[string]bool // item -> tags of its adds
	removed map[string]bool            // tags removed
	vv      VV
}

func (c *orCart) items() []string {
	out := []string{}
	for item, tags := range c.adds {
		for t := range tags {
			if !c.removed[t] {
				out = append(out, item)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func (c *orCart) liveTags(item string) []string {
	var out []string
	for t := range c.adds[item] {
		if !c.removed[t] {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// carts holds every cart. It is not safe for concurrent use; Node locks it.
type carts struct {
	strategy string
	versions *registers         // lww and merge: each cart's siblings
	or       map[string]*orCart // orset
}

func newCarts(strategy string) *carts {
	return &carts{strategy: strategy, versions: newRegisters(), or: map[string]*orCart{}}
}

func (cs *carts) orCart(id string) *orCart {
	c := cs.or[id]
	if c == nil {
		c = &orCart{adds: map[string]map[string]bool{}, removed: map[string]bool{}, vv: VV{}}
		cs.or[id] = c
	}
	return c
}

// read returns a cart's items and the version that stands for it.
func (cs *carts) read(id string) ([]string, Version) {
	if cs.strategy == CartORSet {
		c := cs.orCart(id)
		return c.items(), Version{VV: c.vv}
	}
	sibs := cs.versions.keys[id]
	if len(sibs) == 0 {
		return []string{}, Version{}
	}
	v := resolveLWW(sibs)
	if cs.strategy == CartMerge {
		v = resolveMerge(sibs)
	}
	items := decodeCart(v.Value).Items
	if items == nil {
		items = []string{}
	}
	return items, v
}

// apply applies a cart entry and returns the conflict it revealed, if any.
func (cs *carts) apply(node string, e Entry) *Conflict {
	if e.Cart == nil {
		concurrent, ok := cs.versions.apply(e.Key, e.Version)
		if !ok || len(concurrent) == 0 {
			return nil
		}
		_, winner := cs.read(e.Key)
		return &Conflict{Node: node, Key: CartSpace + ":" + e.Key, Strategy: cs.strategy, Local: concurrent, Incoming: e.Version, Winner: winner}
	}
	c := cs.orCart(e.Key)
	var conflict *Conflict
	// Concurrent: this node has applied operations the incoming one's maker had not seen.
	if !e.Version.VV.Covers(c.vv) {
		before := CartValue{Items: c.items()}
		conflict = &Conflict{Node: node, Key: CartSpace + ":" + e.Key, Strategy: CartORSet,
			Local: []Version{{Value: before.encode(), VV: maps.Clone(c.vv)}}, Incoming: e.Version} // as held before
	}
	switch e.Cart.Op {
	case "add":
		if c.adds[e.Cart.Item] == nil {
			c.adds[e.Cart.Item] = map[string]bool{}
		}
		c.adds[e.Cart.Item][e.Cart.Tag] = true
	case "remove":
		for _, t := range e.Cart.Tags {
			c.removed[t] = true
		}
	}
	if dot := e.Version.VV[e.Version.Origin]; dot > c.vv[e.Version.Origin] {
		c.vv[e.Version.Origin] = dot
	}
	if conflict != nil {
		conflict.Winner = Version{Value: CartValue{Items: c.items()}.encode(), VV: c.vv}
	}
	return conflict
}
