package checkers

import (
	"fmt"
	"testing"
)

// TestIDTableNumbersEachIDOnce: ids are numbered in the order first added, found again after
// the table has grown many times, and an id never added is not found.
func TestIDTableNumbersEachIDOnce(t *testing.T) {
	tab := newIDTable()
	const n = 100_000
	id := func(i int) string { return fmt.Sprintf("req-%x", i*7919) }
	for i := range n {
		got, h := tab.find(id(i))
		if got != -1 {
			t.Fatalf("%q found before it was added, as %d", id(i), got)
		}
		if k := tab.add(id(i), h); k != int32(i) {
			t.Fatalf("%q numbered %d, want %d", id(i), k, i)
		}
	}
	if tab.Len() != n {
		t.Fatalf("Len %d", tab.Len())
	}
	for i := range n {
		if got, _ := tab.find(id(i)); got != int32(i) || tab.str(got) != id(i) {
			t.Fatalf("%q found as %d (%q)", id(i), got, tab.str(got))
		}
	}
	for _, missing := range []string{"", "req-", id(n), "req-0 "} {
		if got, _ := tab.find(missing); got != -1 {
			t.Errorf("%q, never added, found as %d", missing, got)
		}
	}
	// The empty id is an id like any other.
	_, h := tab.find("")
	k := tab.add("", h)
	if got, _ := tab.find(""); got != k || tab.str(k) != "" {
		t.Errorf("the empty id found as %d, added as %d", got, k)
	}
}

// TestArenaKeepsStrings: strings added to an arena come back as they were, and compare.
func TestArenaKeepsStrings(t *testing.T) {
	var a arena
	words := []string{"n1-17", "", "n2-4", "n1-17"}
	refs := make([]strRef, len(words))
	for i, w := range words {
		refs[i] = a.add(w)
	}
	for i, w := range words {
		if a.str(refs[i]) != w || !a.is(refs[i], w) {
			t.Errorf("%q came back as %q", w, a.str(refs[i]))
		}
	}
	if a.is(refs[0], "n1-1") || a.is(refs[2], "n2-40") {
		t.Error("a prefix compares equal")
	}
}
