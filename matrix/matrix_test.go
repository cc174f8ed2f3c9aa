package matrix_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossfire-dev/crossfire/checkers"
	_ "github.com/crossfire-dev/crossfire/db/builtin"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/matrix"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// Each row's judge is itself checked: it must refuse the opposite verdict, or a row could pass
// whatever happened.
func TestMatrixJudgesRefuseTheOppositeVerdict(t *testing.T) {
	valid := harness.Result{Valid: checkers.True, Stats: harness.Stats{OK: 1000, Faults: 10, Converged: true},
		Summary: checkers.Summary{Valid: checkers.True, Results: []checkers.Result{
			{Checker: checkers.LinearizableName, Valid: checkers.True},
			{Checker: checkers.DedupName, Valid: checkers.True, Stats: map[string]any{"order_rows": 500}},
			{Checker: checkers.OversellName, Valid: checkers.True},
			{Checker: checkers.ConvergenceName, Valid: checkers.True},
			{Checker: checkers.CartName, Valid: checkers.True},
			{Checker: checkers.FieldsName, Valid: checkers.True},
			{Checker: checkers.UniquenessName, Valid: checkers.True},
			{Checker: checkers.ConflictsName, Valid: checkers.True},
		}}}
	broken := valid.Stats
	broken.QuiesceErr = "mariadb: replication stopped: n2's channel from_n1 stopped: 1062: Duplicate entry 'r0' for key 'PRIMARY'"
	invalid := harness.Result{Valid: checkers.False, Stats: broken,
		Summary: checkers.Summary{Valid: checkers.False, Results: []checkers.Result{
			{Checker: checkers.LinearizableName, Valid: checkers.False, Anomalies: []checkers.Anomaly{{Kind: "nonlinearizable", Definite: true, Ops: []int64{1}, Nodes: []string{"n1"},
				Description: `key "r0": no order of its 4 ops explains the history; it gets stuck at read() → 1`}}},
			{Checker: checkers.DedupName, Valid: checkers.False, Anomalies: []checkers.Anomaly{{Kind: "duplicate-order", Definite: true}}},
			{Checker: checkers.OversellName, Valid: checkers.False, Anomalies: []checkers.Anomaly{{Kind: "oversell", Definite: true}}},
			{Checker: checkers.ConvergenceName, Valid: checkers.True},
			{Checker: checkers.CartName, Valid: checkers.False, Anomalies: []checkers.Anomaly{
				{Kind: "lost-add", Definite: true, Cause: checkers.CauseClockSkew},
				{Kind: "resurrected", Definite: true, Cause: checkers.CauseMergeRule}}},
			{Checker: checkers.FieldsName, Valid: checkers.False, Anomalies: []checkers.Anomaly{{Kind: "lost-field-edit", Definite: true}}},
			{Checker: checkers.UniquenessName, Valid: checkers.False, Anomalies: []checkers.Anomaly{{Kind: "double-claim", Definite: true}, {Kind: "lost-claim", Definite: true}}},
			{Checker: checkers.ConflictsName, Valid: checkers.False, Anomalies: []checkers.Anomaly{{Kind: "split-resolution", Definite: true, Cause: checkers.CauseTimestampTie}}},
			{Checker: checkers.IsolationName, Valid: checkers.False, Anomalies: []checkers.Anomaly{
				{Kind: "G-single-item-realtime", Definite: true, Ops: []int64{3, 5}, Description: "a cycle of 2 transactions",
					Cycle: []checkers.CycleStep{{From: 2, To: 4, Kind: "rw", Key: "x", Why: "T2 read x = [] without 1"}, {From: 4, To: 2, Kind: "realtime", Why: "T4 completed before T2 began"}}},
				{Kind: "lost-update", Definite: true, Ops: []int64{3, 5}, Description: "T2, T4 each read x = [] and then wrote x"}}},
		}}}
	// A run folder whose writes, with the final reads, are linearizable, for the rows that read it.
	invalid.Dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(invalid.Dir, runfolder.HistoryFile), []byte(`{"index":0,"time":0,"process":0,"type":"invoke","f":"write","key":"r0","value":1}
{"index":1,"time":1,"process":0,"type":"ok","f":"write","key":"r0"}
{"index":2,"time":2,"process":1,"type":"invoke","f":"read","key":"r0","value":null,"meta":{"final":true}}
{"index":3,"time":3,"process":1,"type":"ok","f":"read","key":"r0","value":1}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	idle := valid
	idle.Stats = harness.Stats{OK: 3, Converged: true}
	var rows []matrix.Row
	for _, name := range matrix.Databases() {
		m, err := matrix.For(name)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, m...)
	}
	if len(rows) < 8 {
		t.Fatalf("the catalog's matrices have only %d rows (%s)", len(rows), strings.Join(matrix.Databases(), ", "))
	}
	for _, row := range rows {
		want, other := invalid, valid
		if row.Expect == "valid" || strings.HasPrefix(row.Expect, "valid ") {
			want, other = valid, invalid
			if row.Judge(idle) == nil {
				t.Errorf("%s: an idle run passed", row.Name)
			}
		}
		if err := row.Judge(want); err != nil {
			t.Errorf("%s: the expected verdict was refused: %v", row.Name, err)
		}
		if row.Judge(other) == nil {
			t.Errorf("%s: the opposite verdict passed", row.Name)
		}
		if row.Judge(harness.Result{Valid: checkers.Unknown}) == nil {
			t.Errorf("%s: an unknown verdict passed", row.Name)
		}
	}
}

// TestFirstAnomaly: the first definite anomaly is the one whose evidence was complete first,
// timed from the main phase's start; possible anomalies and ops the history lacks do not count.
func TestFirstAnomaly(t *testing.T) {
	dir := t.TempDir()
	var ops []history.Op
	for i := range 8 {
		ops = append(ops, history.Op{Index: int64(i), Time: int64(i+1) * 1e9, Process: i / 2, Type: []history.Type{history.Invoke, history.OK}[i%2], F: "write", Key: "r0", Value: history.Value(i / 2)})
	}
	if err := history.WriteFile(filepath.Join(dir, runfolder.HistoryFile), ops); err != nil {
		t.Fatal(err)
	}
	res := harness.Result{Dir: dir, Summary: checkers.Summary{Results: []checkers.Result{
		{Anomalies: []checkers.Anomaly{{Kind: "a", Definite: true, Ops: []int64{1, 7}}, {Kind: "possible", Ops: []int64{0, 1}}}},
		{Anomalies: []checkers.Anomaly{{Kind: "b", Definite: true, Ops: []int64{2, 5}}, {Kind: "gone", Definite: true, Ops: []int64{0, 99}}}},
	}}}
	if at, ok := matrix.FirstAnomaly(res); !ok || at.Seconds() != 6 {
		t.Fatalf("first anomaly at %v (%v), want 6s: the one of ops 2 and 5", at, ok)
	}
	// Counted from the main phase's start, not the history's zero.
	res.Stats.MainStartNS = 1.5e9
	if at, ok := matrix.FirstAnomaly(res); !ok || at.Seconds() != 4.5 {
		t.Fatalf("first anomaly at %v (%v) of the main phase, want 4.5s", at, ok)
	}
	res.Stats.MainStartNS = 0
	res.Summary.Results[1].Anomalies = nil
	if at, ok := matrix.FirstAnomaly(res); !ok || at.Seconds() != 8 {
		t.Fatalf("first anomaly at %v (%v), want 8s", at, ok)
	}
	res.Summary.Results[0].Anomalies = res.Summary.Results[0].Anomalies[1:]
	if _, ok := matrix.FirstAnomaly(res); ok {
		t.Fatal("a possible anomaly counted")
	}
	if !matrix.ExpectsAnomaly(matrix.Row{Expect: "definite oversell"}) || matrix.ExpectsAnomaly(matrix.Row{Expect: "valid (linearizable)"}) {
		t.Error("ExpectsAnomaly")
	}
}
