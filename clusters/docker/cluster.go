package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/crossfire-dev/crossfire/clusters"
)

// Links is how a cluster cuts and slows the links between its leaders. Clients always reach a
// leader through a proxy of their own in the sidecar, whatever the leaders' links are.
type Links int

const (
	// LinksProxy routes every directed leader-to-leader link through a proxy of its own in the
	// Toxiproxy sidecar: a leader dials the proxy (Cluster.PeerAddress), the proxy dials the
	// other leader. For engines whose peers connect to whatever address they are given.
	LinksProxy Links = iota
	// LinksFirewall leaves the leaders to reach each other by name on the run's network and cuts
	// a link with iptables rules inside the leaders (and slows it with tc netem). For engines whose
	// peers dial the addresses each node advertises (group communication, gossip), where
	// no proxy can sit in the path. The image needs iptables (and iproute2 for latency); the
	// leaders run with NET_ADMIN.
	LinksFirewall
)

func (l Links) String() string {
	if l == LinksFirewall {
		return "firewall"
	}
	return "proxy"
}

// Dial says which side opens the connections that carry what one leader sends another.
type Dial int

const (
	// DialPush: the sender connects to the receiver (a leader pushes its changes to its peers).
	DialPush Dial = iota
	// DialPull: the receiver connects to the sender (a subscriber pulls from its provider).
	DialPull
	// DialEither: both sides open connections and either carries both ways (group
	// communication). Only a firewall can cut one direction of such a link: by packets, the way
	// Jepsen does, every packet the sender sends the receiver is dropped, which stops TCP in
	// both directions between the two; a cut is then only one-way for the protocol above.
	DialEither
)

// Leader describes a database's leaders in containers: what the generic cluster needs to start,
// reach, fault and restart one. Everything else about the engine (how its leaders join, when
// replication has caught up, where its conflicts are logged) stays in the database's own folder.
type Leader struct {
	// Engine names the database in messages: "<engine> cluster cf-1a2b3c4d: …".
	Engine string
	// Image returns the leaders' image, building it when Docker does not have it yet.
	Image func(ctx context.Context, cli *client.Client, log io.Writer) (string, error)
	// Port is where clients and peers reach a leader on the run's network.
	Port int
	// Links is how the links between leaders are cut; Dial which side opens them.
	Links Links
	Dial  Dial
	// Entrypoint and Cmd are a leader's container command, given its id and the cluster (whose
	// PeerAddress says where it reaches each peer); nil keeps the image's.
	Entrypoint func(c *Cluster, id string) []string
	Cmd        func(c *Cluster, id string) []string
	Env        map[string]string
	// DataVolume is the folder inside a leader where it keeps its data, held in a volume of the
	// leader's own (labelled with the run, removed by Close and by Clean); "" keeps the data in
	// the container's filesystem. Either way it survives Kill and Restart.
	DataVolume string
	// Ready is how a leader that was just started is known to be up (testcontainers' wait).
	Ready func() wait.Strategy
	// Up says whether a leader answers at addr (host:port of its published Port), after it came
	// back from a restart, a pause or the network.
	Up func(ctx context.Context, addr string) error
	// URL is a client's URL for a leader at addr (host:port): http://addr, a postgres:// DSN …
	URL func(addr string) string
	// Faketime bind-mounts a clock file of the leader's own at FaketimeDir, which SetFaketime
	// writes: the server must run with FaketimeEnv.
	Faketime bool
	// Artifacts are files inside a leader that CollectArtifacts copies to dir/<node>/, under the
	// same path without its leading slash ("/data/conflicts.jsonl" to data/conflicts.jsonl); a
	// file that is not there is skipped. The leader's log is always collected, as node.log.
	Artifacts []string
	// Returned is what a leader must redo once it answers again after a restart, a thaw or a
	// reconnection: missed says that it is a new process or was told nothing while it could not
	// be reached (see Cluster.Reachable), so faults set meanwhile must be given again. Nil for
	// nothing.
	Returned func(ctx context.Context, id string, missed bool) error
	// Timeout bounds each leader's start and return when Options.Ready is 0 (a minute when both
	// are).
	Timeout time.Duration
}

// Options are one run's choices for New.
type Options struct {
	Nodes int           // leaders n1 … nN, 3 by default
	Ready time.Duration // bound on each leader's start and return; Leader.Timeout by default
	Log   io.Writer     // a line per step, for people; nil for none
	// ClientsAt sends every client to one leader, whichever leader it was given (the
	// single-leader control); "" gives each leader its own clients.
	ClientsAt string
}

// Cluster is a database's leaders in containers: a network made for the run, the Toxiproxy
// sidecar through which clients (and, with LinksProxy, the leaders) reach each leader, one
// container per leader, and every fault a container can suffer: links cut and slowed, SIGKILL
// and restart from the container's own filesystem, freeze and thaw, off the network and back. A
// database's cluster embeds it and adds what is its own (clock skew, quiescence, conflicts).
//
// One state machine keeps each leader's faults (killed, frozen, off the network) and trusts
// Docker over its own record whenever it undoes one: a Docker call that gave up on this side
// may have gone through on the other. A leader that comes back answers again before the undo
// returns; then the links into it are reset, the firewall rules made again where it has them,
// and Leader.Returned does what the engine needs.
type Cluster struct {
	leader  Leader
	opts    Options
	cli     *client.Client
	run     string
	network string
	sidecar *Sidecar
	ids     []string
	ctrs    map[string]testcontainers.Container
	clocks  *clocks
	fw      *firewall

	mu     sync.Mutex
	nodes  []clusters.Node
	killed map[string]bool
	paused map[string]bool
	off    map[string]bool // taken off the network
	stale  map[string]bool // back on the network while down or frozen: its return is not finished
	missed map[string]bool // a new process, or told nothing while it could not be reached
	// returning: started again but not yet answering (its restart gave up waiting); a later
	// Restart waits for it again, or starts it again if its engine stopped meanwhile.
	returning map[string]bool
}

// New starts the leaders that l describes and waits until every one is ready. On error it
// returns what it started too, so that the caller can Close it.
func New(ctx context.Context, l Leader, o Options) (*Cluster, error) {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.Ready == 0 {
		o.Ready = l.Timeout
	}
	if o.Ready == 0 {
		o.Ready = time.Minute
	}
	if o.Nodes < 1 || o.Nodes > 9 {
		return nil, fmt.Errorf("docker: nodes must be from 1 to 9, not %d", o.Nodes)
	}
	cli, err := Client(ctx)
	if err != nil {
		return nil, err
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	c := &Cluster{leader: l, opts: o, cli: cli, run: "cf-" + hex.EncodeToString(b[:]), ctrs: map[string]testcontainers.Container{},
		killed: map[string]bool{}, paused: map[string]bool{}, off: map[string]bool{}, stale: map[string]bool{}, missed: map[string]bool{},
		returning: map[string]bool{}}
	for i := 1; i <= o.Nodes; i++ {
		c.ids = append(c.ids, fmt.Sprintf("n%d", i))
	}
	if o.ClientsAt != "" && c.index(o.ClientsAt) < 0 {
		return c, fmt.Errorf("docker: clients at %q, which is no leader (leaders: %s)", o.ClientsAt, strings.Join(c.ids, ", "))
	}
	c.say("containers, network and volumes labelled %s=%s (crossfire clean --run %s removes them)", LabelRun, c.run, c.run)
	// Leftovers of runs whose process is gone (killed before it could clean up); a run in
	// progress, here or anywhere its owner still lives, is left alone.
	if swept, _ := Clean(ctx, cli, Which{UnownedOlderThan: SweepAge}); len(swept.Names) > 0 {
		c.say("removed what runs that are no longer running left in Docker: %s", strings.Join(swept.Names, ", "))
	}
	if l.Faketime {
		if c.clocks, err = newClocks(filepath.Join(HostDir(c.run), "clocks"), c.ids); err != nil {
			return c, err
		}
	}
	image, err := l.Image(ctx, cli, o.Log)
	if err != nil {
		return c, err
	}
	dir, err := os.MkdirTemp("", "crossfire-images-")
	if err != nil {
		return c, err
	}
	defer os.RemoveAll(dir)
	proxyImage, err := ToxiproxyImage(ctx, cli, dir)
	if err != nil {
		return c, err
	}
	labels := RunLabels(c.run)
	c.network = "crossfire-" + c.run
	if _, err := cli.NetworkCreate(ctx, c.network, client.NetworkCreateOptions{Labels: labels}); err != nil {
		c.network = ""
		return c, fmt.Errorf("docker: creating network %s: %w", "crossfire-"+c.run, err)
	}
	port := fmt.Sprint(l.Port)
	// The sidecar first: every link's proxy must exist before a leader uses one.
	c.sidecar, err = StartSidecar(ctx, SidecarSpec{Image: proxyImage, Run: c.run, Network: c.network, Labels: labels,
		Leaders: c.ids, Port: port, Ready: o.Ready, Pull: l.Dial == DialPull, ClientsOnly: l.Links == LinksFirewall})
	if err != nil {
		return c, err
	}
	if l.Links == LinksFirewall {
		c.fw = newFirewall(c)
	}

	// The leaders start together: an engine's leaders may each spend seconds initialising.
	started := make([]testcontainers.Container, len(c.ids))
	errs := make([]error, len(c.ids))
	var wg sync.WaitGroup
	for i, id := range c.ids {
		req := testcontainers.ContainerRequest{
			Image: image, Name: c.run + "-" + id, Env: l.Env,
			ExposedPorts:   []string{port + "/tcp"},
			Labels:         maps.Clone(labels), // testcontainers adds its own to the map it is given
			Networks:       []string{c.network},
			NetworkAliases: map[string][]string{c.network: {id}},
			HostConfigModifier: func(hc *container.HostConfig) {
				if c.clocks != nil {
					// crossfire writes the file libfaketime reads; the leader only reads it.
					hc.Binds = append(hc.Binds, c.clocks.dir(id)+":"+FaketimeDir+":ro")
				}
				if l.Links == LinksFirewall {
					hc.CapAdd = append(hc.CapAdd, "NET_ADMIN")
				}
				if l.DataVolume != "" {
					hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: c.volume(id), Target: l.DataVolume,
						VolumeOptions: &mount.VolumeOptions{Labels: maps.Clone(labels)}})
				}
			},
		}
		if l.Entrypoint != nil {
			req.Entrypoint = l.Entrypoint(c, id)
		}
		if l.Cmd != nil {
			req.Cmd = l.Cmd(c, id)
		}
		if l.Ready != nil {
			req.WaitingFor = l.Ready()
			if w, ok := req.WaitingFor.(interface {
				WithStartupTimeout(time.Duration) wait.Strategy
			}); ok {
				req.WaitingFor = w.WithStartupTimeout(o.Ready)
			}
		}
		wg.Go(func() {
			started[i], errs[i] = testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
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
		at := i
		if o.ClientsAt != "" {
			at = c.index(o.ClientsAt)
		}
		addr, err := c.sidecar.ClientEndpoint(ctx, at, "")
		if err != nil {
			return c, err
		}
		admin, err := c.ctrs[id].PortEndpoint(ctx, port+"/tcp", "")
		if err != nil {
			return c, err
		}
		c.nodes = append(c.nodes, clusters.Node{ID: id, URL: l.URL(addr), AdminURL: l.URL(admin)})
	}
	if c.fw != nil {
		if err := c.fw.sync(ctx, c.ids); err != nil {
			return c, err
		}
	}
	return c, nil
}

// volume is the name of a leader's data volume.
func (c *Cluster) volume(id string) string { return c.run + "-" + id + "-data" }

// say writes a line to the run's log.
func (c *Cluster) say(format string, args ...any) {
	if c.opts.Log != nil {
		fmt.Fprintf(c.opts.Log, "crossfire: %s cluster %s: "+format+"\n", append([]any{c.leader.Engine, c.run}, args...)...)
	}
}

// Say writes a line to the run's log, in the cluster's name: for what the database does after
// New (joining its leaders, …).
func (c *Cluster) Say(format string, args ...any) { c.say(format, args...) }

// Nodes lists the leaders in id order. A node's URL goes through its client link; its AdminURL
// reaches it at its published port, past every fault (a restart may move it: Nodes shows where
// it is now).
func (c *Cluster) Nodes() []clusters.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]clusters.Node(nil), c.nodes...)
}

// IDs are the leaders' ids, n1 … nN.
func (c *Cluster) IDs() []string { return append([]string(nil), c.ids...) }

// Run is the run's id, the value of every container's and the network's LabelRun.
func (c *Cluster) Run() string { return c.run }

// Network is the run's network.
func (c *Cluster) Network() string { return c.network }

// Docker is the cluster's connection to the Docker engine.
func (c *Cluster) Docker() *client.Client { return c.cli }

// Sidecar is the Toxiproxy sidecar that carries the client links (and LinksProxy's peer links).
func (c *Cluster) Sidecar() *Sidecar { return c.sidecar }

// Container is a leader's container, nil if it never started.
func (c *Cluster) Container(id string) testcontainers.Container { return c.ctrs[id] }

func (c *Cluster) index(id string) int {
	for i, n := range c.ids {
		if n == id {
			return i
		}
	}
	return -1
}

// container finds a leader's container, or says which leaders there are.
func (c *Cluster) container(id string) (testcontainers.Container, error) {
	if ctr := c.ctrs[id]; ctr != nil {
		return ctr, nil
	}
	return nil, fmt.Errorf("%s: no leader %q (leaders: %s)", c.leader.Engine, id, strings.Join(c.ids, ", "))
}

// PeerAddress is where leader dialer reaches leader listener on the run's network, as
// host:port: the proxy of the link that connection carries (the link listener->dialer when
// replication is pulled, dialer->listener otherwise), or, with LinksFirewall, the listener's name.
func (c *Cluster) PeerAddress(dialer, listener string) string {
	if c.leader.Links == LinksFirewall {
		return fmt.Sprintf("%s:%d", listener, c.leader.Port)
	}
	from, to := c.index(dialer), c.index(listener)
	if c.leader.Dial == DialPull {
		from, to = to, from
	}
	return c.sidecar.LinkAddress(from, to)
}

// AdminURL finds where a leader's port is published now (a restart may move it) and records it
// in Nodes.
func (c *Cluster) AdminURL(ctx context.Context, id string) (string, error) {
	addr, err := c.published(ctx, id)
	if err != nil {
		return "", err
	}
	return c.record(id, addr), nil
}

// published is where a leader's port is published now, as host:port.
func (c *Cluster) published(ctx context.Context, id string) (string, error) {
	ctr, err := c.container(id)
	if err != nil {
		return "", err
	}
	addr, err := ctr.PortEndpoint(ctx, fmt.Sprintf("%d/tcp", c.leader.Port), "")
	if err != nil {
		return "", fmt.Errorf("docker: %s's port: %w", id, err)
	}
	return addr, nil
}

// record keeps a leader's published address as its AdminURL in Nodes, and returns that URL.
func (c *Cluster) record(id, addr string) string {
	u := c.leader.URL(addr)
	c.mu.Lock()
	c.nodes[c.index(id)].AdminURL = u
	c.mu.Unlock()
	return u
}

// Partition cuts links: client links at the sidecar, the links between leaders at the sidecar
// or by firewall (Leader.Links).
func (c *Cluster) Partition(ctx context.Context, cut []clusters.Link) error {
	proxied, walled := c.split(cut)
	errs := []error{c.sidecar.Partition(ctx, proxied)}
	if len(walled) > 0 {
		errs = append(errs, c.fw.partition(ctx, walled))
	}
	return errors.Join(errs...)
}

// split parts links into those of the sidecar (client links, and every link with LinksProxy)
// and those of the firewall.
func (c *Cluster) split(links []clusters.Link) (proxied, walled []clusters.Link) {
	for _, l := range links {
		if c.fw != nil && l.From != clusters.ClientLink {
			walled = append(walled, l)
		} else {
			proxied = append(proxied, l)
		}
	}
	return proxied, walled
}

// Heal restores every link.
func (c *Cluster) Heal(ctx context.Context) error {
	errs := []error{c.sidecar.Heal(ctx)}
	if c.fw != nil {
		errs = append(errs, c.fw.heal(ctx))
	}
	return errors.Join(errs...)
}

// SetLatency delays the replies over links: at the sidecar, or with tc netem inside the leaders
// (the packets the listening side of each link sends back).
func (c *Cluster) SetLatency(ctx context.Context, links []clusters.Link, latency, jitter time.Duration) error {
	proxied, walled := c.split(links)
	errs := []error{c.sidecar.SetLatency(ctx, proxied, latency, jitter)}
	if len(walled) > 0 {
		errs = append(errs, c.fw.setLatency(ctx, walled, latency, jitter))
	}
	return errors.Join(errs...)
}

// SetWAN delays every link between leaders by rtt/2 each way: at the sidecar, or with tc netem
// inside the leaders. Client links are left as they are.
func (c *Cluster) SetWAN(ctx context.Context, rtt time.Duration) error {
	if rtt < 0 {
		return fmt.Errorf("docker: a round trip of %s", rtt)
	}
	errs := []error{c.sidecar.SetWAN(ctx, rtt)}
	if c.fw != nil {
		errs = append(errs, c.fw.setWAN(ctx, rtt))
	}
	return errors.Join(errs...)
}

// ClearLatency removes every delay.
func (c *Cluster) ClearLatency(ctx context.Context) error {
	errs := []error{c.sidecar.ClearLatency(ctx)}
	if c.fw != nil {
		errs = append(errs, c.fw.clearLatency(ctx))
	}
	return errors.Join(errs...)
}

// inspect asks Docker how a leader's container is (InspectLeader).
func (c *Cluster) inspect(ctx context.Context, id string) (LeaderState, error) {
	ctr, err := c.container(id)
	if err != nil {
		return LeaderState{}, err
	}
	return InspectLeader(ctx, c.cli, ctr.GetContainerID(), c.network, id)
}

// state is a leader's container and how Docker reports it now.
func (c *Cluster) state(ctx context.Context, id string) (testcontainers.Container, LeaderState, error) {
	ctr, err := c.container(id)
	if err != nil {
		return nil, LeaderState{}, err
	}
	now, err := InspectLeader(ctx, c.cli, ctr.GetContainerID(), c.network, id)
	return ctr, now, err
}

// Kill sends SIGKILL to a leader's container. Its filesystem, and with it the leader's data,
// stays for Restart: the engine recovers as after a power cut.
func (c *Cluster) Kill(ctx context.Context, id string) error {
	ctr, err := c.container(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed[id] {
		return nil
	}
	if err := KillLeader(ctx, c.cli, ctr.GetContainerID(), id, c.paused[id]); err != nil {
		// A leader whose engine stopped by itself (one that gave up coming back) is as killed.
		if now, ierr := c.inspect(ctx, id); ierr != nil || now.Running {
			return err
		}
	}
	delete(c.paused, id)
	delete(c.returning, id)
	c.killed[id] = true
	return nil
}

// Restart starts a killed leader's container again from its own filesystem and waits until it
// answers (crash recovery included). A running leader that answered since its last start is
// left alone. A leader that is off the network starts there, unreachable, and Reconnect
// finishes its return.
//
// An engine may give up coming back and stop by itself: a Galera leader started while the
// others have no primary component to take it in waits for one, then exits. Restart starts it
// again, as a service manager would, up to restartStarts times while ctx lasts; a restart that
// runs out of time leaves the leader returning, and the next Restart (the final heal's, once the
// links are whole) goes on from there.
func (c *Cluster) Restart(ctx context.Context, id string) error {
	return c.restart(ctx, id, restartStarts)
}

// restartStarts bounds how many times one Restart starts a leader whose engine keeps stopping.
const restartStarts = 5

// restart is Restart, starting the leader at most starts times.
func (c *Cluster) restart(ctx context.Context, id string, starts int) error {
	ctr, now, err := c.state(ctx, id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	down := c.killed[id] || c.returning[id] || !now.Running
	c.off[id] = !now.Connected
	c.mu.Unlock()
	if !down {
		return nil
	}
	// A start that gave up here may have gone through there: only the return is left to finish.
	if !now.Running {
		if err := StartLeader(ctx, c.cli, ctr.GetContainerID(), id); err != nil {
			return err
		}
	}
	c.mu.Lock()
	delete(c.killed, id)
	c.returning[id] = true
	c.missed[id] = true // a new process remembers no fault
	c.stale[id] = !now.Connected
	c.mu.Unlock()
	if !now.Connected {
		return nil // Reconnect finishes the return
	}
	for n := 1; ; n++ {
		err := c.rejoin(ctx, id)
		if !errors.Is(err, ErrExited) || n == starts {
			if n > 1 {
				err = fmt.Errorf("%w (started %d times)", err, n)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (started %d times)", err, n)
		case <-time.After(time.Second):
		}
		if err := StartLeader(ctx, c.cli, ctr.GetContainerID(), id); err != nil {
			return fmt.Errorf("%w (started %d times)", err, n)
		}
	}
}

// RestartAll restarts killed leaders together (clusters.GroupRestarter): each starts at once and
// is waited for side by side, so that leaders that can only come back together (a cluster that
// needs a quorum of them to restart into) do. Each is started once: an engine that stops by
// itself fails with ErrExited, for the database to decide what comes next (Galera bootstraps the
// most advanced leader).
func (c *Cluster) RestartAll(ctx context.Context, ids []string) error {
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { errs[i] = c.restart(ctx, id, 1) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// rejoin finishes a leader's return: it waits until the leader answers, resets the links into
// it, makes the firewall rules again (a restarted container has none, and a leader back on the
// network may have a new address), and lets the engine do the rest (Leader.Returned).
func (c *Cluster) rejoin(ctx context.Context, id string) error {
	if err := c.awaitUp(ctx, id); err != nil {
		return err
	}
	c.mu.Lock()
	missed := c.missed[id]
	delete(c.missed, id)
	delete(c.stale, id)
	delete(c.returning, id)
	c.mu.Unlock()
	errs := []error{c.sidecar.ResetInto(id)}
	if c.fw != nil {
		errs = append(errs, c.fw.sync(ctx, c.ids))
	}
	if c.leader.Returned != nil {
		errs = append(errs, c.leader.Returned(ctx, id, missed))
	}
	return errors.Join(errs...)
}

// ErrExited is what a return fails with when the leader's container stopped by itself before it
// answered (its engine gave up: see its log).
var ErrExited = errors.New("stopped by itself before it answered")

// awaitUp waits, at most the cluster's Ready, until a leader answers at its published port. A
// leader whose container stops meanwhile fails at once, with ErrExited.
func (c *Cluster) awaitUp(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Ready)
	defer cancel()
	for {
		addr, err := c.published(ctx, id)
		if err == nil {
			if err = c.leader.Up(ctx, addr); err == nil {
				c.record(id, addr)
				return nil
			}
		}
		if now, ierr := c.inspect(ctx, id); ierr == nil && !now.Running {
			return fmt.Errorf("%s: %s %w", c.leader.Engine, id, ErrExited)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %s did not answer after coming back: %w", c.leader.Engine, id, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Reachable reports whether a leader can be told anything now; when it cannot (down, frozen or
// off the network), it is marked to be told again when it comes back (Leader.Returned's missed).
func (c *Cluster) Reachable(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed[id] || c.returning[id] || c.paused[id] || c.off[id] {
		c.missed[id] = true
		return false
	}
	return true
}

// Pause freezes a leader's container (docker pause): its processes stop mid-step, and
// connections to it hang.
func (c *Cluster) Pause(ctx context.Context, id string) error { return c.pause(ctx, id, true) }

// Resume thaws it; a leader that came back to the network or missed something while frozen
// finishes its return.
func (c *Cluster) Resume(ctx context.Context, id string) error { return c.pause(ctx, id, false) }

func (c *Cluster) pause(ctx context.Context, id string, on bool) error {
	ctr, err := c.container(id)
	if err != nil {
		return err
	}
	if !on {
		now, err := c.inspect(ctx, id)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.paused[id] = now.Paused // a pause that gave up here may have gone through there
		c.mu.Unlock()
	}
	c.mu.Lock()
	if c.killed[id] || c.paused[id] == on {
		c.mu.Unlock()
		return nil
	}
	if err := PauseLeader(ctx, c.cli, ctr.GetContainerID(), id, on); err != nil {
		c.mu.Unlock()
		return err
	}
	c.paused[id] = on
	back := !on && !c.off[id] && (c.stale[id] || c.missed[id] || c.fw.isBehind(id))
	c.mu.Unlock()
	if back {
		return c.rejoin(ctx, id)
	}
	return nil
}

// Disconnect takes a leader's container off the run's network (docker network disconnect): no
// peer and no client reaches it, nor it them, and its published port goes with the network.
// Its data and processes stay as they are.
func (c *Cluster) Disconnect(ctx context.Context, id string) error {
	ctr, err := c.container(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off[id] {
		return nil
	}
	if err := DisconnectLeader(ctx, c.cli, c.network, ctr.GetContainerID(), id); err != nil {
		return err
	}
	c.off[id] = true
	return nil
}

// Reconnect puts a leader back on the run's network under its name and, if it is running and
// not frozen, waits until it answers there and finishes its return; otherwise the start or the
// thaw finishes it.
func (c *Cluster) Reconnect(ctx context.Context, id string) error {
	ctr, now, err := c.state(ctx, id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	// Off by the record or by Docker's word: a disconnection or a reconnection that gave up here
	// may have gone through there.
	off := c.off[id] || !now.Connected
	down, frozen := c.killed[id] || !now.Running, c.paused[id] || now.Paused
	c.mu.Unlock()
	if !off {
		return nil
	}
	if !now.Connected {
		if err := ConnectLeader(ctx, c.cli, c.network, ctr.GetContainerID(), id); err != nil {
			return err
		}
	}
	c.mu.Lock()
	delete(c.off, id)
	if down || frozen {
		c.stale[id] = true
	}
	c.mu.Unlock()
	if down || frozen {
		return nil
	}
	return c.rejoin(ctx, id)
}

// SetFaketime sets a leader's clock through its clock file (Leader.Faketime), which every
// process of the leader reads at most ClockCache old, without a restart. A drift is applied by
// writing the offset it has reached every ClockStep; a strobe by writing +StrobeNS and -StrobeNS
// in turn, each held for StrobePeriodNS but at least ClockCache, so a strobe's real granularity
// is ClockCache. A leader that is down reads the file when it starts.
func (c *Cluster) SetFaketime(id string, s clusters.ClockSetting) error {
	if _, err := c.container(id); err != nil {
		return err
	}
	if c.clocks == nil {
		return fmt.Errorf("%s: its leaders have no clock file (Leader.Faketime)", c.leader.Engine)
	}
	return c.clocks.set(id, s, time.Now())
}

// ClockLag implements clusters.ClockLagger: for leaders with Leader.Faketime a new setting
// reaches every process of a leader within ClockLag; other leaders set their clocks themselves
// (no lag).
func (c *Cluster) ClockLag() time.Duration {
	if c.clocks == nil {
		return 0
	}
	return ClockLag
}

// Logs is a leader's log, as Docker keeps it.
func (c *Cluster) Logs(ctx context.Context, id string) (io.ReadCloser, error) {
	ctr, err := c.container(id)
	if err != nil {
		return nil, err
	}
	r, err := ctr.Logs(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker: %s's log: %w", id, err)
	}
	return r, nil
}

// CopyFile copies a file out of a leader's container.
func (c *Cluster) CopyFile(ctx context.Context, id, path string) (io.ReadCloser, error) {
	ctr, err := c.container(id)
	if err != nil {
		return nil, err
	}
	return ctr.CopyFileFromContainer(ctx, path)
}

// Running reports whether Docker says a leader's container is running now.
func (c *Cluster) Running(ctx context.Context, id string) bool {
	now, err := c.inspect(ctx, id)
	return err == nil && now.Running
}

// WriteFile writes a file into a leader's container (its parent folder must exist), running or
// not: what an engine's entrypoint reads on its next start.
func (c *Cluster) WriteFile(ctx context.Context, id, path string, content []byte) error {
	ctr, err := c.container(id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: strings.TrimPrefix(path, "/"), Mode: 0o644, Size: int64(len(content)), ModTime: time.Now()}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := tw.Write(content); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if _, err := c.cli.CopyToContainer(ctx, ctr.GetContainerID(), client.CopyToContainerOptions{DestinationPath: "/", Content: &buf}); err != nil {
		return fmt.Errorf("docker: writing %s into %s: %w", path, id, err)
	}
	return nil
}

// CollectArtifacts copies each leader's log to dir/<node>/node.log, and the files of
// Leader.Artifacts that are there beside it.
func (c *Cluster) CollectArtifacts(ctx context.Context, dir string) error {
	var errs []error
	for _, id := range c.ids {
		if c.ctrs[id] == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, id), 0o755); err != nil {
			return err
		}
		if logs, err := c.Logs(ctx, id); err == nil {
			errs = append(errs, saveTo(filepath.Join(dir, id, "node.log"), logs))
		} else {
			errs = append(errs, err)
		}
		for _, path := range c.leader.Artifacts {
			f, err := c.CopyFile(ctx, id, path)
			if err != nil {
				continue // not made (yet): a leader that never saw a conflict has no log of them
			}
			dst := filepath.Join(dir, id, filepath.FromSlash(strings.TrimPrefix(path, "/")))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				f.Close()
				return err
			}
			errs = append(errs, saveTo(dst, f))
		}
	}
	return errors.Join(errs...)
}

func saveTo(path string, r io.ReadCloser) error {
	defer r.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}

// Close removes the leaders (paused ones are thawed first) with their volumes, the sidecar,
// the network and the run's host folder. Copy what is wanted out with CollectArtifacts before.
// It is safe to call more than once.
func (c *Cluster) Close() error {
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errs []error
	c.clocks.stop()
	for id, ctr := range c.ctrs {
		if c.paused[id] {
			_, _ = c.cli.ContainerUnpause(ctx, ctr.GetContainerID(), client.ContainerUnpauseOptions{})
		}
		errs = append(errs, testcontainers.TerminateContainer(ctr, testcontainers.RemoveVolumes()))
		delete(c.ctrs, id)
	}
	if c.leader.DataVolume != "" && c.cli != nil {
		for _, id := range c.ids {
			if _, err := c.cli.VolumeRemove(ctx, c.volume(id), client.VolumeRemoveOptions{Force: true}); err != nil && !strings.Contains(err.Error(), "no such volume") && !strings.Contains(err.Error(), "not found") {
				errs = append(errs, fmt.Errorf("docker: removing %s: %w", c.volume(id), err))
			}
		}
	}
	errs = append(errs, c.clocks.remove(), os.RemoveAll(HostDir(c.run)))
	errs = append(errs, c.sidecar.Close())
	errs = append(errs, RemoveNetwork(ctx, c.cli, c.network))
	c.network = ""
	if c.cli != nil {
		errs = append(errs, c.cli.Close())
		c.cli = nil
	}
	return errors.Join(errs...)
}

var (
	_ clusters.Cluster           = (*Cluster)(nil)
	_ clusters.Partitioner       = (*Cluster)(nil)
	_ clusters.LinkShaper        = (*Cluster)(nil)
	_ clusters.Killer            = (*Cluster)(nil)
	_ clusters.GroupRestarter    = (*Cluster)(nil)
	_ clusters.Pauser            = (*Cluster)(nil)
	_ clusters.Disconnector      = (*Cluster)(nil)
	_ clusters.ArtifactCollector = (*Cluster)(nil)
)
