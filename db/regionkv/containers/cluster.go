package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/clusters/docker"
	"github.com/crossfire-dev/crossfire/db/regionkv/server"
	"github.com/crossfire-dev/crossfire/history"
)

// nodePort is each leader's port inside the run's network.
const nodePort = 8080

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

// Cluster is regionkv in containers: the generic container cluster (every link through the
// Toxiproxy sidecar, since each leader pushes to the peer address it is given) and what is
// regionkv's own: clocks and duplicated replication set through each leader's admin endpoint
// (and given again to a leader that comes back without them), quiescence from the leaders'
// replication state, and their conflict logs.
type Cluster struct {
	*docker.Cluster

	mu     sync.Mutex
	clocks map[string]clusters.ClockSetting // each leader's clock, given again when it comes back
	dup    bool
}

// Leader is the description of a regionkv leader for the generic container cluster, with the
// strategies of o.
func (c *Cluster) Leader(o Options) docker.Leader {
	return docker.Leader{
		Engine: "regionkv",
		Image: func(ctx context.Context, cli *client.Client, _ io.Writer) (string, error) {
			return NodeImage(ctx, cli)
		},
		Port:  nodePort,
		Links: docker.LinksProxy,
		Dial:  docker.DialPush,
		Cmd: func(dc *docker.Cluster, id string) []string {
			args := []string{"--id", id, "--listen", fmt.Sprintf("0.0.0.0:%d", nodePort), "--data", "/data"}
			for _, kv := range [][2]string{{"--strategy", o.Strategy}, {"--leader", o.Leader}, {"--stock", o.Stock}, {"--orders", o.Orders}, {"--cart", o.Cart}} {
				if kv[1] != "" {
					args = append(args, kv[0], kv[1])
				}
			}
			for _, peer := range dc.IDs() {
				if peer != id {
					args = append(args, "--peer", peer+"=http://"+dc.PeerAddress(id, peer))
				}
			}
			return args
		},
		Ready: func() wait.Strategy {
			return wait.ForHTTP("/admin/health").WithPort(fmt.Sprintf("%d/tcp", nodePort))
		},
		Up:        func(ctx context.Context, addr string) error { return server.Healthy(ctx, "http://"+addr) },
		URL:       func(addr string) string { return "http://" + addr },
		Artifacts: []string{"/data/" + server.ConflictFile},
		Returned:  c.returned,
		Timeout:   o.Ready,
	}
}

// New starts the cluster and waits until every leader answers. On error it returns the partly
// started cluster too, so the caller can Close it.
func New(ctx context.Context, opts ...Option) (*Cluster, error) {
	o := Options{Nodes: 3, Ready: 60 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	if (server.HasLeader(o.Strategy) || o.Orders == server.Queue) && o.Leader == "" {
		o.Leader = "n1"
	}
	c := &Cluster{clocks: map[string]clusters.ClockSetting{}}
	dc, err := docker.New(ctx, c.Leader(o), docker.Options{Nodes: o.Nodes, Ready: o.Ready, Log: o.Log})
	if dc == nil {
		return nil, err
	}
	c.Cluster = dc
	return c, err
}

// returned gives a leader that comes back without them the clock and replication faults that
// were set while it could not be told (or before it restarted: a new process remembers none).
func (c *Cluster) returned(ctx context.Context, id string, missed bool) error {
	if !missed {
		return nil
	}
	c.mu.Lock()
	clock, dup := c.clocks[id], c.dup
	c.mu.Unlock()
	return server.RestoreFaults(ctx, c.admin(id), server.ClockSetting(clock), dup)
}

// admin is a leader's admin URL as Nodes has it now.
func (c *Cluster) admin(id string) string {
	for _, n := range c.Nodes() {
		if n.ID == id {
			return n.AdminURL
		}
	}
	return ""
}

// SetClock sets a leader's clock through its admin endpoint; a leader that is down, frozen or off
// the network gets it when it comes back.
func (c *Cluster) SetClock(ctx context.Context, id string, s clusters.ClockSetting) error {
	if c.Container(id) == nil {
		return fmt.Errorf("regionkv: no leader %q", id)
	}
	c.mu.Lock()
	c.clocks[id] = s
	c.mu.Unlock()
	if !c.Reachable(id) {
		return nil
	}
	return server.PutClock(ctx, c.admin(id), server.ClockSetting(s))
}

// DuplicateReplication switches duplicated replication delivery on every running leader; the
// others get it when they come back.
func (c *Cluster) DuplicateReplication(ctx context.Context, on bool) error {
	c.mu.Lock()
	c.dup = on
	c.mu.Unlock()
	var errs []error
	for _, n := range c.Nodes() {
		if c.Reachable(n.ID) {
			errs = append(errs, server.PutFaults(ctx, n.AdminURL, server.FaultsRequest{DuplicateReplication: on}))
		}
	}
	return errors.Join(errs...)
}

// Quiesce waits until every leader has applied every entry every origin wrote, and stayed so.
func (c *Cluster) Quiesce(ctx context.Context) error {
	return server.AwaitReplicated(ctx, func() []string {
		var urls []string
		for _, n := range c.Nodes() {
			urls = append(urls, n.AdminURL)
		}
		return urls
	})
}

// Conflicts copies every leader's conflict log out of its container and reads it.
func (c *Cluster) Conflicts(ctx context.Context) ([]history.ConflictRecord, error) {
	return server.CollectConflicts(c.IDs(), func(id string) (io.ReadCloser, error) {
		f, err := c.CopyFile(ctx, id, "/data/"+server.ConflictFile)
		if err != nil {
			return nil, nil // a leader that never saw a conflict has no log
		}
		return f, nil
	})
}

// What regionkv adds to the generic cluster's capabilities.
var (
	_ clusters.ClockSkewer           = (*Cluster)(nil)
	_ clusters.ReplicationDuplicator = (*Cluster)(nil)
	_ clusters.Quiescer              = (*Cluster)(nil)
	_ clusters.ConflictSource        = (*Cluster)(nil)
)
