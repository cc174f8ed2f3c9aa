package pglogical

import (
	"fmt"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/db/sqlclient"
	"github.com/crossfire-dev/crossfire/matrix"
	"github.com/crossfire-dev/crossfire/runfolder"
	"github.com/crossfire-dev/crossfire/workloads"
)

// Matrix implements matrix.Validated: PostgreSQL with pglogical's matrix, in containers (the
// behaviours of the package's README): single-leader registers must pass; under
// last_update_wins, registers lose acknowledged writes, a SQL decrement at every leader oversells
// and carts diverge or bring removed items back.
func (DB) Matrix() []matrix.Row {
	return []matrix.Row{
		{
			Name: "register single-leader", Expect: "valid (linearizable)",
			Test: func(seed uint64, _ string) runfolder.Test {
				// Every client is at n1, which takes seconds of crash recovery after each kill: a
				// longer run, with quieter gaps between faults, so that it does enough to prove
				// something.
				t := matrixTest("register-single-leader", "register", map[string]string{"strategy": "single-leader"}, []string{"partition", "kill"}, seed)
				t.Duration, t.Interval = 15*time.Second, 1500*time.Millisecond
				return t
			},
			Judge: matrix.JudgeLinearizableControl,
		},
		{
			Name: "register last_update_wins", Expect: "acknowledged writes lost (not linearizable)",
			Test: func(seed uint64, _ string) runfolder.Test {
				return matrixTest("register-last_update_wins", "register", map[string]string{"strategy": "last_update_wins"}, []string{"clock", "partition"}, seed)
			},
			Judge: func(res runfolder.Result) error {
				lin := matrix.ResultOf(res, checkers.LinearizableName)
				if lin.Valid != checkers.False || !matrix.HasAnomaly(lin, "nonlinearizable", "") {
					return fmt.Errorf("linearizable judged %s with %d anomalies", lin.Valid, len(lin.Anomalies))
				}
				if a := lin.Anomalies[0]; len(a.Ops) == 0 || len(a.Nodes) == 0 {
					return fmt.Errorf("the anomaly lacks its evidence: %+v", a)
				}
				return nil
			},
		},
		{
			Name: "list-append last_update_wins", Expect: "appends lost or lists read in no one order (a row's image replicated whole, the last update wins)",
			Test: func(seed uint64, _ string) runfolder.Test {
				return matrixTest("list-append-last_update_wins", workloads.ListAppendName, map[string]string{"strategy": "last_update_wins"}, []string{"partition"}, seed)
			},
			Judge: matrix.ExpectIsolationAnomaly,
		},
		{
			Name: "register last_update_wins tied clocks", Expect: "one conflict resolved apart at two leaders (a tie of commit timestamps)",
			Test: func(seed uint64, _ string) runfolder.Test {
				return matrixTest("register-ties", "register", map[string]string{"strategy": "last_update_wins"}, []string{"clock-tie"}, seed)
			},
			Judge: func(res runfolder.Result) error {
				c := matrix.ResultOf(res, checkers.ConflictsName)
				if c.Valid != checkers.False || !matrix.HasAnomaly(c, "split-resolution", checkers.CauseTimestampTie) {
					return fmt.Errorf("no split resolution put down to a tie (conflicts %s, %d anomalies)", c.Valid, len(c.Anomalies))
				}
				return nil
			},
		},
		{
			Name: "inventory decrement everywhere", Expect: "definite oversell",
			Test: func(seed uint64, _ string) runfolder.Test {
				t := matrixTest("inventory-decrement", "inventory", map[string]string{"strategy": "last_update_wins", "orders": "naive"}, []string{"partition"}, seed)
				t.Duration, t.Rate, t.Concurrency = 10*time.Second, 150, 9
				return t
			},
			Judge: matrix.ExpectCaught(checkers.OversellName, "oversell", ""),
		},
		{
			Name: "cart last_update_wins", Expect: "leaders diverge or removed items come back",
			Test: func(seed uint64, _ string) runfolder.Test {
				return matrixTest("cart-last_update_wins", "cart", map[string]string{"strategy": "last_update_wins"}, []string{"one-way"}, seed)
			},
			Judge: func(res runfolder.Result) error {
				conv, cart := matrix.ResultOf(res, checkers.ConvergenceName), matrix.ResultOf(res, checkers.CartName)
				if matrix.HasAnomaly(conv, "divergence", "") || matrix.HasAnomaly(cart, "resurrected", "") {
					return nil
				}
				return fmt.Errorf("no definite divergence (convergence %s) and no definite resurrection (cart %s)", conv.Valid, cart.Valid)
			},
		},
		{
			Name: "profile last_update_wins", Expect: "an edit of one column lost under an edit of another (the row collapsed)",
			Test: func(seed uint64, _ string) runfolder.Test {
				t := matrixTest("profile-last_update_wins", "profile", map[string]string{"strategy": "last_update_wins"}, []string{"partition"}, seed)
				t.Keys = 16
				return t
			},
			Judge: matrix.ExpectCaught(checkers.FieldsName, "lost-field-edit", ""),
		},
		{
			Name: "claims accounts last_update_wins", Expect: "an acknowledged claim gone, its row replaced on the UNIQUE email",
			Test: func(seed uint64, _ string) runfolder.Test {
				// As for the double claim: a lost claim needs a free name claimed at leaders a
				// partition keeps apart. In 8 s on a loaded machine, seed 1 once acknowledged 19
				// claims and lost none; a longer run holds more partitions.
				t := matrixTest("claims-accounts-last_update_wins", "claims", map[string]string{"strategy": "last_update_wins", "table": sqlclient.ClaimsByAccount}, []string{"partition"}, seed)
				t.Duration = 14 * time.Second
				return t
			},
			Judge: matrix.ExpectCaught(checkers.UniquenessName, "lost-claim", ""),
		},
		{
			Name: "claims last_update_wins", Expect: "two owners of one name both acknowledged (double claim)",
			Test: func(seed uint64, _ string) runfolder.Test {
				// A double claim needs a free name claimed at two leaders while a partition keeps
				// them apart; most claims find their name taken (13 to 28 acknowledged in 8 s,
				// and on a loaded machine once none double): a longer run holds more partitions.
				t := matrixTest("claims-last_update_wins", "claims", map[string]string{"strategy": "last_update_wins"}, []string{"partition"}, seed)
				t.Duration = 14 * time.Second
				return t
			},
			Judge: matrix.ExpectCaught(checkers.UniquenessName, "double-claim", ""),
		},
	}
}

// matrixTest is a row's test: containers, a short run.
func matrixTest(what, workload string, options map[string]string, nemeses []string, seed uint64) runfolder.Test {
	return runfolder.Test{
		Name: matrix.Name("pglogical-"+what, seed, runfolder.ClusterDocker), DB: Name, Cluster: runfolder.ClusterDocker,
		Workload: workload, Options: options, Nemeses: nemeses, Seed: seed,
		Duration: 8 * time.Second, Rate: 120, Interval: 500 * time.Millisecond, FaultDuration: 1500 * time.Millisecond,
		Quiesce: 30 * time.Second,
	}
}
