package checkers

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/nemesis"
)

// h builds a history from compact rows: process, type, f, key, value, node. Index and time are
// the row's position.
type hrow struct {
	p     int
	typ   history.Type
	f     string
	key   string
	value string
	node  string
}

func h(rows ...hrow) []history.Op {
	ops := make([]history.Op, len(rows))
	for i, r := range rows {
		ops[i] = history.Op{Index: int64(i), Time: int64(i) * 10, Process: r.p, Type: r.typ, F: r.f, Key: r.key, Node: r.node}
		if r.value != "" {
			ops[i].Value = json.RawMessage(r.value)
		}
	}
	return ops
}

const (
	inv  = history.Invoke
	ok   = history.OK
	fail = history.Fail
	info = history.Info
)

func TestLinearizable(t *testing.T) {
	cases := []struct {
		name     string
		ops      []history.Op
		want     Valid
		stuckOps []int64 // ops the anomaly must name
	}{
		{"write then read", h(
			hrow{0, inv, "write", "x", "1", "n1"}, hrow{0, ok, "write", "x", "1", "n1"},
			hrow{1, inv, "read", "x", "null", "n2"}, hrow{1, ok, "read", "x", "1", "n2"},
		), True, nil},
		{"stale read after a completed write", h(
			hrow{0, inv, "write", "x", "1", "n1"}, hrow{0, ok, "write", "x", "1", "n1"},
			hrow{1, inv, "read", "x", "null", "n2"}, hrow{1, ok, "read", "x", "null", "n2"},
		), False, []int64{2}},
		{"concurrent write and read may see either", h(
			hrow{0, inv, "write", "x", "1", "n1"},
			hrow{1, inv, "read", "x", "null", "n2"}, hrow{1, ok, "read", "x", "null", "n2"},
			hrow{0, ok, "write", "x", "1", "n1"},
		), True, nil},
		{"an info write may take effect later", h(
			hrow{0, inv, "write", "x", "2", "n1"}, hrow{0, info, "write", "x", "", "n1"},
			hrow{1, inv, "read", "x", "null", "n2"}, hrow{1, ok, "read", "x", "null", "n2"},
			hrow{2, inv, "read", "x", "null", "n3"}, hrow{2, ok, "read", "x", "2", "n3"},
		), True, nil},
		{"an info write cannot be unseen", h(
			hrow{0, inv, "write", "x", "2", "n1"}, hrow{0, info, "write", "x", "", "n1"},
			hrow{1, inv, "read", "x", "null", "n2"}, hrow{1, ok, "read", "x", "2", "n2"},
			hrow{2, inv, "read", "x", "null", "n3"}, hrow{2, ok, "read", "x", "null", "n3"},
		), False, []int64{4}},
		{"a failed write never happened", h(
			hrow{0, inv, "write", "x", "5", "n1"}, hrow{0, fail, "write", "x", "", "n1"},
			hrow{1, inv, "read", "x", "null", "n2"}, hrow{1, ok, "read", "x", "5", "n2"},
		), False, []int64{2}},
		{"two cas from the same value both succeed", h(
			hrow{0, inv, "write", "x", "0", "n1"}, hrow{0, ok, "write", "x", "0", "n1"},
			hrow{1, inv, "cas", "x", "[0,1]", "n1"}, hrow{1, ok, "cas", "x", "", "n1"},
			hrow{2, inv, "cas", "x", "[0,2]", "n2"}, hrow{2, ok, "cas", "x", "", "n2"},
		), False, []int64{4}},
		{"an info cas that could not swap is harmless", h(
			hrow{0, inv, "write", "x", "0", "n1"}, hrow{0, ok, "write", "x", "0", "n1"},
			hrow{1, inv, "cas", "x", "[7,1]", "n1"}, hrow{1, info, "cas", "x", "", "n1"},
			hrow{2, inv, "read", "x", "null", "n2"}, hrow{2, ok, "read", "x", "0", "n2"},
		), True, nil},
		{"keys are independent", h(
			hrow{0, inv, "write", "x", "1", "n1"}, hrow{0, ok, "write", "x", "1", "n1"},
			hrow{1, inv, "read", "y", "null", "n2"}, hrow{1, ok, "read", "y", "null", "n2"},
		), True, nil},
		{"a pending invoke at the end is info", h(
			hrow{0, inv, "write", "x", "\"s\"", "n1"},
			hrow{1, inv, "read", "x", "null", "n2"}, hrow{1, ok, "read", "x", "\"s\"", "n2"},
		), True, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), Linearizable{}, in(c.ops))
			if r.Valid != c.want {
				t.Fatalf("valid = %v, want %v: %s", r.Valid, c.want, r)
			}
			if c.want != False {
				if len(r.Anomalies) != 0 || len(r.Artifacts) != 0 {
					t.Fatalf("a valid history has anomalies or artifacts: %s", r)
				}
				return
			}
			a := r.Anomalies[0]
			if a.Kind != "nonlinearizable" || a.Key != "x" || !a.Definite {
				t.Errorf("anomaly = %+v", a)
			}
			for _, want := range c.stuckOps {
				found := false
				for _, o := range a.Ops {
					found = found || o == want
				}
				if !found {
					t.Errorf("anomaly ops %v do not name op %d", a.Ops, want)
				}
			}
			if len(a.Nodes) == 0 {
				t.Errorf("anomaly names no node")
			}
			html := string(r.Artifacts[VisualizationFile])
			if !strings.Contains(html, "<html") || len(r.Files) != 1 {
				t.Errorf("no visualization artifact (files %v)", r.Files)
			}
		})
	}
}

func TestLinearizableNamesTheNemesisWindow(t *testing.T) {
	ops := h(
		hrow{-1, inv, "partition", "", `{"cut":["n1->n2"]}`, ""}, hrow{-1, info, "partition", "", `{"cut":["n1->n2"]}`, ""},
		hrow{0, inv, "write", "x", "1", "n1"}, hrow{0, ok, "write", "x", "1", "n1"},
		hrow{1, inv, "read", "x", "null", "n2"}, hrow{1, ok, "read", "x", "null", "n2"},
		hrow{-1, inv, "heal", "", "", ""}, hrow{-1, info, "heal", "", "", ""},
	)
	r := Run(context.Background(), Linearizable{}, in(ops))
	if r.Valid != False || len(r.Anomalies) != 1 {
		t.Fatalf("%s", r)
	}
	if n := r.Anomalies[0].Nemesis; len(n) != 1 || !strings.HasPrefix(n[0], "partition") {
		t.Fatalf("nemesis = %v, want the partition", n)
	}
	if !strings.Contains(string(r.Artifacts[VisualizationFile]), "partition") {
		t.Error("the visualization does not annotate the partition")
	}
}

func TestLinearizableTimeoutIsUnknown(t *testing.T) {
	ops := h(hrow{0, inv, "write", "x", "1", "n1"}, hrow{0, ok, "write", "x", "1", "n1"})
	r := Run(context.Background(), Linearizable{Timeout: time.Nanosecond}, in(ops))
	if r.Valid != Unknown || r.Error == "" {
		t.Fatalf("a timed-out check is not unknown: %s", r)
	}
}

func TestLinearizableRejectsABadCASValue(t *testing.T) {
	ops := h(hrow{0, inv, "cas", "x", "7", "n1"}, hrow{0, ok, "cas", "x", "", "n1"})
	if r := Run(context.Background(), Linearizable{}, in(ops)); r.Valid != Unknown || !strings.Contains(r.Error, "not [expected, new]") {
		t.Fatalf("%s", r)
	}
}

type fake struct {
	name string
	r    Result
	boom bool
}

func (f fake) Name() string { return f.name }
func (f fake) Check(context.Context, Input) Result {
	if f.boom {
		panic("boom")
	}
	return f.r
}

func TestComposeRanksFalseOverUnknownOverTrue(t *testing.T) {
	yes := fake{name: "yes", r: Result{Valid: True}}
	no := fake{name: "no", r: Result{Valid: False}}
	unsure := fake{name: "unsure", r: Result{Valid: Unknown}}
	panics := fake{name: "panics", boom: true}
	sneaky := fake{name: "sneaky", r: Result{Valid: True, Anomalies: []Anomaly{{Kind: "x"}}}}
	cases := []struct {
		cs   []Checker
		want Valid
	}{
		{[]Checker{yes}, True},
		{[]Checker{yes, unsure}, Unknown},
		{[]Checker{unsure, no, yes}, False},
		{[]Checker{yes, panics}, Unknown},
		{[]Checker{sneaky}, False},
		{nil, Unknown},
	}
	for _, c := range cases {
		if s := Compose(context.Background(), in(nil), c.cs...); s.Valid != c.want {
			t.Errorf("%v: valid = %v, want %v", c.cs, s.Valid, c.want)
		}
	}
	r := Run(context.Background(), panics, in(nil))
	if r.Valid != Unknown || !strings.Contains(r.Error, "boom") || r.Checker != "panics" {
		t.Errorf("panic result = %s", r)
	}
}

func TestValidJSON(t *testing.T) {
	for _, v := range []Valid{True, False, Unknown} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var back Valid
		if err := json.Unmarshal(b, &back); err != nil || back != v {
			t.Errorf("%v -> %s -> %v (%v)", v, b, back, err)
		}
	}
	if b, _ := json.Marshal(Result{}); !strings.Contains(string(b), `"valid":"unknown"`) {
		t.Errorf("zero result is not unknown: %s", b)
	}
}

func TestWindowsCloseOnlyWhatTheirUndoNames(t *testing.T) {
	ops := h(
		hrow{-1, inv, "clock-bump", "", `{"node":"n1","offset_ns":5}`, ""}, hrow{-1, info, "clock-bump", "", `{"node":"n1","offset_ns":5}`, ""},
		hrow{-1, inv, "clock-bump", "", `{"node":"n2","offset_ns":7}`, ""}, hrow{-1, info, "clock-bump", "", `{"node":"n2","offset_ns":7}`, ""},
		hrow{-1, inv, "clock-reset", "", `{"node":"n1", "offset_ns":5}`, ""}, hrow{-1, info, "clock-reset", "", `{"node":"n1", "offset_ns":5}`, ""},
		hrow{0, inv, "read", "x", "", "n1"}, hrow{0, ok, "read", "x", "1", "n1"},
		hrow{-1, inv, "clock-reset", "", "", ""}, hrow{-1, info, "clock-reset", "", "", ""},
	)
	ws := Windows(ops, nemesis.Faults())
	if len(ws) != 2 || ws[0].EndIndex != 5 || ws[1].EndIndex != 9 {
		t.Fatalf("windows %+v: n1's reset must close only n1's window, the final reset the rest", ws)
	}
}

func TestReconnectClosesADisconnection(t *testing.T) {
	ops := h(
		hrow{-1, inv, "disconnect", "", `{"node":"n3"}`, ""}, hrow{-1, info, "disconnect", "", `{"node":"n3"}`, ""},
		hrow{-1, inv, "pause", "", `{"node":"n3"}`, ""}, hrow{-1, info, "pause", "", `{"node":"n3"}`, ""},
		hrow{-1, inv, "reconnect", "", `{"node":"n3"}`, ""}, hrow{-1, info, "reconnect", "", `{"node":"n3"}`, ""},
		hrow{0, inv, "read", "x", "", "n1"}, hrow{0, ok, "read", "x", "1", "n1"},
	)
	ws := Windows(ops, nemesis.Faults())
	if len(ws) != 2 || ws[0].F != "disconnect" || ws[0].EndIndex != 5 || ws[1].F != "pause" || ws[1].EndIndex != -1 {
		t.Fatalf("windows %+v: reconnect closes the disconnection and nothing else", ws)
	}
}

func TestWindows(t *testing.T) {
	ops := h(
		hrow{-1, inv, "partition", "", `"a"`, ""}, hrow{-1, info, "partition", "", `"a"`, ""},
		hrow{-1, inv, "kill", "", `"n2"`, ""}, hrow{-1, info, "kill", "", `"n2"`, ""},
		hrow{-1, inv, "heal", "", "", ""}, hrow{-1, info, "heal", "", "", ""},
		hrow{0, inv, "read", "x", "", "n1"}, hrow{0, ok, "read", "x", "1", "n1"},
	)
	ws := Windows(ops, nemesis.Faults())
	if len(ws) != 2 {
		t.Fatalf("windows = %+v", ws)
	}
	if ws[0].F != "partition" || ws[0].End != 50 || ws[0].EndIndex != 5 {
		t.Errorf("partition window = %+v", ws[0])
	}
	if ws[1].F != "kill" || ws[1].EndIndex != -1 || ws[1].End != 70 {
		t.Errorf("an unhealed kill must last to the end: %+v", ws[1])
	}
	if got := During(ws, 60, 70); len(got) != 1 || got[0] != `kill "n2"` {
		t.Errorf("during = %v", got)
	}
}

// TestWellFormedAloneIsNoVerdict: a history with no client operation (empty, or faults only) is
// well-formed and holds nothing to judge, so the whole verdict is unknown, never valid.
func TestWellFormedAloneIsNoVerdict(t *testing.T) {
	faults := []history.Op{
		{Index: 0, Time: 1, Process: history.NemesisProcess, Type: history.Invoke, F: "partition"},
		{Index: 1, Time: 2, Process: history.NemesisProcess, Type: history.Info, F: "partition"},
	}
	for _, ops := range [][]history.Op{nil, faults} {
		if r := Run(context.Background(), WellFormed{}, in(ops)); r.NotApplicable == "" {
			t.Fatalf("well-formed on %d ops with no client's: %s", len(ops), r)
		}
		if s := Compose(context.Background(), in(ops), WellFormed{}, Linearizable{}, Convergence{}); s.Valid != Unknown {
			t.Fatalf("%d ops with no client's: %s", len(ops), s.Valid)
		}
	}
}

// outlasting is a checker that is still at work when the check's deadline passes.
type outlasting struct{}

func (outlasting) Name() string { return "outlasting" }
func (o outlasting) Check(ctx context.Context, in Input) Result {
	return checkByStreaming(ctx, o, in)
}
func (outlasting) Stream(in Input) Stream { return outlastingStream{} }

type outlastingStream struct{}

func (outlastingStream) Observe(history.Op) {}
func (outlastingStream) Result(ctx context.Context) Result {
	<-ctx.Done()
	time.Sleep(10 * time.Millisecond)
	return Result{Valid: True}
}

// TestWellFormedOutlivesTheDeadline: a checker that runs out of time is unknown, but the format
// check, finished while the history was read, keeps its verdict, in memory and from a file.
func TestWellFormedOutlivesTheDeadline(t *testing.T) {
	ops := h(hrow{0, inv, "write", "x", "1", "n1"}, hrow{0, ok, "write", "x", "1", "n1"})
	var file bytes.Buffer
	for _, op := range ops {
		b, _ := history.Marshal(op)
		file.Write(append(b, '\n'))
	}
	check := map[string]func(context.Context) Summary{
		"Compose": func(ctx context.Context) Summary { return Compose(ctx, in(ops), outlasting{}, WellFormed{}) },
		"CheckReader": func(ctx context.Context) Summary {
			s, err := CheckReader(ctx, history.NewReader(bytes.NewReader(file.Bytes())), nil, in(nil), outlasting{}, WellFormed{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, f := range check {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		s := f(ctx)
		cancel()
		if len(s.Results) != 2 || s.Results[0].Valid != Unknown || !strings.Contains(s.Results[0].Error, "timed out") {
			t.Errorf("%s: the checker that outlasted the deadline: %+v", name, s.Results)
		}
		if len(s.Results) == 2 && s.Results[1].Valid != True {
			t.Errorf("%s: well-formed judged %s (%s)", name, s.Results[1].Valid, s.Results[1].Error)
		}
	}
}

// panicky is a checker whose stream panics on the op named "boom".
type panicky struct{}

func (panicky) Name() string { return "panicky" }
func (p panicky) Check(ctx context.Context, in Input) Result {
	return checkByStreaming(ctx, p, in)
}
func (panicky) Stream(in Input) Stream { return &panickyStream{} }

type panickyStream struct{ seen int }

func (s *panickyStream) Observe(op history.Op) {
	if op.F == "boom" {
		panic("boom")
	}
	s.seen++
}
func (s *panickyStream) Result(context.Context) Result {
	return Result{Valid: True, Stats: map[string]any{"seen": s.seen}}
}

// TestALaneThatPanicsLeavesTheOthers: read from a file, each stream observes in a lane of its
// own; one that panics is unknown, with the op that did it, and the others judge the whole
// history, every op of it in order.
func TestALaneThatPanicsLeavesTheOthers(t *testing.T) {
	var rows []hrow
	for p := 0; p < 3000; p++ { // several batches
		rows = append(rows, hrow{p, inv, "write", "x", "1", "n1"}, hrow{p, ok, "write", "x", "1", "n1"})
	}
	rows = append(rows, hrow{9999, inv, "boom", "x", "null", "n1"}, hrow{9999, ok, "boom", "x", "null", "n1"})
	ops := h(rows...)
	var file bytes.Buffer
	for _, op := range ops {
		b, _ := history.Marshal(op)
		file.Write(append(b, '\n'))
	}
	var tapped []int64
	s, err := CheckReader(context.Background(), history.NewReader(bytes.NewReader(file.Bytes())), func(op history.Op) { tapped = append(tapped, op.Index) },
		in(nil), panicky{}, &countingChecker{}, WellFormed{})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Results[0]; r.Valid != Unknown || !strings.Contains(r.Error, "panicked on op 6000") {
		t.Errorf("the panicking checker: %s %s", r.Valid, r.Error)
	}
	if r := s.Results[1]; r.Stats["ops"] != len(ops) || r.Stats["in_order"] != true {
		t.Errorf("the other lane saw %v ops, in order %v, of %d", r.Stats["ops"], r.Stats["in_order"], len(ops))
	}
	if len(tapped) != len(ops) || !slices.IsSorted(tapped) {
		t.Errorf("the tap saw %d ops of %d", len(tapped), len(ops))
	}
}

// countingChecker counts the ops its stream sees and whether they came in order.
type countingChecker struct{}

func (countingChecker) Name() string { return "counting" }
func (c *countingChecker) Check(ctx context.Context, in Input) Result {
	return checkByStreaming(ctx, c, in)
}
func (*countingChecker) Stream(Input) Stream { return &countingStream{last: -1, inOrder: true} }

type countingStream struct {
	n       int
	last    int64
	inOrder bool
}

func (s *countingStream) Observe(op history.Op) {
	s.n++
	s.inOrder = s.inOrder && op.Index == s.last+1
	s.last = op.Index
}
func (s *countingStream) Result(context.Context) Result {
	return Result{Valid: True, Stats: map[string]any{"ops": s.n, "in_order": s.inOrder}}
}
