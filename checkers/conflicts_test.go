package checkers

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

// vvOf makes a version vector of leader, count pairs: vvOf("n1", 2, "n2", 1).
func vvOf(pairs ...any) map[string]uint64 {
	m := map[string]uint64{}
	for i := 0; i < len(pairs); i += 2 {
		m[pairs[i].(string)] = uint64(pairs[i+1].(int))
	}
	return m
}

// TestConflicts: each leader that the history shows resolving a conflict must have logged it.
func TestConflicts(t *testing.T) {
	vv := vvOf
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
		c     Records
		want  Valid
		na    bool
	}{
		{"both leaders logged it", base, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{atN1, atN2}}, True, false},
		{"the leader the history shows resolving it logged it", base, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{atN2}}, True, false},
		{"that leader lost its record", base, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{atN1}}, False, false},
		{"a record of a later arrival does not stand for it", base, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{
			rec("n2", vv("n2", 1), vv("n1", 2))}}, False, false},
		{"a read shows the other leader held both", func(h *hist) {
			base(h)
			h.do("n1", "read", "c0", "", "null", history.OK, `["x","y"]`, false)
			h.ops[len(h.ops)-1].SetMeta("vv", map[string]int{"n1": 1, "n2": 1})
		}, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{atN2}}, False, false},
		{"a read shows one version, not all the leader held", func(h *hist) {
			// Last-writer-wins reads return the winner: n2's read of n1's version does not show
			// that n2 lacked n3's, so n2 is not held to a record of its own.
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartOp(h, "n3", "add", "y", history.OK, 20, map[string]int{"n3": 1})
			h.do("n2", "read", "c0", "", "null", history.OK, `["x"]`, false)
			h.ops[len(h.ops)-1].SetMeta("vv", map[string]int{"n1": 1})
			h.do("n2", "read", "c0", "", "null", history.OK, `["y"]`, false)
			h.ops[len(h.ops)-1].SetMeta("vv", map[string]int{"n1": 1, "n3": 1})
		}, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{rec("n3", vv("n3", 1), vv("n1", 1))}}, True, false},
		{"nothing shows an arrival: any leader's record will do", func(h *hist) {
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartOp(h, "n2", "add", "y", history.OK, 20, map[string]int{"n2": 1})
		}, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{{Key: "c0",
			Local:    []history.LoggedVersion{{VV: vv("n1", 2)}},
			Incoming: history.LoggedVersion{VV: vv("n2", 1, "n3", 4)}}}}, True, false},
		{"resolved silently", base, Records{ConflictsKept: true}, False, false},
		{"a record for another key does not count", base, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{{Node: "n2", Key: "c9", Local: atN2.Local, Incoming: atN2.Incoming}}}, False, false},
		{"no logs given", base, Records{}, Unknown, false},
		{"the run has none", base, Records{NoConflicts: "database x gives no conflict records"}, Unknown, true},
		{"writes without version vectors", func(h *hist) {
			h.do("n1", "add", "c0", "", `"x"`, history.OK, "", false)
			h.do("n2", "add", "c0", "", `"y"`, history.OK, "", false)
		}, Records{ConflictsKept: true}, Unknown, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &hist{}
			c.build(h)
			r := Run(context.Background(), Conflicts{}, withRecords(h.ops, c.c))
			if r.Valid != c.want || (r.NotApplicable != "") != c.na {
				t.Fatalf("valid %v (not applicable %q), want %v: %s", r.Valid, r.NotApplicable, c.want, r)
			}
			if c.want == False && (len(r.Anomalies) != 1 || r.Anomalies[0].Kind != "silent-conflict" || len(r.Anomalies[0].Ops) != 2) {
				t.Fatalf("anomalies %+v", r.Anomalies)
			}
		})
	}
}

// TestConflictsWithoutVectors: a store that stamps versions with a timestamp and an origin but
// no vector is held to the replacements its reads and writes show, and every store's records to
// one another (two leaders that kept opposite versions of one pair ended apart). Histories are
// hand-written in the documented format, with and without the versions.
func TestConflictsWithoutVectors(t *testing.T) {
	v := func(origin string, ts int64, value string) history.LoggedVersion {
		return history.LoggedVersion{Value: []byte(value), TS: ts, Origin: origin}
	}
	rec := func(node string, local, incoming, winner history.LoggedVersion) history.ConflictRecord {
		return history.ConflictRecord{Node: node, Key: "r0", Strategy: "last_update_wins",
			Local: []history.LoggedVersion{local}, Incoming: incoming, Winner: winner}
	}
	// n2 writes 2, reads it, then reads n1's 1: n1's version replaced n2's own at n2.
	replaced := `
		0 invoke write r0 2 n2
		0 ok write r0 - n2 meta={"ts":2000,"origin":"n2"}
		1 invoke write r0 1 n1
		1 ok write r0 - n1 meta={"ts":3000,"origin":"n1"}
		2 invoke read r0 null n2
		2 ok read r0 2 n2 meta={"ts":2000,"origin":"n2"}
		2 invoke read r0 null n2
		2 ok read r0 1 n2 meta={"ts":3000,"origin":"n1"}
		2 invoke read r0 null n2
		2 ok read r0 1 n2 meta={"ts":3000,"origin":"n1"}`
	atN2 := rec("n2", v("n2", 2000, "2"), v("n1", 3000, "1"), v("n1", 3000, "1"))
	// The same history as a store without metadata writes it.
	bare := `
		0 invoke write r0 2 n2
		0 ok write r0 - n2
		1 invoke write r0 1 n1
		1 ok write r0 - n1
		2 invoke read r0 null n2
		2 ok read r0 1 n2`
	tieN1 := rec("n1", v("n1", 5000, "1"), v("n2", 5000, "2"), v("n2", 5000, "2"))
	tieN2 := rec("n2", v("n2", 5000, "2"), v("n1", 5000, "1"), v("n1", 5000, "1"))
	sameN2 := rec("n2", v("n2", 5000, "2"), v("n1", 5000, "1"), v("n2", 5000, "2"))
	cases := []struct {
		name, history string
		c             Records
		want          Valid
		kind, cause   string
	}{
		{"the replacement is logged", replaced, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{atN2}}, True, "", ""},
		{"the replacement's record is missing", replaced, Records{ConflictsKept: true}, False, "silent-conflict", ""},
		{"a record at another leader does not stand for it", replaced, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{
			rec("n3", v("n2", 2000, "2"), v("n1", 3000, "1"), v("n1", 3000, "1"))}}, False, "silent-conflict", ""},
		{"a record that kept the local version does not stand for it", replaced, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{
			rec("n2", v("n2", 2000, "2"), v("n1", 3000, "1"), v("n2", 2000, "2"))}}, False, "silent-conflict", ""},
		{"no records given", replaced, Records{}, Unknown, "", ""},
		{"two leaders kept opposite versions of a tie", bare, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{tieN1, tieN2}}, False, "split-resolution", CauseTimestampTie},
		{"two leaders kept the same version of a tie", bare, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{tieN1, sameN2}}, True, "", ""},
		{"a history without versions and records without them: not its business", bare, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{
			{Node: "n1", Key: "r0", Local: []history.LoggedVersion{{Value: []byte("1")}}, Incoming: history.LoggedVersion{Value: []byte("2")}}}}, Unknown, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), Conflicts{}, withRecords(handWritten(t, c.history), c.c))
			if r.Valid != c.want {
				t.Fatalf("valid %v, want %v: %s", r.Valid, c.want, r)
			}
			if c.kind == "" {
				return
			}
			a := r.Anomalies[0]
			if a.Kind != c.kind || a.Cause != c.cause || !a.Definite || len(a.Nodes) < 2 {
				t.Fatalf("anomaly %+v, want %s (%q)", a, c.kind, c.cause)
			}
			if c.kind == "silent-conflict" && (len(a.Ops) != 2 || r.Stats["replacements_shown"] != 1) {
				t.Fatalf("the two reads that show one replacement: ops %v, stats %v", a.Ops, r.Stats)
			}
		})
	}
	if r := Run(context.Background(), Conflicts{}, withRecords(handWritten(t, bare), Records{ConflictsKept: true})); r.NotApplicable == "" {
		t.Fatalf("a store without metadata or records: %s", r)
	}
	// With the versions in the history, the split names the two writes that made them.
	stamped := `
		0 invoke write r0 1 n1
		0 ok write r0 - n1 meta={"ts":5000,"origin":"n1"}
		1 invoke write r0 2 n2
		1 ok write r0 - n2 meta={"ts":5000,"origin":"n2"}
		1 invoke write r0 3 n2
		1 ok write r0 - n2 meta={"ts":5000,"origin":"n2"}`
	r := Run(context.Background(), Conflicts{}, withRecords(handWritten(t, stamped), Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{tieN1, tieN2}}))
	i := slices.IndexFunc(r.Anomalies, func(a Anomaly) bool { return a.Kind == "split-resolution" })
	if i < 0 || !slices.Equal(r.Anomalies[i].Ops, []int64{1, 3}) {
		t.Fatalf("the split does not name the writes of 1 and 2 (ops 1 and 3): %s", r)
	}
}

// TestConflictChains: a leader's records of a whole state (an observed-remove set's) are a
// chain; an arrival between two of them that the leader's state had not been seen by is a
// conflict without a record, found whichever record is gone.
func TestConflictChains(t *testing.T) {
	vv := vvOf
	rec := func(local, incoming, winner map[string]uint64, origin string) history.ConflictRecord {
		return history.ConflictRecord{Node: "n1", Key: "c0", Strategy: "orset",
			Local: []history.LoggedVersion{{VV: local}}, Incoming: history.LoggedVersion{Origin: origin, VV: incoming}, Winner: history.LoggedVersion{VV: winner}}
	}
	// n1 adds x; n2 adds y and n3 adds z, neither having seen x; n2 then adds w, still without x.
	// Each arrives at n1 while it holds x: three conflicts there, in this order.
	build := func(h *hist) {
		cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
		cartOp(h, "n2", "add", "y", history.OK, 11, map[string]int{"n2": 1})
		cartOp(h, "n3", "add", "z", history.OK, 12, map[string]int{"n3": 1})
		cartOp(h, "n2", "add", "w", history.OK, 13, map[string]int{"n2": 2})
	}
	r1 := rec(vv("n1", 1), vv("n2", 1), vv("n1", 1, "n2", 1), "n2")
	r2 := rec(vv("n1", 1, "n2", 1), vv("n3", 1), vv("n1", 1, "n2", 1, "n3", 1), "n3")
	r3 := rec(vv("n1", 1, "n2", 1, "n3", 1), vv("n2", 2), vv("n1", 1, "n2", 2, "n3", 1), "n2")
	cases := []struct {
		name string
		logs []history.ConflictRecord
		want Valid
	}{
		{"the whole chain", []history.ConflictRecord{r1, r2, r3}, True},
		{"the middle record gone: the state after the first shows the arrival was concurrent", []history.ConflictRecord{r1, r3}, False},
		{"the first record gone: n1's own write shows it", []history.ConflictRecord{r2, r3}, False},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &hist{}
			build(h)
			r := Run(context.Background(), Conflicts{}, withRecords(h.ops, Records{ConflictsKept: true, Conflicts: c.logs}))
			if r.Valid != c.want {
				t.Fatalf("valid %v, want %v: %s", r.Valid, c.want, r)
			}
			if c.want == False {
				i := slices.IndexFunc(r.Anomalies, func(a Anomaly) bool { return strings.Contains(a.Description, "chain of records") })
				if i < 0 {
					t.Fatalf("no arrival missing from the chain: %s", r)
				}
				if a := r.Anomalies[i]; a.Kind != "silent-conflict" || !a.Definite || !slices.Contains(a.Nodes, "n1") {
					t.Fatalf("anomaly %+v", a)
				}
			}
		})
	}
	// z had seen everything n1 held: its arrival was no conflict, and no record is missing.
	h := &hist{}
	cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
	cartOp(h, "n2", "add", "y", history.OK, 11, map[string]int{"n2": 1})
	cartOp(h, "n3", "add", "z", history.OK, 12, map[string]int{"n1": 1, "n2": 1, "n3": 1})
	cartOp(h, "n2", "add", "w", history.OK, 13, map[string]int{"n2": 2})
	if r := Run(context.Background(), Conflicts{}, withRecords(h.ops, Records{ConflictsKept: true, Conflicts: []history.ConflictRecord{r1, r3}})); r.Valid != True {
		t.Fatalf("an arrival that had seen the state was taken for a conflict: %s", r)
	}
}
