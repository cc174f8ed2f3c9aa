// Package memkv is a database of its own, plugged into crossfire from outside crossfire's module:
// three leaders in this process that forward every register operation to n1, where the only copy
// lives, so it is linearizable. Its cluster can cut the links between leaders: an operation sent
// to a leader that cannot reach n1 is refused, and certainly did nothing.
package memkv

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/history"
)

func init() { db.Register(DB{}) }

// DB is memkv's entry in crossfire's catalog of databases.
type DB struct{}

func (DB) Name() string { return "memkv" }

func (DB) Spec() db.Spec {
	return db.Spec{About: "three leaders in memory, every operation forwarded to n1", Workloads: []string{"register"},
		Kinds: []db.Kind{{Name: "memory", About: "in this process", Cluster: (*Cluster)(nil)}}}
}

var running sync.Map // the clusters, by their nodes' URL prefix

func (DB) Start(ctx context.Context, s db.Setup) (clusters.Cluster, error) {
	c := &Cluster{regs: map[string]string{}, cut: map[clusters.Link]bool{}}
	for i := 1; i <= s.Nodes; i++ {
		c.nodes = append(c.nodes, clusters.Node{ID: fmt.Sprintf("n%d", i), URL: fmt.Sprintf("mem://%p/n%d", c, i)})
	}
	running.Store(c, true)
	return c, nil
}

func (DB) Open(ctx context.Context, cfg db.ClientConfig) (db.Client, error) {
	var found *Cluster
	running.Range(func(k, _ any) bool {
		for _, n := range k.(*Cluster).nodes {
			if n.URL == cfg.Node.URL {
				found = k.(*Cluster)
			}
		}
		return found == nil
	})
	if found == nil {
		return nil, fmt.Errorf("memkv: no leader at %s", cfg.Node.URL)
	}
	return &client{c: found, node: cfg.Node.ID}, nil
}

// Cluster is a running memkv: its registers at n1, and the links cut.
type Cluster struct {
	nodes []clusters.Node
	mu    sync.Mutex
	regs  map[string]string // key -> value, compact JSON
	cut   map[clusters.Link]bool
}

func (c *Cluster) Nodes() []clusters.Node { return c.nodes }
func (c *Cluster) Close() error           { running.Delete(c); return nil }

// Partition implements clusters.Partitioner.
func (c *Cluster) Partition(ctx context.Context, cut []clusters.Link) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range cut {
		c.cut[l] = true
	}
	return nil
}

// Heal implements clusters.Partitioner.
func (c *Cluster) Heal(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.cut)
	return nil
}

// Quiesce implements clusters.Quiescer: n1 holds the only copy, so nothing is ever behind.
func (c *Cluster) Quiesce(ctx context.Context) error { return nil }

type client struct {
	c    *Cluster
	node string
}

func (m *client) Close() error { return nil }

// Invoke carries out read, write and cas at n1, through the link from this leader.
func (m *client) Invoke(ctx context.Context, op history.Op) history.Op {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut[clusters.Link{From: m.node, To: "n1"}] {
		return history.Refused(m.node + " cannot reach n1")
	}
	cur, ok := c.regs[op.Key]
	if !ok {
		cur = "null"
	}
	switch op.F {
	case "read":
		return history.Op{Type: history.OK, Value: json.RawMessage(cur)}
	case "write":
		c.regs[op.Key] = compact(op.Value)
		return history.Op{Type: history.OK}
	case "cas":
		var pair [2]json.RawMessage
		if json.Unmarshal(op.Value, &pair) != nil {
			return history.Refused("cas value is not [expected, new]")
		}
		if cur != compact(pair[0]) {
			return history.Op{Type: history.Fail, Error: "precondition failed"}
		}
		c.regs[op.Key] = compact(pair[1])
		return history.Op{Type: history.OK}
	}
	return history.Refused("unknown op " + op.F)
}

func compact(raw json.RawMessage) string {
	var v any
	_ = json.Unmarshal(raw, &v)
	b, _ := json.Marshal(v)
	return string(b)
}
