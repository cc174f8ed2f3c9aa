// Package conflictlog holds the conflict-log checks on a real regionkv run: a clean run's log
// passes, and the same log with records of one leader removed fails, naming that leader.
package conflictlog

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	_ "github.com/crossfire-dev/crossfire/db/builtin"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/nemesis"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// cleanRun is a real run of observed-remove carts on the embedded cluster under partitions and
// retries, its history and its conflict records.
func cleanRun(tb testing.TB, seed uint64) ([]history.Op, []history.ConflictRecord) {
	tb.Helper()
	res, err := harness.Run(context.Background(), harness.Test{Name: "conflict-log", Workload: "cart", Options: map[string]string{"strategy": "orset"},
		Nemeses: []string{"partition", "retry"}, Seed: seed, Duration: 10 * time.Second}, harness.Options{Store: tb.TempDir(), Log: io.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	recs, found, err := runfolder.LoadConflicts(res.Dir)
	if err != nil || !found {
		tb.Fatalf("conflict records: found %v, %v", found, err)
	}
	ops, _, err := history.ReadFile(filepath.Join(res.Dir, runfolder.HistoryFile))
	if err != nil {
		tb.Fatal(err)
	}
	return ops, recs
}

func judge(ops []history.Op, logs []history.ConflictRecord) checkers.Result {
	return checkers.Run(context.Background(), checkers.Conflicts{}, checkers.Input{History: ops, Faults: nemesis.Faults(),
		Records: checkers.Records{Conflicts: logs, ConflictsKept: true}})
}

// BenchmarkOneRecordGone measures how often one record removed from a clean run's log is
// caught: every record in turn (of seeds 1 to 3), reported as the percentage caught.
func BenchmarkOneRecordGone(b *testing.B) {
	for b.Loop() {
		caught, total := 0, 0
		for seed := uint64(1); seed <= 3; seed++ {
			ops, recs := cleanRun(b, seed)
			if r := judge(ops, recs); r.Valid != checkers.True {
				b.Fatalf("seed %d: the clean run's log: %s", seed, r.Valid)
			}
			for i := range recs {
				kept := slices.Delete(slices.Clone(recs), i, i+1)
				total++
				if judge(ops, kept).Valid == checkers.False {
					caught++
				}
			}
		}
		b.ReportMetric(100*float64(caught)/float64(total), "%caught")
		b.ReportMetric(float64(total), "records")
	}
}

func TestRemovingRecordsOfOneLeaderIsCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10 s run of the embedded cluster")
	}
	ops, recs := cleanRun(t, 1)
	judge := func(logs []history.ConflictRecord) checkers.Result { return judge(ops, logs) }
	if r := judge(recs); r.Valid != checkers.True {
		t.Fatalf("the clean run's log: %s", r)
	}
	byNode := map[string]int{}
	for _, r := range recs {
		byNode[r.Node]++
	}
	for _, node := range []string{"n1", "n2", "n3"} {
		if byNode[node] < 40 {
			t.Fatalf("%s logged %d conflicts: too few to remove one in twenty (%v)", node, byNode[node], byNode)
		}
		// One record in twenty of this leader gone, from each of several starting points.
		for _, offset := range []int{0, 7, 13, 19} {
			t.Run(fmt.Sprintf("%s from %d", node, offset), func(t *testing.T) {
				var kept []history.ConflictRecord
				i := 0
				for _, r := range recs {
					if r.Node == node {
						i++
						if i%20 == offset {
							continue
						}
					}
					kept = append(kept, r)
				}
				r := judge(kept)
				if r.Valid != checkers.False {
					t.Fatalf("%d of %s's %d records gone, judged %s", len(recs)-len(kept), node, byNode[node], r.Valid)
				}
				// Each description names the leader that resolved the conflict first: "c0: n2 …".
				if !slices.ContainsFunc(r.Anomalies, func(a checkers.Anomaly) bool {
					return a.Kind == "silent-conflict" && slices.Contains(a.Nodes, node) && strings.Contains(a.Description, ": "+node+" ")
				}) {
					t.Fatalf("none of %d anomalies puts the silence down to %s; the first: %s", len(r.Anomalies), node, r.Anomalies[0].Description)
				}
			})
		}
	}
}
