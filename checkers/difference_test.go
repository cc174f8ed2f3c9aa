package checkers

import (
	"encoding/json"
	"testing"
)

func TestDifferencesSayWhatDiffers(t *testing.T) {
	g := func(v string, leaders ...string) valueGroup { return valueGroup{leaders, json.RawMessage(v)} }
	for _, c := range []struct {
		name   string
		groups []valueGroup
		want   string
	}{
		{"carts", []valueGroup{g(`["a","b","c"]`, "n1"), g(`["a","d"]`, "n3", "n2")},
			"b, c only at n1; d only at n2,n3"},
		{"an item twice", []valueGroup{g(`["a","a"]`, "n1"), g(`["a"]`, "n2")},
			"a held 2 at n1, 1 at n2"},
		{"many items", []valueGroup{g(`[1,2,3,4,5,6,7,8,9,10]`, "n1"), g(`[]`, "n2")},
			"1, 10, 2, 3, 4, 5, 6, 7 and 2 more only at n1"},
		{"objects", []valueGroup{g(`{"units":4,"sku":"s"}`, "n1"), g(`{"units":5,"sku":"s","x":1}`, "n2")},
			"units: n1 4, n2 5; x: n1 -, n2 1"},
		{"scalars", []valueGroup{g(`5`, "n3", "n2"), g(`3`, "n1")}, "n1: 3; n2,n3: 5"},
	} {
		if got := differences(c.groups); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestDifferencesOfThreeLeaders(t *testing.T) {
	got := differences([]valueGroup{
		{[]string{"n1"}, json.RawMessage(`["a","b"]`)},
		{[]string{"n2"}, json.RawMessage(`["b"]`)},
		{[]string{"n3"}, json.RawMessage(`["a","b","c"]`)},
	})
	if want := "a only at n1 and n3; c only at n3"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
