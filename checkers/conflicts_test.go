package checkers

import (
	"context"
	"testing"

	"crossfire/history"
)

func TestConflicts(t *testing.T) {
	h := &hist{}
	cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
	cartOp(h, "n2", "add", "y", history.OK, 20, map[string]int{"n2": 1})
	cartOp(h, "n2", "add", "z", history.OK, 30, map[string]int{"n1": 1, "n2": 2}) // saw n1's: not concurrent with it
	logged := history.ConflictRecord{Node: "n1", Key: "c0", Strategy: "lww",
		Local:    []history.LoggedVersion{{Origin: "n1", VV: map[string]uint64{"n1": 1}}},
		Incoming: history.LoggedVersion{Origin: "n2", VV: map[string]uint64{"n2": 1}},
		Winner:   history.LoggedVersion{Origin: "n2", VV: map[string]uint64{"n2": 1}}}
	cases := []struct {
		name string
		c    Conflicts
		want Valid
	}{
		{"the concurrent pair is logged", Conflicts{Logs: []history.ConflictRecord{logged}, Loaded: true}, True},
		{"logged by a descendant of each side", Conflicts{Loaded: true, Logs: []history.ConflictRecord{{Key: "c0",
			Local:    []history.LoggedVersion{{VV: map[string]uint64{"n1": 2}}},
			Incoming: history.LoggedVersion{VV: map[string]uint64{"n2": 1, "n3": 4}}}}}, True},
		{"resolved silently", Conflicts{Loaded: true}, False},
		{"a record for another key does not count", Conflicts{Loaded: true, Logs: []history.ConflictRecord{{Key: "c9", Local: logged.Local, Incoming: logged.Incoming}}}, False},
		{"no logs given", Conflicts{}, Unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), c.c, h.ops)
			if r.Valid != c.want {
				t.Fatalf("valid %v, want %v: %s", r.Valid, c.want, r)
			}
			if c.want == False && (len(r.Anomalies) != 1 || r.Anomalies[0].Kind != "silent-conflict" || len(r.Anomalies[0].Ops) != 2) {
				t.Fatalf("anomalies %+v", r.Anomalies)
			}
		})
	}
}
