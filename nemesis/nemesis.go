// Package nemesis injects faults. A Nemesis is one kind of fault (partitions, kills, pauses …)
// that it applies and undoes through a cluster's capabilities, found by type assertion; asked
// for on a cluster without the capability, it is refused before the run starts.
//
// What happens when is data: a Schedule of Faults (what, to whom, when, for how long), planned
// from the run's seed before the run, saved in test.json and replayable as it is. The Runner
// carries a schedule out, one fault at a time, recording each as a nemesis op (process -1): an
// invoke when the fault starts being applied and an info once it is in place, then the same for
// the op that undoes it. Whatever happens to the run, HealAll undoes every fault still in force.
package nemesis

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/history"
)

// Fault is one step of a schedule.
type Fault struct {
	Nemesis string          `json:"nemesis"`     // the catalog name of the nemesis that plans and applies it
	F       string          `json:"f"`           // the history f of the fault: partition, kill, pause …
	Value   json.RawMessage `json:"value"`       // what it does, the nemesis's own description
	At      time.Duration   `json:"at_ns"`       // when, from the start of the main phase
	For     time.Duration   `json:"duration_ns"` // how long it stays before it is undone
}

// Schedule is every fault of a run, in order of At.
type Schedule []Fault

// Nemesis is one kind of fault.
type Nemesis interface {
	// Name is the nemesis's name in the catalog.
	Name() string
	// Supports returns an error naming the missing capability if env cannot suffer this fault.
	// env.Cluster may be a database's cluster type before anything started: Supports and Plan
	// only look at which capabilities it has.
	Supports(env *Env) error
	// Fs are the history fs of the faults it records (partition; clock-bump, clock-strobe …).
	Fs() []string
	// Plan draws one fault against the given nodes from r, among what env supports.
	Plan(r *rand.Rand, env *Env, nodes []string) (f string, value any)
	// Apply puts the fault in place.
	Apply(ctx context.Context, env *Env, f Fault) error
	// UndoF is the history f of the op that undoes this kind of fault: heal, restart, resume …
	UndoF() string
	// Undo removes the fault.
	Undo(ctx context.Context, env *Env, f Fault) error
	// HealAll undoes every fault of this kind that may be in force, whatever the schedule.
	HealAll(ctx context.Context, env *Env) error
}

// Catalog lists the nemeses by name.
var Catalog = map[string]Nemesis{
	PartitionName:  Partition{},
	OneWayName:     Partition{Shape: ShapeOneWay},
	IsolateName:    Partition{Shape: ShapeIsolate},
	KillName:       Kill,
	KillAllName:    KillAll{},
	PauseName:      Pause,
	DisconnectName: Disconnect,
	RetryName:      Retry{},
	ClockName:      Clock{},
	ClockTieName:   ClockTie{},
}

// Names lists the catalog, sorted.
func Names() []string { return slices.Sorted(maps.Keys(Catalog)) }

// positional is a nemesis whose draw depends on the fault's place in its timeline (k, from 0):
// one that spreads its modes over a run, so that each is used in every run long enough.
type positional interface {
	PlanAt(r *rand.Rand, env *Env, nodes []string, k int) (f string, value any)
}

// clockFault is a nemesis whose faults skew the clock of the node their value names.
type clockFault interface{ SkewsClock() bool }

// Faults is how the catalog's nemeses name their faults in a history: each one's fault fs, the
// op that undoes them, and whether they skew a clock. Whoever checks a history crossfire recorded
// hands it to the checkers, which keep no list of names of their own.
var Faults = sync.OnceValue(func() *history.Faults {
	var kinds []history.FaultKind
	for _, name := range Names() {
		n := Catalog[name]
		cf, ok := n.(clockFault)
		kinds = append(kinds, history.FaultKind{Faults: n.Fs(), Undo: n.UndoF(), Clock: ok && cf.SkewsClock()})
	}
	return history.NewFaults(kinds...)
})

// Lookup finds the named nemeses; "none" or no names means no nemesis at all.
func Lookup(names []string) ([]Nemesis, error) {
	var out []Nemesis
	seen := map[string]bool{}
	none := false
	for _, name := range names {
		name = strings.TrimSpace(name)
		none = none || name == "none"
		if name == "" || name == "none" || seen[name] {
			continue
		}
		n, ok := Catalog[name]
		if !ok {
			return nil, fmt.Errorf("unknown nemesis %q (valid: %s, or none)", name, strings.Join(Names(), ", "))
		}
		seen[name] = true
		out = append(out, n)
	}
	if none && len(out) > 0 {
		return nil, fmt.Errorf("nemesis none means no fault at all; it cannot go with %s", out[0].Name())
	}
	return out, nil
}

// Env is what a nemesis acts on: the cluster, through its capabilities, and the clients' own
// faults, which the harness's clients obey.
type Env struct {
	Cluster clusters.Cluster
	Clients *ClientFaults
}

// ClientFaults are faults that clients commit: the harness's workers read them before and after
// every operation. The zero ClientFaults commits none.
type ClientFaults struct {
	redeliver atomic.Bool
	stamp     atomic.Bool
}

// SetStamp makes clients stamp their requests with their own time, a retry carrying the
// original's stamp.
func (c *ClientFaults) SetStamp(on bool) { c.stamp.Store(on) }

// Stamp reports whether clients stamp their requests.
func (c *ClientFaults) Stamp() bool { return c != nil && c.stamp.Load() }

// SetRedeliver makes clients send acknowledged requests again, with the same req, to another
// leader.
func (c *ClientFaults) SetRedeliver(on bool) { c.redeliver.Store(on) }

// Redeliver reports whether clients redeliver acknowledged requests.
func (c *ClientFaults) Redeliver() bool { return c != nil && c.redeliver.Load() }

// Check refuses nemeses the environment cannot carry out.
func Check(env *Env, ns []Nemesis) error {
	for _, n := range ns {
		if err := n.Supports(env); err != nil {
			return fmt.Errorf("nemesis %s: %w", n.Name(), err)
		}
	}
	return nil
}

// Capable returns an error naming the capability if the cluster c (which may be a database's
// cluster type before anything started) does not implement the interface T.
func Capable[T any](c clusters.Cluster, capability, what string) error {
	if _, ok := c.(T); !ok {
		return fmt.Errorf("the cluster cannot %s (it is no %s)", what, capability)
	}
	return nil
}

// Timing shapes a schedule.
type Timing struct {
	Interval time.Duration // mean quiet time between faults; 0 means 1s
	Duration time.Duration // mean time a fault lasts; 0 means 2s
	// HoldLast: each timeline's last fault stays in force past the end of the main phase, so
	// that the final heal undoes it once the workload has stopped. What both sides of a
	// partition wrote then meets with no later write to cover it: a row whose verdict rests on
	// the final state (fields, carts, claims) sees every conflict of that fault.
	HoldLast bool
}

// Plan draws a schedule for a main phase of length d. Every nemesis gets a timeline of its own
// (quiet, a fault, quiet, …), drawn from its own stream of the seed, so faults of different
// kinds overlap, as they do in production: a clock can be off while a partition is in force. The
// schedule is the timelines merged by time. Every fault is undone before d ends, but with
// t.HoldLast the last of each timeline, which lasts past d (the runner leaves it to the final
// heal). The same seed gives the same schedule.
func Plan(seed uint64, env *Env, ns []Nemesis, nodes []string, d time.Duration, t Timing) Schedule {
	if t.Interval <= 0 {
		t.Interval = time.Second
	}
	if t.Duration <= 0 {
		t.Duration = 2 * time.Second
	}
	s := Schedule{}
	for i, n := range ns {
		// A stream of its own for each nemesis ("nemesis" and its position in the list).
		r := rand.New(rand.NewPCG(seed, 0x6e656d65736973+uint64(i)))
		jitter := func(mean time.Duration) time.Duration {
			return mean/2 + time.Duration(r.Int64N(int64(mean)+1))
		}
		// Each timeline's mean quiet time grows with the number of nemeses, so that together
		// they keep the pace Timing asks for.
		at := jitter(t.Interval)
		k := 0 // the fault's place in its timeline
		for at < d {
			length := jitter(t.Duration)
			last := at+length >= d
			if last && !t.HoldLast {
				break
			}
			var f string
			var v any
			if p, ok := n.(positional); ok {
				f, v = p.PlanAt(r, env, nodes, k)
			} else {
				f, v = n.Plan(r, env, nodes)
			}
			k++
			next := at + length + jitter(t.Interval*time.Duration(len(ns)))
			// Held: this fault is the timeline's last (no room after it for another of half
			// a mean length), in force past the end, and undone only by the final heal.
			hold := t.HoldLast && (last || next+t.Duration/2 >= d)
			if hold {
				length = d - at + t.Interval
			}
			s = append(s, Fault{Nemesis: n.Name(), F: f, Value: history.Value(v), At: at, For: length})
			if hold {
				break
			}
			at = next
		}
	}
	sort.SliceStable(s, func(i, j int) bool { return s[i].At < s[j].At })
	return s
}

// node reads a fault value of the form {"node": id}.
func node(f Fault) (string, error) {
	var v struct {
		Node string `json:"node"`
	}
	if err := json.Unmarshal(f.Value, &v); err != nil || v.Node == "" {
		return "", fmt.Errorf("fault %s has no node: %s", f.F, f.Value)
	}
	return v.Node, nil
}

func nodeIDs(c clusters.Cluster) []string {
	var ids []string
	for _, n := range c.Nodes() {
		ids = append(ids, n.ID)
	}
	return ids
}
