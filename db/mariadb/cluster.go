package mariadb

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/clusters/docker"
)

// SingleLeader is the control strategy: every client, whichever leader it was given, at n1.
const SingleLeader = "single-leader"

// WriteAnywhere is every client at its own leader: the design under test.
const WriteAnywhere = "write-anywhere"

// Options configure New.
type Options struct {
	Nodes    int // leaders; 3 by default
	Settings     // the servers' settings; Replication Galera, Flush "1", SyncWait "0" by default
	Strategy string
	Ready    time.Duration // bound on each leader's start and on the cluster's; 3 minutes by default
	Log      io.Writer
}

// Cluster is MariaDB in containers: the generic container cluster (leaders on a network made for
// the run, clients through the sidecar, links between leaders cut by firewall, since Galera's
// peers dial the addresses each node advertises) and what is MariaDB's own: when the cluster is
// ready and caught up, and the harness's own connection to each leader, past every fault.
type Cluster struct {
	*docker.Cluster
	opts Options

	mu    sync.Mutex
	conns map[string]adminConn // by leader
}

// Leader is the description of a MariaDB leader for the generic container cluster.
func Leader(o Options) docker.Leader {
	return docker.Leader{
		Engine: Name,
		Image: func(ctx context.Context, cli *client.Client, log io.Writer) (string, error) {
			tag, _, err := docker.EnsureDebianImage(ctx, cli, Image(o.Version), log)
			return tag, err
		},
		Port:  Port,
		Links: docker.LinksFirewall,
		Dial:  dial(o.Replication),
		Entrypoint: func(_ *docker.Cluster, id string) []string {
			var n int
			fmt.Sscanf(id, "n%d", &n)
			return []string{"/bin/sh", "-c", o.Settings.Entrypoint(id, n)}
		},
		Ready:      func() wait.Strategy { return wait.ForLog("ready for connections") },
		Up:         func(ctx context.Context, addr string) error { return ping(ctx, dsnURL(addr)) },
		URL:        dsnURL,
		DataVolume: "/var/lib/mysql",
		Faketime:   true,
		Timeout:    o.Ready,
	}
}

// dial is how the links between leaders are opened: Galera's group communication both ways
// (either side connects, and a cut drops every packet from sender to receiver); an async replica
// connects to its master's SQL port, so a cut of n1->n3 drops exactly n3's connection to n1.
func dial(replication string) docker.Dial {
	if replication == Async {
		return docker.DialPull
	}
	return docker.DialEither
}

// dsnURL is a client's URL for a leader at addr (host:port).
func dsnURL(addr string) string { return "mysql://cf:cf@" + addr + "/crossfire" }

// driverDSN turns a mysql:// URL into the driver's own DSN, with timeouts.
func driverDSN(u string, timeout time.Duration) (string, error) {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "mysql" {
		return "", fmt.Errorf("mariadb: %q is no mysql:// URL", u)
	}
	cfg := mysql.NewConfig()
	cfg.User = p.User.Username()
	cfg.Passwd, _ = p.User.Password()
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", p.Host, strings.TrimPrefix(p.Path, "/")
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = timeout, timeout, timeout
	cfg.InterpolateParams = true
	// An UPDATE's rows affected are the rows it matched, not only those it changed: a cas whose
	// new value is the value it expected succeeded, though it changed nothing.
	cfg.ClientFoundRows = true
	return cfg.FormatDSN(), nil
}

// ping connects to a leader and pings it: it answers, whatever its state in the cluster.
func ping(ctx context.Context, u string) error {
	db, err := openServer(u, 2*time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// openServer opens a pool to the server at u (a mysql:// URL) that names no database: the
// workloads' may not exist yet.
func openServer(u string, timeout time.Duration) (*sql.DB, error) {
	dsn, err := driverDSN(strings.TrimSuffix(u, "/crossfire")+"/", timeout)
	if err != nil {
		return nil, err
	}
	return sql.Open("mysql", dsn)
}

func (o *Options) defaults() {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	o.Settings.Nodes = o.Nodes
	if o.Version == "" {
		o.Version = Versions[0]
	}
	if o.Replication == "" {
		o.Replication = Galera
	}
	if o.Flush == "" {
		o.Flush = "1"
	}
	if o.SyncWait == "" {
		o.SyncWait = "0"
	}
	if o.ExecMode == "" {
		o.ExecMode = ExecModes[0]
	}
	if o.Strategy == "" {
		o.Strategy = WriteAnywhere
	}
	if o.Ready == 0 {
		o.Ready = 3 * time.Minute
	}
}

// New starts the leaders and waits until the cluster is ready: with Galera, every leader Synced
// in one primary component of them all; with async, every master replicating from every other.
// The workloads' tables are made once the cluster is ready. On error it returns what it started
// too, for Close.
func New(ctx context.Context, o Options) (*Cluster, error) {
	o.defaults()
	if o.Nodes < 2 || o.Nodes > 9 {
		return nil, fmt.Errorf("mariadb: nodes must be from 2 to 9, not %d", o.Nodes)
	}
	if err := CheckVersion(o.Version); err != nil {
		return nil, err
	}
	if o.Replication != Galera && o.Replication != Async {
		return nil, fmt.Errorf("mariadb: no replication %q (valid: %s)", o.Replication, strings.Join(Replications, ", "))
	}
	d := docker.Options{Nodes: o.Nodes, Ready: o.Ready, Log: o.Log}
	if o.Strategy == SingleLeader {
		d.ClientsAt = "n1"
	}
	dc, err := docker.New(ctx, Leader(o), d)
	if dc == nil {
		return nil, err
	}
	c := &Cluster{Cluster: dc, opts: o, conns: map[string]adminConn{}}
	if err != nil {
		return c, err
	}
	rctx, cancel := context.WithTimeout(ctx, o.Ready)
	defer cancel()
	if o.Replication == Async {
		if err := c.mesh(rctx); err != nil {
			return c, err
		}
	} else {
		dc.Say("waiting for %d leaders Synced in one primary component", o.Nodes)
		if err := c.awaitSynced(rctx); err != nil {
			return c, err
		}
		conn, err := c.conn("n1")
		if err != nil {
			return c, err
		}
		for _, stmt := range Schema {
			if _, err := conn.ExecContext(rctx, stmt); err != nil {
				return c, fmt.Errorf("mariadb: making the tables at n1: %w", err)
			}
		}
	}
	if err := c.Quiesce(rctx); err != nil {
		return c, err
	}
	dc.Say("ready")
	return c, nil
}

// conn is the harness's connection pool to a leader at its published port (a restart may move
// it: the pool is made again when it does).
func (c *Cluster) conn(id string) (*sql.DB, error) {
	admin := ""
	for _, n := range c.Nodes() { // where the leader was last seen answering
		if n.ID == id {
			admin = n.AdminURL
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.conns[id]; ok && a.url == admin {
		return a.db, nil
	}
	db, err := openServer(admin, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("mariadb: %s: %w", id, err)
	}
	db.SetMaxOpenConns(2)
	if a, ok := c.conns[id]; ok {
		a.db.Close()
	}
	c.conns[id] = adminConn{admin, db}
	return db, nil
}

// adminConn is the harness's pool to a leader and the URL it was opened for.
type adminConn struct {
	url string
	db  *sql.DB
}

// galeraState is what a leader says of itself in the cluster.
type galeraState struct {
	status, state string // wsrep_cluster_status (Primary), wsrep_local_state_comment (Synced)
	size          int
	committed     int64 // wsrep_last_committed
	recvQueue     int64 // wsrep_local_recv_queue: write sets received, not applied yet
}

func (s galeraState) String() string {
	return fmt.Sprintf("%s %s, size %d, committed %d, %d to apply", s.status, s.state, s.size, s.committed, s.recvQueue)
}

// galera reads a leader's wsrep status.
func (c *Cluster) galera(ctx context.Context, id string) (galeraState, error) {
	db, err := c.conn(id)
	if err != nil {
		return galeraState{}, err
	}
	rows, err := db.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_status', 'wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_last_committed', 'wsrep_local_recv_queue')")
	if err != nil {
		return galeraState{}, err
	}
	defer rows.Close()
	var s galeraState
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return s, err
		}
		switch name {
		case "wsrep_cluster_status":
			s.status = value
		case "wsrep_local_state_comment":
			s.state = value
		case "wsrep_cluster_size":
			fmt.Sscan(value, &s.size)
		case "wsrep_last_committed":
			fmt.Sscan(value, &s.committed)
		case "wsrep_local_recv_queue":
			fmt.Sscan(value, &s.recvQueue)
		}
	}
	return s, rows.Err()
}

// states reads every leader's wsrep status; what could not be read says why.
func (c *Cluster) states(ctx context.Context) (map[string]galeraState, map[string]error) {
	out, bad := map[string]galeraState{}, map[string]error{}
	for _, id := range c.IDs() {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s, err := c.galera(qctx, id)
		cancel()
		if err != nil {
			bad[id] = err
		} else {
			out[id] = s
		}
	}
	return out, bad
}

// awaitSynced waits until every leader is Synced in a primary component of them all.
func (c *Cluster) awaitSynced(ctx context.Context) error {
	_, err := c.await(ctx, func(states map[string]galeraState) bool {
		for _, s := range states {
			if s.status != "Primary" || s.state != "Synced" || s.size != c.opts.Nodes {
				return false
			}
		}
		return true
	})
	return err
}

// await polls every leader's state until ok says so; when ctx ends first, it says where each
// leader was.
func (c *Cluster) await(ctx context.Context, ok func(map[string]galeraState) bool) (map[string]galeraState, error) {
	for {
		states, bad := c.states(ctx)
		if len(bad) == 0 && len(states) == c.opts.Nodes && ok(states) {
			return states, nil
		}
		select {
		case <-ctx.Done():
			var where []string
			for _, id := range c.IDs() {
				if err := bad[id]; err != nil {
					where = append(where, fmt.Sprintf("%s: %v", id, err))
				} else {
					where = append(where, fmt.Sprintf("%s: %s", id, states[id]))
				}
			}
			sort.Strings(where)
			return states, fmt.Errorf("mariadb: the cluster did not settle: %s", strings.Join(where, "; "))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Quiesce implements clusters.Quiescer. With Galera: every leader Synced in one primary
// component of them all, with nothing left to apply and the same last committed write set, twice
// in a row. With async: see quiesceAsync.
func (c *Cluster) Quiesce(ctx context.Context) error {
	if c.opts.Replication == Async {
		return c.quiesceAsync(ctx)
	}
	if err := c.restorePrimary(ctx); err != nil {
		return err
	}
	var last int64 = -1
	_, err := c.await(ctx, func(states map[string]galeraState) bool {
		var committed int64 = -1
		for _, s := range states {
			if s.status != "Primary" || s.state != "Synced" || s.size != c.opts.Nodes || s.recvQueue != 0 {
				last = -1
				return false
			}
			if committed >= 0 && s.committed != committed {
				last = -1
				return false
			}
			committed = s.committed
		}
		settled := committed == last
		last = committed
		return settled
	})
	return err
}

// primaryGrace is how long the faults' end may leave a Galera cluster without a primary
// component before it is bootstrapped: one re-forms by itself within seconds where it can.
const primaryGrace = 15 * time.Second

// restorePrimary brings back, once the faults are healed, a cluster left with no primary
// component, as MariaDB documents for one that lost quorum: a leader killed while another was cut
// off leaves each survivor a minority of the last primary component, and when they meet again
// they stay non-primary (Galera will not guess which side was right), so that a leader restarted
// meanwhile gives up joining. After primaryGrace with no leader Primary, the most advanced running
// leader (wsrep_last_committed) bootstraps a primary component (pc.bootstrap), and every leader
// that is not running is started again to join it. The run's log says so.
func (c *Cluster) restorePrimary(ctx context.Context) error {
	deadline := time.Now().Add(primaryGrace)
	for {
		states, _ := c.states(ctx)
		primary, best := false, ""
		for id, s := range states {
			primary = primary || s.status == "Primary"
			if best == "" || s.committed > states[best].committed || s.committed == states[best].committed && id < best {
				best = id
			}
		}
		if primary || best == "" {
			break
		}
		if time.Now().After(deadline) {
			var where []string
			for _, id := range c.IDs() {
				if st, ok := states[id]; ok {
					where = append(where, fmt.Sprintf("%s %s", id, st))
				} else {
					where = append(where, id+" not answering")
				}
			}
			c.Say("no primary component %s after the faults ended (%s): bootstrapping %s, the most advanced, with pc.bootstrap",
				primaryGrace, strings.Join(where, "; "), best)
			db, err := c.conn(best)
			if err != nil {
				return err
			}
			// 11.8 takes each provider option as a variable of its own, and refuses a change of
			// wsrep_provider_options while the provider is loaded; 10.11 takes only the latter.
			stmt := "SET GLOBAL wsrep_provider_pc_bootstrap = ON"
			if c.opts.Version == V1011 {
				stmt = "SET GLOBAL wsrep_provider_options = 'pc.bootstrap=YES'"
			}
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("mariadb: bootstrapping %s: %w", best, err)
			}
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	for _, id := range c.IDs() {
		if c.Running(ctx, id) {
			continue
		}
		c.Say("%s is not running after the faults ended (it gave up joining): starting it again", id)
		if err := c.Cluster.Restart(ctx, id); err != nil {
			return fmt.Errorf("mariadb: starting %s again: %w", id, err)
		}
	}
	return nil
}

// RestartAll implements clusters.GroupRestarter: the killed leaders start together and, with
// Galera, the cluster must form one primary component of them all again. When every leader was
// killed, each restarts from the position it recovers from its own data (galera_recovery), and
// they restore the last primary component from the state each saved (gvwstate.dat, Galera's
// pc.recovery). Where they cannot (pc.recovery off, or saved states that do not agree), every
// leader gives up waiting for a primary component and stops; the cluster is then recovered as
// MariaDB documents: the leader whose recovered position is the most advanced bootstraps a new
// primary component and the others join it. A cluster that does not come back within the
// cluster's bound says so, with where each leader was.
func (c *Cluster) RestartAll(ctx context.Context, ids []string) error {
	err := c.Cluster.RestartAll(ctx, ids)
	if c.opts.Replication != Galera {
		return err
	}
	if err != nil {
		if !errors.Is(err, docker.ErrExited) {
			return err
		}
		if err := c.bootstrapMostAdvanced(ctx, err); err != nil {
			return err
		}
	}
	rctx, cancel := context.WithTimeout(ctx, c.opts.Ready)
	defer cancel()
	if err := c.awaitSynced(rctx); err != nil {
		return fmt.Errorf("mariadb: the cluster did not recover after its leaders restarted: %w", err)
	}
	return nil
}

// bootstrapMostAdvanced recovers a Galera cluster none of whose leaders found a primary
// component to rejoin (why says so): once every leader has stopped, the one that recovered the
// most advanced position (the last "crossfire: starting mariadbd" line of its log; the first
// such leader by name on a tie) is marked to bootstrap and started, then the others.
func (c *Cluster) bootstrapMostAdvanced(ctx context.Context, why error) error {
	wctx, cancel := context.WithTimeout(ctx, c.opts.Ready)
	defer cancel()
	for {
		running := 0
		for _, id := range c.IDs() {
			if c.Running(wctx, id) {
				running++
			}
		}
		if running == 0 {
			break
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("mariadb: no primary component after the leaders restarted (%v), and %d leaders still running after %s", why, running, c.opts.Ready)
		case <-time.After(500 * time.Millisecond):
		}
	}
	positions := map[string]Position{}
	best := ""
	for _, id := range c.IDs() {
		p, err := c.recovered(ctx, id)
		if err != nil {
			return fmt.Errorf("mariadb: no primary component after the leaders restarted, and the cluster cannot be recovered: %w", err)
		}
		positions[id] = p
		if best == "" || p.Seqno > positions[best].Seqno {
			best = id
		}
	}
	var where []string
	for _, id := range c.IDs() {
		where = append(where, fmt.Sprintf("%s at %d", id, positions[id].Seqno))
	}
	c.Say("no primary component after every leader restarted: bootstrapping %s, the most advanced (%s)", best, strings.Join(where, ", "))
	if err := c.WriteFile(ctx, best, BootstrapMark, nil); err != nil {
		return err
	}
	if err := c.Cluster.Restart(ctx, best); err != nil {
		return fmt.Errorf("mariadb: bootstrapping %s: %w", best, err)
	}
	var rest []string
	for _, id := range c.IDs() {
		if id != best {
			rest = append(rest, id)
		}
	}
	return c.Cluster.RestartAll(ctx, rest)
}

// Position is a Galera leader's position: the cluster's state UUID and the last write set.
type Position struct {
	UUID  string
	Seqno int64
}

// startLine is how a leader's entrypoint says how it starts mariadbd; after a restart it carries
// the position galera_recovery found.
var startLine = regexp.MustCompile(`crossfire: starting mariadbd .*--wsrep_start_position=([0-9a-f-]+):(-?[0-9]+)`)

// recovered is the position a leader recovered at its last start, from its log.
func (c *Cluster) recovered(ctx context.Context, id string) (Position, error) {
	r, err := c.Logs(ctx, id)
	if err != nil {
		return Position{}, err
	}
	defer r.Close()
	p, err := LastPosition(r)
	if err != nil {
		return p, fmt.Errorf("%s: %w", id, err)
	}
	return p, nil
}

// LastPosition reads a leader's log for the position it recovered at its last start.
func LastPosition(r io.Reader) (Position, error) {
	var p Position
	found := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := startLine.FindStringSubmatch(sc.Text()); m != nil {
			p.UUID = m[1]
			p.Seqno, _ = strconv.ParseInt(m[2], 10, 64)
			found = true
		}
	}
	if err := sc.Err(); err != nil {
		return p, err
	}
	if !found {
		return p, errors.New("its log names no recovered position (galera_recovery found none)")
	}
	return p, nil
}

// SetClock implements clusters.ClockSkewer through each leader's libfaketime file.
func (c *Cluster) SetClock(ctx context.Context, id string, s clusters.ClockSetting) error {
	return c.SetFaketime(id, s)
}

// Close closes the harness's connections and removes the leaders, the sidecar and the network.
func (c *Cluster) Close() error {
	c.mu.Lock()
	for k, a := range c.conns {
		a.db.Close()
		delete(c.conns, k)
	}
	c.mu.Unlock()
	return c.Cluster.Close()
}

// What MariaDB adds to the generic cluster's capabilities.
var (
	_ clusters.ClockSkewer = (*Cluster)(nil)
	_ clusters.Quiescer    = (*Cluster)(nil)
)
