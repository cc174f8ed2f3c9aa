// Package regionkv plugs regionkv, the multi-leader store crossfire ships, into the db seam: its
// entry in the catalog, its options (the strategies of server), its clients for the three
// workloads (HTTP, client.go) and its two cluster kinds, local processes (package local) and
// containers (package containers). The store itself is package server; cmd/regionkv runs it.
package regionkv

import (
	"context"
	"fmt"
	"strings"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/db/regionkv/containers"
	"github.com/crossfire-dev/crossfire/db/regionkv/local"
	"github.com/crossfire-dev/crossfire/db/regionkv/server"
	"github.com/crossfire-dev/crossfire/workloads"
)

// Name is regionkv's name in the catalog.
const Name = "regionkv"

// The cluster kinds regionkv starts.
const (
	KindLocal  = "local"
	KindDocker = "docker"
)

func init() { db.Register(DB{}) }

// DB is regionkv in the catalog.
type DB struct{}

// Name implements db.DB.
func (DB) Name() string { return Name }

// txnStrategyUsage describes the transactional workloads' strategies.
const txnStrategyUsage = "transaction strategy: lww (every leader runs transactions; a key's versions written at two leaders at once are siblings, reads show the newest), single-leader (every transaction at one leader: the strict serializable control), read-replicas (transactions that write at one leader, read-only ones at the leader asked)"

// nodeBinary is the option that runs the embedded cluster's nodes from a prebuilt binary.
var nodeBinary = db.Option{Name: "node-binary", Usage: "a regionkv binary for the local cluster's nodes (default: this executable)"}

// Spec implements db.DB.
func (DB) Spec() db.Spec {
	return db.Spec{
		About: "the multi-leader store crossfire ships: every strategy, every capability",
		Kinds: []db.Kind{
			{Name: KindLocal, About: "processes on loopback, no Docker", Cluster: (*local.Cluster)(nil)},
			{Name: KindDocker, About: "containers on a network made for the run", Cluster: (*containers.Cluster)(nil)},
		},
		Workloads: []string{workloads.RegisterName, workloads.InventoryName, workloads.CartName, workloads.ProfileName, workloads.ClaimsName,
			workloads.ListAppendName, workloads.RWRegisterName},
		Options: map[string][]db.Option{
			workloads.RegisterName: {{Name: "strategy", Values: server.RegisterStrategies,
				Usage: "register strategy: lww (last writer wins), single-leader (the linearizable control), read-replicas (writes at one leader, reads served by every leader from what has reached it)"}, nodeBinary},
			workloads.InventoryName: {
				{Name: "stock", Values: server.StockStrategies, Usage: "stock strategy: pncounter (a CRDT counter), escrow (bounded, rights move between regions)"},
				{Name: "orders", Values: server.OrderStrategies, Usage: "order strategy: naive (dedup within a region), dedup (by idempotency id everywhere), queue (one writer: every region hands its purchases to n1 through its replicated stream, and waits for the answer)"},
				nodeBinary},
			workloads.CartName: {{Name: "strategy", Values: server.CartStrategies,
				Usage: "cart strategy: lww (whole cart), merge (union), orset (add-wins observed-remove set)"}, nodeBinary},
			workloads.ClaimsName: {{Name: "strategy", Values: server.RegisterStrategies,
				Usage: "claims strategy: lww (a name's owner is a last-writer-wins register), single-leader (every claim at one leader: the control)"}, nodeBinary},
			workloads.ListAppendName: {{Name: "strategy", Values: server.RegisterStrategies, Usage: txnStrategyUsage}, nodeBinary},
			workloads.RWRegisterName: {{Name: "strategy", Values: server.RegisterStrategies, Usage: txnStrategyUsage}, nodeBinary},
			workloads.ProfileName: {{Name: "strategy", Values: ProfileStrategies,
				Usage: "profile layout: lww (the whole record in one register, last writer wins), fields (a register per field, last writer wins per field), single-leader (the whole record, every operation at one leader: the control)"}, nodeBinary},
		},
	}
}

// Start implements db.DB.
func (DB) Start(ctx context.Context, s db.Setup) (clusters.Cluster, error) {
	register, cart, stock, orders := "", "", s.Options["stock"], s.Options["orders"]
	switch s.Workload {
	case workloads.CartName:
		cart = s.Options["strategy"]
	case workloads.RegisterName, workloads.ClaimsName, workloads.ListAppendName, workloads.RWRegisterName:
		register = s.Options["strategy"]
	case workloads.ProfileName:
		register = registerFor(s.Options["strategy"])
	}
	switch s.Kind {
	case KindLocal:
		c, err := local.New(ctx, local.WithDir(s.Dir), local.WithNodes(s.Nodes), local.WithInventory(stock, orders),
			local.WithBinary(s.Options[nodeBinary.Name]), local.WithCart(cart), local.WithStrategy(register, ""))
		if c == nil {
			return nil, err
		}
		return c, err
	case KindDocker:
		c, err := containers.New(ctx, containers.WithNodes(s.Nodes), containers.WithStrategy(register, ""),
			containers.WithInventory(stock, orders), containers.WithCart(cart), containers.WithLog(s.Log))
		if err != nil && c == nil {
			return nil, fmt.Errorf("%v (the local cluster needs no Docker: --cluster local)", err)
		}
		if c == nil {
			return nil, err
		}
		return c, err
	}
	return nil, fmt.Errorf("regionkv cannot start a %q cluster (valid: %s, %s)", s.Kind, KindLocal, KindDocker)
}

// Open implements db.DB.
func (DB) Open(ctx context.Context, c db.ClientConfig) (db.Client, error) {
	if !strings.HasPrefix(c.Node.URL, "http://") && !strings.HasPrefix(c.Node.URL, "https://") {
		return nil, fmt.Errorf("regionkv: node %s has no HTTP URL (%q)", c.Node.ID, c.Node.URL)
	}
	return newClient(c)
}
