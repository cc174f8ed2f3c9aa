package pglogical

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"crossfire/clusters"
	"crossfire/clusters/docker"
	"github.com/jackc/pgx/v5"
)

// The faults a pglogical cluster takes: partitions, one-way cuts and latency at the sidecar
// (replication and clients alike, since every subscription's provider DSN is the proxy of its
// link); kills, pauses and disconnections through Docker; clock skew through libfaketime.

// Partition cuts links at the sidecar.
func (c *Cluster) Partition(ctx context.Context, cut []clusters.Link) error {
	return c.sidecar.Partition(ctx, cut)
}

// Heal restores every link at the sidecar.
func (c *Cluster) Heal(ctx context.Context) error { return c.sidecar.Heal(ctx) }

// SetLatency delays the replies over links at the sidecar.
func (c *Cluster) SetLatency(ctx context.Context, links []clusters.Link, latency, jitter time.Duration) error {
	return c.sidecar.SetLatency(ctx, links, latency, jitter)
}

// ClearLatency removes every delay.
func (c *Cluster) ClearLatency(ctx context.Context) error { return c.sidecar.ClearLatency(ctx) }

func (c *Cluster) containerID(id string) (string, error) {
	if ctr := c.ctrs[id]; ctr != nil {
		return ctr.GetContainerID(), nil
	}
	return "", fmt.Errorf("pglogical: no leader %q (leaders: %s)", id, strings.Join(c.ids, ", "))
}

// state asks Docker how a leader's container is (docker.InspectLeader).
func (c *Cluster) state(ctx context.Context, id string) (docker.LeaderState, error) {
	cid, err := c.containerID(id)
	if err != nil {
		return docker.LeaderState{}, err
	}
	return docker.InspectLeader(ctx, c.cli, cid, c.network, id)
}

// Kill sends SIGKILL to a leader's container. Its filesystem, and with it the data folder, stays
// for Restart: PostgreSQL recovers from its WAL as after a power cut.
func (c *Cluster) Kill(ctx context.Context, id string) error {
	cid, err := c.containerID(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed[id] {
		return nil
	}
	if err := docker.KillLeader(ctx, c.cli, cid, id, c.paused[id]); err != nil {
		return err
	}
	delete(c.paused, id)
	c.killed[id] = true
	return nil
}

// Restart starts a killed leader's container again from its data folder and waits until it
// accepts connections (crash recovery included); pglogical's workers then take up every
// subscription where its slot left off. A leader that is off the network starts there, and
// Reconnect finishes its return.
func (c *Cluster) Restart(ctx context.Context, id string) error {
	cid, err := c.containerID(id)
	if err != nil {
		return err
	}
	now, err := c.state(ctx, id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	down := c.killed[id] || !now.Running
	c.off[id] = !now.Connected
	c.mu.Unlock()
	if !down {
		return nil
	}
	if !now.Running {
		if err := docker.StartLeader(ctx, c.cli, cid, id); err != nil {
			return err
		}
	}
	c.mu.Lock()
	delete(c.killed, id)
	c.mu.Unlock()
	if !now.Connected {
		return nil
	}
	return c.rejoined(ctx, id)
}

// rejoined finishes a leader's return: it waits until the leader accepts connections and resets
// the links into it (docker.Sidecar.ResetInto).
func (c *Cluster) rejoined(ctx context.Context, id string) error {
	if err := c.awaitUp(ctx, id); err != nil {
		return err
	}
	return c.sidecar.ResetInto(id)
}

// awaitUp waits, at most the cluster's Ready, until a leader answers a query at its published
// port.
func (c *Cluster) awaitUp(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Ready)
	defer cancel()
	for {
		admin, err := c.adminURL(ctx, id)
		if err == nil {
			var conn *pgx.Conn
			if conn, err = pgx.Connect(ctx, admin); err == nil {
				_, err = conn.Exec(ctx, "SELECT 1")
				_ = conn.Close(context.WithoutCancel(ctx))
			}
		}
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pglogical: %s did not accept connections after coming back: %w", id, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Pause freezes a leader's container (docker pause): its backends, walsenders and apply workers
// stop mid-step, and connections to it hang.
func (c *Cluster) Pause(ctx context.Context, id string) error { return c.pause(ctx, id, true) }

// Resume thaws it.
func (c *Cluster) Resume(ctx context.Context, id string) error { return c.pause(ctx, id, false) }

func (c *Cluster) pause(ctx context.Context, id string, on bool) error {
	cid, err := c.containerID(id)
	if err != nil {
		return err
	}
	if !on {
		now, err := c.state(ctx, id)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.paused[id] = now.Paused // a pause that gave up here may have gone through there
		c.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed[id] || c.paused[id] == on {
		return nil
	}
	if err := docker.PauseLeader(ctx, c.cli, cid, id, on); err != nil {
		return err
	}
	c.paused[id] = on
	return nil
}

// Disconnect takes a leader's container off the run's network: no peer and no client reaches it
// (every link into it ends at its name there), nor does it reach them, and its published port
// goes with the network.
func (c *Cluster) Disconnect(ctx context.Context, id string) error {
	cid, err := c.containerID(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off[id] {
		return nil
	}
	if err := docker.DisconnectLeader(ctx, c.cli, c.network, cid, id); err != nil {
		return err
	}
	c.off[id] = true
	return nil
}

// Reconnect puts a leader back on the run's network under its name and, if it is running and
// not frozen, waits until it answers and resets the links into it.
func (c *Cluster) Reconnect(ctx context.Context, id string) error {
	cid, err := c.containerID(id)
	if err != nil {
		return err
	}
	now, err := c.state(ctx, id)
	if err != nil {
		return err
	}
	if !now.Connected {
		if err := docker.ConnectLeader(ctx, c.cli, c.network, cid, id); err != nil {
			return err
		}
	}
	c.mu.Lock()
	delete(c.off, id)
	c.mu.Unlock()
	if !now.Running || now.Paused {
		return c.sidecar.ResetInto(id)
	}
	return c.rejoined(ctx, id)
}

// ClockCache is how long libfaketime keeps what it read from a leader's clock file
// (FAKETIME_CACHE_DURATION): a new setting reaches every process of the leader within about this
// long, and a strobe cannot step faster.
const ClockCache = time.Second

// ClockStep is how often the file of a drifting or strobing clock is written again.
const ClockStep = 100 * time.Millisecond

// SetClock sets a leader's clock: its libfaketime file, which every PostgreSQL process of the
// leader reads (at most ClockCache old), so now(), clock_timestamp() and commit timestamps move,
// those of walsenders and apply workers too, without a restart. A drift is applied by writing
// the offset it has reached every ClockStep; a strobe by writing +StrobeNS and -StrobeNS in turn,
// each held for StrobePeriodNS but at least ClockCache (libfaketime reads the file no more
// often), so a strobe's real granularity here is ClockCache, not the period asked for. A leader
// that is down reads the file when it starts.
func (c *Cluster) SetClock(ctx context.Context, id string, s clusters.ClockSetting) error {
	if _, err := c.containerID(id); err != nil {
		return err
	}
	return c.clocks.set(id, s, time.Now())
}

// clocks keeps each leader's libfaketime file: a host folder per leader (under the run's
// docker.HostDir, which crossfire clean removes with the run), bind-mounted at /faketime, and a
// goroutine that writes the clocks that move.
type clocks struct {
	root     string
	mu       sync.Mutex
	settings map[string]clockSet
	done     chan struct{}
	once     sync.Once
}

type clockSet struct {
	s  clusters.ClockSetting
	at time.Time
}

func newClocks(root string, ids []string) (*clocks, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	k := &clocks{root: root, settings: map[string]clockSet{}, done: make(chan struct{})}
	for _, id := range ids {
		// The server runs as postgres, not as this user: it must be able to read the file.
		err := os.MkdirAll(k.dir(id), 0o755)
		if err == nil {
			err = os.Chmod(k.dir(id), 0o755)
		}
		if err == nil {
			err = k.write(id, 0)
		}
		if err != nil {
			_ = os.RemoveAll(root)
			return nil, err
		}
	}
	for d := root; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()+string(filepath.Separator)); d = filepath.Dir(d) {
		_ = os.Chmod(d, 0o755) // every folder down to the files, for the server's user
	}
	go k.loop()
	return k, nil
}

func (k *clocks) dir(id string) string { return filepath.Join(k.root, id) }

// write replaces a leader's clock file with an offset, atomically (rename in the bind-mounted
// folder: the leader sees the old file or the new one, never half of one).
func (k *clocks) write(id string, offset time.Duration) error {
	tmp := filepath.Join(k.dir(id), ".clock")
	if err := os.WriteFile(tmp, []byte(Faketime(offset)+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(k.dir(id), "clock"))
}

// Faketime is an offset as libfaketime's file reads it: signed seconds, fractions allowed.
func Faketime(offset time.Duration) string {
	return fmt.Sprintf("%+.6f", offset.Seconds())
}

// Offset is where a setting made at `at` puts a clock at `now`.
func Offset(s clusters.ClockSetting, at, now time.Time) time.Duration {
	off := time.Duration(s.OffsetNS)
	since := now.Sub(at)
	if s.DriftPPM != 0 {
		off += time.Duration(float64(since) * float64(s.DriftPPM) / 1e6)
	}
	if s.StrobeNS != 0 {
		period := max(time.Duration(s.StrobePeriodNS), ClockCache)
		if (since/period)%2 == 0 {
			off += time.Duration(s.StrobeNS)
		} else {
			off -= time.Duration(s.StrobeNS)
		}
	}
	return off
}

func (k *clocks) set(id string, s clusters.ClockSetting, at time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s == (clusters.ClockSetting{}) {
		delete(k.settings, id)
	} else {
		k.settings[id] = clockSet{s: s, at: at}
	}
	return k.write(id, Offset(s, at, at))
}

// loop writes the clocks that move every ClockStep.
func (k *clocks) loop() {
	t := time.NewTicker(ClockStep)
	defer t.Stop()
	for {
		select {
		case <-k.done:
			return
		case now := <-t.C:
			k.mu.Lock()
			for id, cs := range k.settings {
				if cs.s.DriftPPM != 0 || cs.s.StrobeNS != 0 {
					_ = k.write(id, Offset(cs.s, cs.at, now))
				}
			}
			k.mu.Unlock()
		}
	}
}

func (k *clocks) stop() {
	if k != nil {
		k.once.Do(func() { close(k.done) })
	}
}

func (k *clocks) remove() error {
	if k == nil {
		return nil
	}
	k.stop()
	return os.RemoveAll(k.root)
}

var (
	_ clusters.Partitioner  = (*Cluster)(nil)
	_ clusters.LinkShaper   = (*Cluster)(nil)
	_ clusters.Killer       = (*Cluster)(nil)
	_ clusters.Pauser       = (*Cluster)(nil)
	_ clusters.Disconnector = (*Cluster)(nil)
	_ clusters.ClockSkewer  = (*Cluster)(nil)
)
