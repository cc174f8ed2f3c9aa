// Package workloads holds what clients do to the cluster. A Workload is a generator of
// operations (driven by the run's seed), a client that executes one operation against one
// leader and returns its completion, the final reads it wants after the cluster has healed, and
// the checkers that judge it by default. Workloads get endpoints, never a cluster: what they see
// is what a client of the store would see.
//
// A client never drops an indeterminate operation: a timeout, a reset connection or an answer
// that says "maybe" completes as info, and the harness moves that client to a fresh process.
package workloads

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"crossfire/checkers"
	"crossfire/history"
)

// Endpoint is one leader as a client reaches it.
type Endpoint struct {
	Node string // n1, n2, n3 …
	URL  string // base URL of its client API (through the client link's proxy)
}

// Options tune a workload. Zero values mean the workload's defaults.
type Options struct {
	Keys    int           // how many keys (registers, SKUs, carts)
	Timeout time.Duration // per operation; a client that waits longer records info (or fail, for a read)
}

// Workload is one kind of traffic.
type Workload interface {
	// Name is the workload's name in the catalog.
	Name() string
	// Setup returns the operations that prepare the store before the main phase (restock SKUs,
	// create carts). They are recorded like any other; an op whose Node is empty goes to the
	// leaders in turn.
	Setup() []history.Op
	// Next returns the next operation's invocation (F, Key, Value, Req), drawn from r.
	Next(r *rand.Rand) history.Op
	// Invoke executes op against ep and returns its completion (Type, Value, Error, Meta).
	Invoke(ctx context.Context, ep Endpoint, op history.Op) history.Op
	// Retryable reports whether a client retries op, with the same req at another leader, when
	// its outcome is unknown (and redelivers it when the retry nemesis says so).
	Retryable(op history.Op) bool
	// Final returns the reads to run at every leader once the cluster has healed.
	Final() []history.Op
	// Checkers are the workload's default checkers.
	Checkers() []checkers.Checker
}

// Factory makes a workload from its options.
type Factory func(Options) Workload

// Catalog lists the workloads by name.
var Catalog = map[string]Factory{
	RegisterName:  NewRegister,
	InventoryName: NewInventory,
	CartName:      NewCart,
}

// Names lists the catalog's names, sorted.
func Names() []string { return slices.Sorted(maps.Keys(Catalog)) }

// New makes the named workload, or says which names there are.
func New(name string, o Options) (Workload, error) {
	f, ok := Catalog[name]
	if !ok {
		return nil, fmt.Errorf("unknown workload %q (valid: %s)", name, strings.Join(Names(), ", "))
	}
	return f(o), nil
}
