package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"crossfire/clusters"
	"crossfire/clusters/docker"
	"crossfire/db/regionkv/server"
	"crossfire/history"
)

func (c *Cluster) container(id string) (testcontainers.Container, int, error) {
	for i, n := range c.nodes {
		if n.ID == id {
			return c.ctrs[id], i, nil
		}
	}
	return nil, 0, fmt.Errorf("docker: no node %q (nodes: %s)", id, strings.Join(c.ids, ", "))
}

// inspect asks Docker how a leader's container is (docker.InspectLeader).
func (c *Cluster) inspect(ctx context.Context, id string) (docker.LeaderState, error) {
	return docker.InspectLeader(ctx, c.cli, c.ctrs[id].GetContainerID(), c.network, id)
}

// Kill sends SIGKILL to a leader's container through the Docker API. Its filesystem, and with
// it the node's data, stays for Restart.
func (c *Cluster) Kill(ctx context.Context, id string) error {
	ctr, _, err := c.container(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed[id] {
		return nil
	}
	if err := docker.KillLeader(ctx, c.cli, ctr.GetContainerID(), id, c.paused[id]); err != nil {
		return err
	}
	delete(c.paused, id)
	c.killed[id] = true
	return nil
}

// Restart starts a killed leader's container again, from its own filesystem, and waits until it
// answers; its admin port may have moved, and Nodes shows the new one. A running leader is left
// alone. A leader that is off the network starts there, unreachable; Reconnect finishes the job.
func (c *Cluster) Restart(ctx context.Context, id string) error {
	ctr, i, err := c.container(id)
	if err != nil {
		return err
	}
	now, err := c.inspect(ctx, id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	killed := c.killed[id] || !now.Running
	c.off[id] = !now.Connected
	off := c.off[id]
	c.mu.Unlock()
	if !killed {
		return nil
	}
	switch {
	case now.Running:
		// A start that gave up here went through there: only the return is left to finish.
	case off:
		// testcontainers' Start would wait for a readiness check that cannot pass off the network.
		if err := docker.StartLeader(ctx, c.cli, ctr.GetContainerID(), id); err != nil {
			return err
		}
	default:
		if err := ctr.Start(ctx); err != nil { // waits for the readiness check
			return fmt.Errorf("docker: restarting %s: %w", id, err)
		}
	}
	c.mu.Lock()
	delete(c.killed, id)
	c.missed[id] = true // a new process remembers no fault
	c.mu.Unlock()
	if off {
		return nil // Reconnect finishes the return
	}
	if now.Running {
		if err := c.awaitHealthy(ctx, id, i); err != nil {
			return err
		}
	}
	return c.rejoined(ctx, id, i)
}

// rejoined finishes a leader's return (from a restart, to the network or from a pause): it finds
// the admin port again, resets the links into the leader and gives it the clock and replication
// faults that were set while it could not be told.
func (c *Cluster) rejoined(ctx context.Context, id string, i int) error {
	admin, err := c.ctrs[id].PortEndpoint(ctx, nodePort+"/tcp", "http")
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.nodes[i].AdminURL = admin
	clock, dup, node, missed := c.clocks[id], c.dup, c.nodes[i], c.missed[id]
	delete(c.missed, id)
	delete(c.stale, id)
	c.mu.Unlock()
	errs := []error{c.sidecar.ResetInto(id)}
	if missed {
		errs = append(errs, server.RestoreFaults(ctx, node.AdminURL, server.ClockSetting(clock), dup))
	}
	return errors.Join(errs...)
}

// reachable reports whether a leader's admin endpoint can be told anything now; when it cannot,
// the leader is marked to be told when it comes back. c.mu must be held.
func (c *Cluster) reachable(id string) bool {
	if c.killed[id] || c.paused[id] || c.off[id] {
		c.missed[id] = true
		return false
	}
	return true
}

// Disconnect takes a leader's container off the run's network (docker network disconnect): the
// sidecar, and so every peer and client, no longer reaches it, nor it them, and its published
// port goes with the network. Its data and process stay as they are.
func (c *Cluster) Disconnect(ctx context.Context, id string) error {
	ctr, _, err := c.container(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off[id] {
		return nil
	}
	if err := docker.DisconnectLeader(ctx, c.cli, c.network, ctr.GetContainerID(), id); err != nil {
		return err
	}
	c.off[id] = true
	return nil
}

// Reconnect puts a leader back on the run's network under its name and, if it is running, waits
// until it answers there (with the timeout of a start) and resets the links into it.
func (c *Cluster) Reconnect(ctx context.Context, id string) error {
	ctr, i, err := c.container(id)
	if err != nil {
		return err
	}
	now, err := c.inspect(ctx, id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	// Off by the record or by Docker's word: a disconnection or a reconnection that gave up here
	// may have gone through there.
	off, down, frozen := c.off[id] || !now.Connected, c.killed[id], c.paused[id]
	c.mu.Unlock()
	if !off {
		return nil
	}
	if !now.Connected {
		if err := docker.ConnectLeader(ctx, c.cli, c.network, ctr.GetContainerID(), id); err != nil {
			return err
		}
	}
	c.mu.Lock()
	delete(c.off, id)
	c.mu.Unlock()
	if down || frozen {
		c.mu.Lock()
		c.stale[id] = true // the start or the thaw finishes the return
		c.mu.Unlock()
		return nil
	}
	if err := c.awaitHealthy(ctx, id, i); err != nil {
		return err
	}
	return c.rejoined(ctx, id, i)
}

// awaitHealthy waits until a leader's admin endpoint answers again after it came back.
func (c *Cluster) awaitHealthy(ctx context.Context, id string, i int) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Ready)
	defer cancel()
	for {
		admin, err := c.ctrs[id].PortEndpoint(ctx, nodePort+"/tcp", "http")
		if err == nil {
			n := c.nodes[i]
			n.AdminURL = admin
			if err = server.Healthy(ctx, n.AdminURL); err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("docker: %s did not answer after coming back: %w", id, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Pause freezes a leader's container (docker pause).
func (c *Cluster) Pause(ctx context.Context, id string) error {
	return c.pause(ctx, id, true)
}

// Resume thaws it.
func (c *Cluster) Resume(ctx context.Context, id string) error {
	return c.pause(ctx, id, false)
}

func (c *Cluster) pause(ctx context.Context, id string, on bool) error {
	ctr, i, err := c.container(id)
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
	if err := docker.PauseLeader(ctx, c.cli, ctr.GetContainerID(), id, on); err != nil {
		c.mu.Unlock()
		return err
	}
	c.paused[id] = on
	back := !on && !c.off[id] && (c.stale[id] || c.missed[id])
	delete(c.stale, id)
	c.mu.Unlock()
	if back {
		return c.rejoined(ctx, id, i)
	}
	return nil
}

// SetClock sets a leader's clock through its admin endpoint; a leader that is down, frozen or off
// the network gets it when it comes back.
func (c *Cluster) SetClock(ctx context.Context, id string, s clusters.ClockSetting) error {
	_, i, err := c.container(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.clocks[id] = s
	up := c.reachable(id)
	node := c.nodes[i]
	c.mu.Unlock()
	if !up {
		return nil
	}
	return server.PutClock(ctx, node.AdminURL, server.ClockSetting(s))
}

// SetLatency delays the replies over the given links at the sidecar.
func (c *Cluster) SetLatency(ctx context.Context, links []clusters.Link, latency, jitter time.Duration) error {
	return c.sidecar.SetLatency(ctx, links, latency, jitter)
}

// ClearLatency removes every delay.
func (c *Cluster) ClearLatency(ctx context.Context) error { return c.sidecar.ClearLatency(ctx) }

// DuplicateReplication switches duplicated replication delivery on every running leader.
func (c *Cluster) DuplicateReplication(ctx context.Context, on bool) error {
	c.mu.Lock()
	c.dup = on
	var up []clusters.Node
	for _, n := range c.nodes {
		if c.reachable(n.ID) {
			up = append(up, n)
		}
	}
	c.mu.Unlock()
	var errs []error
	for _, n := range up {
		errs = append(errs, server.PutFaults(ctx, n.AdminURL, server.FaultsRequest{DuplicateReplication: on}))
	}
	return errors.Join(errs...)
}

// CollectArtifacts copies each leader's log and conflict log out of its container into
// dir/<node>/ (node.log and data/conflicts.jsonl, as the embedded cluster lays them out).
func (c *Cluster) CollectArtifacts(ctx context.Context, dir string) error {
	var errs []error
	for _, id := range c.ids {
		ctr := c.ctrs[id]
		if ctr == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, id, "data"), 0o755); err != nil {
			return err
		}
		if logs, err := ctr.Logs(ctx); err == nil {
			errs = append(errs, saveTo(filepath.Join(dir, id, "node.log"), logs))
		} else {
			errs = append(errs, fmt.Errorf("docker: logs of %s: %w", id, err))
		}
		if f, err := ctr.CopyFileFromContainer(ctx, "/data/"+server.ConflictFile); err == nil {
			errs = append(errs, saveTo(filepath.Join(dir, id, "data", server.ConflictFile), f))
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
	var out []history.ConflictRecord
	for _, id := range c.ids {
		ctr := c.ctrs[id]
		if ctr == nil {
			continue
		}
		f, err := ctr.CopyFileFromContainer(ctx, "/data/"+server.ConflictFile)
		if err != nil {
			continue // a leader that never saw a conflict has no log
		}
		recs, err := server.ConflictRecords(f)
		f.Close()
		if err != nil {
			return out, fmt.Errorf("docker: %s's conflict log: %w", id, err)
		}
		out = append(out, recs...)
	}
	return out, nil
}

var (
	_ clusters.Quiescer              = (*Cluster)(nil)
	_ clusters.ConflictSource        = (*Cluster)(nil)
	_ clusters.Killer                = (*Cluster)(nil)
	_ clusters.Pauser                = (*Cluster)(nil)
	_ clusters.Disconnector          = (*Cluster)(nil)
	_ clusters.ClockSkewer           = (*Cluster)(nil)
	_ clusters.LinkShaper            = (*Cluster)(nil)
	_ clusters.ReplicationDuplicator = (*Cluster)(nil)
	_ clusters.ArtifactCollector     = (*Cluster)(nil)
)
