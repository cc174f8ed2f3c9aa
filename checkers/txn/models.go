package txn

import (
	"fmt"
	"slices"
	"strings"
)

// Model is a consistency model: the anomalies it forbids, and whether it holds transactions to
// their process's order or to real time.
type Model struct {
	Name string
	// Forbids are the base anomaly types it rules out (a cycle type without its suffix).
	Forbids []string
	// Order is "" (no order between transactions beyond their dependencies), "process" (each
	// process sees its own transactions in order: strong session models) or "realtime" (a
	// transaction follows every one that completed before it began: strict and strong models).
	Order string
	// About says in a line what it means.
	About string
}

// Which model first rules out the anomalies that are no cycle: values read twice in one list,
// unwritten values and versions in no one order show a store that does not keep what it was
// given, whatever its isolation (read-uncommitted and up); a list read that is no prefix of
// another implies an aborted read, as a future read implies a G1c cycle and a dirty update an
// aborted read (read-committed and up); a transaction that reads a key twice and sees two
// versions (internal) is allowed by read committed, whose every statement may see a newer
// snapshot, and ruled out from consistent view up, where it is a G-single cycle; a lost update
// is ruled out where concurrent writes of one key cannot both commit (parallel snapshot
// isolation and up).
var (
	readUncommitted = []string{"G0", "duplicate-elements", "garbage-read", "cyclic-versions"}
	readCommitted   = append([]string{"G1a", "G1b", "G1c", "dirty-update", "incompatible-order", "future-read"}, readUncommitted...)
	consistentView  = append([]string{"G-single-item", "internal"}, readCommitted...)
	psi             = append([]string{"lost-update"}, consistentView...)
	si              = append([]string{"G-nonadjacent-item"}, psi...)
	serializable    = append([]string{"G2-item"}, si...)
)

// Models are the consistency models a history can be held to, weakest first.
var Models = []Model{
	{"read-uncommitted", readUncommitted, "", "no dirty writes: writes of different transactions to one key never interleave in a cycle (G0)"},
	{"read-committed", readCommitted, "", "no reads of aborted or intermediate values, no cycles of writes and reads (G1)"},
	{"consistent-view", consistentView, "", "Adya's PL-2+: as read-committed, and no transaction sees part of another's effects (G-single-item)"},
	{"parallel-snapshot-isolation", psi, "", "snapshot reads and no lost updates, but two leaders may apply concurrent transactions in different orders (long fork, G-nonadjacent-item, is allowed)"},
	{"snapshot-isolation", si, "", "as parallel snapshot isolation, with one order of commits: long fork is ruled out, write skew (G2-item with adjacent read-write edges) allowed"},
	{"repeatable-read", serializable, "", "Adya's PL-2.99: no anti-dependency cycles on items (G2-item); on these workloads, which read no predicates, the same as serializable"},
	{"serializable", serializable, "", "some serial order of the committed transactions explains every read"},
	{"strong-session-snapshot-isolation", si, "process", "snapshot isolation in which each process sees its own transactions in order"},
	{"strong-session-serializable", serializable, "process", "serializable, with each process's transactions in its order"},
	{"strong-snapshot-isolation", si, "realtime", "snapshot isolation whose order respects real time"},
	{"strict-serializable", serializable, "realtime", "serializable in an order that respects real time: a transaction follows every one that completed before it began"},
}

// DefaultModel is the model a history is held to when none is named.
const DefaultModel = "strict-serializable"

// LookupModel finds a model by name.
func LookupModel(name string) (Model, error) {
	for _, m := range Models {
		if m.Name == name {
			return m, nil
		}
	}
	return Model{}, fmt.Errorf("unknown consistency model %q (valid: %s)", name, strings.Join(ModelNames(), ", "))
}

// ModelNames lists the models, weakest first.
func ModelNames() []string {
	out := make([]string, len(Models))
	for i, m := range Models {
		out[i] = m.Name
	}
	return out
}

// Base splits an anomaly type into its base and its order suffix ("", "-process", "-realtime").
func Base(typ string) (string, string) {
	for _, s := range []string{"-realtime", "-process"} {
		if b, ok := strings.CutSuffix(typ, s); ok {
			return b, s
		}
	}
	return typ, ""
}

// RulesOut reports whether the model rules out an anomaly of the type.
func (m Model) RulesOut(typ string) bool {
	base, suf := Base(typ)
	found := false
	for _, f := range m.Forbids {
		if f == base {
			found = true
			break
		}
	}
	if !found {
		return false
	}
	switch suf {
	case "-process":
		return m.Order == "process" || m.Order == "realtime"
	case "-realtime":
		return m.Order == "realtime"
	}
	return true
}

// RuledOut lists the models that forbid one of the anomaly types, weakest first.
func RuledOut(types []string) []string {
	var out []string
	for _, m := range Models {
		for _, t := range types {
			if m.RulesOut(t) {
				out = append(out, m.Name)
				break
			}
		}
	}
	return out
}

// weaker reports whether every history m allows, n allows too: n forbids no more and holds
// transactions to no stronger order.
func (m Model) weaker(n Model) bool {
	rank := map[string]int{"": 0, "process": 1, "realtime": 2}
	if rank[m.Order] > rank[n.Order] {
		return false
	}
	for _, f := range m.Forbids {
		if !slices.Contains(n.Forbids, f) {
			return false
		}
	}
	return true
}

// Weakest lists, of the models the anomaly types rule out, those no other of them is weaker
// than: the history rules them out and, with them, every stronger model.
func Weakest(types []string) []string {
	out := RuledOut(types)
	var min []string
	for _, a := range out {
		ma, _ := LookupModel(a)
		weakest := true
		for j, b := range out {
			mb, _ := LookupModel(b)
			// a stronger model, or one that forbids the same and is listed later, is not the
			// weakest (repeatable-read stands for serializable on these workloads)
			if a != b && mb.weaker(ma) && (!ma.weaker(mb) || j < slices.Index(out, a)) {
				weakest = false
				break
			}
		}
		if weakest {
			min = append(min, a)
		}
	}
	return min
}
