package harness_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/clusters/docker"
	"github.com/crossfire-dev/crossfire/db/mariadb"
	"github.com/crossfire-dev/crossfire/db/pglogical"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/matrix"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// BenchmarkRunThroughput measures the operations per second one run drives through each cluster
// with no nemesis: clients as fast as their answers come back (the rate is set far above what
// they reach), every op recorded in the durable history. Reported as ops/s of the main phase.
//
//	go test ./harness/ -run '^$' -bench RunThroughput -benchtime 1x -count 3 -timeout 30m
func BenchmarkRunThroughput(b *testing.B) {
	for _, cluster := range []string{harness.ClusterLocal, harness.ClusterDocker} {
		for _, workload := range []string{"register", "inventory"} {
			b.Run(cluster+"/"+workload, func(b *testing.B) {
				if cluster == harness.ClusterDocker {
					cli, err := docker.Client(b.Context())
					if err != nil {
						b.Skipf("no Docker engine: %v", err)
					}
					cli.Close()
				}
				t := throughputTest("bench-"+cluster+"-"+workload, workload)
				t.Cluster = cluster
				if workload == "inventory" {
					t.Options = map[string]string{"stock": "escrow", "orders": "dedup"}
				}
				throughput(b, t)
			})
		}
	}
}

// throughputTest is a run with no nemesis whose 12 clients go as fast as answers come back.
func throughputTest(name, workload string) harness.Test {
	return harness.Test{Name: name, Workload: workload, Nemeses: []string{"none"}, Seed: 1,
		Duration: 10 * time.Second, Rate: 20000, Concurrency: 12}
}

// throughput runs t once per iteration and reports the operations per second of its main phase.
func throughput(b *testing.B, t harness.Test) {
	var ops, seconds float64
	for b.Loop() {
		res, err := harness.Run(b.Context(), t, harness.Options{Store: b.TempDir(), Log: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		ops += float64(res.Stats.Ops)
		seconds += t.Duration.Seconds()
	}
	b.ReportMetric(ops/seconds, "ops/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkPglogical measures runs against PostgreSQL with pglogical in containers: the
// operations per second each workload drives with no nemesis (12 clients as fast as answers
// come, 10-second main phase), and, for the last_update_wins row of its matrix, how long after
// the first client operation the first operation of the first definite anomaly completed.
//
//	go test ./harness/ -run '^$' -bench Pglogical -benchtime 1x -count 3 -timeout 30m
func BenchmarkPglogical(b *testing.B) {
	engineRuns(b, pglogical.Name, pglogical.Prerequisites, 1, "register-last_update_wins")
}

// BenchmarkMariaDB is the same for MariaDB with Galera, the first anomaly of its P4 row (a
// read-modify-write purchase, no fault).
//
//	go test ./harness/ -run '^$' -bench MariaDB -benchtime 1x -count 3 -timeout 30m
func BenchmarkMariaDB(b *testing.B) {
	engineRuns(b, mariadb.Name, mariadb.Prerequisites, 1, "inventory-read-modify-write")
}

// engineRuns measures a database's throughput per workload and the time to the first definite
// anomaly of its matrix row number row (named what).
func engineRuns(b *testing.B, database string, prerequisites func(context.Context) error, row int, what string) {
	if err := prerequisites(b.Context()); err != nil {
		b.Skipf("%s cannot run here: %v", database, err)
	}
	for _, workload := range []string{"register", "inventory", "cart"} {
		b.Run("throughput/"+workload, func(b *testing.B) {
			t := throughputTest("bench-"+database+"-"+workload, workload)
			t.DB = database
			throughput(b, t)
		})
	}
	b.Run("first-anomaly/"+what, func(b *testing.B) {
		rows, err := matrix.For(database)
		if err != nil {
			b.Fatal(err)
		}
		var total time.Duration
		seed := uint64(0)
		for b.Loop() {
			seed++
			res, err := harness.Run(b.Context(), rows[row].Test(seed, harness.ClusterDocker), harness.Options{Store: b.TempDir(), Log: io.Discard})
			if err != nil {
				b.Fatal(err)
			}
			d, ok := firstDefinite(b, res)
			if !ok {
				b.Fatalf("seed %d: no definite anomaly", seed)
			}
			total += d
		}
		b.ReportMetric(total.Seconds()/float64(seed), "s-to-first-anomaly")
		b.ReportMetric(0, "ns/op")
	})
}

// firstDefinite is how long after the first client operation began the evidence of the first
// definite anomaly was complete: for each definite anomaly, the latest completion among its
// operations (an invoke counts by its completion); the earliest of those.
func firstDefinite(b *testing.B, res harness.Result) (time.Duration, bool) {
	var anomalies [][]int64
	for _, r := range res.Summary.Results {
		for _, a := range r.Anomalies {
			if a.Definite && len(a.Ops) > 0 {
				anomalies = append(anomalies, a.Ops)
			}
		}
	}
	f, err := os.Open(filepath.Join(res.Dir, runfolder.HistoryFile))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	done := map[int64]int64{}          // op index -> when it (or, for an invoke, its completion) came
	var pending history.Matcher[int64] // each process's open invoke
	rd := history.NewReader(f)
	start := int64(-1)
	for {
		op, err := rd.Next()
		if err != nil {
			break
		}
		if op.Process < 0 {
			continue
		}
		if start < 0 {
			start = op.Time
		}
		if i, ok := pending.Observe(op, op.Index); ok {
			done[i] = op.Time
		}
		if op.Type != history.Invoke {
			done[op.Index] = op.Time
		}
	}
	first := int64(-1)
	for _, ops := range anomalies {
		last, complete := int64(0), true
		for _, i := range ops {
			t, ok := done[i]
			complete = complete && ok
			last = max(last, t)
		}
		if complete && (first < 0 || last < first) {
			first = last
		}
	}
	return time.Duration(first - start), first >= 0 && start >= 0
}
