package harness_test

import (
	"io"
	"testing"
	"time"

	"crossfire/clusters/docker"
	"crossfire/harness"
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
				var ops, seconds float64
				for b.Loop() {
					t := harness.Test{Name: "bench-" + cluster + "-" + workload, Cluster: cluster, Workload: workload,
						Nemeses: []string{"none"}, Seed: 1, Duration: 10 * time.Second, Rate: 20000, Concurrency: 12}
					if workload == "inventory" {
						t.Options = map[string]string{"stock": "escrow", "orders": "dedup"}
					}
					res, err := harness.Run(b.Context(), t, harness.Options{Store: b.TempDir(), Log: io.Discard})
					if err != nil {
						b.Fatal(err)
					}
					ops += float64(res.Stats.Ops)
					seconds += t.Duration.Seconds()
				}
				b.ReportMetric(ops/seconds, "ops/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
