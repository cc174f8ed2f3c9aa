package harness

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"crossfire/checkers"
	"crossfire/db"
)

// A harness is only as good as its verdicts, so crossfire proves both directions: designs that
// are known to break must be caught, and designs that are known to be safe must pass. The
// validation matrix is that list of rows. `go test ./...` runs it with short durations and fixed
// seeds, and `crossfire matrix` (the nightly chaos job) runs it longer, with more seeds, on
// either cluster.

// MatrixRow is one row of the validation matrix: a configuration, the faults it runs under and
// the verdict it must get.
type MatrixRow struct {
	Name   string // e.g. "register single-leader"
	Expect string // the expected verdict, for people
	// Test builds the row's test for a seed and a cluster (local or docker), with the durations
	// of a short run; the caller may lengthen them. On the docker cluster, rows that must stay
	// valid also take leaders off the network.
	Test func(seed uint64, cluster string) Test
	// Judge returns nil when res is what the row expects, and otherwise why not.
	Judge func(res Result) error
}

// Matrix returns the validation matrix.
func Matrix() []MatrixRow {
	return []MatrixRow{
		{
			Name: "register single-leader", Expect: "valid (linearizable)",
			Test: func(seed uint64, cluster string) Test {
				return matrixRegister("single-leader", []string{"partition", "kill"}, seed, cluster)
			},
			Judge: judgeLinearizableControl,
		},
		{
			Name: "register lww", Expect: "linearizability violation found",
			Test: func(seed uint64, cluster string) Test {
				return matrixRegister("lww", []string{"partition"}, seed, cluster)
			},
			Judge: func(res Result) error {
				lin := ResultOf(res, checkers.LinearizableName)
				if lin.Valid != checkers.False || len(lin.Anomalies) == 0 {
					return fmt.Errorf("linearizable judged %s with %d anomalies", lin.Valid, len(lin.Anomalies))
				}
				a := lin.Anomalies[0]
				if a.Kind != "nonlinearizable" || !a.Definite || len(a.Ops) == 0 || len(a.Nodes) == 0 {
					return fmt.Errorf("the anomaly lacks its evidence: %+v", a)
				}
				return nil
			},
		},
		{
			Name: "inventory pncounter+naive", Expect: "duplicate orders and definite oversell found",
			Test: func(seed uint64, cluster string) Test {
				return matrixInventory("pncounter", "naive", []string{"partition", "retry"}, seed, cluster)
			},
			Judge: func(res Result) error {
				var errs []error
				if d := ResultOf(res, checkers.DedupName); d.Valid != checkers.False || !hasAnomaly(d, "duplicate-order", "") {
					errs = append(errs, fmt.Errorf("dedup flagged no definite duplicate order (%s)", d.Valid))
				}
				if o := ResultOf(res, checkers.OversellName); o.Valid != checkers.False || !hasAnomaly(o, "oversell", "") {
					errs = append(errs, fmt.Errorf("oversell flagged no definite oversell (%s)", o.Valid))
				}
				if c := ResultOf(res, checkers.ConvergenceName); c.Valid != checkers.True {
					errs = append(errs, fmt.Errorf("the CRDT did not converge (%s)", c.Valid))
				}
				return errors.Join(errs...)
			},
		},
		{
			Name: "inventory escrow+dedup", Expect: "valid",
			Test: func(seed uint64, cluster string) Test {
				return matrixInventory("escrow", "dedup", everyNemesis(cluster, "partition", "retry", "kill", "pause"), seed, cluster)
			},
			Judge: func(res Result) error {
				// Overlapping kills, pauses and slow replies throttle the clients: the floors
				// only make sure the run was not idle. In containers, where leaders are also
				// taken off the network and every fault goes through Docker, fewer ops get
				// through, and on a loaded machine fewer still (151 ok ops alone, 92 beside a
				// race-detector run of the other packages).
				minOK, minRows := int64(150), int64(50)
				if res.Test.Cluster == ClusterDocker {
					minOK, minRows = 50, 20
				}
				if err := expectValid(res, minOK, 4); err != nil {
					return err
				}
				if rows := StatInt(ResultOf(res, checkers.DedupName).Stats["order_rows"]); rows < minRows {
					return fmt.Errorf("too few sales to judge: %d order rows", rows)
				}
				return nil
			},
		},
		{
			Name: "cart lww", Expect: "lost adds found, attributed to skew",
			Test: func(seed uint64, cluster string) Test {
				return matrixCart("lww", []string{"partition", "clock"}, seed, cluster)
			},
			Judge: func(res Result) error {
				if c := ResultOf(res, checkers.CartName); c.Valid != checkers.False || !hasAnomaly(c, "lost-add", checkers.CauseClockSkew) {
					return fmt.Errorf("no definite lost add put down to clock skew (cart %s)", c.Valid)
				}
				return nil
			},
		},
		{
			Name: "cart merge", Expect: "removed items resurrected, attributed to the merge rule",
			Test: func(seed uint64, cluster string) Test {
				return matrixCart("merge", []string{"partition"}, seed, cluster)
			},
			Judge: func(res Result) error {
				if c := ResultOf(res, checkers.CartName); c.Valid != checkers.False || !hasAnomaly(c, "resurrected", checkers.CauseMergeRule) {
					return fmt.Errorf("no definite resurrection put down to the merge rule (cart %s)", c.Valid)
				}
				return nil
			},
		},
		{
			Name: "cart orset", Expect: "valid",
			Test: func(seed uint64, cluster string) Test {
				return matrixCart("orset", everyNemesis(cluster, "partition", "clock", "retry", "kill", "pause"), seed, cluster)
			},
			Judge: func(res Result) error { return expectValid(res, 150, 5) },
		},
	}
}

// everyNemesis is the list of nemeses a row that must stay valid runs under: the given ones, and
// on the docker cluster network disconnection too.
func everyNemesis(cluster string, names ...string) []string {
	if cluster == ClusterDocker {
		names = append(names, "disconnect")
	}
	return names
}

// matrixName names a row's test: matrix-<what>-seed<n>, with docker- in front in containers.
func matrixName(what string, seed uint64, cluster string) string {
	name := fmt.Sprintf("matrix-%s-seed%d", what, seed)
	if cluster == ClusterDocker {
		name = "docker-" + name
	}
	return name
}

func matrixRegister(strategy string, nemeses []string, seed uint64, cluster string) Test {
	return Test{
		Name: matrixName("register-"+strategy, seed, cluster), Cluster: cluster,
		Workload: "register", Options: map[string]string{"strategy": strategy}, Nemeses: nemeses, Seed: seed,
		Duration: 6 * time.Second, Rate: 120, Interval: 500 * time.Millisecond, FaultDuration: 1200 * time.Millisecond,
		Quiesce: 10 * time.Second,
	}
}

func matrixInventory(stock, orders string, nemeses []string, seed uint64, cluster string) Test {
	return Test{
		Name: matrixName("inventory-"+stock+"-"+orders, seed, cluster), Cluster: cluster,
		Workload: "inventory", Options: map[string]string{"stock": stock, "orders": orders}, Nemeses: nemeses, Seed: seed,
		Duration: 10 * time.Second, Rate: 150, Concurrency: 9, Interval: 300 * time.Millisecond, FaultDuration: time.Second,
		Quiesce: 10 * time.Second,
	}
}

func matrixCart(strategy string, nemeses []string, seed uint64, cluster string) Test {
	return Test{
		Name: matrixName("cart-"+strategy, seed, cluster), Cluster: cluster,
		Workload: "cart", Options: map[string]string{"strategy": strategy}, Nemeses: nemeses, Seed: seed,
		Duration: 8 * time.Second, Interval: 300 * time.Millisecond, FaultDuration: time.Second,
		Quiesce: 10 * time.Second,
	}
}

// judgeLinearizableControl holds a single-leader register row: valid, busy enough, and caught up
// after healing.
func judgeLinearizableControl(res Result) error {
	if err := expectValid(res, 100, 1); err != nil {
		return err
	}
	if !res.Stats.Converged {
		return errors.New("replication did not catch up after healing")
	}
	return nil
}

// expectValid holds a row that must pass: valid, and enough work and faults to prove something.
func expectValid(res Result, minOK int64, minFaults int) error {
	if res.Valid != checkers.True {
		var bad []string
		for _, r := range res.Summary.Results {
			if r.Valid != checkers.True {
				s := fmt.Sprintf("%s %s", r.Checker, r.Valid)
				if r.Error != "" {
					s += ": " + r.Error
				} else if len(r.Anomalies) > 0 {
					s += ": " + r.Anomalies[0].Kind + " " + r.Anomalies[0].Description
				}
				bad = append(bad, s)
			}
		}
		return fmt.Errorf("judged %s (%s)", res.Valid, strings.Join(bad, "; "))
	}
	if res.Stats.OK < minOK || res.Stats.Faults < minFaults {
		return fmt.Errorf("the run proves little: %d ok ops, %d faults", res.Stats.OK, res.Stats.Faults)
	}
	return nil
}

// ResultOf is the named checker's result in res, or the zero Result.
func ResultOf(res Result, checker string) checkers.Result {
	for _, r := range res.Summary.Results {
		if r.Checker == checker {
			return r
		}
	}
	return checkers.Result{}
}

// hasAnomaly reports whether r holds a definite anomaly of the kind (and the cause, if given).
func hasAnomaly(r checkers.Result, kind, cause string) bool {
	for _, a := range r.Anomalies {
		if a.Kind == kind && a.Definite && (cause == "" || a.Cause == cause) {
			return true
		}
	}
	return false
}

// StatInt reads a numeric stat, as it is in memory or after a trip through JSON; -1 if absent.
func StatInt(v any) int64 {
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

// MatrixFor returns the validation matrix of a database: regionkv's is Matrix; pglogical's holds
// the rows its behaviours must produce (targets/pglogical.md), on containers.
func MatrixFor(database string) ([]MatrixRow, error) {
	switch database {
	case "", db.Default:
		return Matrix(), nil
	case "pglogical":
		return pglogicalMatrix(), nil
	}
	return nil, fmt.Errorf("no validation matrix for database %q (matrices: %s, pglogical)", database, db.Default)
}

// pglogicalMatrix is PostgreSQL with pglogical's matrix: single-leader registers must pass; under
// last_update_wins, registers lose acknowledged writes, a SQL decrement at every leader oversells
// and carts diverge or bring removed items back.
func pglogicalMatrix() []MatrixRow {
	return []MatrixRow{
		{
			Name: "register single-leader", Expect: "valid (linearizable)",
			Test: func(seed uint64, _ string) Test {
				// Every client is at n1, which takes seconds of crash recovery after each kill: a
				// longer run, with quieter gaps between faults, so that it does enough to prove
				// something.
				t := pglogicalTest("register-single-leader", "register", map[string]string{"strategy": "single-leader"}, []string{"partition", "kill"}, seed)
				t.Duration, t.Interval = 15*time.Second, 1500*time.Millisecond
				return t
			},
			Judge: judgeLinearizableControl,
		},
		{
			Name: "register last_update_wins", Expect: "acknowledged writes lost (not linearizable)",
			Test: func(seed uint64, _ string) Test {
				return pglogicalTest("register-last_update_wins", "register", map[string]string{"strategy": "last_update_wins"}, []string{"clock", "partition"}, seed)
			},
			Judge: func(res Result) error {
				lin := ResultOf(res, checkers.LinearizableName)
				if lin.Valid != checkers.False || !hasAnomaly(lin, "nonlinearizable", "") {
					return fmt.Errorf("linearizable judged %s with %d anomalies", lin.Valid, len(lin.Anomalies))
				}
				if a := lin.Anomalies[0]; len(a.Ops) == 0 || len(a.Nodes) == 0 {
					return fmt.Errorf("the anomaly lacks its evidence: %+v", a)
				}
				return nil
			},
		},
		{
			Name: "inventory decrement everywhere", Expect: "definite oversell",
			Test: func(seed uint64, _ string) Test {
				t := pglogicalTest("inventory-decrement", "inventory", map[string]string{"strategy": "last_update_wins", "orders": "naive"}, []string{"partition"}, seed)
				t.Duration, t.Rate, t.Concurrency = 10*time.Second, 150, 9
				return t
			},
			Judge: func(res Result) error {
				if o := ResultOf(res, checkers.OversellName); o.Valid != checkers.False || !hasAnomaly(o, "oversell", "") {
					return fmt.Errorf("oversell flagged no definite oversell (%s)", o.Valid)
				}
				return nil
			},
		},
		{
			Name: "cart last_update_wins", Expect: "leaders diverge or removed items come back",
			Test: func(seed uint64, _ string) Test {
				return pglogicalTest("cart-last_update_wins", "cart", map[string]string{"strategy": "last_update_wins"}, []string{"one-way"}, seed)
			},
			Judge: func(res Result) error {
				conv, cart := ResultOf(res, checkers.ConvergenceName), ResultOf(res, checkers.CartName)
				if hasAnomaly(conv, "divergence", "") || hasAnomaly(cart, "resurrected", "") {
					return nil
				}
				return fmt.Errorf("no definite divergence (convergence %s) and no definite resurrection (cart %s)", conv.Valid, cart.Valid)
			},
		},
	}
}

// pglogicalTest is a pglogical row's test: containers, a short run.
func pglogicalTest(what, workload string, options map[string]string, nemeses []string, seed uint64) Test {
	return Test{
		Name: matrixName("pglogical-"+what, seed, ClusterDocker), DB: "pglogical", Cluster: ClusterDocker,
		Workload: workload, Options: options, Nemeses: nemeses, Seed: seed,
		Duration: 8 * time.Second, Rate: 120, Interval: 500 * time.Millisecond, FaultDuration: 1500 * time.Millisecond,
		Quiesce: 30 * time.Second,
	}
}
