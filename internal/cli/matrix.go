package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/matrix"
	"github.com/crossfire-dev/crossfire/matrix/plan"
)

func matrixCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("matrix", `usage: crossfire matrix [flags]

Runs the validation matrix a database offers (--db): each configuration of it that is known to
break must be caught, and each safe one must pass, for every seed ('crossfire matrix --db NAME
--list' lists its rows). Prints a line per run and a table at the end, writes matrix.json and
matrix.md into the store, and exits 0 when every verdict is the expected one, 1 when one is
not, 4 when the cluster cannot start at all. This is what the nightly chaos job runs (make
chaos).

Across machines: --shard I/N runs the I-th of N disjoint slices of the runs (rows × seeds),
balanced by each run's expected time, and writes matrix-plan.json beside matrix.json; every
machine must be given the same --db, --cluster, --rows, --seeds, --duration and --wan. Then
'crossfire matrix --merge DIR...' finds the shards' stores under the folders, joins their
results into one table per database (text, matrix.json, matrix.md, --summary), and exits 1 when
a shard is missing or a run is not as expected.`, stderr)
	var database, cluster, seeds, rows, summary, shard string
	var duration, wan time.Duration
	var list, merge bool
	o := harness.Options{}
	fs.StringVar(&database, "db", db.Default(), "the database whose matrix runs: "+strings.Join(matrix.Databases(), ", "))
	fs.StringVar(&cluster, "cluster", "", "cluster kind (default: the database's first): "+harness.ClusterLocal+", "+harness.ClusterDocker)
	fs.StringVar(&seeds, "seeds", "1,2,3", "comma-separated seeds; every row runs with each")
	fs.DurationVar(&duration, "duration", 0, "main phase of every run (default: each row's own, 6 to 40s)")
	fs.DurationVar(&wan, "wan", 0, "put the leaders of every run a round trip apart, e.g. 80ms, so that the costs table shows what reaching another region costs (default: the cluster's own links)")
	fs.StringVar(&rows, "rows", "", "comma-separated parts of row names to run (default: every row), e.g. cart,escrow")
	fs.StringVar(&o.Store, "store", "store", "store directory for run folders")
	fs.BoolVar(&list, "list", false, "list the database's rows, each with what it must give, and run nothing")
	fs.StringVar(&summary, "summary", "", "also append the Markdown table to this file (e.g. $GITHUB_STEP_SUMMARY)")
	fs.StringVar(&shard, "shard", "", "run only the I-th of N balanced slices of the runs, as I/N (default: all of them)")
	fs.BoolVar(&merge, "merge", false, "join the shards whose stores lie under the folders named as arguments, and run nothing")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if merge {
		if shard != "" || list {
			fmt.Fprintln(stderr, "crossfire matrix: --merge runs nothing: --shard and --list do not go with it")
			return exitUsage
		}
		return mergeCmd(fs.Args(), o.Store, summary, stdout, stderr)
	}
	shardI, shardN := 1, 1
	if shard != "" {
		var err error
		if shardI, shardN, err = plan.ParseShard(shard); err != nil {
			fmt.Fprintf(stderr, "crossfire matrix: %v\n", err)
			return exitUsage
		}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "crossfire matrix: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	var seedList []uint64
	for _, s := range splitList(seeds) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 {
			fmt.Fprintf(stderr, "crossfire matrix: seed %q is not a positive integer\n", s)
			return exitUsage
		}
		seedList = append(seedList, n)
	}
	if len(seedList) == 0 {
		fmt.Fprintln(stderr, "crossfire matrix: no seeds")
		return exitUsage
	}
	offered, err := matrix.For(database)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire matrix: %v\n", err)
		return exitUsage
	}
	if list {
		for _, row := range offered {
			fmt.Fprintf(stdout, "%-40s %s\n", row.Name, row.Expect)
		}
		return exitValid
	}
	if d, _ := db.Lookup(database); d != nil {
		spec := d.Spec()
		if cluster == "" && len(spec.Kinds) > 0 {
			cluster = spec.Kinds[0].Name
		}
		if _, err := spec.Kind(cluster); err != nil {
			fmt.Fprintf(stderr, "crossfire matrix: database %s %v\n", database, err)
			return exitUsage
		}
	}
	var chosen []matrix.Row
	for _, row := range offered {
		if matchesAny(row.Name, splitList(rows)) {
			chosen = append(chosen, row)
		}
	}
	if len(chosen) == 0 {
		var names []string
		for _, row := range offered {
			names = append(names, row.Name)
		}
		fmt.Fprintf(stderr, "crossfire matrix: no row matches %q (rows: %s)\n", rows, strings.Join(names, "; "))
		return exitUsage
	}
	if duration < 0 {
		fmt.Fprintln(stderr, "crossfire matrix: --duration must not be negative")
		return exitUsage
	}
	if wan < 0 {
		fmt.Fprintln(stderr, "crossfire matrix: --wan must not be negative")
		return exitUsage
	}

	all := plan.Jobs(chosen, seedList, cluster, duration, wan)
	jobs := plan.Shard(all, shardI, shardN)
	shardPlan := plan.Plan{Plan: plan.ID(database, cluster, all), DB: database, Cluster: cluster, WAN: wan, Shard: shardI, Of: shardN, Total: len(all)}
	for _, j := range jobs {
		shardPlan.Runs = append(shardPlan.Runs, j.Planned)
	}
	if shardN > 1 {
		fmt.Fprintf(stderr, "crossfire matrix: shard %d/%d: %d of the plan's %d runs\n", shardI, shardN, len(jobs), len(all))
	}

	o.Progress = progressPrinter(stderr)
	ctx, stop := signalContext()
	defer stop()
	var outs []plan.Outcome
	start := time.Now()
	for _, j := range jobs {
		row, seed, test := j.MatrixRow, j.Seed, j.Test
		fmt.Fprintf(stderr, "crossfire matrix: %d/%d: %s, seed %d (%s)\n", len(outs)+1, len(jobs), row.Name, seed, test.Name)
		t0 := time.Now()
		res, err := harness.Run(ctx, test, o)
		if err != nil && len(outs) == 0 && errors.Is(err, harness.ErrEnvironment) {
			// Nothing ran: the cluster itself cannot start here (no Docker, say).
			fmt.Fprintf(stderr, "crossfire matrix: %v\n", err)
			return exitEnv
		}
		out := j.Outcome(database, cluster, res, err, time.Since(t0))
		outs = append(outs, out)
		verdict := "as expected"
		if !out.Expected {
			verdict = "UNEXPECTED: " + firstLine(out.Why)
		}
		fmt.Fprintf(stdout, "%-26s seed %-4d %-8s %s (%s, %s)\n", row.Name, seed, out.Valid, verdict,
			out.Took.Round(time.Second), out.Dir)
		if ctx.Err() != nil {
			break
		}
	}

	where := plan.Where(database, cluster, wan)
	if shardN > 1 {
		where += fmt.Sprintf(", shard %d/%d", shardI, shardN)
	}
	table := plan.Table(outs, where, time.Since(start))
	fmt.Fprint(stdout, "\n"+table)
	code := exitValid
	for _, out := range outs {
		if !out.Expected {
			code = exitInvalid
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "crossfire matrix: interrupted; the table holds the runs that finished")
		code = exitUnknown
	}
	if err := plan.Write(o.Store, outs, table, summary); err != nil {
		fmt.Fprintf(stderr, "crossfire matrix: %v\n", err)
		return exitEnv
	}
	if err := plan.WritePlan(o.Store, shardPlan); err != nil {
		fmt.Fprintf(stderr, "crossfire matrix: %v\n", err)
		return exitEnv
	}
	return code
}

// matchesAny reports whether name contains one of the parts (every name matches no parts).
func matchesAny(name string, parts []string) bool {
	for _, p := range parts {
		if strings.Contains(name, p) {
			return true
		}
	}
	return len(parts) == 0
}
