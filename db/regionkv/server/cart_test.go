package server

import (
	"reflect"
	"testing"
)

func TestCartStrategies(t *testing.T) {
	dir := t.TempDir()
	node := func(id, strategy string) *Node {
		n, err := Open(Config{ID: id, DataDir: dir + "/" + strategy + "/" + id, Cart: strategy})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	// Both leaders hold {x}; partitioned, n1 removes x and n2 adds y; then they exchange.
	want := map[string][]string{
		CartLWW:   {"x", "y"}, // n2's cart, stamped later, wins whole: x comes back, nothing merges
		CartMerge: {"x", "y"}, // the union brings the removed x back
		CartORSet: {"y"},      // the remove had seen x's add; y's add is new
	}
	for strategy, items := range want {
		t.Run(strategy, func(t *testing.T) {
			a, b := node("n1", strategy), node("n2", strategy)
			a.CartAdd("c", "x", 0)
			exchange(a, b)
			if _, err := a.CartRemove("c", "x", 0); err != nil {
				t.Fatal(err)
			}
			b.CartAdd("c", "y", 0)
			exchange(a, b)
			for _, n := range []*Node{a, b} {
				if got := n.CartRead("c").Items; !reflect.DeepEqual(got, items) {
					t.Fatalf("%s shows %v, want %v", n.cfg.ID, got, items)
				}
			}
			if len(readConflicts(t, a)) == 0 || len(readConflicts(t, b)) == 0 {
				t.Fatal("the concurrent writes were resolved without a conflict record")
			}
			if _, err := a.CartRemove("c", "nothing", 0); err != ErrNotInCart {
				t.Fatalf("removing an absent item: %v", err)
			}
		})
	}
}

func TestResolveCart(t *testing.T) {
	v1 := Version{Value: CartValue{Items: []string{"a", "x"}}.Encode(), TS: 2, Origin: "n1"}
	v2 := Version{Value: CartValue{Items: []string{"a"}, Removed: []string{"x"}}.Encode(), TS: 1, Origin: "n2"}
	for strategy, want := range map[string][]string{CartLWW: {"a", "x"}, CartMerge: {"a", "x"}, CartORSet: {"a"}} {
		got, err := ResolveCart(strategy, []Version{v1, v2})
		if err != nil || !reflect.DeepEqual(got.Items, want) {
			t.Errorf("%s: %v (%v), want %v", strategy, got.Items, err, want)
		}
	}
	if _, err := ResolveCart("magic", nil); err == nil {
		t.Error("an unknown strategy resolved")
	}
	if c, err := ResolveCart(CartLWW, nil); err != nil || len(c.Items) != 0 {
		t.Errorf("no versions: %v %v", c, err)
	}
}
