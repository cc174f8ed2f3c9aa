// Package local is regionkv's embedded cluster, the default when there is no Docker: three
// regionkv leaders as child processes on loopback, each with its own data directory, and an
// in-process Toxiproxy with one proxy per directed link (every leader-to-leader pair in each
// direction, and clients to each leader), so partitions are real dropped traffic, not a flag in
// the store. Kill is SIGKILL and a restart from the data directory; pause is SIGSTOP.
//
// Nodes are this very binary re-executed (see the init in reexec.go), so `go run`, `go test` and
// an installed crossfire all carry the store with them; WithBinary uses a prebuilt regionkv
// instead. Children run in their own process group (a terminal's Ctrl-C reaches only the
// harness, which heals and stops them) and die with their parent: the kernel sends SIGKILL when
// the parent exits and each node also watches its parent's pid, so nothing outlives a run, even
// one that is itself killed.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/db/regionkv/server"
	"github.com/crossfire-dev/crossfire/history"
)

// Options configure New.
type Options struct {
	Nodes    int    // how many leaders; 0 means 3
	Strategy string // register strategy; "" means lww
	Leader   string // single-leader's leader; "" means the first node
	Stock    string // stock strategy; "" means pncounter
	Orders   string // order strategy; "" means naive
	Cart     string // cart strategy; "" means lww
	Dir      string // holds nodes/<id>/{data,node.log}; "" means a temporary directory removed by Close
	Binary   string // a regionkv binary; "" means this executable re-executed
	Ready    time.Duration
}

// Option changes Options.
type Option func(*Options)

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

// WithDir keeps the nodes' data directories and logs under dir.
func WithDir(dir string) Option { return func(o *Options) { o.Dir = dir } }

// WithBinary runs nodes from a regionkv binary instead of re-executing this one.
func WithBinary(path string) Option { return func(o *Options) { o.Binary = path } }

// WithReadyTimeout bounds the wait for every node to answer; the default is 15s.
func WithReadyTimeout(d time.Duration) Option { return func(o *Options) { o.Ready = d } }

// Cluster is a running embedded cluster.
type Cluster struct {
	opts    Options
	tmp     bool
	ids     []string
	addrs   map[string]string   // node id -> its own listen address
	sockets map[string]*os.File // node id -> its listening socket, held for the cluster's life
	nodes   []clusters.Node
	toxi    *toxiproxy.ApiServer
	proxies map[clusters.Link]*toxiproxy.Proxy

	mu     sync.Mutex
	procs  map[string]*proc
	cut    map[clusters.Link]bool
	slowed map[clusters.Link]bool
	wan    time.Duration                    // the round trip between leaders (SetWAN)
	dup    bool                             // duplicated replication is on: a restarted node gets it again
	clocks map[string]clusters.ClockSetting // each node's clock setting, likewise
}

type proc struct {
	cmd    *exec.Cmd
	log    *os.File
	done   chan struct{}
	paused bool
}

// New starts the cluster and waits until every leader answers. On error it returns the partly
// started cluster too, so the caller can Close it.
func New(ctx context.Context, opts ...Option) (*Cluster, error) {
	o := Options{Nodes: 3, Strategy: server.LWW, Ready: 15 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	if o.Nodes < 1 {
		return nil, fmt.Errorf("local: a cluster needs at least one node, not %d", o.Nodes)
	}
	c := &Cluster{opts: o, addrs: map[string]string{}, sockets: map[string]*os.File{}, proxies: map[clusters.Link]*toxiproxy.Proxy{},
		procs: map[string]*proc{}, cut: map[clusters.Link]bool{}, slowed: map[clusters.Link]bool{}, clocks: map[string]clusters.ClockSetting{}}
	for i := 1; i <= o.Nodes; i++ {
		c.ids = append(c.ids, fmt.Sprintf("n%d", i))
	}
	if (server.HasLeader(c.opts.Strategy) || c.opts.Orders == server.Queue) && c.opts.Leader == "" {
		c.opts.Leader = c.ids[0]
	}
	if c.opts.Dir == "" {
		d, err := os.MkdirTemp("", "crossfire-local-")
		if err != nil {
			return nil, err
		}
		c.opts.Dir, c.tmp = d, true
	}
	c.toxi = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	for _, id := range c.ids {
		f, addr, err := listenSocket()
		if err != nil {
			return c, err
		}
		c.sockets[id], c.addrs[id] = f, addr
	}
	for _, to := range c.ids {
		froms := append([]string{clusters.ClientLink}, c.ids...)
		for _, from := range froms {
			if from == to {
				continue
			}
			l := clusters.Link{From: from, To: to}
			p := toxiproxy.NewProxy(c.toxi, l.String(), "127.0.0.1:0", c.addrs[to])
			if err := p.Start(); err != nil {
				return c, fmt.Errorf("local: starting proxy %s: %w", l, err)
			}
			c.proxies[l] = p
		}
	}
	for _, id := range c.ids {
		c.nodes = append(c.nodes, clusters.Node{
			ID:       id,
			URL:      "http://" + c.proxies[clusters.Link{From: clusters.ClientLink, To: id}].Listen,
			AdminURL: "http://" + c.addrs[id],
		})
		if err := c.start(id); err != nil {
			return c, err
		}
	}
	if err := c.awaitReady(ctx, c.ids...); err != nil {
		return c, err
	}
	return c, nil
}

// awaitReady waits, within the ready timeout, until the nodes answer their health checks. A
// node whose process exits meanwhile fails at once, with the end of its log.
func (c *Cluster) awaitReady(ctx context.Context, ids ...string) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Ready)
	defer cancel()
	for _, id := range ids {
		n, _ := c.node(id)
		c.mu.Lock()
		p := c.procs[id]
		c.mu.Unlock()
		for {
			// Short attempts: a dead node's socket accepts into its backlog and never answers,
			// and the loop must get back to noticing that the process exited.
			actx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
			err := server.Healthy(actx, n.AdminURL)
			cancel()
			if err == nil {
				break
			}
			select {
			case <-p.done:
				return fmt.Errorf("local: node %s exited while starting: %s", id, logTail(filepath.Join(c.nodeDir(id), "node.log")))
			case <-ctx.Done():
				return fmt.Errorf("local: node %s did not answer within %v: %v (log: %s)", id, c.opts.Ready, err, filepath.Join(c.nodeDir(id), "node.log"))
			case <-time.After(25 * time.Millisecond):
			}
		}
	}
	return nil
}

// logTail is the last line of a node's log, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// listenSocket opens a loopback listening socket for a node. The cluster holds it and hands it
// to every start of that node, so the port can never be taken by anything else, not even
// between a kill and a restart (while the node is down, connections wait unanswered in the
// socket's backlog, as they would for a frozen machine).
func listenSocket() (*os.File, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return nil, "", err
	}
	return f, ln.Addr().String(), nil
}

func (c *Cluster) nodeDir(id string) string { return filepath.Join(c.opts.Dir, "nodes", id) }

// start launches node id's process. c.mu must not be held by another start of the same node.
func (c *Cluster) start(id string) error {
	dir := c.nodeDir(id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := []string{"--id", id, "--listen-fd", "3", "--data", filepath.Join(dir, "data"),
		"--strategy", c.opts.Strategy, "--parent-pid", fmt.Sprint(os.Getpid())}
	if c.opts.Leader != "" {
		args = append(args, "--leader", c.opts.Leader)
	}
	if c.opts.Stock != "" {
		args = append(args, "--stock", c.opts.Stock)
	}
	if c.opts.Orders != "" {
		args = append(args, "--orders", c.opts.Orders)
	}
	if c.opts.Cart != "" {
		args = append(args, "--cart", c.opts.Cart)
	}
	for _, peer := range c.ids {
		if peer != id {
			p := c.proxies[clusters.Link{From: id, To: peer}]
			args = append(args, "--peer", peer+"=http://"+p.Listen)
		}
	}
	bin, env := c.opts.Binary, os.Environ()
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("local: finding this executable to run nodes: %w", err)
		}
		bin, env = exe, append(env, reexecEnv+"=1")
	}
	logf, err := os.OpenFile(filepath.Join(dir, "node.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{c.sockets[id]} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("local: starting node %s: %w", id, err)
	}
	p := &proc{cmd: cmd, log: logf, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	c.mu.Lock()
	c.procs[id] = p
	c.mu.Unlock()
	return nil
}

// Nodes lists the leaders in id order.
func (c *Cluster) Nodes() []clusters.Node { return append([]clusters.Node(nil), c.nodes...) }

// Dir is where the nodes keep their data and logs.
func (c *Cluster) Dir() string { return c.opts.Dir }

func (c *Cluster) node(id string) (clusters.Node, error) {
	for _, n := range c.nodes {
		if n.ID == id {
			return n, nil
		}
	}
	return clusters.Node{}, fmt.Errorf("local: no node %q (nodes: %s)", id, strings.Join(c.ids, ", "))
}

// Partition cuts the given links, on top of any already cut.
func (c *Cluster) Partition(ctx context.Context, cut []clusters.Link) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range cut {
		p, ok := c.proxies[l]
		if !ok {
			return fmt.Errorf("local: no link %s", l)
		}
		if c.cut[l] {
			continue
		}
		for _, stream := range []string{"upstream", "downstream"} {
			toxic := fmt.Sprintf(`{"name":"partition-%s","type":"timeout","stream":%q,"attributes":{"timeout":0}}`, stream, stream)
			if _, err := p.Toxics.AddToxicJson(strings.NewReader(toxic)); err != nil {
				return fmt.Errorf("local: cutting %s: %w", l, err)
			}
		}
		c.cut[l] = true
		if err := resetConnections(p); err != nil {
			return fmt.Errorf("local: resetting %s: %w", l, err)
		}
	}
	return nil
}

// Heal restores every cut link and resets the connections that crossed it while it was cut.
func (c *Cluster) Heal(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for l := range c.cut {
		p := c.proxies[l]
		healed := true
		for _, stream := range []string{"upstream", "downstream"} {
			if err := p.Toxics.RemoveToxic(ctx, "partition-"+stream); err != nil && !errors.Is(err, toxiproxy.ErrToxicNotFound) {
				errs = append(errs, fmt.Errorf("local: healing %s: %w", l, err))
				healed = false
			}
		}
		if err := resetConnections(p); err != nil {
			errs = append(errs, fmt.Errorf("local: resetting %s: %w", l, err))
		}
		if healed { // else still cut as far as anyone knows: the next heal tries it again
			delete(c.cut, l)
		}
	}
	return errors.Join(errs...)
}

// resetConnections closes every connection through p, keeping its toxics and its address.
func resetConnections(p *toxiproxy.Proxy) error {
	p.Stop()
	var err error
	for i := 0; i < 20; i++ { // the old listener's port can take a moment to free
		if err = p.Start(); err == nil || errors.Is(err, toxiproxy.ErrProxyAlreadyStarted) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}

// SetLatency delays the replies over the given links by latency ± jitter.
func (c *Cluster) SetLatency(ctx context.Context, links []clusters.Link, latency, jitter time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range links {
		p, ok := c.proxies[l]
		if !ok {
			return fmt.Errorf("local: no link %s", l)
		}
		toxic := fmt.Sprintf(`{"name":"latency","type":"latency","stream":"downstream","attributes":{"latency":%d,"jitter":%d}}`,
			latency.Milliseconds(), jitter.Milliseconds())
		var err error
		if c.slowed[l] {
			_, err = p.Toxics.UpdateToxicJson("latency", strings.NewReader(toxic))
		} else {
			_, err = p.Toxics.AddToxicJson(strings.NewReader(toxic))
		}
		if err != nil {
			return fmt.Errorf("local: slowing %s: %w", l, err)
		}
		c.slowed[l] = true
	}
	return nil
}

// ClearLatency removes every delay.
func (c *Cluster) ClearLatency(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for l := range c.slowed {
		if err := c.proxies[l].Toxics.RemoveToxic(ctx, "latency"); err != nil && !errors.Is(err, toxiproxy.ErrToxicNotFound) {
			errs = append(errs, fmt.Errorf("local: unslowing %s: %w", l, err))
			continue // still slowed as far as anyone knows: the next clear tries it again
		}
		delete(c.slowed, l)
	}
	return errors.Join(errs...)
}

// SetWAN delays every link between two leaders by rtt/2 each way (toxics of their own, which
// partitions and ClearLatency leave alone); client links stay as they are. Zero removes it.
func (c *Cluster) SetWAN(ctx context.Context, rtt time.Duration) error {
	if rtt < 0 {
		return fmt.Errorf("local: a round trip of %s", rtt)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for l, p := range c.proxies {
		if l.From == clusters.ClientLink {
			continue
		}
		for _, stream := range []string{"upstream", "downstream"} {
			name := "wan-" + stream
			var err error
			switch {
			case rtt == 0 && c.wan > 0:
				err = p.Toxics.RemoveToxic(ctx, name)
			case rtt > 0:
				toxic := fmt.Sprintf(`{"name":%q,"type":"latency","stream":%q,"attributes":{"latency":%d}}`, name, stream, (rtt / 2).Milliseconds())
				if c.wan > 0 {
					_, err = p.Toxics.UpdateToxicJson(name, strings.NewReader(toxic))
				} else {
					_, err = p.Toxics.AddToxicJson(strings.NewReader(toxic))
				}
			}
			if err != nil {
				return fmt.Errorf("local: the round trip of %s: %w", l, err)
			}
		}
	}
	c.wan = rtt
	return nil
}

// DuplicateReplication switches duplicated replication delivery on every running node.
func (c *Cluster) DuplicateReplication(ctx context.Context, on bool) error {
	c.mu.Lock()
	c.dup = on
	c.mu.Unlock()
	var errs []error
	for _, n := range c.nodes {
		c.mu.Lock()
		running := c.procs[n.ID] != nil && !c.procs[n.ID].paused
		c.mu.Unlock()
		if running {
			errs = append(errs, server.PutFaults(ctx, n.AdminURL, server.FaultsRequest{DuplicateReplication: on}))
		}
	}
	return errors.Join(errs...)
}

// SetClock sets a node's clock through its admin endpoint; a restarted node gets it again.
func (c *Cluster) SetClock(ctx context.Context, id string, s clusters.ClockSetting) error {
	n, err := c.node(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.clocks[id] = s
	running := c.procs[id] != nil
	c.mu.Unlock()
	if !running {
		return nil // set when it restarts
	}
	return server.PutClock(ctx, n.AdminURL, server.ClockSetting(s))
}

// Kill sends SIGKILL to a node and waits for it to die.
func (c *Cluster) Kill(ctx context.Context, id string) error {
	if _, err := c.node(id); err != nil {
		return err
	}
	c.mu.Lock()
	p := c.procs[id]
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	delete(c.procs, id)
	c.mu.Unlock()
	return nil
}

// Restart starts a killed node again from its data directory and waits until it answers. A node
// that is running is left alone.
func (c *Cluster) Restart(ctx context.Context, id string) error {
	n, err := c.node(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	running := c.procs[id] != nil
	c.mu.Unlock()
	if !running {
		if err := c.start(id); err != nil {
			return err
		}
	}
	if err := c.awaitReady(ctx, n.ID); err != nil {
		return err
	}
	c.mu.Lock()
	dup, clock := c.dup, c.clocks[id]
	c.mu.Unlock()
	if running {
		return nil
	}
	return server.RestoreFaults(ctx, n.AdminURL, server.ClockSetting(clock), dup)
}

// Pause freezes a node with SIGSTOP.
func (c *Cluster) Pause(ctx context.Context, id string) error {
	return c.signal(id, syscall.SIGSTOP, true)
}

// Resume thaws a paused node with SIGCONT.
func (c *Cluster) Resume(ctx context.Context, id string) error {
	return c.signal(id, syscall.SIGCONT, false)
}

func (c *Cluster) signal(id string, sig syscall.Signal, paused bool) error {
	if _, err := c.node(id); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.procs[id]
	if p == nil {
		return nil // a killed node is neither paused nor running
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("local: %v to %s: %w", sig, id, err)
	}
	p.paused = paused
	// A signal is delivered asynchronously: wait until the kernel shows the process stopped
	// (or running again), so the fault is in place when Pause returns.
	deadline := time.Now().Add(2 * time.Second)
	for stopped(p.cmd.Process.Pid) != paused {
		if time.Now().After(deadline) {
			return fmt.Errorf("local: %s did not %s within 2s", id, map[bool]string{true: "stop", false: "resume"}[paused])
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// stopped reports whether a process is stopped by a signal, from /proc/<pid>/stat.
func stopped(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && (b[i+2] == 'T' || b[i+2] == 't')
}

// CollectArtifacts copies each node's log and conflict log into dir/<id>/. When dir is the
// cluster's own nodes directory there is nothing to copy.
func (c *Cluster) CollectArtifacts(ctx context.Context, dir string) error {
	if filepath.Clean(dir) == filepath.Join(c.opts.Dir, "nodes") {
		return nil
	}
	var errs []error
	for _, id := range c.ids {
		src := c.nodeDir(id)
		for _, rel := range []string{"node.log", filepath.Join("data", server.ConflictFile)} {
			b, err := os.ReadFile(filepath.Join(src, rel))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err == nil {
				dst := filepath.Join(dir, id, filepath.Base(rel))
				if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
					err = os.WriteFile(dst, b, 0o644)
				}
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Close stops every node (SIGTERM, then SIGKILL after 3s), closes every proxy and, for a
// temporary directory, removes it. It is safe to call more than once.
func (c *Cluster) Close() error {
	c.mu.Lock()
	procs := c.procs
	c.procs = map[string]*proc{}
	c.mu.Unlock()
	var errs []error
	for id, p := range procs {
		if p.paused {
			_ = p.cmd.Process.Signal(syscall.SIGCONT)
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(3 * time.Second):
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			errs = append(errs, fmt.Errorf("local: node %s ignored SIGTERM and was killed", id))
		}
	}
	for _, p := range c.proxies {
		p.Stop()
	}
	for id, f := range c.sockets {
		errs = append(errs, f.Close())
		delete(c.sockets, id)
	}
	if c.tmp {
		errs = append(errs, os.RemoveAll(c.opts.Dir))
		c.tmp = false
	}
	return errors.Join(errs...)
}

// Quiesce waits until every node has applied every entry every origin wrote, and stayed so.
func (c *Cluster) Quiesce(ctx context.Context) error {
	return server.AwaitReplicated(ctx, func() []string {
		var urls []string
		for _, n := range c.nodes {
			urls = append(urls, n.AdminURL)
		}
		return urls
	})
}

// Conflicts reads every node's conflict log from its data directory.
func (c *Cluster) Conflicts(ctx context.Context) ([]history.ConflictRecord, error) {
	return server.CollectConflicts(c.ids, func(id string) (io.ReadCloser, error) {
		f, err := os.Open(filepath.Join(c.nodeDir(id), "data", server.ConflictFile))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil // a node that never saw a conflict has no log
		}
		return f, err
	})
}

var (
	_ clusters.Cluster               = (*Cluster)(nil)
	_ clusters.Quiescer              = (*Cluster)(nil)
	_ clusters.ConflictSource        = (*Cluster)(nil)
	_ clusters.Partitioner           = (*Cluster)(nil)
	_ clusters.ClockSkewer           = (*Cluster)(nil)
	_ clusters.Killer                = (*Cluster)(nil)
	_ clusters.Pauser                = (*Cluster)(nil)
	_ clusters.ArtifactCollector     = (*Cluster)(nil)
	_ clusters.LinkShaper            = (*Cluster)(nil)
	_ clusters.ReplicationDuplicator = (*Cluster)(nil)
)
