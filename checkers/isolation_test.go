package checkers

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

// txnOps builds a history from lines "process type value" (value as JSON), times growing by a
// millisecond a line; a process of -1 is the nemesis, its value the fault's.
func txnOps(lines ...string) []history.Op {
	var ops []history.Op
	for i, l := range lines {
		parts := strings.SplitN(l, " ", 3)
		p := 0
		if parts[0] == "-1" {
			p = -1
		} else {
			p = int(parts[0][0] - '0')
		}
		op := history.Op{Index: int64(i), Time: int64(i) * 1e6, Process: p, Type: history.Type(parts[1]), F: "txn", Value: json.RawMessage(parts[2])}
		if p < 0 {
			op.F = "partition"
		} else {
			op.Node = "n" + string(rune('1'+p%3))
		}
		ops = append(ops, op)
	}
	return ops
}

// readSkew: T1 reads x before T0's appends and y after them, while a partition is in force.
var readSkew = []string{
	`-1 invoke {"cut":["n1->n2"]}`,
	`-1 info {"cut":["n1->n2"]}`,
	`0 invoke [["append","x",1],["append","y",1]]`,
	`1 invoke [["r","x",null],["r","y",null]]`,
	`0 ok [["append","x",1],["append","y",1]]`,
	`1 ok [["r","x",[]],["r","y",[1]]]`,
}

func TestIsolationFindsReadSkew(t *testing.T) {
	r := Run(context.Background(), Isolation{}, in(txnOps(readSkew...)))
	if r.Valid != False || len(r.Anomalies) != 1 {
		t.Fatalf("read skew: %s %+v", r.Valid, r.Anomalies)
	}
	a := r.Anomalies[0]
	if a.Kind != "G-single-item" || !a.Definite || len(a.Cycle) != 2 || len(a.Nemesis) == 0 || len(a.Nodes) != 2 {
		t.Errorf("the anomaly lacks its evidence: %+v", a)
	}
	if a.Cycle[0].Kind != "rw" || a.Cycle[0].Key != "x" || !strings.Contains(a.Cycle[0].Why, "without 1") {
		t.Errorf("the rw edge does not say why it holds: %+v", a.Cycle[0])
	}
	if r.Stats["model"] != "strict-serializable" {
		t.Errorf("model %v", r.Stats["model"])
	}
	if got := r.Stats["not"].([]string); len(got) != 1 || got[0] != "consistent-view" {
		t.Errorf("rules out %v, want consistent-view (and every model above it)", got)
	}
}

// The model comes from the checker, else the test, else the default; what the model allows is
// kept in the stats and the verdict is valid.
func TestIsolationHoldsToTheModel(t *testing.T) {
	ops := txnOps(readSkew...)
	test := json.RawMessage(`{"consistency_model":"read-committed"}`)
	r := Run(context.Background(), Isolation{}, Input{History: ops, Test: test})
	if r.Valid != True || r.Stats["model"] != "read-committed" {
		t.Fatalf("read committed allows read skew: %s %v", r.Valid, r.Stats)
	}
	if allowed, _ := r.Stats["allowed"].(map[string]int); allowed["G-single-item"] != 1 {
		t.Errorf("the allowed anomaly is not kept: %v", r.Stats)
	}
	if r := Run(context.Background(), Isolation{Model: "serializable"}, Input{History: ops, Test: test}); r.Valid != False {
		t.Errorf("the checker's own model comes first: %s", r.Valid)
	}
	if r := Run(context.Background(), Isolation{Model: "bogus"}, in(ops)); r.Valid != Unknown || !strings.Contains(r.Error, "unknown consistency model") {
		t.Errorf("an unknown model: %s %q", r.Valid, r.Error)
	}
}

func TestIsolationSaysWhatItCannotJudge(t *testing.T) {
	reg := []history.Op{{Index: 0, Process: 0, Type: history.Invoke, F: "read", Key: "x"}, {Index: 1, Process: 0, Type: history.OK, F: "read", Key: "x", Value: json.RawMessage("null")}}
	if r := Run(context.Background(), Isolation{}, in(reg)); r.NotApplicable == "" {
		t.Errorf("a register history: %+v", r)
	}
	// a value appended twice names no one append: the key is not judged
	dup := txnOps(
		`0 invoke [["append","x",1]]`,
		`0 ok [["append","x",1]]`,
		`1 invoke [["append","x",1]]`,
		`1 ok [["append","x",1]]`,
		`2 invoke [["r","x",null]]`,
		`2 ok [["r","x",[1,1]]]`,
	)
	if r := Run(context.Background(), Isolation{}, in(dup)); r.Valid != Unknown || !strings.Contains(r.Error, "written twice") {
		t.Errorf("a value written twice: %s %q", r.Valid, r.Error)
	}
	bad := txnOps(`0 invoke [["push","x",1]]`, `0 ok [["push","x",1]]`)
	if r := Run(context.Background(), Isolation{}, in(bad)); r.Valid != Unknown || !strings.Contains(r.Error, "unknown function") {
		t.Errorf("a micro-op of no workload: %s %q", r.Valid, r.Error)
	}
}
