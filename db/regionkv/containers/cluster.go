package containers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"crossfire/clusters"
	"crossfire/clusters/docker"
	"crossfire/db/regionkv/server"
)

// nodePort is each leader's port inside the run's network (the sidecar's are docker's).
const nodePort = "8080"

// Options configure New.
type Options struct {
	Nodes    int    // how many leaders; 0 means 3
	Strategy string // register strategy
	Leader   string // single-leader's leader
	Stock    string
	Orders   string
	Cart     string
	Ready    time.Duration // bound on each container's readiness; 0 means 60s
	// Log, if set, is told the run's id before anything is made, so that whoever kills the
	// process can still clean up exactly this run (crossfire clean --run ID).
	Log io.Writer
}

// Option changes Options.
type Option func(*Options)

// WithLog sets where New says which run id labels what it makes.
func WithLog(w io.Writer) Option { return func(o *Options) { o.Log = w } }

// WithNodes sets the number of leaders.
func WithNodes(n int) Option { return func(o *Options) { o.Nodes = n } }

// WithStrategy sets the register strategy and, for single-leader, the leader ("" for the first).
func WithStrategy(strategy, leader string) Option {
	return func(o *Options) { o.Strategy, o.Leader = strategy, leader }
}

// WithInventory sets the stock and order strategies.
func WithInventory(stock, orders string) Option {
	return func(o *Options) { o.Stock, o.Orders = stock, orders }
}

// WithCart sets the cart strategy.
func WithCart(strategy string) Option { return func(o *Options) { o.Cart = strategy } }

// Cluster is a running container cluster: a network made for the run, a Toxiproxy sidecar
// through which every leader-to-leader and client-to-leader link passes, and one container per
// leader.
type Cluster struct {
	opts    Options
	cli     *client.Client
	run     string
	network string
	sidecar *docker.Sidecar
	ids     []string
	nodes   []clusters.Node
	ctrs    map[string]testcontainers.Container

	mu     sync.Mutex
	killed map[string]bool
	paused map[string]bool
	off    map[string]bool                  // taken off the network
	stale  map[string]bool                  // back on the network while down or frozen: links not reset yet
	missed map[string]bool                  // clock or replication faults changed while it could not be told
	clocks map[string]clusters.ClockSetting // each leader's clock, given again when it comes back
	dup    bool
}

// New starts the cluster and waits until every leader answers. On error it returns the partly
// started cluster too, so the caller can Close it.
func New(ctx context.Context, opts ...Option) (*Cluster, error) {
	o := Options{Nodes: 3, Ready: 60 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	if o.Nodes < 1 || o.Nodes > 9 {
		return nil, fmt.Errorf("docker: nodes must be from 1 to 9, not %d", o.Nodes)
	}
	cli, err := docker.Client(ctx)
	if err != nil {
		return nil, err
	}
	// Leftovers of runs whose process is gone (killed before it could clean up); a run in
	// progress, here or anywhere its owner still lives, is left alone.
	if swept, _ := docker.Clean(ctx, cli, docker.Which{UnownedOlderThan: docker.SweepAge}); len(swept.Names) > 0 && o.Log != nil {
		fmt.Fprintf(o.Log, "crossfire: removed what runs that are no longer running left in Docker: %s\n", strings.Join(swept.Names, ", "))
	}
	if o.Strategy == server.SingleLeader && o.Leader == "" {
		o.Leader = "n1"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	c := &Cluster{opts: o, cli: cli, run: "cf-" + hex.EncodeToString(b[:]), ctrs: map[string]testcontainers.Container{}, killed: map[string]bool{}, paused: map[string]bool{},
		off: map[string]bool{}, stale: map[string]bool{}, missed: map[string]bool{}, clocks: map[string]clusters.ClockSetting{}}
	for i := 1; i <= o.Nodes; i++ {
		c.ids = append(c.ids, fmt.Sprintf("n%d", i))
	}
	if o.Log != nil {
		fmt.Fprintf(o.Log, "crossfire: docker cluster %s: containers, network and volumes labelled %s=%s (crossfire clean --run %s removes them)\n",
			c.run, docker.LabelRun, c.run, c.run)
	}
	dir, err := os.MkdirTemp("", "crossfire-images-")
	if err != nil {
		return c, err
	}
	defer os.RemoveAll(dir)
	nodeImage, proxyImage, err := Images(ctx, cli, dir)
	if err != nil {
		return c, err
	}
	labels := docker.RunLabels(c.run)
	c.network = "crossfire-" + c.run
	if _, err := cli.NetworkCreate(ctx, c.network, client.NetworkCreateOptions{Labels: labels}); err != nil {
		return c, fmt.Errorf("docker: creating network %s: %w", c.network, err)
	}

	// The sidecar first: every link's proxy must exist before the leaders use it.
	sc, err := docker.StartSidecar(ctx, docker.SidecarSpec{Image: proxyImage, Run: c.run, Network: c.network, Labels: labels,
		Leaders: c.ids, Port: nodePort, Ready: o.Ready})
	c.sidecar = sc
	if err != nil {
		return c, err
	}

	for i, id := range c.ids {
		args := []string{"--id", id, "--listen", "0.0.0.0:" + nodePort, "--data", "/data"}
		for k, kv := range map[string]string{"--strategy": o.Strategy, "--leader": o.Leader, "--stock": o.Stock, "--orders": o.Orders, "--cart": o.Cart} {
			if kv != "" {
				args = append(args, k, kv)
			}
		}
		for j, peer := range c.ids {
			if peer != id {
				args = append(args, "--peer", fmt.Sprintf("%s=http://%s", peer, sc.LinkAddress(i, j)))
			}
		}
		ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
			ContainerRequest: testcontainers.ContainerRequest{
				Image: nodeImage, Name: c.run + "-" + id, Cmd: args,
				ExposedPorts:   []string{nodePort + "/tcp"},
				Labels:         labels,
				Networks:       []string{c.network},
				NetworkAliases: map[string][]string{c.network: {id}},
				WaitingFor:     wait.ForHTTP("/admin/health").WithPort(nodePort + "/tcp").WithStartupTimeout(o.Ready),
			},
			Started: true,
		})
		if ctr != nil {
			c.ctrs[id] = ctr
		}
		if err != nil {
			return c, fmt.Errorf("docker: starting leader %s: %w", id, err)
		}
		admin, err := ctr.PortEndpoint(ctx, nodePort+"/tcp", "http")
		if err != nil {
			return c, err
		}
		url, err := sc.ClientEndpoint(ctx, i, "http")
		if err != nil {
			return c, err
		}
		c.nodes = append(c.nodes, clusters.Node{ID: id, URL: url, AdminURL: admin})
	}
	return c, nil
}

// Nodes lists the leaders in id order.
func (c *Cluster) Nodes() []clusters.Node { return append([]clusters.Node(nil), c.nodes...) }

// Run is the run's id, the value of every container's and the network's docker.LabelRun.
func (c *Cluster) Run() string { return c.run }

// Partition cuts the given links at the sidecar (docker.Sidecar.Partition).
func (c *Cluster) Partition(ctx context.Context, cut []clusters.Link) error {
	return c.sidecar.Partition(ctx, cut)
}

// Heal restores every link at the sidecar.
func (c *Cluster) Heal(ctx context.Context) error { return c.sidecar.Heal(ctx) }

// Close removes every container (paused ones are thawed first) and the network. Copy what is
// wanted out with CollectArtifacts before. It is safe to call more than once.
func (c *Cluster) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errs []error
	for id, ctr := range c.ctrs {
		if c.paused[id] {
			_, _ = c.cli.ContainerUnpause(ctx, ctr.GetContainerID(), client.ContainerUnpauseOptions{})
		}
		errs = append(errs, testcontainers.TerminateContainer(ctr))
		delete(c.ctrs, id)
	}
	errs = append(errs, c.sidecar.Close())
	errs = append(errs, docker.RemoveNetwork(ctx, c.cli, c.network))
	c.network = ""
	if c.cli != nil {
		errs = append(errs, c.cli.Close())
		c.cli = nil
	}
	return errors.Join(errs...)
}

var (
	_ clusters.Cluster     = (*Cluster)(nil)
	_ clusters.Partitioner = (*Cluster)(nil)
)
