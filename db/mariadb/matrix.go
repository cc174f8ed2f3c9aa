package mariadb

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/matrix"
	"github.com/crossfire-dev/crossfire/runfolder"
	"github.com/crossfire-dev/crossfire/workloads"
)

// Matrix implements matrix.Validated: MariaDB's rows, in containers. With Galera, single-leader
// registers must pass under partitions and kills; a purchase written as a read, a check and a
// write of the read value loses updates with no fault at all (Jepsen's P4, lost update), while
// the same sale as one conditional UPDATE stays correct under partitions, since certification
// serialises the row's writes. Asynchronous multi-master detects no conflict: under partitions
// registers diverge for good or replication stops, and carts lose or bring back items.
func (DB) Matrix() []matrix.Row { return matrix.Versioned(Versions, matrixRows) }

// matrixRows are the rows of one version.
func matrixRows(version string) []matrix.Row {
	rows := []matrix.Row{
		{
			Name: "galera register single-leader", Expect: "valid (linearizable)",
			Test: func(seed uint64, _ string) runfolder.Test {
				// Every client is at n1, and a killed Galera leader takes 10 to 20 s to recover its
				// position and rejoin: a longer run, with quieter gaps between faults.
				t := matrixTest(version, "galera-register-single-leader", "register", map[string]string{"strategy": SingleLeader}, []string{"partition", "kill"}, seed)
				t.Duration, t.Interval, t.FaultDuration = 40*time.Second, 3*time.Second, 2*time.Second
				return t
			},
			Judge: matrix.JudgeLinearizableControl,
		},
		{
			// Galera certifies a write set everywhere before its commit returns, but applies it at
			// the other leaders afterwards: with wsrep_sync_wait=0, as shipped, a read there can
			// miss a write already acknowledged (Jepsen's stale reads).
			Name: "galera register stale reads", Expect: "not linearizable with no fault: a read misses an acknowledged write (wsrep_sync_wait=0)",
			Test: func(seed uint64, _ string) runfolder.Test {
				// A stale read needs a read at one leader in the few milliseconds between another
				// leader's acknowledgement of a write and its own applying it: three keys at 600
				// ops/s for 20 s, so that reads often follow another leader's write of their key.
				// At 120 ops/s, 4 seeds of 10 showed one in 10 s, 6 of 10 on two keys in 20 s; at
				// 400 ops/s on three keys, 10 of 10 on 11.8 and 9 of 10 on 10.11.
				t := matrixTest(version, "galera-register-stale-reads", "register", nil, []string{"none"}, seed)
				t.Keys, t.Rate, t.Duration = 3, 600, 20*time.Second
				return t
			},
			Judge: matrix.ExpectCaught(checkers.LinearizableName, "nonlinearizable", ""),
		},
		{
			Name: "galera register causal reads", Expect: "valid with no fault at 120 ops/s (wsrep_sync_wait=1: a read waits for what the cluster committed)",
			Test: func(seed uint64, _ string) runfolder.Test {
				// At the matrix's usual 120 ops/s: at 400 ops/s on three keys, both versions answered
				// a read with a value older than an acknowledged write even with wsrep_sync_wait=1
				// (11.8 in 2 seeds of 10, 10.11 in 3; see the README): a finding still to make a row of.
				return matrixTest(version, "galera-register-causal-reads", "register", map[string]string{"sync-wait": "1"}, []string{"none"}, seed)
			},
			Judge: func(res runfolder.Result) error { return matrix.ExpectValid(res, 300, 0) },
		},
		{
			// Snapshot isolation off: 10.11's default, a setting 11.8 still offers.
			Name: "galera inventory read-modify-write snapshot-isolation off", Expect: "definite oversell or lost stock, with no fault (P4)",
			Test: func(seed uint64, _ string) runfolder.Test {
				return matrixTest(version, "galera-inventory-read-modify-write-si-off", "inventory",
					map[string]string{"buy": BuyReadModifyWrite, "snapshot-isolation": "off"}, []string{"none"}, seed)
			},
			Judge: func(res runfolder.Result) error {
				o := matrix.ResultOf(res, checkers.OversellName)
				if o.Valid != checkers.False || !matrix.HasAnomaly(o, "oversell", "") && !matrix.HasAnomaly(o, "stock-mismatch", "") {
					return fmt.Errorf("oversell flagged no definite oversell or stock mismatch (%s)", o.Valid)
				}
				return nil
			},
		},
		{
			Name: "galera list-append", Expect: "G-single with no fault (Jepsen's finding on 12.1): a transaction sees part of another's effects",
			Test: func(seed uint64, _ string) runfolder.Test {
				t := matrixTest(version, "galera-list-append", workloads.ListAppendName, nil, []string{"none"}, seed)
				t.Duration = 20 * time.Second
				return t
			},
			Judge: func(res runfolder.Result) error { return matrix.CaughtIsolation(res, "G-single-item") },
		},
		{
			Name: "galera rw-register", Expect: "lost update or G-single with no fault (Jepsen's findings on 12.1)",
			Test: func(seed uint64, _ string) runfolder.Test {
				t := matrixTest(version, "galera-rw-register", workloads.RWRegisterName, nil, []string{"none"}, seed)
				t.Duration = 20 * time.Second
				return t
			},
			Judge: func(res runfolder.Result) error { return matrix.CaughtIsolation(res, "lost-update", "G-single-item") },
		},
		{
			Name: "galera inventory decrement", Expect: "valid",
			Test: func(seed uint64, _ string) runfolder.Test {
				// Order rows keyed by the request (dedup): with a row per sale, a purchase whose
				// connection broke while it committed and that was retried at another leader was
				// sold twice (seed 1, on a loaded machine: the retry's check for the request ran
				// before the first attempt's row reached its leader).
				// Every cut link stalls the whole cluster's commits until it heals, so that with
				// faults this dense a 10 s run acknowledged 72 purchases on a loaded machine (137
				// to 226 on a quiet one): twice the time, for evidence enough either way.
				t := matrixTest(version, "galera-inventory-decrement", "inventory", map[string]string{"buy": BuyDecrement, "orders": OrdersDedup}, []string{"partition"}, seed)
				t.Duration = 20 * time.Second
				return t
			},
			Judge: func(res runfolder.Result) error {
				if err := matrix.ExpectValid(res, 100, 2); err != nil {
					return err
				}
				if rows := matrix.StatInt(matrix.ResultOf(res, checkers.DedupName).Stats["order_rows"]); rows < 20 {
					return errors.New("too few sales to judge")
				}
				return nil
			},
		},
		{
			Name: "async register", Expect: "acknowledged writes lost (not linearizable)",
			Test: func(seed uint64, _ string) runfolder.Test {
				return matrixTest(version, "async-register", "register", map[string]string{"replication": Async, "exec-mode": "idempotent"}, []string{"partition"}, seed)
			},
			Judge: func(res runfolder.Result) error {
				lin := matrix.ResultOf(res, checkers.LinearizableName)
				if lin.Valid != checkers.False || !matrix.HasAnomaly(lin, "nonlinearizable", "") {
					return fmt.Errorf("linearizable judged %s with %d anomalies", lin.Valid, len(lin.Anomalies))
				}
				return nil
			},
		},
		{
			Name: "async cart strict", Expect: "replication stops, named",
			Test: func(seed uint64, _ string) runfolder.Test {
				return matrixTest(version, "async-cart-strict", "cart", map[string]string{"replication": Async, "exec-mode": "strict"}, []string{"partition"}, seed)
			},
			Judge: func(res runfolder.Result) error {
				if strings.Contains(res.Stats.QuiesceErr, "replication stopped") && strings.Contains(res.Stats.QuiesceErr, "channel from_n") {
					return nil
				}
				return fmt.Errorf("no stopped channel named (%q)", res.Stats.QuiesceErr)
			},
		},
		{
			Name: "async cart idempotent", Expect: "lost or resurrected items",
			Test: func(seed uint64, _ string) runfolder.Test {
				// As for the profile row: only a leader cut from both peers is separated, and
				// the last cut is held until the workload stops.
				t := matrixTest(version, "async-cart-idempotent", "cart", map[string]string{"replication": Async, "exec-mode": "idempotent"}, []string{"isolate"}, seed)
				t.HoldLast = true
				return t
			},
			Judge: func(res runfolder.Result) error {
				cart := matrix.ResultOf(res, checkers.CartName)
				if cart.Valid == checkers.False && (matrix.HasAnomaly(cart, "lost-add", "") || matrix.HasAnomaly(cart, "resurrected", "")) {
					return nil
				}
				return fmt.Errorf("no definite lost add and no definite resurrection (cart %s)", cart.Valid)
			},
		},
		{
			Name: "galera profile", Expect: "valid (of two concurrent edits of a row, certification fails one)",
			Test: func(seed uint64, _ string) runfolder.Test {
				return matrixTest(version, "galera-profile", "profile", nil, []string{"partition"}, seed)
			},
			Judge: func(res runfolder.Result) error { return matrix.ExpectValid(res, 100, 2) },
		},
		{
			Name: "async profile idempotent", Expect: "an edit of one column lost under an edit of another (the row image collapsed)",
			Test: func(seed uint64, _ string) runfolder.Test {
				// Every leader relays what it applies (log_slave_updates), so only a leader cut
				// from both peers is separated from them. And the final records show an edit
				// lost only if no later edit of the field covers it: the last cut lasts until
				// the workload stops, so that what both sides wrote meets at the final heal.
				t := matrixTest(version, "async-profile-idempotent", "profile", map[string]string{"replication": Async, "exec-mode": "idempotent"}, []string{"isolate"}, seed)
				t.HoldLast = true
				return t
			},
			Judge: matrix.ExpectCaught(checkers.FieldsName, "lost-field-edit", ""),
		},
	}
	if version == V118 {
		rows = append(rows, matrix.Row{
			// 11.8 ships innodb_snapshot_isolation on: the stale write of a read-modify-write is
			// refused (1020) rather than written over another's.
			Name: "galera inventory read-modify-write", Expect: "valid with no fault (snapshot isolation on, as shipped: the stale write is refused)",
			Test: func(seed uint64, _ string) runfolder.Test {
				return matrixTest(version, "galera-inventory-read-modify-write", "inventory", map[string]string{"buy": BuyReadModifyWrite}, []string{"none"}, seed)
			},
			Judge: func(res runfolder.Result) error { return matrix.ExpectValid(res, 300, 0) },
		})
	}
	return rows
}

// SplitAsync parts rows into the Galera rows and the asynchronous ones (named "async …" after
// their version), so that each runs in a test package of its own.
func SplitAsync(rows []matrix.Row) (galera, async []matrix.Row) {
	for _, r := range rows {
		if strings.HasPrefix(strings.TrimPrefix(r.Name, r.Version+" "), "async ") {
			async = append(async, r)
		} else {
			galera = append(galera, r)
		}
	}
	return galera, async
}

// matrixTest is a row's test: containers, Galera unless the options say otherwise, the version
// given, a short run.
func matrixTest(version, what, workload string, options map[string]string, nemeses []string, seed uint64) runfolder.Test {
	opts := map[string]string{"version": version}
	for k, v := range options {
		opts[k] = v
	}
	return runfolder.Test{
		Name: matrix.Name("mariadb-"+version+"-"+what, seed, runfolder.ClusterDocker), DB: Name, Cluster: runfolder.ClusterDocker,
		Workload: workload, Options: opts, Nemeses: nemeses, Seed: seed,
		Duration: 10 * time.Second, Rate: 120, Concurrency: 9, Interval: 700 * time.Millisecond, FaultDuration: 1500 * time.Millisecond,
		Quiesce: 30 * time.Second,
	}
}
