// Package plan runs the validation matrix across seeds and machines: it plans the runs of rows
// × seeds, splits them into shards balanced by expected time, records what each run came to
// (Outcome, matrix.json, matrix.md, matrix-plan.json), and merges the shards of one plan back
// into one table. It runs nothing itself: the caller hands each Job's test to the harness. The
// databases offer their rows through package matrix and never import this one.
package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/matrix"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// PlanFile is the file beside matrix.json that says which part of which plan a matrix run was.
const PlanFile = "matrix-plan.json"

// Plan is what one `crossfire matrix` ran, as matrix-plan.json holds it: the whole plan's
// identity and size, and this shard's share of it. An unsharded run is shard 1 of 1.
type Plan struct {
	// Plan identifies the whole plan: the database, the cluster kind, and every run of it with
	// its duration. Shards merge only with shards of the same plan.
	Plan    string        `json:"plan"`
	DB      string        `json:"db"`
	Cluster string        `json:"cluster"`
	WAN     time.Duration `json:"wan_rtt_ns,omitempty"` // the round trip between leaders (--wan)
	Shard   int           `json:"shard"`
	Of      int           `json:"of"`
	Total   int           `json:"total_runs"` // runs in the whole plan
	Runs    []Planned     `json:"runs"`       // this shard's, in the order they ran
}

// Planned is one run of a plan: a row and a seed, at its place in the whole plan.
type Planned struct {
	Row      string        `json:"row"`
	Seed     uint64        `json:"seed"`
	Pos      int           `json:"pos"`         // its place in the unsharded order
	Expected time.Duration `json:"expected_ns"` // the time it is expected to take, which balances the shards
}

// Job is a planned run with the row that makes its test.
type Job struct {
	Planned
	MatrixRow matrix.Row     `json:"-"` // the row whose run this is (Planned.Row names it)
	Test      runfolder.Test `json:"-"` // the run's test, its durations as planned
}

// startCost is what a run costs beyond its main phase, by cluster kind: starting the cluster,
// the setup, the quiesce and the check. It only needs to be right in proportion.
func startCost(cluster string) time.Duration {
	if cluster == runfolder.ClusterDocker {
		return 25 * time.Second
	}
	return 4 * time.Second
}

// Jobs lists the runs of rows × seeds in the unsharded order: each row with every seed.
func Jobs(rows []matrix.Row, seeds []uint64, cluster string, duration, wan time.Duration) []Job {
	var jobs []Job
	for _, row := range rows {
		for _, seed := range seeds {
			test := row.Test(seed, cluster)
			if duration > 0 {
				test.Duration = duration
			}
			test.WAN = wan
			jobs = append(jobs, Job{Planned: Planned{Row: row.Name, Seed: seed, Pos: len(jobs),
				Expected: test.Duration + startCost(cluster)}, MatrixRow: row, Test: test})
		}
	}
	return jobs
}

// ID identifies a plan by its database, cluster kind and runs.
func ID(database, cluster string, jobs []Job) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00", database, cluster)
	for _, j := range jobs {
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", j.Row, j.Seed, j.Test.Duration)
		if j.Test.WAN > 0 {
			fmt.Fprintf(h, "wan %d\x00", j.Test.WAN)
		}
	}
	return fmt.Sprintf("%s-%016x", database, h.Sum64())
}

// Shard assigns every job to one of n shards, balanced by expected time: longest first, each
// to the shard with the least time so far (the lowest-numbered of equals), and returns shard i's
// (1-based) in the unsharded order. The same jobs give the same assignment on every machine.
func Shard(jobs []Job, i, n int) []Job {
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
	var out []Job
	for k, j := range jobs {
		if shard[k] == i-1 {
			out = append(out, j)
		}
	}
	return out
}

// ParseShard reads I/N.
func ParseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("--shard %q: want I/N with 1 <= I <= N, e.g. 2/4", s)
	}
	return i, n, nil
}

// WritePlan writes matrix-plan.json into the store.
func WritePlan(store string, p Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(store, PlanFile), append(b, '\n'), 0o644)
}

// Found is one shard's files, read back.
type Found struct {
	Dir  string
	Plan Plan
	Outs []Outcome
}

// FindShards finds every matrix-plan.json under the given folders (a CI job's downloaded
// artifacts hold one store per shard) and reads it with its matrix.json.
func FindShards(dirs []string) ([]Found, error) {
	var found []Found
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
			var r Found
			r.Dir = filepath.Dir(path)
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, &r.Plan); err != nil || r.Plan.Plan == "" || r.Plan.Of < 1 {
				return fmt.Errorf("%s: not a matrix plan (%v)", path, err)
			}
			if b, err = os.ReadFile(filepath.Join(r.Dir, "matrix.json")); err != nil {
				return fmt.Errorf("%s has no matrix.json beside it: %w", path, err)
			}
			if err := json.Unmarshal(b, &r.Outs); err != nil {
				return fmt.Errorf("%s: %w", filepath.Join(r.Dir, "matrix.json"), err)
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

// Merged is every shard of one plan, joined.
type Merged struct {
	Plan  Plan // the first shard's, for the plan's identity
	Outs  []Outcome
	Took  time.Duration
	Dirs  []string
	Shard int
}

// Merge joins the shards of each plan into the unsharded order. It fails when a shard of a
// plan is missing, when two disagree about the plan, or when a shard lacks a run it was given.
func Merge(found []Found) ([]Merged, error) {
	byPlan := map[string][]Found{}
	for _, r := range found {
		byPlan[r.Plan.Plan] = append(byPlan[r.Plan.Plan], r)
	}
	var errs []error
	var merged []Merged
	for _, id := range slices.Sorted(maps.Keys(byPlan)) {
		shards := byPlan[id]
		first := shards[0].Plan
		m := Merged{Plan: first, Shard: first.Of}
		have := map[int]string{}
		placed := make([]*Outcome, first.Total)
		for _, r := range shards {
			p := r.Plan
			if p.Of != first.Of || p.Total != first.Total {
				errs = append(errs, fmt.Errorf("plan %s: %s says %d shards of %d runs, %s says %d of %d", id, shards[0].Dir, first.Of, first.Total, r.Dir, p.Of, p.Total))
				continue
			}
			if prev, dup := have[p.Shard]; dup {
				errs = append(errs, fmt.Errorf("plan %s: shard %d/%d twice, in %s and %s", id, p.Shard, p.Of, prev, r.Dir))
				continue
			}
			have[p.Shard] = r.Dir
			m.Dirs = append(m.Dirs, r.Dir)
			byKey := map[string]Outcome{}
			for _, o := range r.Outs {
				byKey[fmt.Sprintf("%s\x00%d", o.Row, o.Seed)] = o
				m.Took += o.Took
			}
			for _, run := range p.Runs {
				o, ok := byKey[fmt.Sprintf("%s\x00%d", run.Row, run.Seed)]
				if !ok {
					o = Outcome{Row: run.Row, Seed: run.Seed, DB: p.DB, Cluster: p.Cluster, Why: fmt.Sprintf("shard %d/%d (%s) has no result of this run: it was cut short", p.Shard, p.Of, r.Dir)}
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
			m.Outs = append(m.Outs, *o)
		}
		merged = append(merged, m)
	}
	sort.SliceStable(merged, func(a, b int) bool { return merged[a].Plan.DB < merged[b].Plan.DB })
	return merged, errors.Join(errs...)
}
