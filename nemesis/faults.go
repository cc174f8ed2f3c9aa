package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/crossfire-dev/crossfire/clusters"
)

// Catalog names.
const (
	PartitionName = "partition"
	OneWayName    = "one-way" // partitions of the one-way shape only
	// IsolateName: partitions of the isolate shape only. Where leaders relay one another's
	// changes (MariaDB's log_slave_updates), no other shape separates anyone.
	IsolateName = "isolate"
	KillName    = "kill"
	PauseName   = "pause"
	// DisconnectName takes a leader off the network (the docker cluster).
	DisconnectName = "disconnect"
)

// Partition shapes.
const (
	ShapeIsolate = "isolate" // one leader cut from every peer, both ways
	ShapePair    = "pair"    // one leader cut from one peer, both ways
	ShapeOneWay  = "one-way" // one leader's messages to one peer are lost; the peer's still arrive
	ShapeRing    = "ring"    // each leader hears only its predecessor: every leader sees a different majority
)

// Shapes lists the partition shapes.
var Shapes = []string{ShapeIsolate, ShapePair, ShapeOneWay, ShapeRing}

// PartitionValue describes a partition: its shape and the directed leader links it cuts.
type PartitionValue struct {
	Shape string   `json:"shape"`
	Cut   []string `json:"cut"`
}

// Cuts computes the links a shape cuts among nodes; a and b pick the leaders involved.
func Cuts(shape string, nodes []string, a, b int) []clusters.Link {
	var cut []clusters.Link
	n := len(nodes)
	if n < 2 {
		return nil
	}
	a %= n
	b %= n
	if b == a {
		b = (a + 1) % n
	}
	switch shape {
	case ShapeIsolate:
		for i, peer := range nodes {
			if i != a {
				cut = append(cut, clusters.Link{From: nodes[a], To: peer}, clusters.Link{From: peer, To: nodes[a]})
			}
		}
	case ShapePair:
		cut = []clusters.Link{{From: nodes[a], To: nodes[b]}, {From: nodes[b], To: nodes[a]}}
	case ShapeOneWay:
		cut = []clusters.Link{{From: nodes[a], To: nodes[b]}}
	case ShapeRing:
		for i := range nodes {
			cut = append(cut, clusters.Link{From: nodes[(i+1)%n], To: nodes[i]})
		}
	}
	return cut
}

// Partition cuts leader-to-leader links in one of the shapes (Shape, or any). Clients keep
// reaching every leader, so each side goes on taking writes.
type Partition struct {
	Shape string // "" for any of Shapes
}

// Name implements Nemesis.
func (p Partition) Name() string {
	switch p.Shape {
	case ShapeOneWay:
		return OneWayName
	case ShapeIsolate:
		return IsolateName
	}
	return PartitionName
}

// Supports implements Nemesis.
func (Partition) Supports(env *Env) error {
	return Capable[clusters.Partitioner](env.Cluster, "Partitioner", "cut links")
}

// Fs implements Nemesis.
func (Partition) Fs() []string { return []string{"partition"} }

// Plan implements Nemesis: a shape drawn at random (or the nemesis's own).
func (p Partition) Plan(r *rand.Rand, env *Env, nodes []string) (string, any) {
	return p.PlanAt(r, env, nodes, -1)
}

// PlanAt draws the k-th partition of a run's timeline. Of any shape, it is the (k mod 4)-th of
// Shapes, so that every run of four partitions or more cuts every shape, isolate first (where
// leaders relay one another's changes, the only shape that separates anyone); the leaders it
// involves are drawn. A negative k draws the shape too.
func (p Partition) PlanAt(r *rand.Rand, _ *Env, nodes []string, k int) (string, any) {
	shape := p.Shape
	switch {
	case shape != "":
	case k >= 0:
		shape = Shapes[k%len(Shapes)]
	default:
		shape = Shapes[r.IntN(len(Shapes))]
	}
	v := PartitionValue{Shape: shape}
	for _, l := range Cuts(shape, nodes, r.IntN(len(nodes)), r.IntN(len(nodes))) {
		v.Cut = append(v.Cut, l.String())
	}
	return "partition", v
}

// Apply implements Nemesis.
func (Partition) Apply(ctx context.Context, env *Env, f Fault) error {
	var v PartitionValue
	if err := json.Unmarshal(f.Value, &v); err != nil {
		return fmt.Errorf("partition value %s: %w", f.Value, err)
	}
	links := make([]clusters.Link, 0, len(v.Cut))
	for _, s := range v.Cut {
		l, err := clusters.ParseLink(s)
		if err != nil {
			return err
		}
		links = append(links, l)
	}
	return env.Cluster.(clusters.Partitioner).Partition(ctx, links)
}

// UndoF implements Nemesis.
func (Partition) UndoF() string { return "heal" }

// Undo implements Nemesis.
func (Partition) Undo(ctx context.Context, env *Env, f Fault) error {
	return env.Cluster.(clusters.Partitioner).Heal(ctx)
}

// HealAll implements Nemesis.
func (Partition) HealAll(ctx context.Context, env *Env) error {
	return env.Cluster.(clusters.Partitioner).Heal(ctx)
}

// nodeFault is a nemesis that does something to one leader at a time and undoes it: kill and
// restart, pause and resume, disconnect and reconnect. Its capability is an interface of the
// cluster's; do and undo reach it through a type assertion that supports has checked.
type nodeFault struct {
	name, undoF string
	supports    func(clusters.Cluster) error // names the capability a cluster lacks
	do, undo    func(ctx context.Context, c clusters.Cluster, node string) error
}

// Name implements Nemesis.
func (n nodeFault) Name() string { return n.name }

// Supports implements Nemesis.
func (n nodeFault) Supports(env *Env) error { return n.supports(env.Cluster) }

// Fs implements Nemesis.
func (n nodeFault) Fs() []string { return []string{n.name} }

// Plan implements Nemesis: one leader, drawn from r.
func (n nodeFault) Plan(r *rand.Rand, _ *Env, nodes []string) (string, any) {
	return n.name, map[string]string{"node": nodes[r.IntN(len(nodes))]}
}

// Apply implements Nemesis.
func (n nodeFault) Apply(ctx context.Context, env *Env, f Fault) error {
	id, err := node(f)
	if err != nil {
		return err
	}
	return n.do(ctx, env.Cluster, id)
}

// UndoF implements Nemesis.
func (n nodeFault) UndoF() string { return n.undoF }

// Undo implements Nemesis.
func (n nodeFault) Undo(ctx context.Context, env *Env, f Fault) error {
	id, err := node(f)
	if err != nil {
		return err
	}
	return n.undo(ctx, env.Cluster, id)
}

// HealAll implements Nemesis: undo on every leader (one the fault is not on is left alone).
func (n nodeFault) HealAll(ctx context.Context, env *Env) error {
	var errs []error
	for _, id := range nodeIDs(env.Cluster) {
		errs = append(errs, n.undo(ctx, env.Cluster, id))
	}
	return errors.Join(errs...)
}

// Kill sends SIGKILL to one leader and restarts it from its data directory when the fault ends.
var Kill Nemesis = nodeFault{
	name: KillName, undoF: "restart",
	supports: func(c clusters.Cluster) error { return Capable[clusters.Killer](c, "Killer", "kill nodes") },
	do: func(ctx context.Context, c clusters.Cluster, id string) error {
		return c.(clusters.Killer).Kill(ctx, id)
	},
	undo: func(ctx context.Context, c clusters.Cluster, id string) error {
		return c.(clusters.Killer).Restart(ctx, id)
	},
}

// Pause freezes one leader (SIGSTOP, docker pause) and thaws it when the fault ends.
var Pause Nemesis = nodeFault{
	name: PauseName, undoF: "resume",
	supports: func(c clusters.Cluster) error { return Capable[clusters.Pauser](c, "Pauser", "pause nodes") },
	do: func(ctx context.Context, c clusters.Cluster, id string) error {
		return c.(clusters.Pauser).Pause(ctx, id)
	},
	undo: func(ctx context.Context, c clusters.Cluster, id string) error {
		return c.(clusters.Pauser).Resume(ctx, id)
	},
}

// Disconnect takes one leader off the network entirely (docker network disconnect): no peer and
// no client reaches it, and it reaches no one, until it is reconnected.
var Disconnect Nemesis = nodeFault{
	name: DisconnectName, undoF: "reconnect",
	supports: func(c clusters.Cluster) error {
		return Capable[clusters.Disconnector](c, "Disconnector", "take a node off its network")
	},
	do: func(ctx context.Context, c clusters.Cluster, id string) error {
		return c.(clusters.Disconnector).Disconnect(ctx, id)
	},
	undo: func(ctx context.Context, c clusters.Cluster, id string) error {
		return c.(clusters.Disconnector).Reconnect(ctx, id)
	},
}
