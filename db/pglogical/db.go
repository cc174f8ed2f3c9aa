package pglogical

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/clusters/docker"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/db/sqlclient"
	"github.com/crossfire-dev/crossfire/workloads"
)

// Name is the database's name in the catalog.
const Name = "pglogical"

// KindDocker is the one cluster kind: PostgreSQL runs from the image EnsureImage builds.
const KindDocker = "docker"

func init() { db.Register(DB{}) }

// DB is PostgreSQL 15 with pglogical in the catalog.
type DB struct{}

// Name implements db.DB.
func (DB) Name() string { return Name }

// StrategyValues are the values of the strategy option: pglogical's resolutions, the default
// first, error (a conflict stops the link's apply worker, which restarts and stops again on the
// same row: replication on that link never catches up), and SingleLeader.
var StrategyValues = append(slices.Clone(Strategies), "error", SingleLeader)

// Spec implements db.DB.
func (DB) Spec() db.Spec {
	strategy := db.Option{Name: "strategy", Values: StrategyValues,
		Usage: "pglogical.conflict_resolution: last_update_wins (commit timestamps), first_update_wins, keep_local, apply_remote, " +
			"error (a conflict stops replication on its link); or single-leader (every client at n1: the control)"}
	isolation := db.Option{Name: "isolation", Named: true, Values: sqlclient.IsolationNames,
		Usage: "the isolation level each transaction begins with (default: the server's, read-committed)"}
	orders := db.Option{Name: "orders", Values: sqlclient.OrderDesigns,
		Usage: "order rows: naive (keyed by the leader and its own id), dedup (keyed by the idempotency id)"}
	return db.Spec{
		About: "PostgreSQL 15 with pglogical 2.4, a full mesh of subscriptions, in containers built from Debian's packages",
		Kinds: []db.Kind{{Name: KindDocker, About: "containers on a network made for the run, every link through a Toxiproxy sidecar",
			Cluster: (*Cluster)(nil)}},
		Workloads: []string{workloads.RegisterName, workloads.InventoryName, workloads.CartName, workloads.ProfileName, workloads.ClaimsName,
			workloads.ListAppendName, workloads.RWRegisterName},
		Options: map[string][]db.Option{
			workloads.RegisterName:   {strategy},
			workloads.InventoryName:  {strategy, orders},
			workloads.CartName:       {strategy},
			workloads.ProfileName:    {strategy},
			workloads.ListAppendName: {strategy, isolation},
			workloads.RWRegisterName: {strategy, isolation},
			workloads.ClaimsName: {strategy, {Name: "table", Values: sqlclient.ClaimsTables,
				Usage: "names (a row per name, the name its primary key) or accounts (a row per owner, its id the primary key, the name an email under a second UNIQUE index)"}},
		},
	}
}

// Start implements db.DB. A machine that cannot build or run the image (no Docker, no
// debootstrap) gets an error wrapping docker.ErrMissing that says what to install.
func (DB) Start(ctx context.Context, s db.Setup) (clusters.Cluster, error) {
	if s.Kind != KindDocker {
		return nil, fmt.Errorf("pglogical cannot start a %q cluster (valid: %s)", s.Kind, KindDocker)
	}
	if err := Prerequisites(ctx); err != nil {
		return nil, err
	}
	c, err := New(ctx, Options{Nodes: s.Nodes, Strategy: s.Options["strategy"], Log: s.Log})
	if c == nil {
		return nil, err
	}
	return c, err
}

// Prerequisites says, in one line wrapping docker.ErrMissing, what this machine lacks to run
// pglogical: a Docker engine, and debootstrap (as root) while the image is not built yet.
func Prerequisites(ctx context.Context) error {
	return docker.EnginePrerequisites(ctx, Name, Image())
}

// Open implements db.DB.
func (DB) Open(ctx context.Context, c db.ClientConfig) (db.Client, error) {
	if !strings.HasPrefix(c.Node.URL, "postgres://") {
		return nil, fmt.Errorf("pglogical: node %s has no postgres:// URL (%q)", c.Node.ID, c.Node.URL)
	}
	cl, err := open(ctx, c)
	if err != nil {
		return nil, err
	}
	return cl, nil
}
