package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"

	"crossfire/clusters"
)

// Catalog names.
const (
	PartitionName = "partition"
	KillName      = "kill"
	PauseName     = "pause"
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

// Partition cuts leader-to-leader links in one of the shapes. Clients keep reaching every
// leader, so each side goes on taking writes.
type Partition struct{}

// Name implements Nemesis.
func (Partition) Name() string { return PartitionName }

// Supports implements Nemesis.
func (Partition) Supports(env *Env) error {
	if _, ok := env.Cluster.(clusters.Partitioner); !ok {
		return errors.New("the cluster cannot cut links (no Partitioner)")
	}
	return nil
}

// Plan implements Nemesis.
func (Partition) Plan(r *rand.Rand, nodes []string) (string, any) {
	shape := Shapes[r.IntN(len(Shapes))]
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

// Kill sends SIGKILL to one leader and restarts it from its data directory when the fault ends.
type Kill struct{}

// Name implements Nemesis.
func (Kill) Name() string { return KillName }

// Supports implements Nemesis.
func (Kill) Supports(env *Env) error {
	if _, ok := env.Cluster.(clusters.Killer); !ok {
		return errors.New("the cluster cannot kill nodes (no Killer)")
	}
	return nil
}

// Plan implements Nemesis.
func (Kill) Plan(r *rand.Rand, nodes []string) (string, any) {
	return "kill", map[string]string{"node": nodes[r.IntN(len(nodes))]}
}

// Apply implements Nemesis.
func (Kill) Apply(ctx context.Context, env *Env, f Fault) error {
	id, err := node(f)
	if err != nil {
		return err
	}
	return env.Cluster.(clusters.Killer).Kill(ctx, id)
}

// UndoF implements Nemesis.
func (Kill) UndoF() string { return "restart" }

// Undo implements Nemesis.
func (Kill) Undo(ctx context.Context, env *Env, f Fault) error {
	id, err := node(f)
	if err != nil {
		return err
	}
	return env.Cluster.(clusters.Killer).Restart(ctx, id)
}

// HealAll implements Nemesis: restart every node (a running one is left alone).
func (Kill) HealAll(ctx context.Context, env *Env) error {
	var errs []error
	for _, id := range nodeIDs(env.Cluster) {
		errs = append(errs, env.Cluster.(clusters.Killer).Restart(ctx, id))
	}
	return errors.Join(errs...)
}

// Pause freezes one leader (SIGSTOP) and thaws it when the fault ends.
type Pause struct{}

// Name implements Nemesis.
func (Pause) Name() string { return PauseName }

// Supports implements Nemesis.
func (Pause) Supports(env *Env) error {
	if _, ok := env.Cluster.(clusters.Pauser); !ok {
		return errors.New("the cluster cannot pause nodes (no Pauser)")
	}
	return nil
}

// Plan implements Nemesis.
func (Pause) Plan(r *rand.Rand, nodes []string) (string, any) {
	return "pause", map[string]string{"node": nodes[r.IntN(len(nodes))]}
}

// Apply implements Nemesis.
func (Pause) Apply(ctx context.Context, env *Env, f Fault) error {
	id, err := node(f)
	if err != nil {
		return err
	}
	return env.Cluster.(clusters.Pauser).Pause(ctx, id)
}

// UndoF implements Nemesis.
func (Pause) UndoF() string { return "resume" }

// Undo implements Nemesis.
func (Pause) Undo(ctx context.Context, env *Env, f Fault) error {
	id, err := node(f)
	if err != nil {
		return err
	}
	return env.Cluster.(clusters.Pauser).Resume(ctx, id)
}

// HealAll implements Nemesis: resume every node.
func (Pause) HealAll(ctx context.Context, env *Env) error {
	var errs []error
	for _, id := range nodeIDs(env.Cluster) {
		errs = append(errs, env.Cluster.(clusters.Pauser).Resume(ctx, id))
	}
	return errors.Join(errs...)
}
