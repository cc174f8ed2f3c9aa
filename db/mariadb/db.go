package mariadb

import (
	"context"
	"fmt"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/clusters/docker"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/db/sqlclient"
	"github.com/crossfire-dev/crossfire/workloads"
)

// KindDocker is the one cluster kind: MariaDB runs from the image Image describes.
const KindDocker = "docker"

func init() { db.Register(DB{}) }

// DB is MariaDB in the catalog.
type DB struct{}

// Name implements db.DB.
func (DB) Name() string { return Name }

// Spec implements db.DB.
func (DB) Spec() db.Spec {
	common := []db.Option{
		{Name: "version", Named: true, Values: Versions,
			Usage: "the MariaDB version: 11.8 (Debian 13's, with galera-4 26.4) or 10.11 (Debian 12's)"},
		{Name: "replication", Values: Replications,
			Usage: "galera (synchronous replication, certification at commit) or async (every master replicates from every other, no conflict detection)"},
		{Name: "exec-mode", Named: true, Values: ExecModes,
			Usage: "async only, slave_exec_mode: strict (a duplicate key stops replication) or idempotent (conflicting rows applied blindly)"},
		{Name: "strategy", Values: []string{WriteAnywhere, SingleLeader},
			Usage: "write-anywhere (every client at its own leader) or single-leader (every client at n1: the control)"},
		{Name: "flush", Named: true, Values: []string{"1", "0"},
			Usage: "innodb_flush_log_at_trx_commit: 1 (as shipped, flushed at every commit) or 0 (once a second, as Galera's documentation recommends)"},
		{Name: "sync-wait", Named: true, Values: []string{"0", "1"},
			Usage: "wsrep_sync_wait: 0 (as shipped: reads may be stale) or 1 (causal reads)"},
		{Name: "pc-recovery", Named: true, Values: []string{"on", "off"},
			Usage: "Galera's pc.recovery: on (as shipped: leaders restarted together restore their last primary component) or off (crossfire bootstraps the most advanced leader, as MariaDB documents)"},
	}
	inventory := append(append([]db.Option(nil), common...),
		db.Option{Name: "buy", Values: sqlclient.BuyWays,
			Usage: "how a purchase is written: decrement (one conditional UPDATE) or read-modify-write (read the units, check, write the read value less the quantity)"},
		db.Option{Name: "orders", Values: sqlclient.OrderDesigns,
			Usage: "order rows: naive (a row per sale) or dedup (a row per idempotency id)"},
		db.Option{Name: "snapshot-isolation", Named: true, Values: SnapshotIsolations,
			Usage: "innodb_snapshot_isolation for the clients' transactions: default (the version's own: on in 11.8, off in 10.11), off, or on (a write to a row changed since the transaction's snapshot fails, 1020)"},
	)
	txn := append(append([]db.Option(nil), common...),
		db.Option{Name: "isolation", Named: true, Values: sqlclient.IsolationNames,
			Usage: "the isolation level each transaction begins with (default: the server's, repeatable-read)"},
		db.Option{Name: "snapshot-isolation", Named: true, Values: SnapshotIsolations,
			Usage: "innodb_snapshot_isolation for the clients' transactions: default (the version's own: on in 11.8, off in 10.11), off, or on (a write to a row changed since the transaction's snapshot fails, 1020)"},
	)
	return db.Spec{
		About: "MariaDB 11.8 or 10.11, Galera 4 or asynchronous multi-master, three leaders in containers built from Debian's packages",
		Kinds: []db.Kind{{Name: KindDocker, About: "containers on a network made for the run, links cut by firewall inside the leaders, clients through a Toxiproxy sidecar",
			Cluster: (*Cluster)(nil)}},
		Workloads: []string{workloads.RegisterName, workloads.InventoryName, workloads.CartName, workloads.ProfileName,
			workloads.ListAppendName, workloads.RWRegisterName},
		Options: map[string][]db.Option{
			workloads.RegisterName:   common,
			workloads.InventoryName:  inventory,
			workloads.CartName:       common,
			workloads.ProfileName:    common,
			workloads.ListAppendName: txn,
			workloads.RWRegisterName: txn,
		},
	}
}

// Start implements db.DB. A machine that cannot build or run the image (no Docker, no
// debootstrap) gets an error wrapping docker.ErrMissing that says what to install.
func (DB) Start(ctx context.Context, s db.Setup) (clusters.Cluster, error) {
	if s.Kind != KindDocker {
		return nil, fmt.Errorf("mariadb cannot start a %q cluster (valid: %s)", s.Kind, KindDocker)
	}
	if err := CheckVersion(s.Options["version"]); err != nil {
		return nil, err
	}
	if err := docker.EnginePrerequisites(ctx, Name, Image(s.Options["version"])); err != nil {
		return nil, err
	}
	c, err := New(ctx, Options{Nodes: s.Nodes, Strategy: s.Options["strategy"], Log: s.Log, Settings: Settings{
		Version: s.Options["version"], Replication: s.Options["replication"], Flush: s.Options["flush"], SyncWait: s.Options["sync-wait"], PCRecovery: s.Options["pc-recovery"], ExecMode: s.Options["exec-mode"]}})
	if c == nil {
		return nil, err
	}
	return c, err
}

// Prerequisites says, in one line wrapping docker.ErrMissing, what this machine lacks to run
// MariaDB in every version: a Docker engine, and debootstrap (as root) while an image is not
// built yet.
func Prerequisites(ctx context.Context) error {
	for _, v := range Versions {
		if err := docker.EnginePrerequisites(ctx, Name, Image(v)); err != nil {
			return err
		}
	}
	return nil
}

// Open implements db.DB.
func (DB) Open(ctx context.Context, c db.ClientConfig) (db.Client, error) {
	cl, err := open(ctx, c)
	if err != nil {
		return nil, err
	}
	return cl, nil
}
