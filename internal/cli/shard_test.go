package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/matrix"
	"github.com/crossfire-dev/crossfire/matrix/plan"
)

// fakeRows are rows of several lengths; their tests are only planned, never run.
func fakeRows() []matrix.Row {
	var rows []matrix.Row
	for i, d := range []time.Duration{10, 40, 6, 20, 12, 8, 30} {
		name := fmt.Sprintf("row %d", i)
		rows = append(rows, matrix.Row{Name: name, Expect: "valid", Test: func(seed uint64, cluster string) harness.Test {
			return harness.Test{Name: matrix.Name(name, seed, cluster), Duration: d * time.Second}
		}})
	}
	return rows
}

func TestShardsCoverEveryRunOnce(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5}
	for _, cluster := range []string{harness.ClusterLocal, harness.ClusterDocker} {
		jobs := plan.Jobs(fakeRows(), seeds, cluster, 0, 0)
		var longest time.Duration
		for _, j := range jobs {
			longest = max(longest, j.Expected)
		}
		for n := 1; n <= 8; n++ {
			seen := map[string]int{}
			var loads []time.Duration
			for i := 1; i <= n; i++ {
				var load time.Duration
				prev := -1
				for _, j := range plan.Shard(jobs, i, n) {
					seen[fmt.Sprintf("%s/%d", j.Row, j.Seed)]++
					load += j.Expected
					if j.Pos <= prev {
						t.Fatalf("n=%d shard %d: runs out of the plan's order", n, i)
					}
					prev = j.Pos
				}
				loads = append(loads, load)
			}
			if len(seen) != len(jobs) {
				t.Fatalf("%s n=%d: %d of %d runs in some shard", cluster, n, len(seen), len(jobs))
			}
			for k, c := range seen {
				if c != 1 {
					t.Fatalf("%s n=%d: %s in %d shards", cluster, n, k, c)
				}
			}
			lo, hi := loads[0], loads[0]
			for _, l := range loads {
				lo, hi = min(lo, l), max(hi, l)
			}
			if hi-lo > longest {
				t.Errorf("%s n=%d: shards of %v to %v: more apart than the longest run (%v)", cluster, n, lo, hi, longest)
			}
		}
	}
	// Another machine plans the same shards.
	a, b := plan.Shard(plan.Jobs(fakeRows(), seeds, harness.ClusterLocal, 0, 0), 2, 3), plan.Shard(plan.Jobs(fakeRows(), seeds, harness.ClusterLocal, 0, 0), 2, 3)
	if fmt.Sprint(runsOf(a)) != fmt.Sprint(runsOf(b)) {
		t.Error("the same plan sharded two ways")
	}
	// Shards run with leaders a round trip apart are of another plan than those run without.
	near, far := plan.Jobs(fakeRows(), seeds, harness.ClusterLocal, 0, 0), plan.Jobs(fakeRows(), seeds, harness.ClusterLocal, 0, 80*time.Millisecond)
	if far[0].Test.WAN != 80*time.Millisecond || plan.ID("regionkv", harness.ClusterLocal, near) == plan.ID("regionkv", harness.ClusterLocal, far) {
		t.Error("--wan left the plan as it was")
	}
}

func runsOf(jobs []plan.Job) []plan.Planned {
	var out []plan.Planned
	for _, j := range jobs {
		out = append(out, j.Planned)
	}
	return out
}

func TestParseShard(t *testing.T) {
	for _, bad := range []string{"", "1", "0/2", "3/2", "a/b", "1/0", "-1/2", "1/2/3"} {
		if _, _, err := plan.ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if i, n, err := plan.ParseShard("2/4"); err != nil || i != 2 || n != 4 {
		t.Errorf("2/4: %d %d %v", i, n, err)
	}
}

// writeShards lays out n shards' stores of one plan under dir, as the matrix writes them, each
// run's outcome as expected except the one named bad.
func writeShards(t *testing.T, dir, database string, n int, bad string) []plan.Job {
	t.Helper()
	jobs := plan.Jobs(fakeRows(), []uint64{1, 2, 3}, harness.ClusterLocal, 0, 0)
	id := plan.ID(database, harness.ClusterLocal, jobs)
	for i := 1; i <= n; i++ {
		store := filepath.Join(dir, fmt.Sprintf("%s-shard-%d", database, i), "store")
		if err := os.MkdirAll(store, 0o755); err != nil {
			t.Fatal(err)
		}
		p := plan.Plan{Plan: id, DB: database, Cluster: harness.ClusterLocal, Shard: i, Of: n, Total: len(jobs)}
		var outs []plan.Outcome
		for _, j := range plan.Shard(jobs, i, n) {
			p.Runs = append(p.Runs, j.Planned)
			o := plan.Outcome{DB: database, Cluster: harness.ClusterLocal, Row: j.Row, Seed: j.Seed, Expect: "valid", Valid: checkers.True, Expected: true, Took: time.Second}
			if fmt.Sprintf("%s/%d", j.Row, j.Seed) == bad {
				o.Valid, o.Expected, o.Why = checkers.False, false, "anomalies found"
			}
			outs = append(outs, o)
		}
		if err := plan.Write(store, outs, "table", ""); err != nil {
			t.Fatal(err)
		}
		if err := plan.WritePlan(store, p); err != nil {
			t.Fatal(err)
		}
	}
	return jobs
}

func TestMergeJoinsShardsInThePlansOrder(t *testing.T) {
	dir := t.TempDir()
	jobs := writeShards(t, dir, "regionkv", 3, "")
	writeShards(t, dir, "pglogical", 2, "row 3/2")
	found, err := plan.FindShards([]string{dir})
	if err != nil || len(found) != 5 {
		t.Fatalf("found %d shards: %v", len(found), err)
	}
	merged, err := plan.Merge(found)
	if err != nil || len(merged) != 2 {
		t.Fatalf("merged %d plans: %v", len(merged), err)
	}
	if merged[0].Plan.DB != "pglogical" || merged[1].Plan.DB != "regionkv" {
		t.Fatalf("plans %s, %s", merged[0].Plan.DB, merged[1].Plan.DB)
	}
	for _, m := range merged {
		if len(m.Outs) != len(jobs) {
			t.Fatalf("%s: %d runs merged of %d", m.Plan.DB, len(m.Outs), len(jobs))
		}
		for k, o := range m.Outs {
			if o.Row != jobs[k].Row || o.Seed != jobs[k].Seed {
				t.Fatalf("%s: run %d is %s seed %d, the plan's is %s seed %d", m.Plan.DB, k, o.Row, o.Seed, jobs[k].Row, jobs[k].Seed)
			}
		}
	}

	store := t.TempDir()
	summary := filepath.Join(store, "summary.md")
	var out, errb strings.Builder
	if code := mergeCmd([]string{dir}, store, summary, &out, &errb); code != exitInvalid {
		t.Fatalf("merge with one run not as expected: exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"(pglogical, local cluster, 2 shards): 20 of 21 runs as expected",
		"(regionkv, local cluster, 3 shards): 21 of 21 runs as expected",
		"| row 3 |  | 2 | valid | invalid | **no**: anomalies found |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("merged table lacks %q:\n%s", want, out.String())
		}
	}
	if b, err := os.ReadFile(summary); err != nil || !strings.Contains(string(b), "regionkv, local cluster, 3 shards") {
		t.Errorf("summary %v:\n%s", err, b)
	}
}

func TestMergeFailsOnAMissingShard(t *testing.T) {
	dir := t.TempDir()
	writeShards(t, dir, "regionkv", 3, "")
	if err := os.RemoveAll(filepath.Join(dir, "regionkv-shard-2")); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	code := mergeCmd([]string{dir}, t.TempDir(), "", &out, &errb)
	if code != exitInvalid || !strings.Contains(errb.String(), "shard 2/3 missing") {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	// A shard cut short: its plan names a run its matrix.json lacks.
	dir = t.TempDir()
	writeShards(t, dir, "regionkv", 2, "")
	store := filepath.Join(dir, "regionkv-shard-1", "store")
	if err := os.WriteFile(filepath.Join(store, "matrix.json"), []byte("[]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	if code := mergeCmd([]string{dir}, t.TempDir(), "", &out, &errb); code != exitInvalid || !strings.Contains(out.String(), "has no result of this run") {
		t.Fatalf("a shard cut short: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if code := mergeCmd([]string{t.TempDir()}, t.TempDir(), "", &out, &errb); code != exitUsage {
		t.Fatalf("no shards at all: exit %d", code)
	}
}
