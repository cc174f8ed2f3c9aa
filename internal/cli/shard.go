package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/matrix"
)

// PlanFile is the file beside matrix.json that says which part of which plan a matrix run was.
const PlanFile = "matrix-plan.json"

// MatrixPlan is what one `crossfire matrix` ran, as matrix-plan.json holds it: the whole plan's
// identity and size, and this shard's share of it. An unsharded run is shard 1 of 1.
type MatrixPlan struct {
	// Plan identifies the whole plan: the database, the cluster kind, and every run of it with
	// its duration. Shards merge only with shards of the same plan.
	Plan    string        `json:"plan"`
	DB      string        `json:"db"`
	Cluster string        `json:"cluster"`
	WAN     time.Duration `json:"wan_rtt_ns,omitempty"` // the round trip between leaders (--wan)
	Shard   int           `json:"shard"`
	Of      int           `json:"of"`
	Total   int           `json:"total_runs"` // runs in the whole plan
	Runs    []PlannedRun  `json:"runs"`       // this shard's, in the order they ran
}

// PlannedRun is one run of a plan: a row and a seed, at its place in the whole plan.
type PlannedRun struct {
	Row      string        `json:"row"`
	Seed     uint64        `json:"seed"`
	Pos      int           `json:"pos"`         // its place in the unsharded order
	Expected time.Duration `json:"expected_ns"` // the time it is expected to take, which balances the shards
}

// matrixJob is a planned run with the row that makes its test.
type matrixJob struct {
	PlannedRun
	row  matrix.Row
	test harness.Test
}

// startCost is what a run costs beyond its main phase, by cluster kind: starting the cluster,
// the setup, the quiesce and the check. It only needs to be right in proportion.
func startCost(cluster string) time.Duration {
	if cluster == harness.ClusterDocker {
		return 25 * time.Second
	}
	return 4 * time.Second
}

// planJobs lists the runs of rows × seeds in the unsharded order: each row with every seed.
func planJobs(rows []matrix.Row, seeds []uint64, cluster string, duration, wan time.Duration) []matrixJob {
	var jobs []matrixJob
	for _, row := range rows {
		for _, seed := range seeds {
			test := row.Test(seed, cluster)
			if duration > 0 {
				test.Duration = duration
			}
			test.WAN = wan
			jobs = append(jobs, matrixJob{PlannedRun: PlannedRun{Row: row.Name, Seed: seed, Pos: len(jobs),
				Expected: test.Duration + startCost(cluster)}, row: row, test: test})
		}
	}
	return jobs
}

// planID identifies a plan by its database, cluster kind and runs.
func planID(database, cluster string, jobs []matrixJob) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00", database, cluster)
	for _, j := range jobs {
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", j.Row, j.Seed, j.test.Duration)
		if j.test.WAN > 0 {
			fmt.Fprintf(h, "wan %d\x00", j.test.WAN)
		}
	}
	return fmt.Sprintf("%s-%016x", database, h.Sum64())
}

// shardOf assigns every job to one of n shards, balanced by expected time: longest first, each
// to the shard with the least time so far (the lowest-numbered of equals), and returns shard i's
// (1-based) in the unsharded order. The same jobs give the same assignment on every machine.
func shardOf(jobs []matrixJob, i, n int) []matrixJob {
	order := make([]int, len(jobs))
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(a, b int) bool { return jobs[order[a]].Expected > jobs[order[b]].Expected })
	load := make([]time.Duration, n)
	shard := make([]int, len(jobs))
	for _, k := range order {
		least := 0
		for s := 1; s < n; s++ {
			if load[s] < load[least] {
				least = s
			}
		}
		shard[k] = least
		load[least] += jobs[k].Expected
	}
	var out []matrixJob
	for k, j := range jobs {
		if shard[k] == i-1 {
			out = append(out, j)
		}
	}
	return out
}

// parseShard reads I/N.
func parseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("--shard %q: want I/N with 1 <= I <= N, e.g. 2/4", s)
	}
	return i, n, nil
}

// writePlan writes matrix-plan.json into the store.
func writePlan(store string, p MatrixPlan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(store, PlanFile), append(b, '\n'), 0o644)
}

// shardResult is one shard's files, read back.
type shardResult struct {
	dir  string
	plan MatrixPlan
	outs []MatrixOutcome
}

// findShards finds every matrix-plan.json under the given folders (a CI job's downloaded
// artifacts hold one store per shard) and reads it with its matrix.json.
func findShards(dirs []string) ([]shardResult, error) {
	var found []shardResult
	for _, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			return nil, err
		}
		err := filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() && path != d && strings.Count(strings.TrimPrefix(path, d), string(filepath.Separator)) > 3 {
				return filepath.SkipDir // run folders lie deeper; a store's files are near its top
			}
			if e.IsDir() || e.Name() != PlanFile {
				return nil
			}
			var r shardResult
			r.dir = filepath.Dir(path)
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, &r.plan); err != nil || r.plan.Plan == "" || r.plan.Of < 1 {
				return fmt.Errorf("%s: not a matrix plan (%v)", path, err)
			}
			if b, err = os.ReadFile(filepath.Join(r.dir, "matrix.json")); err != nil {
				return fmt.Errorf("%s has no matrix.json beside it: %w", path, err)
			}
			if err := json.Unmarshal(b, &r.outs); err != nil {
				return fmt.Errorf("%s: %w", filepath.Join(r.dir, "matrix.json"), err)
			}
			found = append(found, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

// mergedPlan is every shard of one plan, joined.
type mergedPlan struct {
	plan  MatrixPlan // the first shard's, for the plan's identity
	outs  []MatrixOutcome
	took  time.Duration
	dirs  []string
	shard int
}

// mergeShards joins the shards of each plan into the unsharded order. It fails when a shard of a
// plan is missing, when two disagree about the plan, or when a shard lacks a run it was given.
func mergeShards(found []shardResult) ([]mergedPlan, error) {
	byPlan := map[string][]shardResult{}
	for _, r := range found {
		byPlan[r.plan.Plan] = append(byPlan[r.plan.Plan], r)
	}
	var errs []error
	var merged []mergedPlan
	for _, id := range slices.Sorted(maps.Keys(byPlan)) {
		shards := byPlan[id]
		first := shards[0].plan
		m := mergedPlan{plan: first, shard: first.Of}
		have := map[int]string{}
		placed := make([]*MatrixOutcome, first.Total)
		for _, r := range shards {
			p := r.plan
			if p.Of != first.Of || p.Total != first.Total {
				errs = append(errs, fmt.Errorf("plan %s: %s says %d shards of %d runs, %s says %d of %d", id, shards[0].dir, first.Of, first.Total, r.dir, p.Of, p.Total))
				continue
			}
			if prev, dup := have[p.Shard]; dup {
				errs = append(errs, fmt.Errorf("plan %s: shard %d/%d twice, in %s and %s", id, p.Shard, p.Of, prev, r.dir))
				continue
			}
			have[p.Shard] = r.dir
			m.dirs = append(m.dirs, r.dir)
			byKey := map[string]MatrixOutcome{}
			for _, o := range r.outs {
				byKey[fmt.Sprintf("%s\x00%d", o.Row, o.Seed)] = o
				m.took += o.Took
			}
			for _, run := range p.Runs {
				o, ok := byKey[fmt.Sprintf("%s\x00%d", run.Row, run.Seed)]
				if !ok {
					o = MatrixOutcome{Row: run.Row, Seed: run.Seed, DB: p.DB, Cluster: p.Cluster, Why: fmt.Sprintf("shard %d/%d (%s) has no result of this run: it was cut short", p.Shard, p.Of, r.dir)}
				}
				if run.Pos < 0 || run.Pos >= len(placed) {
					errs = append(errs, fmt.Errorf("plan %s: shard %d/%d places a run at %d of %d", id, p.Shard, p.Of, run.Pos, len(placed)))
					continue
				}
				placed[run.Pos] = &o
			}
		}
		var missing []string
		for s := 1; s <= first.Of; s++ {
			if _, ok := have[s]; !ok {
				missing = append(missing, fmt.Sprintf("%d/%d", s, first.Of))
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("%s (%s): shard %s missing", first.DB, id, strings.Join(missing, ", ")))
			continue
		}
		for pos, o := range placed {
			if o == nil {
				errs = append(errs, fmt.Errorf("plan %s: no shard ran run %d", id, pos))
				continue
			}
			m.outs = append(m.outs, *o)
		}
		merged = append(merged, m)
	}
	sort.SliceStable(merged, func(a, b int) bool { return merged[a].plan.DB < merged[b].plan.DB })
	return merged, errors.Join(errs...)
}

// mergeCmd is crossfire matrix --merge DIR…: the shards' tables joined into one per plan.
func mergeCmd(dirs []string, store, summary string, stdout, stderr io.Writer) int {
	if len(dirs) == 0 {
		fmt.Fprintln(stderr, "crossfire matrix --merge: name the folders that hold the shards' stores (matrix.json and matrix-plan.json each)")
		return exitUsage
	}
	found, err := findShards(dirs)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire matrix --merge: %v\n", err)
		return exitUsage
	}
	if len(found) == 0 {
		fmt.Fprintf(stderr, "crossfire matrix --merge: no %s under %s\n", PlanFile, strings.Join(dirs, ", "))
		return exitUsage
	}
	merged, err := mergeShards(found)
	var tables []string
	var all []MatrixOutcome
	code := exitValid
	for _, m := range merged {
		where := matrixWhere(m.plan.DB, m.plan.Cluster, m.plan.WAN)
		if m.plan.Of > 1 {
			where += fmt.Sprintf(", %d shards", m.plan.Of)
		}
		tables = append(tables, matrixTable(m.outs, where, m.took))
		all = append(all, m.outs...)
		for _, o := range m.outs {
			if !o.Expected {
				code = exitInvalid
			}
		}
	}
	table := strings.Join(tables, "\n")
	fmt.Fprint(stdout, table)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire matrix --merge: %v\n", err)
		code = exitInvalid
	}
	if werr := writeMatrix(store, all, table, summary); werr != nil {
		fmt.Fprintf(stderr, "crossfire matrix --merge: %v\n", werr)
		return exitEnv
	}
	return code
}
