package clusters

import (
	"testing"

	"crossfire/clusters/regionkv"
)

func TestParseLink(t *testing.T) {
	l, err := ParseLink("n1->n2")
	if err != nil || l != (Link{From: "n1", To: "n2"}) || l.String() != "n1->n2" {
		t.Fatalf("%v %v", l, err)
	}
	for _, bad := range []string{"n1", "->n2", "n1->", ""} {
		if _, err := ParseLink(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestReplicated(t *testing.T) {
	st := func(id string, applied map[string]uint64) regionkv.State {
		return regionkv.State{ID: id, Applied: applied}
	}
	caughtUp := []regionkv.State{
		st("n1", map[string]uint64{"n1": 3, "n2": 1}),
		st("n2", map[string]uint64{"n1": 3, "n2": 1}),
		st("n3", map[string]uint64{"n1": 3, "n2": 1, "n3": 0}),
	}
	if !Replicated(caughtUp) {
		t.Fatal("caught-up states judged behind")
	}
	behind := []regionkv.State{
		st("n1", map[string]uint64{"n1": 3}),
		st("n2", map[string]uint64{"n1": 2}),
	}
	if Replicated(behind) {
		t.Fatal("n2 is one entry behind n1 and was judged caught up")
	}
}
