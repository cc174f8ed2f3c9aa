package checkers

import (
	"context"
	"testing"

	"crossfire/history"
)

// TestConflicts: each leader that the history shows resolving a conflict must have logged it.
func TestConflicts(t *testing.T) {
	vv := func(pairs ...any) map[string]uint64 {
		m := map[string]uint64{}
		for i := 0; i < len(pairs); i += 2 {
			m[pairs[i].(string)] = uint64(pairs[i+1].(int))
		}
		return m
	}
	rec := func(node string, local, incoming map[string]uint64) history.ConflictRecord {
		return history.ConflictRecord{Node: node, Key: "c0", Strategy: "lww",
			Local: []history.LoggedVersion{{VV: local}}, Incoming: history.LoggedVersion{VV: incoming}}
	}
	// x at n1 and y at n2 are concurrent; z at n2 saw x, so x reached n2 while n2 held y.
	base := func(h *hist) {
		cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
		cartOp(h, "n2", "add", "y", history.OK, 20, map[string]int{"n2": 1})
		cartOp(h, "n2", "add", "z", history.OK, 30, map[string]int{"n1": 1, "n2": 2})
	}
	atN1 := rec("n1", vv("n1", 1), vv("n2", 1)) // y arrived at n1, holding x
	atN2 := rec("n2", vv("n2", 1), vv("n1", 1)) // x arrived at n2, holding y
	cases := []struct {
		name  string
		build func(h *hist)
		c     Conflicts
		want  Valid
		na    bool
	}{
		{"both leaders logged it", base, Conflicts{Loaded: true, Logs: []history.ConflictRecord{atN1, atN2}}, True, false},
		{"the leader the history shows resolving it logged it", base, Conflicts{Loaded: true, Logs: []history.ConflictRecord{atN2}}, True, false},
		{"that leader lost its record", base, Conflicts{Loaded: true, Logs: []history.ConflictRecord{atN1}}, False, false},
		{"a record of a later arrival does not stand for it", base, Conflicts{Loaded: true, Logs: []history.ConflictRecord{
			rec("n2", vv("n2", 1), vv("n1", 2))}}, False, false},
		{"a read shows the other leader held both", func(h *hist) {
			base(h)
			h.do("n1", "read", "c0", "", "null", history.OK, `["x","y"]`, false)
			h.ops[len(h.ops)-1].SetMeta("vv", map[string]int{"n1": 1, "n2": 1})
		}, Conflicts{Loaded: true, Logs: []history.ConflictRecord{atN2}}, False, false},
		{"a read shows one version, not all the leader held", func(h *hist) {
			// Last-writer-wins reads return the winner: n2's read of n1's version does not show
			// that n2 lacked n3's, so n2 is not held to a record of its own.
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartOp(h, "n3", "add", "y", history.OK, 20, map[string]int{"n3": 1})
			h.do("n2", "read", "c0", "", "null", history.OK, `["x"]`, false)
			h.ops[len(h.ops)-1].SetMeta("vv", map[string]int{"n1": 1})
			h.do("n2", "read", "c0", "", "null", history.OK, `["y"]`, false)
			h.ops[len(h.ops)-1].SetMeta("vv", map[string]int{"n1": 1, "n3": 1})
		}, Conflicts{Loaded: true, Logs: []history.ConflictRecord{rec("n3", vv("n3", 1), vv("n1", 1))}}, True, false},
		{"nothing shows an arrival: any leader's record will do", func(h *hist) {
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartOp(h, "n2", "add", "y", history.OK, 20, map[string]int{"n2": 1})
		}, Conflicts{Loaded: true, Logs: []history.ConflictRecord{{Key: "c0",
			Local:    []history.LoggedVersion{{VV: vv("n1", 2)}},
			Incoming: history.LoggedVersion{VV: vv("n2", 1, "n3", 4)}}}}, True, false},
		{"resolved silently", base, Conflicts{Loaded: true}, False, false},
		{"a record for another key does not count", base, Conflicts{Loaded: true, Logs: []history.ConflictRecord{{Node: "n2", Key: "c9", Local: atN2.Local, Incoming: atN2.Incoming}}}, False, false},
		{"no logs given", base, Conflicts{}, Unknown, false},
		{"writes without version vectors", func(h *hist) {
			h.do("n1", "add", "c0", "", `"x"`, history.OK, "", false)
			h.do("n2", "add", "c0", "", `"y"`, history.OK, "", false)
		}, Conflicts{Loaded: true}, Unknown, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &hist{}
			c.build(h)
			r := Run(context.Background(), c.c, h.ops)
			if r.Valid != c.want || (r.NotApplicable != "") != c.na {
				t.Fatalf("valid %v (not applicable %q), want %v: %s", r.Valid, r.NotApplicable, c.want, r)
			}
			if c.want == False && (len(r.Anomalies) != 1 || r.Anomalies[0].Kind != "silent-conflict" || len(r.Anomalies[0].Ops) != 2) {
				t.Fatalf("anomalies %+v", r.Anomalies)
			}
		})
	}
}
