package server

import (
	"fmt"
	"maps"
	"sort"

	"github.com/crossfire-dev/crossfire/db/regionkv/resolve"
)

// Cart strategies: the rules of package resolve.
const (
	CartLWW   = resolve.CartLWW
	CartMerge = resolve.CartMerge
	CartORSet = resolve.CartORSet
)

// CartStrategies lists the cart strategies by name.
var CartStrategies = resolve.CartRules

// CartSpace is the Entry space of carts.
const CartSpace = "cart"

// CartValue is a cart as lww and merge store it (resolve.CartValue).
type CartValue = resolve.CartValue

// CartOp is an orset cart operation, as replicated.
type CartOp struct {
	Op   string   `json:"op"` // add or remove
	Item string   `json:"item"`
	Tag  string   `json:"tag,omitempty"`  // add: the add's unique tag
	Tags []string `json:"tags,omitempty"` // remove: the tags of the adds it observed
}

// ErrNotInCart is a remove of an item the region does not show: nothing was removed.
var ErrNotInCart = fmt.Errorf("not in cart")

// ResolveCart resolves concurrent cart versions under a strategy (resolve.Cart).
func ResolveCart(strategy string, sibs []Version) (CartValue, error) {
	return resolve.Cart(strategy, sibs)
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
	v := resolve.LWW(sibs)
	if cs.strategy == CartMerge {
		v = resolve.Merge(sibs)
	}
	items := resolve.DecodeCart(v.Value).Items
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
			Local: []Version{{Value: before.Encode(), VV: maps.Clone(c.vv)}}, Incoming: e.Version} // as held before
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
		conflict.Winner = Version{Value: CartValue{Items: c.items()}.Encode(), VV: c.vv}
	}
	return conflict
}
