package pglogical

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"crossfire/clusters"
	"crossfire/clusters/docker"
	"crossfire/history"
)

// Options configure New.
type Options struct {
	Nodes int // leaders; 3 by default
	// Strategy is pglogical.conflict_resolution, Strategies[0] by default; or SingleLeader: the
	// mesh as always, and every client at n1.
	Strategy string
	Ready    time.Duration // bound on each container's start and on the mesh's; 2 minutes by default
	Log      io.Writer     // what New does, a line per step; nil for none
}

// Cluster is a pglogical mesh in containers: leaders on a network made for the run, every
// link through the Toxiproxy sidecar (each subscription's provider DSN is the proxy of its
// directed link, and clients reach each leader through a proxy of their own).
type Cluster struct {
	opts    Options
	cli     *client.Client
	run     string
	network string
	sidecar *docker.Sidecar
	ids     []string
	nodes   []clusters.Node
	ctrs    map[string]testcontainers.Container
	clocks  *clocks // each leader's libfaketime file

	mu     sync.Mutex
	conns  map[string]*pgx.Conn // the harness's own connection to each leader, past every fault
	killed map[string]bool
	paused map[string]bool
	off    map[string]bool // taken off the network
}

// SingleLeader is the control strategy: the same mesh, and every client, whichever leader it was
// sent to, at n1 (the first leader), so that no two leaders ever take writes to the same row.
const SingleLeader = "single-leader"

// Entrypoint is a leader's container command: its data folder made on first start (peers trusted
// on the run's network), libfaketime reading /faketime/clock (the clock nemesis writes it), and
// the settings of ServerSettings.
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
[ -f /faketime/clock ] || echo "+0" > /faketime/clock
exec env LD_PRELOAD=` + FaketimeLib + ` FAKETIME_TIMESTAMP_FILE=/faketime/clock FAKETIME_CACHE_DURATION=` + fmt.Sprint(ClockCache.Seconds()) + ` FAKETIME_DONT_FAKE_MONOTONIC=1 \
  postgres -D /data/pg ` + strings.Join(flags, " ")
}

// resolution is the pglogical.conflict_resolution a strategy runs the mesh with.
func resolution(strategy string) string {
	if strategy == SingleLeader {
		return Strategies[0]
	}
	return strategy
}

// New starts the leaders behind the sidecar, joins them in a full mesh and waits until every
// subscription replicates. On error it returns what it started too, for Close.
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
	cli, err := docker.Client(ctx)
	if err != nil {
		return nil, err
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	c := &Cluster{opts: o, cli: cli, run: "cf-" + hex.EncodeToString(b[:]), ctrs: map[string]testcontainers.Container{}, conns: map[string]*pgx.Conn{},
		killed: map[string]bool{}, paused: map[string]bool{}, off: map[string]bool{}}
	for i := 1; i <= o.Nodes; i++ {
		c.ids = append(c.ids, fmt.Sprintf("n%d", i))
	}
	say := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "crossfire: pglogical cluster %s: "+format+"\n", append([]any{c.run}, args...)...)
		}
	}
	say("containers, network and volumes labelled %s=%s (crossfire clean --run %s removes them)", docker.LabelRun, c.run, c.run)
	// Leftovers of runs whose process is gone; a run in progress is left alone.
	if swept, _ := docker.Clean(ctx, cli, docker.Which{UnownedOlderThan: docker.SweepAge}); len(swept.Names) > 0 {
		say("removed what runs that are no longer running left in Docker: %s", strings.Join(swept.Names, ", "))
	}
	if c.clocks, err = newClocks(filepath.Join(docker.HostDir(c.run), "clocks"), c.ids); err != nil {
		return c, err
	}
	image, err := EnsureImage(ctx, cli, o.Log)
	if err != nil {
		return c, err
	}
	dir, err := os.MkdirTemp("", "crossfire-images-")
	if err != nil {
		return c, err
	}
	defer os.RemoveAll(dir)
	proxyImage, err := docker.ToxiproxyImage(ctx, cli, dir)
	if err != nil {
		return c, err
	}
	labels := docker.RunLabels(c.run)
	c.network = "crossfire-" + c.run
	if _, err := cli.NetworkCreate(ctx, c.network, client.NetworkCreateOptions{Labels: labels}); err != nil {
		return c, fmt.Errorf("docker: creating network %s: %w", c.network, err)
	}
	port := fmt.Sprint(Port)
	c.sidecar, err = docker.StartSidecar(ctx, docker.SidecarSpec{Image: proxyImage, Run: c.run, Network: c.network, Labels: labels,
		Leaders: c.ids, Port: port, Ready: o.Ready, Pull: true})
	if err != nil {
		return c, err
	}
	// The leaders start together: each spends seconds in initdb and recovery.
	started := make([]testcontainers.Container, len(c.ids))
	errs := make([]error, len(c.ids))
	var wg sync.WaitGroup
	for i, id := range c.ids {
		wg.Go(func() {
			started[i], errs[i] = testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
				ContainerRequest: testcontainers.ContainerRequest{
					Image: image, Name: c.run + "-" + id,
					Entrypoint:   []string{"/bin/sh", "-c", Entrypoint(resolution(o.Strategy))},
					ExposedPorts: []string{port + "/tcp"},
					Labels:       labels,
					// The clock nemesis writes the file libfaketime reads; the leader only reads it.
					HostConfigModifier: func(hc *container.HostConfig) {
						hc.Binds = append(hc.Binds, c.clocks.dir(id)+":/faketime:ro")
					},
					Networks:       []string{c.network},
					NetworkAliases: map[string][]string{c.network: {id}},
					WaitingFor:     wait.ForLog("database system is ready to accept connections").WithStartupTimeout(o.Ready),
				},
				Started: true,
			})
		})
	}
	wg.Wait()
	for i, id := range c.ids {
		if started[i] != nil {
			c.ctrs[id] = started[i]
		}
	}
	for i, id := range c.ids {
		if errs[i] != nil {
			return c, fmt.Errorf("docker: starting leader %s: %w", id, errs[i])
		}
	}
	for i, id := range c.ids {
		ctr := c.ctrs[id]
		at := i
		if o.Strategy == SingleLeader {
			at = 0
		}
		addr, err := c.sidecar.ClientEndpoint(ctx, at, "")
		if err != nil {
			return c, err
		}
		admin, err := ctr.PortEndpoint(ctx, port+"/tcp", "")
		if err != nil {
			return c, err
		}
		c.nodes = append(c.nodes, clusters.Node{ID: id, URL: url(addr), AdminURL: url(admin)})
		conn, err := pgx.Connect(ctx, c.nodes[i].AdminURL)
		if err != nil {
			return c, fmt.Errorf("pglogical: connecting to %s: %w", id, err)
		}
		c.conns[id] = conn
	}
	say("joining %d leaders in a full mesh", len(c.ids))
	for _, id := range c.ids {
		if err := Prepare(ctx, c.conns[id], id, DSN(id, Port)); err != nil {
			return c, err
		}
	}
	for i, id := range c.ids {
		var peers []Peer
		for j, p := range c.ids {
			if j != i {
				// The subscription by which i receives j's changes dials the proxy of j->i.
				host, port, _ := strings.Cut(c.sidecar.LinkAddress(j, i), ":")
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
	for _, id := range c.ids {
		if err := AwaitReplicating(rctx, c.conns[id]); err != nil {
			return c, fmt.Errorf("%s: %w", id, err)
		}
	}
	say("ready")
	return c, nil
}

// url is a connection URL for the postgres user at addr (host:port).
func url(addr string) string { return "postgres://postgres@" + addr + "/postgres?sslmode=disable" }

// Nodes lists the leaders. A node's URL is a connection string through its client link (with
// SingleLeader, n1's for every node); its AdminURL reaches it directly, past every fault.
func (c *Cluster) Nodes() []clusters.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]clusters.Node(nil), c.nodes...)
}

// Run is the run's id, the value of every container's and the network's docker.LabelRun.
func (c *Cluster) Run() string { return c.run }

// Quiesce implements clusters.Quiescer: every subscription replicating and every slot confirmed.
func (c *Cluster) Quiesce(ctx context.Context) error {
	conns := map[string]*pgx.Conn{}
	for _, id := range c.ids {
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
	admin, err := c.adminURL(ctx, id)
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

// adminURL finds where a leader's port is published now (a restart may move it).
func (c *Cluster) adminURL(ctx context.Context, id string) (string, error) {
	addr, err := c.ctrs[id].PortEndpoint(ctx, fmt.Sprintf("%d/tcp", Port), "")
	if err != nil {
		return "", fmt.Errorf("docker: %s's port: %w", id, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.nodes {
		if c.nodes[i].ID == id {
			c.nodes[i].AdminURL = url(addr)
		}
	}
	return url(addr), nil
}

// Conflicts implements clusters.ConflictSource: the conflicts each leader logged, as records.
func (c *Cluster) Conflicts(ctx context.Context) ([]history.ConflictRecord, error) {
	var out []history.ConflictRecord
	for _, id := range c.ids {
		logs, err := c.ctrs[id].Logs(ctx)
		if err != nil {
			return nil, fmt.Errorf("docker: %s's log: %w", id, err)
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

// CollectArtifacts implements clusters.ArtifactCollector: each leader's server log as
// dir/<node>/node.log.
func (c *Cluster) CollectArtifacts(ctx context.Context, dir string) error {
	var errs []error
	for _, id := range c.ids {
		logs, err := c.ctrs[id].Logs(ctx)
		if err == nil {
			err = os.MkdirAll(filepath.Join(dir, id), 0o755)
		}
		if err == nil {
			var f *os.File
			if f, err = os.Create(filepath.Join(dir, id, "node.log")); err == nil {
				_, err = io.Copy(f, logs)
				err = errors.Join(err, f.Close())
			}
			logs.Close()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Close removes the leaders, the sidecar and the network.
func (c *Cluster) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errs []error
	for id, conn := range c.conns {
		_ = conn.Close(ctx)
		delete(c.conns, id)
	}
	c.clocks.stop()
	for id, ctr := range c.ctrs {
		if c.paused[id] {
			_, _ = c.cli.ContainerUnpause(ctx, ctr.GetContainerID(), client.ContainerUnpauseOptions{})
		}
		errs = append(errs, testcontainers.TerminateContainer(ctr, testcontainers.RemoveVolumes()))
		delete(c.ctrs, id)
	}
	errs = append(errs, c.clocks.remove(), os.RemoveAll(docker.HostDir(c.run)))
	errs = append(errs, c.sidecar.Close())
	errs = append(errs, docker.RemoveNetwork(ctx, c.cli, c.network))
	c.network = ""
	if c.cli != nil {
		errs = append(errs, c.cli.Close())
		c.cli = nil
	}
	return errors.Join(errs...)
}
