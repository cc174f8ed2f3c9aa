// Package workloads holds what clients do to the cluster, whatever the database. A Workload is a
// generator of operations (driven by the run's seed), the operations that set the store up, the
// final reads it wants after the cluster has healed, which operations a client retries, and the
// checkers that judge it by default. It executes nothing: carrying an operation out against one
// leader is the job of the database's Client for the workload (package db), so the same workload
// drives every database, and its operations are those of HISTORY.md.
package workloads

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
)

// Options tune a workload. Zero values mean the workload's defaults.
type Options struct {
	Keys int // how many keys (registers, SKUs, carts)
	// UniqueValues makes the register workload write values new to each key (1, 2, 3 …) instead
	// of 0 to 4.
	UniqueValues bool
	// TxnLength is the most micro-ops a transaction holds (list-append, rw-register; default 4).
	TxnLength int
	// MaxWritesPerKey retires a key after that many writes (default 32).
	MaxWritesPerKey int
	// KeyDist is how transactions choose among the active keys: exponential (the default),
	// uniform or hot.
	KeyDist string
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
	// Retryable reports whether a client retries op, with the same req at another leader, when
	// its outcome is unknown (and redelivers it when the retry nemesis says so).
	Retryable(op history.Op) bool
	// Final returns the reads to run at every leader once the cluster has healed.
	Final() []history.Op
	// Checkers are the workload's default checkers.
	Checkers() []checkers.Checker
}

// Learner is a workload whose next operations depend on what earlier ones came to: the harness
// shows it every client operation's completion, with its invocation, once it is recorded. It
// must be safe for concurrent use, with Next.
type Learner interface {
	Learn(invoke, done history.Op)
}

// Factory makes a workload from its options.
type Factory func(Options) Workload

// Catalog lists the workloads by name.
var Catalog = map[string]Factory{
	RegisterName:   NewRegister,
	InventoryName:  NewInventory,
	CartName:       NewCart,
	ProfileName:    NewProfile,
	ClaimsName:     NewClaims,
	ListAppendName: NewListAppend,
	RWRegisterName: NewRWRegister,
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

// Ops lists, per workload, the names of its operations (HISTORY.md). "read" is both a register's
// and a cart's.
var Ops = map[string][]string{
	RegisterName:   {"read", "write", "cas"},
	InventoryName:  {"restock", "buy", "read-stock", "read-orders"},
	CartName:       {"add", "remove", "read"},
	ProfileName:    {"set-field", "read-profile"},
	ClaimsName:     {"claim", "release", "read-owner"},
	ListAppendName: {"txn"},
	RWRegisterName: {"txn"},
}

// Infer names the workload whose operations a history holds, from the names of its client
// operations (fs): the workload that has every one of them. Names that fit no workload, or
// more than one (a history of reads alone is a register's or a cart's), are an error that says
// so.
func Infer(fs []string) (string, error) {
	if len(fs) == 0 {
		return "", fmt.Errorf("the history holds no client operation")
	}
	var fits []string
	for _, w := range Names() {
		all := true
		for _, f := range fs {
			all = all && slices.Contains(Ops[w], f)
		}
		if all {
			fits = append(fits, w)
		}
	}
	switch {
	case len(fits) == 1:
		return fits[0], nil
	case len(fits) > 1 && sameCheckers(fits):
		// list-append and rw-register share their op (txn) and their checker, which tells
		// the two apart by the micro-ops
		return fits[0], nil
	case len(fits) == 0:
		var parts []string
		for _, w := range Names() {
			parts = append(parts, w+": "+strings.Join(Ops[w], ", "))
		}
		return "", fmt.Errorf("its operations (%s) fit no workload (%s)", strings.Join(fs, ", "), strings.Join(parts, "; "))
	}
	return "", fmt.Errorf("its operations (%s) fit the workloads %s alike", strings.Join(fs, ", "), strings.Join(fits, " and "))
}

// sameCheckers reports whether the workloads are judged by the same checkers.
func sameCheckers(names []string) bool {
	var first []string
	for i, n := range names {
		var cs []string
		for _, c := range Catalog[n](Options{}).Checkers() {
			cs = append(cs, c.Name())
		}
		if i == 0 {
			first = cs
		} else if !slices.Equal(cs, first) {
			return false
		}
	}
	return true
}
