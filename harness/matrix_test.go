package harness_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"crossfire/checkers"
	"crossfire/harness"
	"crossfire/harness/harnesstest"
)

// The validation matrix rows for registers (DESIGN.md): the harness must pass the linearizable
// control and catch last-writer-wins, in every seed tried, or its verdicts prove nothing.
var matrixSeeds = []uint64{1, 2, 3}

func registerTest(strategy string, nemeses []string, seed uint64) harness.Test {
	return harness.Test{
		Name:          fmt.Sprintf("matrix-register-%s-seed%d", strategy, seed),
		Workload:      "register",
		Strategy:      strategy,
		Nemeses:       nemeses,
		Seed:          seed,
		Duration:      6 * time.Second,
		Rate:          120,
		Interval:      500 * time.Millisecond,
		FaultDuration: 1200 * time.Millisecond,
		Quiesce:       10 * time.Second,
	}
}

func TestMatrixRegisterSingleLeaderIsLinearizable(t *testing.T) {
	for _, seed := range matrixSeeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			res := harnesstest.Run(t, registerTest("single-leader", []string{"partition", "kill"}, seed))
			if res.Valid != checkers.True {
				t.Fatalf("single-leader judged %s: %s", res.Valid, res.Summary.Results)
			}
			if res.Stats.OK < 100 || res.Stats.Faults == 0 {
				t.Fatalf("the run proves little: %d ok ops, %d faults", res.Stats.OK, res.Stats.Faults)
			}
			if !res.Stats.Converged {
				t.Errorf("replication did not catch up after healing")
			}
		})
	}
}

func TestMatrixRegisterLWWIsNotLinearizable(t *testing.T) {
	for _, seed := range matrixSeeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			res := harnesstest.Run(t, registerTest("lww", []string{"partition"}, seed))
			if res.Valid != checkers.False {
				t.Fatalf("lww under partitions judged %s", res.Valid)
			}
			var lin checkers.Result
			for _, r := range res.Summary.Results {
				if r.Checker == checkers.LinearizableName {
					lin = r
				}
			}
			if lin.Valid != checkers.False || len(lin.Anomalies) == 0 {
				t.Fatalf("the linearizable checker found nothing: %s", lin)
			}
			a := lin.Anomalies[0]
			if a.Kind != "nonlinearizable" || !a.Definite || len(a.Ops) == 0 || len(a.Nodes) == 0 {
				t.Errorf("anomaly lacks its evidence: %+v", a)
			}
			if _, err := os.Stat(filepath.Join(res.Dir, checkers.VisualizationFile)); err != nil {
				t.Errorf("no visualization in the run folder: %v", err)
			}
			for _, f := range []string{harness.TestFile, harness.HistoryFile, harness.ResultsFile, "nodes/n1/node.log"} {
				if _, err := os.Stat(filepath.Join(res.Dir, f)); err != nil {
					t.Errorf("run folder lacks %s", f)
				}
			}
		})
	}
}

func inventoryTest(stock, orders string, nemeses []string, seed uint64) harness.Test {
	return harness.Test{
		Name:          fmt.Sprintf("matrix-inventory-%s-%s-seed%d", stock, orders, seed),
		Workload:      "inventory",
		Stock:         stock,
		Orders:        orders,
		Nemeses:       nemeses,
		Seed:          seed,
		Duration:      10 * time.Second,
		Rate:          150,
		Concurrency:   9,
		Interval:      300 * time.Millisecond,
		FaultDuration: time.Second,
		Quiesce:       10 * time.Second,
	}
}

func resultOf(res harness.Result, name string) checkers.Result {
	for _, r := range res.Summary.Results {
		if r.Checker == name {
			return r
		}
	}
	return checkers.Result{}
}

// The flash sale the project exists for: a CRDT stock counter and a listener that does not
// deduplicate across regions must be caught selling twice and selling what is not there.
func TestMatrixInventoryPNCounterNaiveIsCaught(t *testing.T) {
	for _, seed := range matrixSeeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			res := harnesstest.Run(t, inventoryTest("pncounter", "naive", []string{"partition", "retry"}, seed))
			dedup, oversell := resultOf(res, checkers.DedupName), resultOf(res, checkers.OversellName)
			if dedup.Valid != checkers.False || !hasKind(dedup, "duplicate-order", true) {
				t.Errorf("dedup did not flag a duplicate order: %s", dedup)
			}
			if oversell.Valid != checkers.False || !hasKind(oversell, "oversell", true) {
				t.Errorf("oversell did not flag a definite oversell: %s", oversell)
			}
			if c := resultOf(res, checkers.ConvergenceName); c.Valid != checkers.True {
				t.Errorf("the CRDT did not converge: %s", c)
			}
		})
	}
}

// The safe design: escrowed stock and orders deduplicated across regions pass under every
// nemesis.
func TestMatrixInventoryEscrowDedupIsValid(t *testing.T) {
	for _, seed := range matrixSeeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			res := harnesstest.Run(t, inventoryTest("escrow", "dedup", []string{"partition", "retry", "kill", "pause"}, seed))
			if res.Valid != checkers.True {
				t.Fatalf("escrow+dedup judged %s: %s", res.Valid, res.Summary.Results)
			}
			// Overlapping kills, pauses and slow replies throttle the clients: these floors only
			// make sure the run was not idle.
			if res.Stats.OK < 150 || res.Stats.Faults < 4 {
				t.Fatalf("the run proves little: %d ok ops, %d faults", res.Stats.OK, res.Stats.Faults)
			}
			if rows := statInt(resultOf(res, checkers.DedupName).Stats["order_rows"]); rows < 50 {
				t.Fatalf("too few sales to judge: %d order rows", rows)
			}
		})
	}
}

func hasKind(r checkers.Result, kind string, definite bool) bool {
	for _, a := range r.Anomalies {
		if a.Kind == kind && a.Definite == definite {
			return true
		}
	}
	return false
}

// statInt reads a numeric stat, as it is in memory or after a trip through JSON.
func statInt(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return -1
}

func cartTest(strategy string, nemeses []string, seed uint64) harness.Test {
	return harness.Test{
		Name:          fmt.Sprintf("matrix-cart-%s-seed%d", strategy, seed),
		Workload:      "cart",
		Strategy:      strategy,
		Nemeses:       nemeses,
		Seed:          seed,
		Duration:      8 * time.Second,
		Interval:      300 * time.Millisecond,
		FaultDuration: time.Second,
		Quiesce:       10 * time.Second,
	}
}

func hasCause(r checkers.Result, kind, cause string) bool {
	for _, a := range r.Anomalies {
		if a.Kind == kind && a.Cause == cause && a.Definite {
			return true
		}
	}
	return false
}

// Last-writer-wins carts under clock skew and partitions lose acknowledged adds, and the
// checker puts at least one loss down to the skew.
func TestMatrixCartLWWLosesAddsToSkew(t *testing.T) {
	for _, seed := range matrixSeeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			res := harnesstest.Run(t, cartTest("lww", []string{"partition", "clock"}, seed))
			cart := resultOf(res, checkers.CartName)
			if cart.Valid != checkers.False || !hasCause(cart, "lost-add", checkers.CauseClockSkew) {
				t.Fatalf("no lost add attributed to clock skew: %s", cart)
			}
		})
	}
}

// Merging carts by union brings removed items back.
func TestMatrixCartMergeResurrects(t *testing.T) {
	for _, seed := range matrixSeeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			res := harnesstest.Run(t, cartTest("merge", []string{"partition"}, seed))
			cart := resultOf(res, checkers.CartName)
			if cart.Valid != checkers.False || !hasCause(cart, "resurrected", checkers.CauseMergeRule) {
				t.Fatalf("no resurrection put down to the merge rule: %s", cart)
			}
		})
	}
}

// An add-wins observed-remove set is valid under every nemesis.
func TestMatrixCartORSetIsValid(t *testing.T) {
	for _, seed := range matrixSeeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			res := harnesstest.Run(t, cartTest("orset", []string{"partition", "clock", "retry", "kill", "pause"}, seed))
			if res.Valid != checkers.True {
				t.Fatalf("orset judged %s: %s", res.Valid, res.Summary.Results)
			}
			if res.Stats.OK < 150 || res.Stats.Faults < 5 {
				t.Fatalf("the run proves little: %d ok ops, %d faults", res.Stats.OK, res.Stats.Faults)
			}
		})
	}
}
