// Package harnesstest makes a Go test a chaos test: Run runs a crossfire Test on the embedded
// cluster from inside `go test`, logs the seed and the run folder, removes the folder when the
// test passes and keeps it when it fails, so the history, the verdicts and the node logs are
// there to read.
//
// The store is $CROSSFIRE_STORE when set (CI uploads it), otherwise a folder under the system's
// temporary directory. CROSSFIRE_KEEP=1 keeps every run folder, passed or not.
package harnesstest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/crossfire-dev/crossfire/db/builtin" // the databases crossfire ships, in the catalog
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/matrix"
	"github.com/crossfire-dev/crossfire/report/reporttest"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// Store is the store directory tests write their runs to.
func Store() string {
	if s := os.Getenv("CROSSFIRE_STORE"); s != "" {
		return s
	}
	return filepath.Join(os.TempDir(), "crossfire-test-store")
}

// Run runs test and returns its result. A run that could not be made fails the test at once.
func Run(t testing.TB, test harness.Test) harness.Result {
	t.Helper()
	res, err := harness.Run(t.Context(), test, harness.Options{Store: Store()})
	if res.Dir != "" {
		t.Cleanup(func() {
			if t.Failed() || os.Getenv("CROSSFIRE_KEEP") == "1" {
				t.Logf("run folder kept: %s", res.Dir)
				return
			}
			removeRun(res.Dir)
		})
	}
	if err != nil {
		t.Fatalf("crossfire run %s (seed %d): %v", res.Test.Name, res.Test.Seed, err)
	}
	t.Logf("crossfire run %s: seed %d, %s, %d ops (%d ok, %d fail, %d info), %d anomalies, folder %s",
		res.Test.Name, res.Test.Seed, res.Valid, res.Stats.Ops, res.Stats.OK, res.Stats.Fail,
		res.Stats.Info, res.Summary.Anomalies(), res.Dir)
	return res
}

// Matrix runs every row of a validation matrix once, with one seed on one cluster kind, as a
// subtest named after the row, and fails the rows whose verdict is not the expected one, or
// whose report does not open (ReportOpens).
func Matrix(t *testing.T, rows []matrix.Row, seed uint64, cluster string) {
	t.Helper()
	for _, row := range rows {
		t.Run(strings.ReplaceAll(row.Name, " ", "_"), func(t *testing.T) {
			res := Run(t, row.Test(seed, cluster))
			if err := row.Judge(res); err != nil {
				t.Fatalf("expected %s: %v", row.Expect, err)
			}
			ReportOpens(t, res)
		})
	}
}

// ReportOpens opens the run's report in Chromium and fails t on any error the page reports or
// a timeline of ops that drew nothing; without Chromium it logs that the report went unopened.
func ReportOpens(t *testing.T, res harness.Result) {
	t.Helper()
	if _, ok := reporttest.FindChromium(); !ok {
		t.Logf("no Chromium: the report of %s was not opened (apt-get install -y chromium)", res.Dir)
		return
	}
	reporttest.ReportOpens(t, reporttest.Browser(t), res.Dir)
}

// removeRun deletes a run folder, the latest link if it pointed there, and the test's folder if
// nothing else is left in it.
func removeRun(dir string) {
	_ = os.RemoveAll(dir)
	parent := filepath.Dir(dir)
	link := filepath.Join(parent, runfolder.LatestLink)
	if target, err := os.Readlink(link); err == nil && target == filepath.Base(dir) {
		_ = os.Remove(link)
	}
	_ = os.Remove(parent) // fails, harmlessly, when other runs remain
}

// powerSeeds is how many seeds DetectionPower runs each row with.
var powerSeeds = flag.Int("power-seeds", 5, "seeds per row in the detection-power benchmarks (BenchmarkDetectionPower)")

// DetectionPower is the benchmark of a matrix's rows that must find an anomaly: each row, as a
// sub-benchmark, runs seeds 1 to -power-seeds at its own duration, and reports the percentage of
// seeds whose run came out as the row expects (found-%) and the median time from the start of
// the main phase to its first definite anomaly (s-to-first; the moment the last op of its
// evidence completed; the cluster's start and the setup left out). Run it with -benchtime 1x: one iteration is every seed.
func DetectionPower(b *testing.B, rows []matrix.Row, cluster string) {
	for _, row := range rows {
		if !matrix.ExpectsAnomaly(row) {
			continue
		}
		b.Run(strings.ReplaceAll(row.Name, " ", "_"), func(b *testing.B) {
			for b.Loop() {
				found := 0
				var firsts []time.Duration
				for seed := uint64(1); seed <= uint64(*powerSeeds); seed++ {
					res, err := harness.Run(b.Context(), row.Test(seed, cluster), harness.Options{Store: Store()})
					if err != nil {
						b.Fatalf("seed %d: %v", seed, err)
					}
					why := row.Judge(res)
					first, ok := matrix.FirstAnomaly(res)
					if why == nil {
						found++
					}
					at := "none"
					if ok {
						firsts = append(firsts, first)
						at = first.Round(time.Millisecond).String()
					}
					// To stderr as it happens: a benchmark's log is cut short and shown only at its end.
					fmt.Fprintf(os.Stderr, "%s seed %d: %s, as expected: %v (%v), first definite anomaly at %s, %s\n", row.Name, seed, res.Valid, why == nil, why, at, res.Dir)
					if why == nil && os.Getenv("CROSSFIRE_KEEP") != "1" {
						removeRun(res.Dir)
					}
				}
				b.ReportMetric(100*float64(found)/float64(*powerSeeds), "found-%")
				if len(firsts) > 0 {
					slices.Sort(firsts)
					b.ReportMetric(firsts[len(firsts)/2].Seconds(), "s-to-first")
				}
			}
		})
	}
}
