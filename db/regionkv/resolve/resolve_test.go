package resolve

import (
	"encoding/json"
	"reflect"
	"testing"
)

func cart(items, removed []string, ts int64, origin string, vv VV) Version {
	return Version{Value: CartValue{Items: items, Removed: removed}.Encode(), TS: ts, Origin: origin, VV: vv}
}

// The rules, each on the same two concurrent carts: n1 removed x and added y; n2, concurrently
// and later by its clock, still holds x and added z.
func TestCartRules(t *testing.T) {
	sibs := []Version{
		cart([]string{"y"}, []string{"x"}, 10, "n1", VV{"n1": 2}),
		cart([]string{"x", "z"}, nil, 20, "n2", VV{"n1": 1, "n2": 1}),
	}
	for _, c := range []struct {
		rule string
		want []string
	}{
		{CartLWW, []string{"x", "z"}},        // n2's later cart replaces n1's: y is lost
		{CartMerge, []string{"x", "y", "z"}}, // the union: the removed x comes back
		{CartORSet, []string{"y", "z"}},      // add-wins: x stays removed, nothing is lost
	} {
		got, err := Cart(c.rule, sibs)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Items, c.want) {
			t.Errorf("%s: %v, want %v", c.rule, got.Items, c.want)
		}
	}
	if _, err := Cart("magic", sibs); err == nil {
		t.Error("an unknown rule resolved")
	}
	if got, err := Cart(CartMerge, nil); err != nil || len(got.Items) != 0 {
		t.Errorf("no versions: %v, %v", got, err)
	}
}

func TestLWWTiesGoToTheGreaterOrigin(t *testing.T) {
	a := Version{Value: json.RawMessage(`1`), TS: 5, Origin: "n1"}
	b := Version{Value: json.RawMessage(`2`), TS: 5, Origin: "n3"}
	if w := LWW([]Version{b, a}); w.Origin != "n3" {
		t.Errorf("tie won by %s", w.Origin)
	}
	if w := LWW([]Version{a, {TS: 6, Origin: "n0"}}); w.Origin != "n0" {
		t.Errorf("the later timestamp lost to %s", w.Origin)
	}
}

func TestMergeCoversEveryVersion(t *testing.T) {
	m := Merge([]Version{
		cart([]string{"a"}, nil, 1, "n1", VV{"n1": 3}),
		cart([]string{"b"}, nil, 2, "n2", VV{"n1": 1, "n2": 4}),
	})
	if !m.VV.Covers(VV{"n1": 3, "n2": 4}) || m.Origin != "n2" {
		t.Errorf("merged version %+v", m)
	}
	if VV(map[string]uint64{"n1": 1}).Covers(VV{"n2": 1}) {
		t.Error("a vector covered an update it does not count")
	}
}
