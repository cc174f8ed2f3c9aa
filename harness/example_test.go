package harness_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/history"
)

// memkv is a database of this example's own, outside the ones crossfire ships: three leaders in
// this process, each forwarding every register operation to n1, which holds the registers (a
// single-leader store, so linearizable). Its cluster can cut links between leaders
// (clusters.Partitioner): a request forwarded over a cut link is not delivered. It gives no
// conflict records, so the conflicts checker does not run, and the run says so.
type memkv struct{}

func (memkv) Name() string { return "memkv" }

func (memkv) Spec() db.Spec {
	return db.Spec{
		About:     "three leaders in memory, every operation forwarded to n1",
		Kinds:     []db.Kind{{Name: "memory", About: "in this process", Cluster: (*memCluster)(nil)}},
		Workloads: []string{"register"},
	}
}

// memClusters finds a running cluster from its nodes' URLs (mem://<cluster>/<node>).
var memClusters sync.Map

func (memkv) Start(ctx context.Context, s db.Setup) (clusters.Cluster, error) {
	c := &memCluster{regs: map[string]string{}, cut: map[clusters.Link]bool{}}
	c.id = strings.TrimPrefix(fmt.Sprintf("%p", c), "0x")
	for i := 1; i <= s.Nodes; i++ {
		id := fmt.Sprintf("n%d", i)
		c.nodes = append(c.nodes, clusters.Node{ID: id, URL: "mem://" + c.id + "/" + id})
	}
	memClusters.Store(c.id, c)
	return c, nil
}

func (memkv) Open(ctx context.Context, cfg db.ClientConfig) (db.Client, error) {
	rest, ok := strings.CutPrefix(cfg.Node.URL, "mem://")
	id, node, _ := strings.Cut(rest, "/")
	c, found := memClusters.Load(id)
	if !ok || !found {
		return nil, fmt.Errorf("memkv: no cluster at %s", cfg.Node.URL)
	}
	return &memClient{c: c.(*memCluster), node: node}, nil
}

type memCluster struct {
	id    string
	nodes []clusters.Node
	mu    sync.Mutex
	regs  map[string]string // at n1: key -> the value, as compact JSON
	cut   map[clusters.Link]bool
}

func (c *memCluster) Nodes() []clusters.Node { return c.nodes }
func (c *memCluster) Close() error           { memClusters.Delete(c.id); return nil }

func (c *memCluster) Partition(ctx context.Context, cut []clusters.Link) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range cut {
		c.cut[l] = true
	}
	return nil
}

func (c *memCluster) Heal(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.cut)
	return nil
}

// Quiesce: every acknowledged write is already at n1, the only copy.
func (c *memCluster) Quiesce(ctx context.Context) error { return nil }

type memClient struct {
	c    *memCluster
	node string
}

func (m *memClient) Close() error { return nil }

// Invoke carries out read, write and cas (HISTORY.md) at n1, through the link from this leader.
func (m *memClient) Invoke(ctx context.Context, op history.Op) history.Op {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.node != "n1" && c.cut[clusters.Link{From: m.node, To: "n1"}] {
		return history.Refused(m.node + " cannot reach n1") // never delivered
	}
	compact := func(raw json.RawMessage) string {
		var v any
		_ = json.Unmarshal(raw, &v)
		b, _ := json.Marshal(v)
		return string(b)
	}
	switch op.F {
	case "read":
		v, ok := c.regs[op.Key]
		if !ok {
			v = "null"
		}
		return history.Op{Type: history.OK, Value: json.RawMessage(v)}
	case "write":
		c.regs[op.Key] = compact(op.Value)
		return history.Op{Type: history.OK}
	case "cas":
		var pair [2]json.RawMessage
		if json.Unmarshal(op.Value, &pair) != nil {
			return history.Refused("cas value is not [expected, new]")
		}
		cur, ok := c.regs[op.Key]
		if !ok {
			cur = "null"
		}
		if cur != compact(pair[0]) {
			return history.Op{Type: history.Fail, Error: "precondition failed"} // compared: evidence
		}
		c.regs[op.Key] = compact(pair[1])
		return history.Op{Type: history.OK}
	}
	return history.Refused("unknown op " + op.F)
}

// A database crossfire does not ship, tested through harness.Run with nothing in the harness,
// the checkers, the nemeses or the workloads changed: register it, then name it.
func Example_yourOwnDatabase() {
	db.Register(memkv{})
	store, _ := os.MkdirTemp("", "crossfire-example-")
	defer os.RemoveAll(store)
	res, err := harness.Run(context.Background(), harness.Test{
		DB: "memkv", Workload: "register", Nemeses: []string{"partition"}, Seed: 7,
		Duration: 3e9, Interval: 2e8, FaultDuration: 5e8,
	}, harness.Options{Store: store})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("test:", res.Test.Name, "on", res.Test.Cluster)
	fmt.Println("verdict:", res.Valid)
	fmt.Println("faults injected:", res.Stats.Faults > 0, "ops judged:", res.Stats.OK > 100)
	for _, r := range res.Summary.Results {
		if r.NotApplicable != "" {
			fmt.Println("judged nothing:", r.Checker+":", r.NotApplicable)
		}
	}
	// Output:
	// test: memkv-register-partition on memory
	// verdict: valid
	// faults injected: true ops judged: true
	// judged nothing: conflicts: database memkv gives no conflict records (its cluster is no ConflictSource)
}
