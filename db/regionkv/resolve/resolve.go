// Package resolve holds the conflict rules that crossfire's own store applies to concurrent
// versions of a key, as plain functions of those versions: last-writer-wins (by timestamp, then
// by origin), the application-level merge of carts (the union of their items) and the add-wins
// observed-remove set. The store resolves with them as it replicates, and `crossfire replay`
// re-resolves a run's logged conflicts with them under another rule, so that what replay
// shows is what the store would have done.
package resolve

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// VV is a version vector: for each node, how many of its updates to the key a version includes.
type VV map[string]uint64

// Covers reports whether a includes every update that b includes (a ≥ b).
func (a VV) Covers(b VV) bool {
	for n, c := range b {
		if a[n] < c {
			return false
		}
	}
	return true
}

// Merge is the least version vector that covers both a and b.
func (a VV) Merge(b VV) VV {
	m := make(VV, len(a)+len(b))
	for n, c := range a {
		m[n] = c
	}
	for n, c := range b {
		if c > m[n] {
			m[n] = c
		}
	}
	return m
}

// Version is one value of a key, with where and when it was written.
type Version struct {
	Value  json.RawMessage `json:"value"`
	TS     int64           `json:"ts"`     // the writer's clock, Unix nanoseconds
	Origin string          `json:"origin"` // the leader that accepted the write
	Seq    uint64          `json:"seq"`    // its position in the origin's stream
	VV     VV              `json:"vv"`
}

// LWWLess orders versions for last-writer-wins: by timestamp, then by origin.
func LWWLess(a, b Version) bool {
	if a.TS != b.TS {
		return a.TS < b.TS
	}
	return a.Origin < b.Origin
}

// LWW is the version last-writer-wins keeps among concurrent siblings (at least one).
func LWW(sibs []Version) Version {
	w := sibs[0]
	for _, s := range sibs[1:] {
		if LWWLess(w, s) {
			w = s
		}
	}
	return w
}

// The rules for carts.
const (
	CartLWW   = "lww"   // the whole cart is one value: the newest timestamp wins
	CartMerge = "merge" // application-level: concurrent carts are merged by the union of their items
	CartORSet = "orset" // an add-wins observed-remove set CRDT
)

// CartRules lists the cart rules by name.
var CartRules = []string{CartLWW, CartMerge, CartORSet}

// CartValue is a cart as lww and merge keep it: its items, and the items its history removed.
// The removals change nothing for lww and merge (which is how merge brings removed items back);
// they let a replay under orset tell a removed item from a concurrently added one.
type CartValue struct {
	Items   []string `json:"items"`
	Removed []string `json:"removed,omitempty"`
}

// DecodeCart reads a cart version's value; an empty or unreadable one is the empty cart.
func DecodeCart(raw json.RawMessage) CartValue {
	var c CartValue
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &c)
	}
	return c
}

// Encode is the cart as a version's value, its lists sorted.
func (c CartValue) Encode() json.RawMessage {
	sort.Strings(c.Items)
	sort.Strings(c.Removed)
	if c.Items == nil {
		c.Items = []string{}
	}
	b, _ := json.Marshal(c)
	return b
}

// Union is the sorted union of two lists of names.
func Union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// Without is a list less every s.
func Without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// Merge is the merge rule: the union of every sibling's items (and removals), stamped as the
// last-writer-wins sibling, with a version vector that covers them all.
func Merge(sibs []Version) Version {
	w := LWW(sibs)
	var c CartValue
	vv := VV{}
	for _, s := range sibs {
		sc := DecodeCart(s.Value)
		c.Items = Union(c.Items, sc.Items)
		c.Removed = Union(c.Removed, sc.Removed)
		vv = vv.Merge(s.VV)
	}
	w.Value, w.VV = c.Encode(), vv
	return w
}

// Cart resolves concurrent cart versions under a rule: lww and merge as the store does, orset
// as an add-wins set would (the union of the items, less every item either side removed: with
// items added once each, a removal always observed the add it undoes).
func Cart(rule string, sibs []Version) (CartValue, error) {
	if !slices.Contains(CartRules, rule) {
		return CartValue{}, fmt.Errorf("unknown cart strategy %q (valid: %v)", rule, CartRules)
	}
	if len(sibs) == 0 {
		return CartValue{Items: []string{}}, nil
	}
	switch rule {
	case CartLWW:
		return DecodeCart(LWW(sibs).Value), nil
	case CartMerge:
		return DecodeCart(Merge(sibs).Value), nil
	}
	var c CartValue
	for _, s := range sibs {
		sc := DecodeCart(s.Value)
		c.Items = Union(c.Items, sc.Items)
		c.Removed = Union(c.Removed, sc.Removed)
	}
	for _, r := range c.Removed {
		c.Items = Without(c.Items, r)
	}
	sort.Strings(c.Items)
	return c, nil
}
