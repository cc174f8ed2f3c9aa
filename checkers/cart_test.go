package checkers

import (
	"context"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

// cartOp records an add or remove with the version the store answered with.
func cartOp(h *hist, node, f, item string, typ history.Type, ts int64, vv map[string]int) {
	p := h.proc
	h.proc++
	h.add(history.Op{Process: p, Type: history.Invoke, F: f, Key: "c0", Node: node, Value: history.Value(item)})
	done := history.Op{Process: p, Type: typ, F: f, Key: "c0", Node: node}
	if typ == history.OK {
		done.SetMeta("ts", ts, "origin", node, "vv", vv)
	}
	h.add(done)
}

func cartFinalRead(h *hist, node, resolution string, items ...string) {
	p := h.proc
	h.proc++
	inv := history.Op{Process: p, Type: history.Invoke, F: "read", Key: "c0", Node: node, Value: history.Null}
	inv.SetMeta("final", true)
	h.add(inv)
	if items == nil {
		items = []string{}
	}
	done := history.Op{Process: p, Type: history.OK, F: "read", Key: "c0", Node: node, Value: history.Value(items)}
	done.SetMeta("resolution", resolution, "origin", "n1", "ts", 100)
	h.add(done)
}

func skewOn(h *hist, node string) {
	v := history.Value(map[string]any{"node": node, "offset_ns": 5000000000})
	h.add(history.Op{Process: -1, Type: history.Invoke, F: "clock-bump", Value: v})
	h.add(history.Op{Process: -1, Type: history.Info, F: "clock-bump", Value: v})
}

func TestCartChecker(t *testing.T) {
	cases := []struct {
		name        string
		build       func(h *hist)
		want        Valid
		kind, cause string
	}{
		{"an add that stays", func(h *hist) {
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartFinalRead(h, "n1", "lww", "x")
			cartFinalRead(h, "n2", "lww", "x")
		}, True, "", ""},
		{"an add removed on purpose", func(h *hist) {
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartOp(h, "n2", "remove", "x", history.OK, 20, map[string]int{"n1": 1, "n2": 1})
			cartFinalRead(h, "n1", "lww")
		}, True, "", ""},
		{"a remove of unknown outcome explains a missing item", func(h *hist) {
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartOp(h, "n2", "remove", "x", history.Info, 0, nil)
			cartFinalRead(h, "n1", "lww")
		}, True, "", ""},
		{"a lost add, to last-writer-wins", func(h *hist) {
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartOp(h, "n2", "add", "y", history.OK, 20, map[string]int{"n2": 1})
			cartFinalRead(h, "n1", "lww", "y")
		}, False, "lost-add", CauseLWW},
		{"a lost add, to a skewed clock", func(h *hist) {
			skewOn(h, "n2")
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartOp(h, "n2", "add", "y", history.OK, 5000000020, map[string]int{"n2": 1})
			cartFinalRead(h, "n1", "lww", "y")
		}, False, "lost-add", CauseClockSkew},
		{"a lost add, to a tie of two frozen clocks (a fault that names several nodes)", func(h *hist) {
			v := history.Value(map[string]any{"node": "n3", "nodes": []string{"n3", "n2"}})
			h.add(history.Op{Process: -1, Type: history.Invoke, F: "clock-freeze", Value: v})
			h.add(history.Op{Process: -1, Type: history.Info, F: "clock-freeze", Value: v})
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartOp(h, "n2", "add", "y", history.OK, 20, map[string]int{"n2": 1})
			cartFinalRead(h, "n1", "lww", "y")
		}, False, "lost-add", CauseClockSkew},
		{"a lost add after the frozen clocks were reset is last-writer-wins", func(h *hist) {
			v := history.Value(map[string]any{"node": "n3", "nodes": []string{"n3", "n2"}})
			h.add(history.Op{Process: -1, Type: history.Invoke, F: "clock-freeze", Value: v})
			h.add(history.Op{Process: -1, Type: history.Info, F: "clock-freeze", Value: v})
			h.add(history.Op{Process: -1, Type: history.Invoke, F: "clock-reset", Value: v})
			h.add(history.Op{Process: -1, Type: history.Info, F: "clock-reset", Value: v})
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartOp(h, "n2", "add", "y", history.OK, 20, map[string]int{"n2": 1})
			cartFinalRead(h, "n1", "lww", "y")
		}, False, "lost-add", CauseLWW},
		{"a resurrection by merge", func(h *hist) {
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartOp(h, "n2", "remove", "x", history.OK, 20, map[string]int{"n1": 1, "n2": 1})
			cartOp(h, "n1", "add", "y", history.OK, 30, map[string]int{"n1": 2})
			cartFinalRead(h, "n1", "merge", "x", "y")
		}, False, "resurrected", CauseMergeRule},
		{"a remove that had not seen a redelivered add lets it stay", func(h *hist) {
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
			cartOp(h, "n3", "add", "x", history.OK, 11, map[string]int{"n3": 1})
			cartOp(h, "n2", "remove", "x", history.OK, 20, map[string]int{"n1": 1, "n2": 1})
			cartFinalRead(h, "n1", "orset", "x")
		}, True, "", ""},
		{"an add of unknown outcome may land after the remove", func(h *hist) {
			cartOp(h, "n1", "add", "x", history.Info, 0, nil)
			cartOp(h, "n3", "add", "x", history.OK, 11, map[string]int{"n3": 1})
			cartOp(h, "n2", "remove", "x", history.OK, 20, map[string]int{"n3": 1, "n2": 1})
			cartFinalRead(h, "n1", "orset", "x")
		}, True, "", ""},
		{"no final read", func(h *hist) {
			cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
		}, Unknown, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &hist{}
			c.build(h)
			r := Run(context.Background(), CartChecker{}, in(h.ops))
			if r.Valid != c.want {
				t.Fatalf("valid %v, want %v: %s", r.Valid, c.want, r)
			}
			if c.kind == "" {
				return
			}
			a := r.Anomalies[0]
			if a.Kind != c.kind || a.Cause != c.cause || !a.Definite || len(a.Ops) == 0 || len(a.Nodes) == 0 {
				t.Fatalf("anomaly %+v, want %s caused by %s", a, c.kind, c.cause)
			}
		})
	}
}
