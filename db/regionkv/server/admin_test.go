package server

import (
	"strings"
	"testing"
)

func TestBehind(t *testing.T) {
	st := func(id string, applied map[string]uint64) State {
		return State{ID: id, Applied: applied}
	}
	caughtUp := []State{
		st("n1", map[string]uint64{"n1": 3, "n2": 1}),
		st("n2", map[string]uint64{"n1": 3, "n2": 1}),
		st("n3", map[string]uint64{"n1": 3, "n2": 1, "n3": 0}),
	}
	if why := Behind(caughtUp); why != "" {
		t.Fatalf("caught-up states judged behind: %s", why)
	}
	behind := []State{
		st("n1", map[string]uint64{"n1": 3}),
		st("n2", map[string]uint64{"n1": 2}),
	}
	if why := Behind(behind); !strings.Contains(why, "n2 has applied 2 of the 3 entries n1 wrote") {
		t.Fatalf("n2 is one entry behind n1: %q", why)
	}
}
