package pglogical

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/clusters/docker"
	"github.com/crossfire-dev/crossfire/history"
)

// Options configure New.
type Options struct {
	Nodes int // leaders; 3 by default
	// Strategy is pglogical.conflict_resolution, Strategies[0] by default; or SingleLeader: the
	// mesh as always, and every client at n1.
	Strategy string
	Ready    time.Duration // bound on each container's start and on the mesh's; 2 minutes by default
	Log      io.Writer     // what New does, a line per step; nil for none
	// Links is how the links between leaders are cut: through the sidecar's proxies (each
	// subscription dials the proxy of its link; the default), or by firewall inside the leaders
	// (each subscription dials its provider by name).
	Links docker.Links
}

// Cluster is a pglogical mesh in containers: the generic container cluster (leaders on a network
// made for the run, clients through the sidecar, the links between leaders through its proxies
// or cut by firewall) and what is pglogical's own: the mesh of subscriptions, quiescence, the
// conflicts each leader logs, clocks through libfaketime files, and the harness's own
// connection to each leader, past every fault.
type Cluster struct {
	*docker.Cluster
	opts Options

	mu    sync.Mutex
	conns map[string]*pgx.Conn
}

// SingleLeader is the control strategy: the same mesh, and every client, whichever leader it was
// sent to, at n1 (the first leader), so that no two leaders ever take writes to the same row.
const SingleLeader = "single-leader"

// Entrypoint is a leader's container command: its data folder made on first start (peers trusted
// on the run's network), libfaketime reading the clock file the clock nemesis writes, and the
// settings of ServerSettings.
func Entrypoint(strategy string) string {
	var flags []string
	for _, s := range ServerSettings(strategy) {
		flags = append(flags, "-c '"+s+"'")
	}
	return `set -e
if [ ! -f /data/pg/PG_VERSION ]; then
  initdb -D /data/pg -U postgres --auth=trust >/dev/null
  printf 'host all all 0.0.0.0/0 trust\nhost replication all 0.0.0.0/0 trust\n' >> /data/pg/pg_hba.conf
fi
exec env ` + strings.Join(docker.FaketimeEnv(), " ") + ` \
  postgres -D /data/pg ` + strings.Join(flags, " ")
}

// resolution is the pglogical.conflict_resolution a strategy runs the mesh with.
func resolution(strategy string) string {
	if strategy == SingleLeader {
		return Strategies[0]
	}
	return strategy
}

// Leader is the description of a pglogical leader for the generic container cluster: the image,
// PostgreSQL started by Entrypoint, replication pulled (a subscriber connects to its provider),
// ready when it accepts connections, crash recovery waited for after a restart.
func Leader(o Options) docker.Leader {
	return docker.Leader{
		Engine: Name,
		Image:  EnsureImage,
		Port:   Port,
		Links:  o.Links,
		Dial:   docker.DialPull,
		Entrypoint: func(*docker.Cluster, string) []string {
			return []string{"/bin/sh", "-c", Entrypoint(resolution(o.Strategy))}
		},
		Ready: func() wait.Strategy { return wait.ForLog("database system is ready to accept connections") },
		Up: func(ctx context.Context, addr string) error {
			conn, err := pgx.Connect(ctx, url(addr))
			if err != nil {
				return err
			}
			defer conn.Close(context.WithoutCancel(ctx))
			_, err = conn.Exec(ctx, "SELECT 1")
			return err
		},
		URL:        url,
		DataVolume: "/data",
		Faketime:   true,
		Timeout:    o.Ready,
	}
}

// New starts the leaders, joins them in a full mesh and waits until every subscription
// replicates. On error it returns what it started too, for Close.
func New(ctx context.Context, o Options) (*Cluster, error) {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.Strategy == "" {
		o.Strategy = Strategies[0]
	}
	if o.Ready == 0 {
		o.Ready = 2 * time.Minute
	}
	if o.Nodes < 2 || o.Nodes > 9 {
		return nil, fmt.Errorf("pglogical: nodes must be from 2 to 9, not %d", o.Nodes)
	}
	d := docker.Options{Nodes: o.Nodes, Ready: o.Ready, Log: o.Log}
	if o.Strategy == SingleLeader {
		d.ClientsAt = "n1"
	}
	dc, err := docker.New(ctx, Leader(o), d)
	if dc == nil {
		return nil, err
	}
	c := &Cluster{Cluster: dc, opts: o, conns: map[string]*pgx.Conn{}}
	if err != nil {
		return c, err
	}
	ids := dc.IDs()
	for _, id := range ids {
		if _, err := c.conn(ctx, id); err != nil {
			return c, err
		}
	}
	dc.Say("joining %d leaders in a full mesh", len(ids))
	for _, id := range ids {
		if err := Prepare(ctx, c.conns[id], id, DSN(id, Port)); err != nil {
			return c, err
		}
	}
	for _, id := range ids {
		var peers []Peer
		for _, p := range ids {
			if p != id {
				// The subscription by which id receives p's changes: id dials p.
				host, port, _ := strings.Cut(dc.PeerAddress(id, p), ":")
				var n int
				fmt.Sscan(port, &n)
				peers = append(peers, Peer{Name: p, DSN: DSN(host, n)})
			}
		}
		if err := Subscribe(ctx, c.conns[id], id, peers); err != nil {
			return c, err
		}
	}
	rctx, cancel := context.WithTimeout(ctx, o.Ready)
	defer cancel()
	for _, id := range ids {
		if err := AwaitReplicating(rctx, c.conns[id]); err != nil {
			return c, fmt.Errorf("%s: %w", id, err)
		}
	}
	dc.Say("ready")
	return c, nil
}

// url is a connection URL for the postgres user at addr (host:port).
func url(addr string) string { return "postgres://postgres@" + addr + "/postgres?sslmode=disable" }

// Quiesce implements clusters.Quiescer: every subscription replicating and every slot confirmed.
func (c *Cluster) Quiesce(ctx context.Context) error {
	conns := map[string]*pgx.Conn{}
	for _, id := range c.IDs() {
		conn, err := c.conn(ctx, id)
		if err != nil {
			return err
		}
		conns[id] = conn
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Quiesce(ctx, conns)
}

// conn is the harness's connection to a leader, opened again if the leader restarted since.
func (c *Cluster) conn(ctx context.Context, id string) (*pgx.Conn, error) {
	c.mu.Lock()
	conn := c.conns[id]
	c.mu.Unlock()
	if conn != nil && !conn.IsClosed() && conn.Ping(ctx) == nil {
		return conn, nil
	}
	if conn != nil {
		_ = conn.Close(ctx)
	}
	admin, err := c.AdminURL(ctx, id)
	if err != nil {
		return nil, err
	}
	conn, err = pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("pglogical: connecting to %s: %w", id, err)
	}
	c.mu.Lock()
	c.conns[id] = conn
	c.mu.Unlock()
	return conn, nil
}

// SetClock implements clusters.ClockSkewer through each leader's libfaketime file
// (docker.Cluster.SetFaketime): now(), clock_timestamp() and commit timestamps move, those of
// walsenders and apply workers too, without a restart, within docker.ClockCache.
func (c *Cluster) SetClock(ctx context.Context, id string, s clusters.ClockSetting) error {
	return c.SetFaketime(id, s)
}

// Conflicts implements clusters.ConflictSource: the conflicts each leader logged, as records.
func (c *Cluster) Conflicts(ctx context.Context) ([]history.ConflictRecord, error) {
	var out []history.ConflictRecord
	for _, id := range c.IDs() {
		logs, err := c.Logs(ctx, id)
		if err != nil {
			return nil, err
		}
		cs, err := ParseConflicts(logs)
		logs.Close()
		if err != nil {
			return nil, fmt.Errorf("pglogical: %s's log: %w", id, err)
		}
		conn, err := c.conn(ctx, id)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		origins, err := Origins(ctx, conn)
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		out = append(out, Records(id, resolution(c.opts.Strategy), cs, origins)...)
	}
	return out, nil
}

// Close closes the harness's connections and removes the leaders, the sidecar and the network.
func (c *Cluster) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.mu.Lock()
	for id, conn := range c.conns {
		_ = conn.Close(ctx)
		delete(c.conns, id)
	}
	c.mu.Unlock()
	return c.Cluster.Close()
}

// EnsureImage returns the image's tag, building it first when Docker does not have it (about a
// minute, once; log gets a line per step).
func EnsureImage(ctx context.Context, cli *client.Client, log io.Writer) (string, error) {
	tag, _, err := docker.EnsureDebianImage(ctx, cli, Image(), log)
	return tag, err
}

// What pglogical adds to the generic cluster's capabilities.
var (
	_ clusters.ClockSkewer    = (*Cluster)(nil)
	_ clusters.Quiescer       = (*Cluster)(nil)
	_ clusters.ConflictSource = (*Cluster)(nil)
)
